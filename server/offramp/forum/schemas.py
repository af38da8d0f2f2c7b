"""Shapes of forum data: separate Create / Update / Read models (pydantic v2)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

TITLE_MIN, TITLE_MAX = 5, 150
BODY_MIN, BODY_MAX = 1, 20_000

# Control characters (other than tab and newlines) and lone surrogates cannot be
# stored faithfully in every database, and nobody types them on purpose.
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _printable(value: str) -> str:
    if _FORBIDDEN.search(value):
        raise ValueError("must not contain control characters or invalid Unicode")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain some text")
    return value


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("must be a single line")
    return value


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=TITLE_MIN, max_length=TITLE_MAX),
    AfterValidator(_printable),
    AfterValidator(_one_line),
]
Body = Annotated[
    str,
    StringConstraints(min_length=BODY_MIN, max_length=BODY_MAX),
    AfterValidator(_printable),
    AfterValidator(_not_blank),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=BODY_MAX)


# -- input -------------------------------------------------------------------


class ThreadCreate(_Input):
    title: Title = Field(description=f"{TITLE_MIN}–{TITLE_MAX} characters, one line.")
    category: str = Field(description="A category slug from GET /api/v1/categories.")
    entity: str | None = Field(
        None,
        max_length=140,
        description="Optional: the employer, program or certification the thread is about, "
        "by slug, name or alias (GET /api/v1/entities).",
    )
    body: Body = Field(description=f"Markdown, {BODY_MIN}–{BODY_MAX} characters.")


class ReplyCreate(_Input):
    body: Body = Field(description=f"Markdown, {BODY_MIN}–{BODY_MAX} characters.")
    author_key: str | None = Field(
        None,
        max_length=128,
        description="Optional: the edit key of your earlier post in this thread, so the reply "
        'appears under the same pseudonym (or as "OP"). Never stored.',
    )


class PostUpdate(_Input):
    body: Body = Field(description=f"Markdown, {BODY_MIN}–{BODY_MAX} characters.")
    title: Title | None = Field(
        None, description="New thread title; only for the opening post of a thread."
    )


class Preview(_Input):
    body: Body


# -- output ------------------------------------------------------------------


class CategoryRead(BaseModel):
    slug: str
    name: str
    description: str
    url: str


class EntityRef(BaseModel):
    slug: str
    name: str
    kind: Literal["employer", "program", "certification"]
    url: str


class EntityRead(EntityRef):
    website: str
    description: str
    aliases: list[str]
    status: Literal["approved", "pending"]
    thread_count: int


class ThreadRead(BaseModel):
    id: str
    title: str
    url: str = Field(description="Path of the thread's HTML page.")
    category: str
    category_name: str
    entity: EntityRef | None
    reply_count: int
    locked: bool
    created: date = Field(description="Day the thread was started (UTC).")
    last_activity: date = Field(description="Day of the latest post (UTC).")


class PostRead(BaseModel):
    id: str
    thread_id: str
    number: int = Field(description="Position in the thread, 1 for the opening post.")
    author: str = Field(description='Thread-scoped pseudonym; "OP" for the thread\'s author.')
    status: Literal["published", "deleted"]
    body_html: str = Field(description="Sanitised HTML; empty when deleted.")
    edited: bool
    created: date
    url: str


class ThreadPage(BaseModel):
    thread: ThreadRead
    posts: list[PostRead]
    page: int
    pages: int


class ThreadList(BaseModel):
    threads: list[ThreadRead]
    next: str | None = Field(description="Cursor for the next page, or null at the end.")


class ThreadCreated(BaseModel):
    thread: ThreadRead
    post: PostRead
    edit_key: str = Field(description="Shown once. Keep it to edit or delete the post.")


class PostCreated(BaseModel):
    post: PostRead
    edit_key: str = Field(description="Shown once. Keep it to edit or delete the post.")


class PreviewRead(BaseModel):
    html: str
