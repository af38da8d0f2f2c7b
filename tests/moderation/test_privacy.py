"""No moderator page, API answer or log entry leaks what could unmask a poster or a
reader: no edit key or its hash, no persona handle, no client address or user agent."""

from __future__ import annotations

from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings
from offramp.forum.tables import Post
from offramp.moderation.tables import LogEntry, Report, Takedown

from ..anonymity.test_privacy import CANARY_AGENT, CANARY_PEER, FromAddress
from ..conftest import ORIGIN, submit
from .conftest import PASSWORD, Anonymous, log_in

PERSONA = "canary-persona-handle"


def act_as_posters_and_reporters(settings: Settings) -> tuple[list[str], dict]:
    """From a canary address and user agent: a persona's thread, a keyed reply, reports
    and a takedown request. Returns the post ids and the secrets that must not leak."""
    app = create_app(settings)
    with TestClient(FromAddress(app, CANARY_PEER), base_url=ORIGIN) as client:
        client.headers.update({"Origin": ORIGIN, "User-Agent": CANARY_AGENT})
        client.post(
            "/personas/new",
            data={"handle": PERSONA, "passphrase": PASSWORD, "passphrase_again": PASSWORD},
        )
        submit(
            client,
            "/new",
            {
                "title": "A persona's thread",
                "category": "coaching",
                "body": "By a persona.",
                "action": "publish",
            },
        )
        client.post("/personas/logout")
        thread_id = client.get("/api/v1/threads").json()["threads"][0]["id"]
        reply = client.post(f"/api/v1/threads/{thread_id}/posts", json={"body": "Keyed reply."})
        posts = [p["id"] for p in client.get(f"/api/v1/threads/{thread_id}").json()["posts"]]
        for post_id in posts:
            submit(client, f"/posts/{post_id}/report", {"reason": "spam", "note": "a note"})
        client.post(
            f"/api/v1/posts/{posts[1]}/takedown-requests",
            json={"organisation": "Acme", "claim": "This reply is entirely false."},
        )
        hashes = [row["key_hash"] for row in client.blocking_portal.call(Post.select().run)]
    return posts, {"edit_key": reply.json()["edit_key"], "hashes": hashes}


def test_moderator_pages_and_the_log_leak_nothing(settings: Settings):
    posts, secrets = act_as_posters_and_reporters(settings)
    with TestClient(create_app(settings), base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        log_in(client, settings)
        pages = moderator_views(client, posts)
    forbidden = [PERSONA, secrets["edit_key"], CANARY_PEER, CANARY_AGENT, *secrets["hashes"]]
    for path, text in pages.items():
        leaked = [value for value in forbidden if value in text]
        assert not leaked, f"{path} shows {leaked}"


def moderator_views(client: TestClient, posts: list[str]) -> dict[str, str]:
    """Every moderator page and API answer about ``posts``, then the public log after
    one of them is hidden; also the moderation tables, as text."""
    reader = Anonymous(client)
    pages = {
        path: client.get(path).text
        for path in (
            "/moderation/queue",
            "/moderation/account",
            "/api/v1/moderation/queue",
            *[f"/moderation/posts/{post_id}" for post_id in posts],
            *[f"/api/v1/moderation/posts/{post_id}" for post_id in posts],
        )
    }
    client.post(f"/moderation/posts/{posts[0]}/actions", data={"action": "hide", "reason": "Spam"})
    for path in ("/moderation/log", "/moderation/log.json", "/moderation/log.atom"):
        pages[path] = reader.get(path).text
    assert "a note" in pages[f"/moderation/posts/{posts[0]}"]  # the pages did show things
    assert "Post hidden" in pages["/moderation/log"]
    pages["moderation tables"] = client.blocking_portal.call(_moderation_rows)
    return pages


async def _moderation_rows() -> str:
    rows = [await table.select() for table in (Report, Takedown, LogEntry)]
    return repr(rows)
