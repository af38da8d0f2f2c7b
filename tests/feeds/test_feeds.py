"""Atom feeds over real HTTP: valid for feedparser and RFC 4287, stable ids, day-precision
dates, only published posts, conditional GET, and a flat cost."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

import feedparser
import pytest
from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings
from offramp.feeds.service import ATOM
from offramp.forum.seed import ensure_entities, seed_forum
from offramp.forum.tables import Thread

from ..conftest import ORIGIN

A = f"{{{ATOM}}}"
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}T00:00:00Z$")


def thread(client: TestClient, title: str, body: str, **extra) -> dict:
    data = {"title": title, "category": "coaching", "body": body, **extra}
    response = client.post("/api/v1/threads", json=data)
    assert response.status_code == 201, response.text
    return response.json()


def reply(client: TestClient, thread_id: str, body: str, **extra) -> dict:
    response = client.post(f"/api/v1/threads/{thread_id}/posts", json={"body": body, **extra})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def forum_with_threads(client: TestClient) -> dict:
    client.blocking_portal.call(ensure_entities)
    about = thread(
        client,
        "Pivot Accelerator, one year on",
        "It was **fine**. <script>alert(1)</script> [link](javascript:alert(1))",
        entity="PPA",
    )
    thread_id = about["thread"]["id"]
    first = reply(client, thread_id, "Same experience here.")
    reply(client, thread_id, "Mail me: jane.doe@example.com", confirm_identifying_details=True)
    reply(client, thread_id, "Later, maybe.", delay_publication=True)
    other = thread(client, "Getting started: contracts", "Read the tail clause.")
    return {
        "thread": thread_id,
        "reply": first["post"]["id"],
        "reply_key": first["edit_key"],
        "other": other["thread"]["id"],
    }


def feed_paths(seeded: dict) -> list[str]:
    return [
        "/feed.atom",
        "/c/coaching/feed.atom",
        "/entities/physician-pivot-accelerator/feed.atom",
        f"/threads/{seeded['thread']}/feed.atom",
    ]


def test_every_feed_is_valid_atom(client: TestClient, forum_with_threads: dict):
    for path in feed_paths(forum_with_threads):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.version == "atom10"
        assert parsed.feed.id.startswith("tag:testserver.local,2026:")
        assert parsed.feed.title and parsed.feed.updated
        assert parsed.entries, path
        for entry in parsed.entries:
            assert entry.id.startswith("tag:testserver.local,2026:")
            assert entry.title and entry.updated
            assert any(link.rel == "alternate" for link in entry.links)
            assert entry.get("author") or parsed.feed.get("author")
            assert entry.content[0].type == "text/html"
        _check_rfc4287(ET.fromstring(response.content), path)


def _check_rfc4287(root: ET.Element, path: str) -> None:
    """RFC 4287 §4.1: what a feed and each entry must carry; dates are days."""
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated", "author"):
        assert root.find(f"{A}{name}") is not None, (path, name)
    assert DAY.match(root.findtext(f"{A}updated")), path
    assert root.find(f"{A}link[@rel='self']").get("href") == ORIGIN + path
    for entry in root.findall(f"{A}entry"):
        for name in ("id", "title", "updated", "content"):
            assert entry.find(f"{A}{name}") is not None, (path, name)
        assert entry.find(f"{A}link[@rel='alternate']").get("href").startswith(ORIGIN + "/")
        assert DAY.match(entry.findtext(f"{A}updated"))
        assert DAY.match(entry.findtext(f"{A}published"))


def test_feeds_carry_only_published_sanitised_posts(client: TestClient, forum_with_threads):
    text = client.get(f"/threads/{forum_with_threads['thread']}/feed.atom").text
    parsed = feedparser.parse(text)
    bodies = " ".join(entry.content[0].value for entry in parsed.entries)
    assert "jane.doe" not in text and "Later, maybe" not in text  # held, scheduled
    assert "Same experience here." in bodies
    assert "<strong>fine</strong>" in bodies
    contents = " ".join(
        element.text or "" for element in ET.fromstring(text).iter(f"{A}content")
    )  # the HTML as a reader's HTML parser gets it
    assert "&lt;script&gt;" in contents and "<script" not in contents
    assert 'href="javascript' not in contents
    assert [entry.author for entry in parsed.entries][-1] == "OP"
    assert parsed.entries[0].link.endswith("#p2")
    entity_feed = feedparser.parse(
        client.get("/entities/physician-pivot-accelerator/feed.atom").content
    )
    assert [entry.title for entry in entity_feed.entries] == ["Pivot Accelerator, one year on"]
    terms = {tag.term for tag in entity_feed.entries[0].tags}
    assert terms == {"coaching", "physician-pivot-accelerator"}


def test_entry_ids_are_stable_across_edits(client: TestClient, forum_with_threads: dict):
    path = f"/threads/{forum_with_threads['thread']}/feed.atom"
    before = {entry.link: entry.id for entry in feedparser.parse(client.get(path).content).entries}
    edited = client.patch(
        f"/api/v1/posts/{forum_with_threads['reply']}",
        json={"body": "Edited: a different text."},
        headers={"Authorization": f"Bearer {forum_with_threads['reply_key']}"},
    )
    assert edited.status_code == 200, edited.text
    parsed = feedparser.parse(client.get(path).content)
    after = {entry.link: entry.id for entry in parsed.entries}
    assert before == after
    assert "Edited: a different text." in parsed.entries[0].content[0].value
    assert len(set(after.values())) == len(after)


def test_unknown_feeds_are_404(client: TestClient):
    for path in ["/c/nope/feed.atom", "/entities/nope/feed.atom", "/threads/nope/feed.atom"]:
        assert client.get(path).status_code == 404, path
    assert client.get("/threads/%00/feed.atom").status_code in (404, 422)


def test_a_repeat_request_is_answered_304(client: TestClient, forum_with_threads: dict):
    for path in feed_paths(forum_with_threads):
        first = client.get(path)
        etag = first.headers["etag"]
        assert first.headers["last-modified"].endswith("00:00:00 GMT")
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    # A new thread changes the site-wide feed: the old ETag no longer matches.
    etag = client.get("/feed.atom").headers["etag"]
    thread(client, "Something new to read", "News.")
    assert client.get("/feed.atom", headers={"If-None-Match": etag}).status_code == 200


def test_if_modified_since_is_trusted_only_for_days_that_are_over(settings: Settings):
    with TestClient(create_app(settings), base_url=ORIGIN) as client:
        past = datetime(2025, 3, 1, 12)
        client.blocking_portal.call(lambda: seed_forum(5, 1, seed=1, span_days=10, now=past))
        old = client.get("/feed.atom")
        last_modified = old.headers["last-modified"]
        repeat = client.get("/feed.atom", headers={"If-Modified-Since": last_modified})
        assert repeat.status_code == 304
        thread(client, "Posted today", "Today's news.")
        today = client.get("/feed.atom", headers={"If-Modified-Since": last_modified})
        assert today.status_code == 200
        todays = today.headers["last-modified"]
        assert client.get("/feed.atom", headers={"If-Modified-Since": todays}).status_code == 200


def test_pages_link_their_feeds(client: TestClient, forum_with_threads: dict):
    pages = {
        "/": "/feed.atom",
        "/c/coaching": "/c/coaching/feed.atom",
        "/entities/physician-pivot-accelerator": "/entities/physician-pivot-accelerator/feed.atom",
        f"/threads/{forum_with_threads['thread']}": (
            f"/threads/{forum_with_threads['thread']}/feed.atom"
        ),
    }
    for page, feed in pages.items():
        html = client.get(page).text
        assert f'<link rel="alternate" type="application/atom+xml" href="{feed}"' in html, page
        assert f'<a href="{feed}" type="application/atom+xml">' in html, page


def test_public_url_makes_links_and_ids(settings: Settings):
    public = settings.model_copy(update={"public_url": "https://offramp.example"})
    with TestClient(create_app(public), base_url=ORIGIN) as client:
        thread(client, "A thread for the public address", "Text.")
        parsed = feedparser.parse(client.get("/feed.atom").content)
        assert parsed.feed.id == "tag:offramp.example,2026:threads"
        assert parsed.entries[0].link.startswith("https://offramp.example/threads/")


def test_feed_queries_walk_an_index_whatever_the_thread_count(client, backend):
    """A feed reads the first 30 rows of an index, never sorts every thread."""
    if backend.name != "sqlite":
        pytest.skip("the plan check reads SQLite's EXPLAIN; bench/ measures PostgreSQL")

    async def plans() -> list[str]:
        rows = []
        for condition in ("", "AND category = 'coaching'", "AND entity = 'x'"):
            rows += await Thread.raw(
                "EXPLAIN QUERY PLAN SELECT id FROM forum_thread WHERE status = 'published' "
                f"{condition} ORDER BY created_at DESC, id DESC LIMIT 30"
            )
        return [row["detail"] for row in rows]

    details = client.blocking_portal.call(plans)
    assert not any("TEMP B-TREE" in detail for detail in details), details
    walks = [detail for detail in details if detail.startswith(("SCAN", "SEARCH"))]
    assert walks and all("feeds_thread_" in detail for detail in walks), details
