"""Thread-list orders on a real database: each order, keyset pages that keep it, and
an index walk (no sort of the table) for every order in every scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from piccolo.engine.postgres import PostgresEngine

from offramp.errors import BadRequest, Invalid
from offramp.forum import schemas
from offramp.forum.seed import ensure_entities
from offramp.forum.service import SORT_KEYS, Forum, Publishing
from offramp.forum.tables import Thread
from offramp.ids import this_hour

from .factories import make_reply, make_thread

# name: (hours since it was started, hours since its latest activity, replies)
SHAPES = {
    "A": (120, 24, 3),
    "B": (96, 96, 0),
    "C": (72, 48, 1),
    "D": (48, 30, 3),
    "E": (20, 20, 0),
}
EXPECTED = {
    "activity": "EADCB",
    "newest": "EDCBA",
    "replies": "ADCEB",
    "unanswered": "EB",
}


async def _threads_in_shapes(forum: Forum, category: str = "coaching") -> dict[str, str]:
    ids = {}
    now = this_hour()
    for name, (started, active, replies) in SHAPES.items():
        thread_id = (await make_thread(forum, category=category, title=f"Thread {name}")).thread.id
        for _ in range(replies):
            await make_reply(forum, thread_id)
        await Thread.update(
            {
                Thread.created_at: now - timedelta(hours=started),
                Thread.last_activity: now - timedelta(hours=active),
            }
        ).where(Thread.id == thread_id)
        ids[thread_id] = name
    return ids


async def _walk(forum: Forum, sort: str, limit: int, **scope) -> str:
    """Every page of a list, as the names of its threads."""
    seen, cursor = [], None
    while True:
        listing = await forum.threads(sort=sort, cursor=cursor, limit=limit, **scope)
        seen.extend(thread.title.removeprefix("Thread ") for thread in listing.threads)
        if listing.next is None:
            return "".join(seen)
        cursor = listing.next


@pytest.mark.parametrize("sort", list(EXPECTED))
async def test_each_order_pages_through_every_thread_once_in_order(forum: Forum, sort: str):
    await _threads_in_shapes(forum)
    await make_thread(forum, category="employers", title="Thread elsewhere")
    later = schemas.ThreadCreate(title="Thread later", category="coaching", body="Delayed.")
    await forum.create_thread(later, publishing=Publishing(delay=True))
    assert await _walk(forum, sort, limit=100, category="coaching") == EXPECTED[sort]
    for limit in (1, 2, 3):
        assert await _walk(forum, sort, limit=limit, category="coaching") == EXPECTED[sort]


async def test_the_site_wide_and_entity_lists_take_every_order(forum: Forum):
    await ensure_entities()
    await _threads_in_shapes(forum)
    about = await make_thread(forum, category="employers", entity="nbur", title="Thread N")
    site = await _walk(forum, "replies", limit=2)
    assert site.replace("N", "") == EXPECTED["replies"] and "N" in site
    entity_id = (await Thread.select(Thread.entity).where(Thread.id == about.thread.id))[0]
    assert await _walk(forum, "unanswered", limit=1, entity=entity_id["entity"]) == "N"


async def test_a_cursor_keeps_its_order(forum: Forum):
    await _threads_in_shapes(forum)
    cursor = (await forum.threads(sort="newest", limit=1)).next
    with pytest.raises(BadRequest) as refused:
        await forum.threads(sort="replies", cursor=cursor)
    assert refused.value.field == "cursor" and "sort=newest" in refused.value.message
    with pytest.raises(Invalid) as unknown:
        await forum.threads(sort="oldest")
    assert unknown.value.field == "sort" and "unanswered" in unknown.value.message


@pytest.mark.parametrize(
    "cursor",
    [
        "cmVwbGllc3x4fDIwMjYtMDEtMDFUMDA6MDA6MDArMDA6MDB8YQ",  # replies|x|...: not a count
        "YWN0aXZpdHl8MjAyNi0wMS0wMXxh",  # activity|2026-01-01|a: no time zone
        "YWN0aXZpdHl8YQ",  # activity|a: too short
        "YWN0aXZpdHw",  # not an order
    ],
)
async def test_a_forged_cursor_is_refused(forum: Forum, cursor: str):
    sort = "replies" if cursor.startswith("cmVw") else "activity"
    with pytest.raises(BadRequest) as refused:
        await forum.threads(sort=sort, cursor=cursor)
    assert refused.value.field == "cursor"


async def _plan(sql: str) -> str:
    """The engine's plan for ``sql``. PostgreSQL is told to avoid table scans and sorts
    whenever it can, so a plan that still sorts has no index giving the order."""
    engine = Thread._meta.db
    if isinstance(engine, PostgresEngine):
        async with engine.transaction():
            for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
                await engine.run_ddl(f"SET LOCAL {setting} = off")
            rows = await Thread.raw("EXPLAIN " + sql)
        return "\n".join(row["QUERY PLAN"] for row in rows)
    rows = await Thread.raw("EXPLAIN QUERY PLAN " + sql)
    return "\n".join(row["detail"] for row in rows)


@pytest.mark.parametrize("sort", list(SORT_KEYS))
@pytest.mark.parametrize("scope", ["site", "category", "entity"])
async def test_every_order_is_an_index_walk_from_any_cursor(forum: Forum, sort: str, scope: str):
    """Flat cost from the first page to the last: the list is read in index order from
    the cursor on, never sorted."""
    await ensure_entities()
    await _threads_in_shapes(forum)
    cursor = (await forum.threads(sort=sort, limit=1)).next
    where = {"site": {}, "category": {"category": "coaching"}, "entity": {"entity": "x" * 12}}
    for page_cursor in (None, cursor):
        query = forum.threads_query(sort=sort, cursor=page_cursor, **where[scope]).limit(26)
        plan = await _plan(str(query))
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
        assert "forum_thread_" in plan or "feeds_thread_" in plan, plan


async def test_most_active_ranks_the_recently_active_by_replies(forum: Forum):
    """The home page's "most active": most replies first, among recently active threads
    that have replies; a thread quiet for over a week drops out."""
    from offramp.forum import service

    ids = {}
    for name, replies in (("busy", 3), ("some", 1), ("none", 0), ("stale", 5)):
        thread_id = (await make_thread(forum, title=f"Thread {name}")).thread.id
        for _ in range(replies):
            await make_reply(forum, thread_id)
        ids[thread_id] = name
    stale = next(thread_id for thread_id, name in ids.items() if name == "stale")
    await Thread.update({Thread.last_activity: this_hour() - timedelta(days=8)}).where(
        Thread.id == stale
    )
    active = await forum.active_threads()
    assert [ids[thread.id] for thread in active] == ["busy", "some"]
    assert active[0].reply_count == 3
    # Bounded: only the most recently active candidates are ranked, read off an index.
    assert service.ACTIVE_CANDIDATES <= 1000
    plan = await _plan(str(forum.active_candidates()))
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
