"""Search filters on the thread and the post: role tag (of the thread); on a real
database, hidden and unpublished posts never surfacing through them."""

from __future__ import annotations

import pytest

from offramp.errors import Invalid
from offramp.forum import schemas
from offramp.forum.service import Publishing

from ..forum.factories import make_reply, make_thread
from .conftest import Indexed


async def test_filter_by_role_tag_of_the_thread(indexed: Indexed):
    writing = await make_thread(
        indexed.forum, role_tags=["medical_writing"], body="The offer came by email."
    )
    reply = await make_reply(indexed.forum, writing.thread.id, body="My offer took longer.")
    await make_thread(indexed.forum, role_tags=["consulting"], body="An offer from a firm.")
    await make_thread(indexed.forum, body="An offer, no role given.")
    later = schemas.ThreadCreate(
        title="Scheduled for later",
        category="interviews",
        body="Offer.",
        role_tags=["medical_writing"],
    )
    await indexed.forum.create_thread(later, publishing=Publishing(delay=True))
    found = await indexed.post_ids("offer", role="medical_writing")
    assert sorted(found) == sorted([writing.post.id, reply.post.id])
    assert len(await indexed.post_ids("offer")) == 4
    assert await indexed.post_ids("offer", role="informatics") == []
    with pytest.raises(Invalid) as refused:
        await indexed.find("offer", role="astronaut")
    assert refused.value.field == "role"
