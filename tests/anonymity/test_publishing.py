"""Held posts (identifying details) and delayed publication: invisible until their time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from offramp.forum import schemas
from offramp.forum.service import Author, Forum, NeedsConfirmation, Publishing
from offramp.forum.tables import Post, Thread
from offramp.ids import this_hour

from ..conftest import submit
from ..forum.factories import make_reply, make_thread

EMAIL_BODY = "Write to me at someone@example.org about the offer."
CONFIRMED = Publishing(confirmed_findings=True)
DELAYED = Publishing(delay=True)


async def test_identifying_details_need_confirmation_and_then_wait_for_review(forum: Forum):
    with pytest.raises(NeedsConfirmation) as refused:
        await make_thread(forum, body=EMAIL_BODY)
    assert [f.kind for f in refused.value.findings] == ["email"]
    assert await Thread.count() == 0

    data = schemas.ThreadCreate(title="Held thread here", category="interviews", body=EMAIL_BODY)
    created = await forum.create_thread(data, Author(), CONFIRMED)
    assert created.post.status == "held"
    assert (await forum.threads()).threads == []
    with pytest.raises(Exception, match="no such"):
        await forum.thread_page(created.thread.id)
    with pytest.raises(Exception, match="no such"):
        await forum.post(created.post.id)
    mine = await forum.own_post(created.post.id, Author(key=created.edit_key))
    assert mine.status == "held" and "someone@example.org" in mine.body_html
    row = await Post.select(Post.findings).where(Post.id == created.post.id).first()
    assert row["findings"] == "email"


async def test_a_title_is_checked_too(forum: Forum):
    with pytest.raises(NeedsConfirmation):
        await make_thread(forum, title="Call 555-123-4567 about this")


async def test_a_held_reply_is_neither_shown_nor_counted(forum: Forum):
    thread = await make_thread(forum)
    data = schemas.ReplyCreate(body=EMAIL_BODY, confirm_identifying_details=True)
    held = await forum.create_reply(thread.thread.id, data, Author(), CONFIRMED)
    page = await forum.thread_page(thread.thread.id)
    assert [p.id for p in page.posts] == [thread.post.id]
    assert page.thread.reply_count == 0
    assert held.post.status == "held"


async def test_editing_in_an_identifying_detail_sends_the_post_back_to_review(forum: Forum):
    thread = await make_thread(forum)
    reply = await make_reply(forum, thread.thread.id)
    assert (await forum.thread(thread.thread.id)).reply_count == 1
    with pytest.raises(NeedsConfirmation):
        await forum.edit_post(
            reply.post.id, Author(key=reply.edit_key), schemas.PostUpdate(body=EMAIL_BODY)
        )
    update = schemas.PostUpdate(body=EMAIL_BODY, confirm_identifying_details=True)
    edited = await forum.edit_post(reply.post.id, Author(key=reply.edit_key), update)
    assert edited.status == "held"
    assert (await forum.thread(thread.thread.id)).reply_count == 0


async def test_delayed_posts_appear_at_their_hour_dated_by_publication(forum: Forum):
    data = schemas.ThreadCreate(title="Delayed on purpose", category="coaching", body="Later.")
    created = await forum.create_thread(data, Author(), DELAYED)
    assert created.post.status == "scheduled"
    row = await Post.select(Post.publish_at).where(Post.id == created.post.id).first()
    delay = row["publish_at"] - this_hour()
    assert timedelta(hours=1) <= delay <= timedelta(hours=24)
    assert row["publish_at"].minute == 0
    assert (await forum.threads()).threads == []
    assert await forum.publish_due() == 0  # not yet

    reply_data = schemas.ReplyCreate(body="Also later.")
    other = await make_thread(forum)
    reply = await forum.create_reply(other.thread.id, reply_data, Author(), DELAYED)
    assert (await forum.thread(other.thread.id)).reply_count == 0

    published = await forum.publish_due(now=this_hour() + timedelta(hours=25))
    assert published == 2
    thread = await forum.thread(created.thread.id)
    assert thread.created == row["publish_at"].date()
    assert (await forum.post(created.post.id)).status == "published"
    assert (await forum.post(reply.post.id)).status == "published"
    assert (await forum.thread(other.thread.id)).reply_count == 1
    assert await forum.publish_due(now=this_hour() + timedelta(hours=25)) == 0  # only once


async def test_deleting_a_post_before_publication_leaves_no_trace(forum: Forum):
    data = schemas.ThreadCreate(title="Never mind this one", category="coaching", body="x")
    created = await forum.create_thread(data, Author(), DELAYED)
    await forum.delete_post(created.post.id, Author(key=created.edit_key))
    assert await forum.publish_due(now=this_hour() + timedelta(hours=25)) == 0
    assert (await forum.threads()).threads == []
    status = await Thread.select(Thread.status).where(Thread.id == created.thread.id).first()
    assert status["status"] == "withdrawn"


def test_the_preview_names_and_marks_each_finding(client):
    response = submit(
        client,
        "/new",
        {
            "title": "Interview at a payer",
            "category": "interviews",
            "action": "preview",
            "body": "Ask me: jo@example.org or 555-123-4567. Nothing else <b>here</b>.",
        },
    )
    assert response.status_code == 200
    assert "This may identify you" in response.text
    assert "This looks like an e-mail address: “jo@example.org”" in response.text
    assert "<mark>jo@example.org</mark>" in response.text
    assert "<mark>555-123-4567</mark>" in response.text
    assert "&lt;b&gt;here&lt;/b&gt;" in response.text  # the marked text is escaped


def test_publishing_with_findings_needs_the_box_ticked_then_is_held(client):
    data = {
        "title": "Interview at a payer",
        "category": "interviews",
        "action": "publish",
        "body": "Ask me: jo@example.org",
    }
    refused = submit(client, "/new", data)
    assert refused.status_code == 422 and 'id="confirm_identifying_details"' in refused.text
    held = submit(client, "/new", {**data, "confirm_identifying_details": "yes"})
    assert held.status_code == 201 and "held until a moderator has reviewed it" in held.text
    assert client.get("/api/v1/threads").json()["threads"] == []
    post_id = re.search(r'href="/posts/([^/]+)/manage"', held.text).group(1)
    key = re.search(r'id="edit-key" type="text" readonly value="([^"]+)"', held.text).group(1)
    manage = client.get(f"/posts/{post_id}/manage")
    assert manage.status_code == 200 and "jo@example.org" not in manage.text
    own = client.post(f"/posts/{post_id}/edit", data={"edit_key": key})
    assert "held for review" in own.text and "jo@example.org" in own.text


def test_api_preview_reports_findings_with_positions(client):
    body = "DEA AB1234563, NPI 1234567893"
    findings = client.post("/api/v1/preview", json={"body": body}).json()["findings"]
    assert [(f["kind"], body[f["start"] : f["end"]]) for f in findings] == [
        ("dea", "AB1234563"),
        ("npi", "1234567893"),
    ]
    created = client.post(
        "/api/v1/threads", json={"title": "Numbers", "category": "coaching", "body": body}
    )
    assert created.status_code == 422
    assert created.json()["error"]["code"] == "identifying_details"
