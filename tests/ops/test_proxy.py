"""The shipped nginx configuration, running, in front of two ``offramp serve`` instances:
TLS and the HTTP redirect, static files from disk with the app's headers, probes hidden,
the body limit, X-Forwarded-For replaced (a client cannot pick its own address),
reads and writes kept alive when an instance dies, and no client detail in any log."""

from __future__ import annotations

import os
import random
import re
import warnings
from pathlib import Path

import httpx
import pytest
import redis

from offramp.config import Settings
from offramp.web import SECURITY_HEADERS

from ..judges.servers import Server, free_port, without_abuse_limits
from .nginx import NGINX_DIR, ROOT, Ports, build_tree, running_nginx

# A database of its own (1-15, drawn at random), as the other Redis tests do, so runs
# on one machine do not share counters; it is emptied before use.
REDIS_URL = os.environ.get(
    "OFFRAMP_TEST_REDIS_URL_PROXY", f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
)
CANARY_AGENT = "ProxyCanary/1.0 (offramp-proxy-canary)"
SPOOFED = ["203.0.113.41", "203.0.113.42", "203.0.113.43", "203.0.113.44"]


def fresh_redis_or_skip() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    finally:
        client.close()


def upstream_for(ports: list[int]) -> str:
    """deploy/nginx/upstream-vm.conf with the test instances' ports."""
    text = (NGINX_DIR / "upstream-vm.conf").read_text()
    for shipped, port in zip((8001, 8002), ports, strict=True):
        text = text.replace(f"127.0.0.1:{shipped} ", f"127.0.0.1:{port} ")
    return text


def create_thread(http: httpx.Client, title: str) -> httpx.Response:
    return http.post(
        "/api/v1/threads", json={"title": title, "category": "coaching", "body": "Through nginx."}
    )


def test_nginx_in_front_of_two_instances(settings: Settings, tmp_path: Path):
    fresh_redis_or_skip()
    serving = without_abuse_limits(settings).model_copy(
        update={
            "form_min_seconds": 0,
            "redis_url": REDIS_URL,
            "rate_limits": "preview=3/3600",
            "trusted_proxies": "127.0.0.1",
        }
    )
    instances = [Server(serving, log_path=tmp_path / f"app-{n}.log", migrate=False) for n in (1, 2)]
    ports = Ports(http=free_port(), https=free_port(), onion=free_port())
    config = build_tree(
        tmp_path / "nginx", upstream=upstream_for([s.port for s in instances]), ports=ports
    )
    try:
        for instance in instances:
            instance.start()
        with (
            running_nginx(config, tmp_path / "nginx.log"),
            warnings.catch_warnings(),
            httpx.Client(
                base_url=f"https://127.0.0.1:{ports.https}",
                verify=False,
                timeout=20,
                headers={"User-Agent": CANARY_AGENT},
            ) as https,
        ):
            warnings.simplefilter("ignore")  # the certificate is self-signed
            check_tls_and_redirect(https, ports)
            check_static_files(https)
            check_hidden_probes_and_body_limit(https)
            check_forwarded_for_is_replaced(https)
            check_an_instance_dies(https, instances[0])
    finally:
        for instance in instances:
            instance.stop()
    check_no_client_details_in_logs(tmp_path)


def check_tls_and_redirect(https: httpx.Client, ports: Ports) -> None:
    home = https.get("/")
    assert home.status_code == 200
    assert home.headers["strict-transport-security"] == "max-age=63072000"
    assert home.headers["content-security-policy"] == SECURITY_HEADERS["content-security-policy"]
    plain = httpx.get(f"http://127.0.0.1:{ports.http}/c/coaching?page=2")
    assert plain.status_code == 301
    assert plain.headers["location"] == "https://127.0.0.1/c/coaching?page=2"
    onion = httpx.get(f"http://127.0.0.1:{ports.onion}/", timeout=20)
    assert onion.status_code == 200
    assert "strict-transport-security" not in onion.headers  # never over plain HTTP


def check_static_files(https: httpx.Client) -> None:
    css = https.get("/static/css/site.css")
    assert css.status_code == 200
    assert css.content == (ROOT / "frontend" / "static" / "css" / "site.css").read_bytes()
    assert css.headers["cache-control"] == "public, max-age=3600"
    for name, value in SECURITY_HEADERS.items():
        assert css.headers[name] == value, name
    # The URL a page links (its content hash), served by nginx from disk, immutable.
    linked = re.search(r'href="(/static/css/site\.css\?v=[0-9a-f]{12})"', https.get("/").text)
    fingerprinted = https.get(linked.group(1))
    assert fingerprinted.content == css.content
    assert fingerprinted.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert https.get("/static/nothing-here.css").status_code == 404


def check_hidden_probes_and_body_limit(https: httpx.Client) -> None:
    assert https.get("/metrics").status_code == 404
    assert https.get("/readyz").status_code == 404
    limit = Settings.model_fields["max_request_bytes"].default
    too_large = https.post(
        "/api/v1/preview",
        content=b'{"body": "' + b"x" * limit + b'"}',
        headers={"content-type": "application/json"},
    )
    assert too_large.status_code == 413


def check_forwarded_for_is_replaced(https: httpx.Client) -> None:
    """A client that invents X-Forwarded-For values still counts as one client: nginx
    replaces the header with the connection's address (preview limit: 3 an hour)."""
    codes = [
        https.post(
            "/api/v1/preview", json={"body": "Hello"}, headers={"X-Forwarded-For": address}
        ).status_code
        for address in SPOOFED
    ]
    assert codes == [200, 200, 200, 429]


def check_an_instance_dies(https: httpx.Client, victim: Server) -> None:
    """SIGKILL one instance: every read still answers (nginx tries the other one), and
    each write is stored exactly once."""
    before = len(https.get("/api/v1/threads", params={"limit": 100}).json()["threads"])
    victim.kill()
    reads = [https.get(path).status_code for path in ["/", "/c/coaching"] * 10]
    assert reads == [200] * 20
    created = [create_thread(https, f"After the crash {n}").status_code for n in range(6)]
    assert created == [201] * 6
    after = https.get("/api/v1/threads", params={"limit": 100}).json()["threads"]
    assert len(after) == before + 6
    assert sorted(t["title"] for t in after if t["title"].startswith("After the crash")) == [
        f"After the crash {n}" for n in range(6)
    ]


def check_no_client_details_in_logs(tmp_path: Path) -> None:
    logs = [tmp_path / "nginx.log", tmp_path / "app-1.log", tmp_path / "app-2.log"]
    for log in logs:
        text = log.read_text(errors="replace")
        for canary in [CANARY_AGENT, "offramp-proxy-canary", *SPOOFED]:
            assert canary not in text, f"{canary} in {log.name}"
    assert (tmp_path / "nginx.log").read_text() == "", "nginx must log nothing while serving"
    assert not list((tmp_path / "nginx").glob("**/*.log"))
