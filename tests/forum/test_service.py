"""The forum service on a real database: rules, history, pseudonyms, pagination."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest

from offramp.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from offramp.forum import schemas
from offramp.forum.seed import ensure_entities
from offramp.forum.service import POSTS_PER_PAGE, Author, Forum
from offramp.forum.tables import Post, PostRevision, Thread
from offramp.ids import this_hour

from .factories import make_reply, make_thread

ID_PATTERN = re.compile(r"^[2-9a-km-z]{12}$")


async def test_a_new_thread_has_its_opening_post_and_one_revision(forum: Forum):
    created = await make_thread(forum, title="Offer after four rounds", body="It **worked**.")
    assert created.thread.title == "Offer after four rounds"
    assert created.thread.reply_count == 0
    assert created.post.number == 1
    assert created.post.author == "OP"
    assert created.post.body_html == "<p>It <strong>worked</strong>.</p>\n"
    revisions = await PostRevision.select().where(PostRevision.post == created.post.id)
    assert [(r["number"], r["title"], r["body_md"]) for r in revisions] == [
        (1, "Offer after four rounds", "It **worked**.")
    ]


async def test_ids_are_random_and_times_are_stored_to_the_hour(forum: Forum):
    first = await make_thread(forum)
    second = await make_thread(forum)
    for public_id in (first.thread.id, first.post.id, second.thread.id, second.post.id):
        assert ID_PATTERN.match(public_id), public_id
    assert first.thread.id != second.thread.id
    rows = await Thread.select(Thread.created_at, Thread.last_activity)
    rows += await Post.select(Post.created_at, Post.updated_at)
    rows += await PostRevision.select(PostRevision.created_at)
    for row in rows:
        for moment in row.values():
            assert (moment.minute, moment.second, moment.microsecond) == (0, 0, 0)


async def test_the_edit_key_is_returned_once_and_only_its_hash_is_stored(forum: Forum):
    created = await make_thread(forum)
    assert len(created.edit_key) >= 43  # 32 random bytes, URL-safe base64
    stored = await Post.select(Post.key_hash).where(Post.id == created.post.id).first()
    assert created.edit_key not in str(stored)
    assert re.fullmatch(r"[0-9a-f]{64}", stored["key_hash"])


async def test_replies_are_numbered_in_order_and_counted(forum: Forum):
    created = await make_thread(forum)
    for number in range(3):
        await make_reply(forum, created.thread.id, body=f"reply {number}")
    page = await forum.thread_page(created.thread.id)
    assert [post.number for post in page.posts] == [1, 2, 3, 4]
    assert page.thread.reply_count == 3


async def test_pseudonyms_are_stable_in_a_thread_and_unlinkable_across_threads(
    forum: Forum,
):
    first = await make_thread(forum)
    second = await make_thread(forum)
    reply = await make_reply(forum, first.thread.id)
    again = await make_reply(forum, first.thread.id, author_key=reply.edit_key)
    as_op = await make_reply(forum, first.thread.id, author_key=first.edit_key)
    other = await make_reply(forum, first.thread.id)
    assert again.post.author == reply.post.author
    assert as_op.post.author == "OP"
    assert other.post.author not in (reply.post.author, "OP")
    # The same person's key cannot carry their name into another thread.
    with pytest.raises(Forbidden) as refused:
        await make_reply(forum, second.thread.id, author_key=reply.edit_key)
    assert refused.value.field == "author_key"


async def test_the_same_author_gets_different_names_in_different_threads(forum: Forum):
    secret = b"k" * 40
    from offramp.anonymity.pseudonyms import pseudonym

    names = {pseudonym(secret, "author-ref-1", f"thread-{n}", "op") for n in range(20)}
    assert len(names) > 15


async def test_edit_makes_a_revision_and_marks_the_post_edited(forum: Forum):
    created = await make_thread(forum, body="First version")
    edited = await forum.edit_post(
        created.post.id,
        Author(key=created.edit_key),
        schemas.PostUpdate(body="Second version", title="A better title"),
    )
    assert edited.edited
    assert edited.body_html == "<p>Second version</p>\n"
    assert (await forum.thread(created.thread.id)).title == "A better title"
    numbers = (
        await PostRevision.select(PostRevision.number, PostRevision.body_md)
        .where(PostRevision.post == created.post.id)
        .order_by(PostRevision.number)
    )
    assert [(r["number"], r["body_md"]) for r in numbers] == [
        (1, "First version"),
        (2, "Second version"),
    ]


async def test_only_the_opening_post_can_change_the_title(forum: Forum):
    created = await make_thread(forum)
    reply = await make_reply(forum, created.thread.id)
    with pytest.raises(Invalid) as refused:
        await forum.edit_post(
            reply.post.id,
            Author(key=reply.edit_key),
            schemas.PostUpdate(body="x", title="New title here"),
        )
    assert refused.value.field == "title"


async def test_wrong_missing_and_foreign_keys_are_refused(forum: Forum):
    first = await make_thread(forum)
    second = await make_thread(forum)
    update = schemas.PostUpdate(body="hijacked")
    with pytest.raises(Unauthorized):
        await forum.edit_post(first.post.id, Author(), update)
    with pytest.raises(Forbidden):
        await forum.edit_post(first.post.id, Author(key="not-the-key"), update)
    with pytest.raises(Forbidden):
        await forum.edit_post(first.post.id, Author(key=second.edit_key), update)
    with pytest.raises(NotFound):
        await forum.edit_post("nosuchpost22", Author(key=first.edit_key), update)
    assert (await forum.post(first.post.id)).body_html.startswith("<p>Opening post")


async def test_delete_erases_text_and_history_but_keeps_the_thread(forum: Forum):
    created = await make_thread(forum)
    reply = await make_reply(forum, created.thread.id, body="still here")
    await forum.edit_post(
        created.post.id, Author(key=created.edit_key), schemas.PostUpdate(body="v2 secret")
    )
    deleted = await forum.delete_post(created.post.id, Author(key=created.edit_key))
    assert deleted.status == "deleted"
    assert deleted.body_html == ""
    row = await Post.select(Post.body_md, Post.body_html).where(Post.id == created.post.id).first()
    assert row == {"body_md": "", "body_html": ""}
    assert await PostRevision.count().where(PostRevision.post == created.post.id) == 0
    page = await forum.thread_page(created.thread.id)
    assert [p.status for p in page.posts] == ["deleted", "published"]
    assert page.posts[1].id == reply.post.id
    with pytest.raises(Conflict):
        await forum.edit_post(
            created.post.id, Author(key=created.edit_key), schemas.PostUpdate(body="back")
        )


async def test_two_edits_at_once_leave_a_consistent_history(forum: Forum):
    created = await make_thread(forum)
    bodies = [f"concurrent version {n}" for n in range(6)]
    await asyncio.gather(
        *[
            forum.edit_post(
                created.post.id, Author(key=created.edit_key), schemas.PostUpdate(body=body)
            )
            for body in bodies
        ]
    )
    revisions = (
        await PostRevision.select(PostRevision.number, PostRevision.body_md)
        .where(PostRevision.post == created.post.id)
        .order_by(PostRevision.number)
    )
    assert [r["number"] for r in revisions] == list(range(1, 8))
    assert sorted(r["body_md"] for r in revisions[1:]) == sorted(bodies)
    post = (
        await Post.select(Post.body_md, Post.revision_count)
        .where(Post.id == created.post.id)
        .first()
    )
    assert post["revision_count"] == 7
    assert post["body_md"] == revisions[-1]["body_md"]


async def test_concurrent_replies_get_distinct_numbers(forum: Forum):
    created = await make_thread(forum)
    await asyncio.gather(*[make_reply(forum, created.thread.id, body=f"r{n}") for n in range(8)])
    page = await forum.thread_page(created.thread.id)
    assert [p.number for p in page.posts] == list(range(1, 10))
    assert page.thread.reply_count == 8


async def test_thread_pages_split_posts(forum: Forum):
    created = await make_thread(forum)
    for _ in range(POSTS_PER_PAGE):
        await make_reply(forum, created.thread.id)
    first = await forum.thread_page(created.thread.id, 1)
    second = await forum.thread_page(created.thread.id, 2)
    assert (first.pages, len(first.posts), len(second.posts)) == (2, POSTS_PER_PAGE, 1)
    assert second.posts[0].url.endswith(f"?page=2#p{POSTS_PER_PAGE + 1}")
    with pytest.raises(NotFound):
        await forum.thread_page(created.thread.id, 3)


async def test_keyset_pagination_visits_every_thread_once(forum: Forum):
    made = {(await make_thread(forum, category="coaching")).thread.id for _ in range(23)}
    await make_thread(forum, category="employers")
    seen: list[str] = []
    cursor = None
    while True:
        listing = await forum.threads(category="coaching", cursor=cursor, limit=5)
        seen.extend(thread.id for thread in listing.threads)
        if listing.next is None:
            break
        cursor = listing.next
    assert len(seen) == len(made) and set(seen) == made


async def test_a_reply_moves_its_thread_to_the_top(forum: Forum):
    """Activity is stored to the hour, so inside one hour the order is arbitrary
    (a deliberate privacy trade-off); across hours a reply bumps the thread."""
    old = await make_thread(forum)
    newer = await make_thread(forum)
    for thread, days in ((old, 3), (newer, 2)):
        await Thread.update({Thread.last_activity: this_hour() - timedelta(days=days)}).where(
            Thread.id == thread.thread.id
        )
    assert [t.id for t in (await forum.threads()).threads] == [
        newer.thread.id,
        old.thread.id,
    ]
    await make_reply(forum, old.thread.id)
    assert [t.id for t in (await forum.threads()).threads] == [
        old.thread.id,
        newer.thread.id,
    ]


async def test_entities_resolve_by_name_slug_and_alias(forum: Forum):
    await ensure_entities()
    by_name = await forum.resolve_entity("Northbridge Utilization Review")
    assert await forum.resolve_entity("northbridge-utilization-review") == by_name
    assert await forum.resolve_entity("  NBUR ") == by_name
    assert await forum.resolve_entity("Northbridge UR") == by_name
    created = await make_thread(forum, entity="nbur", category="employers")
    assert created.thread.entity is not None
    assert created.thread.entity.name == "Northbridge Utilization Review"
    entity = await forum.entity(created.thread.entity.slug)
    assert entity.thread_count >= 1
    with pytest.raises(Invalid) as unknown:
        await make_thread(forum, entity="Nobody Inc")
    assert unknown.value.field == "entity"


async def test_unknown_category_creates_nothing(forum: Forum):
    with pytest.raises(NotFound) as refused:
        await make_thread(forum, category="nonsense")
    assert refused.value.field == "category"
    assert await Thread.count() == 0 and await Post.count() == 0


async def test_a_bad_cursor_is_a_clear_error(forum: Forum):
    from offramp.errors import BadRequest

    for cursor in ("!!!", "bm90IGEgY3Vyc29y", "MjAyNi0wMS0wMXxh"):
        with pytest.raises(BadRequest) as refused:
            await forum.threads(cursor=cursor)
        assert refused.value.field == "cursor"
