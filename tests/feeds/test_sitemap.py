"""/sitemap.xml (one file, or an index past the limit), /robots.txt, and the canonical
links and descriptions of public pages."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from litestar.testing import TestClient

from offramp.feeds import service
from offramp.forum.seed import ensure_entities

from ..conftest import ORIGIN
from .test_feeds import reply, thread

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def locs(response) -> list[str]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    return [element.text for element in ET.fromstring(response.content).iter(f"{SM}loc")]


def test_one_sitemap_lists_public_threads_categories_and_entities(client: TestClient):
    client.blocking_portal.call(ensure_entities)
    public = thread(client, "A public thread", "Text.")
    mail = "Mail jane.doe@example.com"
    held = thread(client, "Held thread", mail, confirm_identifying_details=True)
    response = client.get("/sitemap.xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SM}urlset"
    urls = locs(response)
    assert f"{ORIGIN}/" in urls and f"{ORIGIN}/entities" in urls
    assert f"{ORIGIN}/c/coaching" in urls
    assert f"{ORIGIN}/entities/northbridge-utilization-review" in urls
    assert f"{ORIGIN}/threads/{public['thread']['id']}" in urls
    assert f"{ORIGIN}/threads/{held['thread']['id']}" not in urls
    lastmod = [e.text for e in root.iter(f"{SM}lastmod")]
    assert lastmod == [public["thread"]["last_activity"]]


def test_past_the_limit_the_sitemap_becomes_an_index(client: TestClient, monkeypatch):
    made = {thread(client, f"Thread number {n}", "Text.")["thread"]["id"] for n in range(12)}
    reply(client, next(iter(made)), "A reply does not make a new address.")
    monkeypatch.setattr(service, "MAX_SITEMAP_URLS", 10)
    index = client.get("/sitemap.xml")
    assert ET.fromstring(index.content).tag == f"{SM}sitemapindex"
    parts = locs(index)
    assert parts[0] == f"{ORIGIN}/sitemaps/pages.xml"
    assert len(parts) == 1 + 32  # one file per first character of the random ids
    listed = []
    for part in parts[1:]:
        listed += locs(client.get(part.removeprefix(ORIGIN)))
    assert sorted(listed) == sorted(f"{ORIGIN}/threads/{thread_id}" for thread_id in made)
    assert f"{ORIGIN}/c/coaching" in locs(client.get("/sitemaps/pages.xml"))
    assert client.get("/sitemaps/threads/zz").status_code == 404
    assert client.get("/sitemaps/threads/A").status_code == 404


def test_prefix_ranges_cover_every_id_once():
    assert service.prefixes(1)[:3] == ["2", "3", "4"]
    assert len(service.prefixes(2)) == 32 * 32
    assert service._after("2z") == "3"
    assert service._after("zz") is None
    assert service._after("ab") == "ac"


def test_robots_txt_points_to_the_sitemap(client: TestClient):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "Disallow: /search\n" in response.text
    assert f"Sitemap: {ORIGIN}/sitemap.xml" in response.text


def test_public_pages_have_a_canonical_link_and_a_description(client: TestClient):
    client.blocking_portal.call(ensure_entities)
    made = thread(client, "Canonical thread title", "Text.")
    thread_id = made["thread"]["id"]
    pages = {
        "/": "/",
        "/c/coaching": "/c/coaching",
        "/entities": "/entities",
        "/entities?kind=program": "/entities?kind=program",
        "/entities/northbridge-utilization-review": "/entities/northbridge-utilization-review",
        f"/threads/{thread_id}": f"/threads/{thread_id}",
        "/about": "/about",
    }
    for path, canonical in pages.items():
        html = client.get(path).text
        assert html.count('rel="canonical"') == 1, path
        assert f'<link rel="canonical" href="{canonical}">' in html, path
        assert '<meta name="description" content="' in html, path
    thread_page = client.get(f"/threads/{thread_id}").text
    assert '<meta name="description" content="Canonical thread title: an anonymous' in thread_page
    assert 'rel="canonical"' not in client.get("/search?q=x").text
