"""Factories that build forum data through the service, as a poster would."""

from __future__ import annotations

import itertools

from offramp.forum import schemas
from offramp.forum.service import Forum

_counter = itertools.count(1)


async def make_thread(forum: Forum, **overrides) -> schemas.ThreadCreated:
    number = next(_counter)
    data = {
        "title": f"Thread number {number} about interviews",
        "category": "interviews",
        "body": f"Opening post {number}.",
        **overrides,
    }
    return await forum.create_thread(schemas.ThreadCreate(**data))


async def make_reply(
    forum: Forum, thread_id: str, body: str = "A reply.", author_key: str | None = None
) -> schemas.PostCreated:
    return await forum.create_reply(
        thread_id, schemas.ReplyCreate(body=body, author_key=author_key)
    )
