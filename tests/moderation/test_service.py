"""The moderation service: reports grouped into one queue ordered by urgency, every
action with its public log entry, takedown requests, and a log that shows no more
than readers may see."""

from __future__ import annotations

import pytest

from offramp.errors import Conflict, Forbidden, Invalid, NotFound
from offramp.forum import schemas as forum_schemas
from offramp.forum.service import Author, Forum, Publishing
from offramp.forum.tables import Entity, Post, PostRevision, Thread
from offramp.moderation import schemas
from offramp.moderation.service import REDACTED, Actor, Moderation
from offramp.moderation.tables import LogEntry, Report, Takedown

from ..forum.factories import make_reply, make_thread

ACTOR = Actor(moderator_id="moderator01", role="moderator")
ADMIN = Actor(moderator_id="moderator02", role="admin")
WITH_EMAIL = "Write to me at jane.doe@example.com."


class Changes:
    """A forum listener that records what it is told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    async def __call__(self, thread_id: str, post_id: str | None) -> None:
        self.seen.append((thread_id, post_id))


@pytest.fixture
def changes() -> Changes:
    return Changes()


@pytest.fixture
def moderation(forum: Forum, changes: Changes) -> Moderation:
    return Moderation(Forum(secret=forum.secret, listeners=(changes,)))


def action(name: str, reason: str = "", revision: int | None = None):
    return schemas.PostActionCreate(action=name, reason=reason, revision=revision)


async def held_reply(forum: Forum, thread_id: str) -> forum_schemas.PostCreated:
    data = forum_schemas.ReplyCreate(body=WITH_EMAIL, confirm_identifying_details=True)
    return await forum.create_reply(thread_id, data, Author(), Publishing(confirmed_findings=True))


async def report(moderation: Moderation, post_id: str, reason: str, note: str = ""):
    return await moderation.report(post_id, schemas.ReportCreate(reason=reason, note=note))


async def takedown(moderation: Moderation, post_id: str, organisation: str = "Escape Co"):
    data = schemas.TakedownCreate(
        organisation=organisation, claim="The post says our refund policy is a lie; it is not."
    )
    return await moderation.request_takedown(post_id, data)


async def last_log() -> dict:
    return await LogEntry.select().order_by(LogEntry.id, ascending=False).first()


async def post_row(post_id: str) -> dict:
    return await Post.select().where(Post.id == post_id).first()


async def test_reports_are_grouped_and_the_queue_is_ordered_by_urgency(
    forum: Forum, moderation: Moderation
):
    spam = await make_thread(forum)
    doxx = await make_thread(forum)
    legal = await make_thread(forum)
    held = await held_reply(forum, spam.thread.id)
    for note in ("an advert", "", "same advert"):
        await report(moderation, spam.post.id, "spam", note)
    await report(moderation, doxx.post.id, "identifies_person", "names my colleague")
    await report(moderation, doxx.post.id, "harassment")
    await takedown(moderation, legal.post.id)

    queue = await moderation.queue()
    assert [item.post_id for item in queue] == [
        legal.post.id,
        doxx.post.id,
        held.post.id,
        spam.post.id,
    ]
    assert queue[0].why == ["Takedown request"]
    assert queue[1].why == ["It identifies a person", "Harassment"]
    assert queue[2].why == ["Held: identifying details"]
    assert queue[3].why == ["Spam or advertising ×3"] and queue[3].urgency == 4
    assert all(item.url == f"/moderation/posts/{item.post_id}" for item in queue)

    review = await moderation.review(spam.post.id)
    assert review.reports.count == 3 and review.reports.reasons == {"spam": 3}
    assert sorted(review.reports.notes) == ["an advert", "same advert"]
    held_review = await moderation.review(held.post.id)
    assert held_review.findings == ["email"] and "jane.doe@example.com" in held_review.body_html
    assert [r.body_md for r in held_review.revisions] == [WITH_EMAIL]


async def test_only_public_posts_can_be_reported(forum: Forum, moderation: Moderation):
    thread = await make_thread(forum)
    held = await held_reply(forum, thread.thread.id)
    with pytest.raises(NotFound):
        await report(moderation, held.post.id, "spam")
    with pytest.raises(NotFound):
        await report(moderation, "nosuchpost", "spam")
    await forum.delete_post(thread.post.id, Author(key=thread.edit_key))
    with pytest.raises(NotFound):
        await report(moderation, thread.post.id, "spam")


async def test_approve_publishes_a_held_post_with_its_counts(
    forum: Forum, moderation: Moderation, changes: Changes
):
    await forum.categories()
    entity = await Entity.select(Entity.id, Entity.name).first()
    opening = await forum.create_thread(
        forum_schemas.ThreadCreate(
            title="Held from the start",
            category="employers",
            body=WITH_EMAIL,
            entity=entity["name"] if entity else None,
            confirm_identifying_details=True,
        ),
        Author(),
        Publishing(confirmed_findings=True),
    )
    assert opening.post.status == "held"
    entry = await moderation.act_on_post(ACTOR, opening.post.id, action("approve"))
    assert entry.action == "approve" and entry.reason == "Reviewed and published."
    thread = await Thread.select().where(Thread.id == opening.thread.id).first()
    assert thread["status"] == "published"
    assert (await post_row(opening.post.id))["status"] == "published"
    if entity:
        counted = await Entity.select(Entity.thread_count).where(Entity.id == entity["id"]).first()
        assert counted["thread_count"] == 1
    assert (opening.thread.id, opening.post.id) in changes.seen

    held = await held_reply(forum, opening.thread.id)
    await moderation.act_on_post(ADMIN, held.post.id, action("approve", "Only a role address."))
    page = await forum.thread_page(opening.thread.id)
    assert page.thread.reply_count == 1 and page.posts[1].status == "published"
    log = await last_log()
    assert log["role"] == "admin" and log["reason"] == "Only a role address."
    with pytest.raises(Conflict):
        await moderation.act_on_post(ACTOR, held.post.id, action("approve"))


async def test_hide_needs_a_public_reason_and_settles_the_reports(
    forum: Forum, moderation: Moderation, changes: Changes
):
    thread = await make_thread(forum)
    reply = await make_reply(forum, thread.thread.id)
    await report(moderation, thread.post.id, "harassment")
    with pytest.raises(Invalid) as missing:
        await moderation.act_on_post(ACTOR, thread.post.id, action("hide"))
    assert missing.value.field == "reason"

    entry = await moderation.act_on_post(
        ACTOR, thread.post.id, action("hide", "Personal attack on another poster.")
    )
    assert entry.label == "Post hidden" and entry.role == "moderator"
    assert entry.url == f"/threads/{thread.thread.id}#p1"
    row = await post_row(thread.post.id)
    assert row["status"] == "hidden"
    assert row["moderation_note"] == "Personal attack on another poster."
    assert row["body_md"]  # the text is kept (its author may still read it)
    assert await Report.count().where(Report.status == "open") == 0
    assert await moderation.queue() == []
    page = await forum.thread_page(thread.thread.id)  # the replies stay, a notice in place
    assert page.posts[0].body_html == "" and page.posts[0].notice == row["moderation_note"]
    assert page.posts[1].id == reply.post.id and page.posts[1].body_html
    assert (thread.thread.id, thread.post.id) in changes.seen
    own = await forum.own_post(thread.post.id, Author(key=thread.edit_key))
    assert own.notice == row["moderation_note"] and own.body_html

    with pytest.raises(Conflict):
        await moderation.act_on_post(ACTOR, thread.post.id, action("hide", "Again, why not"))
    with pytest.raises(Conflict):
        await report(moderation, thread.post.id, "spam")


async def test_restore_returns_a_post_to_what_it_was(forum: Forum, moderation: Moderation):
    thread = await make_thread(forum)
    held = await held_reply(forum, thread.thread.id)
    await moderation.act_on_post(ACTOR, thread.post.id, action("hide", "Off-topic advert"))
    await moderation.act_on_post(ACTOR, held.post.id, action("hide", "Names a colleague"))
    with pytest.raises(Invalid):
        await moderation.act_on_post(ACTOR, thread.post.id, action("restore"))
    entry = await moderation.act_on_post(
        ACTOR, thread.post.id, action("restore", "Hidden by mistake")
    )
    assert entry.action == "restore"
    restored = await post_row(thread.post.id)
    assert restored["status"] == "published" and restored["moderation_note"] == ""
    await moderation.act_on_post(ACTOR, held.post.id, action("restore", "Back to review"))
    assert (await post_row(held.post.id))["status"] == "held"  # it never was public
    with pytest.raises(Conflict):
        await moderation.act_on_post(ACTOR, thread.post.id, action("restore", "Not hidden"))


async def test_redact_replaces_one_revision_visibly(forum: Forum, moderation: Moderation):
    thread = await make_thread(forum, body="First version naming Dr Smith.")
    key = Author(key=thread.edit_key)
    await forum.edit_post(thread.post.id, key, forum_schemas.PostUpdate(body="Second version."))
    await moderation.act_on_post(
        ACTOR, thread.post.id, action("redact", "Named a person", revision=1)
    )
    revisions = await PostRevision.select().order_by(PostRevision.number)
    assert [r["body_md"] for r in revisions] == [REDACTED, "Second version."]
    assert (await post_row(thread.post.id))["body_md"] == "Second version."
    log = await last_log()
    assert log["action"] == "redact" and log["revision"] == 1
    entry = (await moderation.log()).entries[0]
    assert entry.target.startswith("revision 1 of post 1")

    await moderation.act_on_post(ACTOR, thread.post.id, action("redact", "Same", revision=2))
    current = await post_row(thread.post.id)
    assert current["body_md"] == REDACTED and REDACTED in current["body_html"]
    with pytest.raises(Conflict):
        await moderation.act_on_post(ACTOR, thread.post.id, action("redact", "Again", 2))
    with pytest.raises(NotFound):
        await moderation.act_on_post(ACTOR, thread.post.id, action("redact", "Which", 9))
    with pytest.raises(Invalid):
        await moderation.act_on_post(ACTOR, thread.post.id, action("redact", "Which"))


async def test_redacting_an_opening_revision_redacts_its_title(
    forum: Forum, moderation: Moderation
):
    thread = await make_thread(forum, title="Dr Jane Roe at Acme")
    await moderation.act_on_post(ACTOR, thread.post.id, action("redact", "A name", revision=1))
    assert (await forum.thread(thread.thread.id)).title == REDACTED


async def test_dismiss_closes_the_reports_and_keeps_the_post(forum: Forum, moderation: Moderation):
    thread = await make_thread(forum)
    await report(moderation, thread.post.id, "defamation")
    await report(moderation, thread.post.id, "other")
    entry = await moderation.act_on_post(ACTOR, thread.post.id, action("dismiss"))
    assert entry.label == "Reports dismissed"
    assert await Report.count().where(Report.status == "open") == 0
    assert (await post_row(thread.post.id))["status"] == "published"
    with pytest.raises(Conflict):
        await moderation.act_on_post(ACTOR, thread.post.id, action("dismiss"))


async def test_lock_and_unlock_a_thread(forum: Forum, moderation: Moderation, changes):
    thread = await make_thread(forum)
    lock = schemas.ThreadActionCreate(action="lock", reason="Going in circles")
    entry = await moderation.act_on_thread(ACTOR, thread.thread.id, lock)
    assert entry.label == "Thread locked" and entry.url == f"/threads/{thread.thread.id}"
    assert (thread.thread.id, None) in changes.seen
    with pytest.raises(Conflict):
        await make_reply(forum, thread.thread.id)
    with pytest.raises(Conflict):
        await moderation.act_on_thread(ACTOR, thread.thread.id, lock)
    unlock = schemas.ThreadActionCreate(action="unlock", reason="Calmer now")
    await moderation.act_on_thread(ACTOR, thread.thread.id, unlock)
    await make_reply(forum, thread.thread.id)
    with pytest.raises(NotFound):
        await moderation.act_on_thread(ACTOR, "nosuchthread", lock)


async def test_takedown_request_review_answer_and_uphold(forum: Forum, moderation: Moderation):
    thread = await make_thread(forum)
    await report(moderation, thread.post.id, "defamation")
    await takedown(moderation, thread.post.id, "Escape Co")
    row = await post_row(thread.post.id)
    assert row["status"] == "under_review" and row["moderation_note"] == "requested by Escape Co"
    received = await last_log()
    assert received["action"] == "takedown_received" and received["role"] == "public"
    assert received["moderator"] is None and "Escape Co" in received["reason"]
    assert "refund" not in received["reason"]  # the claim stays with moderators
    page = await forum.thread_page(thread.thread.id)
    assert page.posts[0].body_html == "" and page.posts[0].notice == "requested by Escape Co"
    with pytest.raises(Conflict):
        await takedown(moderation, thread.post.id, "Someone Else")

    with pytest.raises(Forbidden):
        await moderation.takedown_for_author(thread.post.id, Author(key="wrong-key"))
    shown = await moderation.takedown_for_author(thread.post.id, Author(key=thread.edit_key))
    assert "refund policy" in shown.claim
    answer = schemas.TakedownAnswer(response="Their own terms say no refunds after day 3.")
    await moderation.answer_takedown(thread.post.id, Author(key=thread.edit_key), answer)
    review = await moderation.review(thread.post.id)
    assert review.takedown.response == answer.response

    entry = await moderation.act_on_post(
        ACTOR, thread.post.id, action("uphold", "False statement of fact about refunds")
    )
    assert entry.action == "takedown_upheld"
    row = await post_row(thread.post.id)
    assert row["status"] == "hidden" and row["moderation_note"].startswith("False statement")
    assert (await Takedown.select(Takedown.status).first())["status"] == "upheld"
    assert await Report.count().where(Report.status == "open") == 0


async def test_takedown_rejected_restores_the_post(forum: Forum, moderation: Moderation):
    thread = await make_thread(forum)
    await takedown(moderation, thread.post.id)
    with pytest.raises(Conflict):
        await moderation.act_on_post(ACTOR, thread.post.id, action("hide", "Not this way"))
    entry = await moderation.act_on_post(
        ACTOR, thread.post.id, action("reject", "An opinion, not a false statement of fact")
    )
    assert entry.label.startswith("Takedown request rejected")
    row = await post_row(thread.post.id)
    assert row["status"] == "published" and row["moderation_note"] == ""
    with pytest.raises(Conflict):
        await moderation.act_on_post(ACTOR, thread.post.id, action("reject", "Twice"))


async def test_the_log_pages_and_never_shows_a_thread_that_is_not_public(
    forum: Forum, moderation: Moderation
):
    hidden_thread = await forum.create_thread(
        forum_schemas.ThreadCreate(
            title="Secret title with jane.doe@example.com",
            category="coaching",
            body=WITH_EMAIL,
            confirm_identifying_details=True,
        ),
        Author(),
        Publishing(confirmed_findings=True),
    )
    await moderation.act_on_post(ACTOR, hidden_thread.post.id, action("hide", "Identifies"))
    public = await make_thread(forum)
    for number in range(4):
        locking = "lock" if number % 2 == 0 else "unlock"
        data = schemas.ThreadActionCreate(action=locking, reason=f"Step {number}")
        await moderation.act_on_thread(ACTOR, public.thread.id, data)

    first = await moderation.log(limit=3)
    assert [e.reason for e in first.entries] == ["Step 3", "Step 2", "Step 1"]
    second = await moderation.log(before=first.next, limit=3)
    assert [e.reason for e in second.entries] == ["Step 0", "Identifies"]
    assert second.next is None
    secret_entry = second.entries[-1]
    assert secret_entry.url is None and "Secret" not in secret_entry.target
    assert secret_entry.target == "a post that is not public"
