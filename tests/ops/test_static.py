"""Fingerprinted static URLs: pages link every static file as ``/static/NAME?v=HASH``
(HASH from the file's content); under its current fingerprint a file is immutable
for a year, under any other URL it is revalidated hourly."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from litestar.testing import TestClient

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "frontend" / "static"


def fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def test_pages_link_static_files_by_content_hash(client: TestClient):
    html = client.get("/").text
    linked = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    expected = {f"/static/{name}?v={fingerprint(name)}" for name in
                ["css/site.css", "favicon.svg", "js/pow.js"]}  # fmt: skip
    assert set(linked) == expected
    assert not [url for url in linked if "?v=" not in url], "every static URL is fingerprinted"


def test_a_fingerprinted_file_is_immutable_and_others_revalidate(client: TestClient):
    css = STATIC / "css" / "site.css"
    current = client.get(f"/static/css/site.css?v={fingerprint('css/site.css')}")
    assert current.status_code == 200 and current.content == css.read_bytes()
    assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert current.headers["x-content-type-options"] == "nosniff"  # headers still apply
    for url in ["/static/css/site.css", "/static/css/site.css?v=0123456789ab"]:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=3600", url
    missing = client.get(f"/static/css/gone.css?v={fingerprint('css/site.css')}")
    assert missing.status_code == 404
    assert "immutable" not in missing.headers["cache-control"]
