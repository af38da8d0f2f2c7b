"""Role tags on threads (SPEC §2): chosen when a thread is started, shown with it, and
a filter of every thread list, in every order."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from offramp.errors import Invalid
from offramp.forum import schemas
from offramp.forum.service import Forum, Publishing

from .factories import make_reply, make_thread


async def test_a_thread_keeps_its_role_tags_in_the_list_order(forum: Forum):
    created = await make_thread(
        forum, role_tags=["consulting", "medical_affairs", "consulting"], category="employers"
    )
    expected = ["medical_affairs", "consulting"]  # SPEC §2 order, each once
    assert [tag.slug for tag in created.thread.role_tags] == expected
    assert created.thread.role_tags[0].name == "Medical affairs / MSL"
    assert created.thread.role_tags[0].url == "/?role=medical_affairs"
    assert [tag.slug for tag in (await forum.thread(created.thread.id)).role_tags] == expected
    page = await forum.thread_page(created.thread.id)
    assert [tag.slug for tag in page.thread.role_tags] == expected
    listed = (await forum.threads()).threads
    assert [tag.slug for tag in listed[0].role_tags] == expected


@pytest.mark.parametrize(
    "tags", [["astronaut"], ["consulting", "informatics", "other", "health_tech"]]
)
def test_unknown_or_too_many_role_tags_are_refused(tags: list[str]):
    with pytest.raises(ValidationError) as refused:
        schemas.ThreadCreate(title="A title here", category="employers", body="x", role_tags=tags)
    assert refused.value.errors()[0]["loc"][0] == "role_tags"


@pytest.mark.parametrize("sort", ["activity", "newest", "replies", "unanswered"])
async def test_thread_lists_filter_by_role_in_every_order(forum: Forum, sort: str):
    tagged = set()
    for number in range(5):
        made = await make_thread(forum, category="coaching", role_tags=["medical_writing"])
        tagged.add(made.thread.id)
        if number % 2:
            await make_reply(forum, made.thread.id)
        await make_thread(forum, category="coaching", role_tags=["consulting"])
    await make_thread(forum, category="employers", role_tags=["medical_writing"])
    hidden = schemas.ThreadCreate(
        title="Not public yet", category="coaching", body="Later.", role_tags=["medical_writing"]
    )
    await forum.create_thread(hidden, publishing=Publishing(delay=True))
    seen, cursor = [], None
    while True:
        listing = await forum.threads(
            category="coaching", role="medical_writing", sort=sort, cursor=cursor, limit=2
        )
        seen.extend(thread.id for thread in listing.threads)
        if listing.next is None:
            break
        cursor = listing.next
    if sort == "unanswered":
        assert len(seen) == 3 and set(seen) < tagged
    else:
        assert len(seen) == 5 and set(seen) == tagged


async def test_an_unknown_role_names_the_field(forum: Forum):
    with pytest.raises(Invalid) as refused:
        await forum.threads(role="astronaut")
    assert refused.value.field == "role" and "medical_affairs" in refused.value.message
