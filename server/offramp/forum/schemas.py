"""Shapes of forum data: separate Create / Update / Read models (pydantic v2)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from offramp.surveys.schemas import LABELS, InterviewReport, RoleCategory, SurveyV1

TITLE_MIN, TITLE_MAX = 5, 150
BODY_MIN, BODY_MAX = 1, 20_000
MAX_ROLE_TAGS = 3

# Orders of a thread list; every one is keyset-paginated (see Forum.threads).
ThreadSort = Literal["activity", "newest", "replies", "unanswered"]
THREAD_SORTS: dict[str, str] = {
    "activity": "Latest activity",
    "newest": "Newest",
    "replies": "Most replies",
    "unanswered": "Unanswered",
}

# Control characters (other than tab and newlines) and lone surrogates cannot be
# stored faithfully in every database, and nobody types them on purpose.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_FORBIDDEN = re.compile(rf"[{_CONTROL}\ud800-\udfff]")
# The same rules in the OpenAPI document, as JSON Schema patterns for clients.
_PRINTABLE = {"pattern": rf"^[^{_CONTROL}]*$"}
_ONE_PRINTABLE_LINE = {"pattern": rf"^[^{_CONTROL}\n\r]*$"}


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
    Field(json_schema_extra=_ONE_PRINTABLE_LINE),
]
Body = Annotated[
    str,
    StringConstraints(min_length=BODY_MIN, max_length=BODY_MAX),
    AfterValidator(_printable),
    AfterValidator(_not_blank),
    Field(json_schema_extra=_PRINTABLE),
]
# Role categories (SPEC §2, the list the surveys use), each once, in the order given.
RoleTags = Annotated[list[RoleCategory], AfterValidator(lambda tags: list(dict.fromkeys(tags)))]
# A slug, name or alias that is looked up.
Name = Annotated[str, AfterValidator(_printable), Field(json_schema_extra=_PRINTABLE)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=BODY_MAX)


# -- input -------------------------------------------------------------------


class _Publishing(_Input):
    new_entities: bool = Field(
        False,
        description="Add employers, programs or certifications named here (the thread's "
        "entity, the survey's employer and programs, the interview's employer) that are not "
        "in the directory as new entries. They are pending — listed nowhere and without "
        "figures of their own — until named again in another thread or confirmed by a "
        "moderator. Without it, an unknown name is a 422 (code `unknown_entity`) that "
        "suggests close names.",
    )
    confirm_identifying_details: bool = Field(
        False,
        description="Publish even though the text seems to contain identifying details (see "
        "POST /api/v1/preview). Such posts are held for a moderator's review.",
    )
    delay_publication: bool = Field(
        False,
        description="Publish at a random hour within the next 1–24 hours instead of now, so "
        "the time of posting cannot be matched to the time you were online.",
    )


class ThreadCreate(_Publishing):
    title: Title = Field(description=f"{TITLE_MIN}–{TITLE_MAX} characters, one line.")
    category: Name = Field(description="A category slug from GET /api/v1/categories.")
    entity: Name | None = Field(
        None,
        max_length=140,
        json_schema_extra=_PRINTABLE,  # Litestar drops it from inside the union
        description="Optional: the employer, program or certification the thread is about, "
        "by slug, name or alias (GET /api/v1/entities).",
    )
    entity_kind: Literal["employer", "program", "certification"] | None = Field(
        None,
        description="With `new_entities`: what `entity` is, if it is not in the directory.",
    )
    body: Body = Field(description=f"Markdown, {BODY_MIN}–{BODY_MAX} characters.")
    survey: SurveyV1 | None = Field(
        None, description="Optional outcome survey (SPEC §4), attached to the opening post."
    )
    interview: InterviewReport | None = Field(
        None, description="Optional interview report; only in the Interviews category."
    )
    role_tags: RoleTags = Field(
        default_factory=list,
        max_length=MAX_ROLE_TAGS,
        description=f"Optional: up to {MAX_ROLE_TAGS} role categories (SPEC §2) the thread is "
        "about, e.g. `medical_affairs`.",
    )


class ReplyCreate(_Publishing):
    body: Body = Field(description=f"Markdown, {BODY_MIN}–{BODY_MAX} characters.")
    author_key: str | None = Field(
        None,
        max_length=128,
        description="Optional: the edit key of your earlier post in this thread, so the reply "
        'appears under the same pseudonym (or as "OP"). Never stored.',
    )
    survey: SurveyV1 | None = Field(
        None, description="Optional outcome survey (SPEC §4), attached to this reply."
    )
    interview: InterviewReport | None = Field(
        None, description="Optional interview report; only in threads in Interviews."
    )


class PostUpdate(_Input):
    body: Body = Field(description=f"Markdown, {BODY_MIN}–{BODY_MAX} characters.")
    confirm_identifying_details: bool = Field(
        False, description="As when creating: publish despite identifying-detail findings."
    )
    title: Title | None = Field(
        None,
        description="New thread title; only for the opening post of a thread.",
        json_schema_extra=_ONE_PRINTABLE_LINE,  # Litestar drops it from inside the union
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


class RoleTagRef(BaseModel):
    slug: RoleCategory
    name: str
    url: str = Field(description="Path of the list of threads with this role tag.")


def role_tag(slug: str) -> RoleTagRef:
    return RoleTagRef(slug=slug, name=LABELS[slug], url=f"/?role={slug}")


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
    role_tags: list[RoleTagRef] = Field(
        default_factory=list, description="Role categories the thread is about (SPEC §2)."
    )


class PostRead(BaseModel):
    id: str
    thread_id: str
    number: int = Field(description="Position in the thread, 1 for the opening post.")
    author: str = Field(description='Thread-scoped pseudonym; "OP" for the thread\'s author.')
    status: Literal["published", "deleted", "held", "scheduled", "hidden", "under_review"] = Field(
        description="held: awaits a moderator (identifying details); scheduled: delayed "
        "publication — only the post's author ever sees those two. hidden: hidden by a "
        "moderator; under_review: a takedown request is being reviewed — readers see only "
        "`notice` in the post's place."
    )
    body_html: str = Field(description="Sanitised HTML; empty when deleted.")
    edited: bool
    created: date
    url: str
    notice: str | None = Field(
        None, description="For hidden posts and posts under review: the public reason."
    )


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


class FindingRead(BaseModel):
    kind: Literal["email", "phone", "npi", "dea", "address", "handle"]
    start: int = Field(description="Offset of the first character in the submitted text.")
    end: int = Field(description="Offset just past the last character.")
    message: str


class PreviewRead(BaseModel):
    html: str
    findings: list[FindingRead] = Field(
        description="Details that may identify the author; empty when none were found."
    )


class Challenge(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    algorithm: str
    challenge: str
    maxNumber: int  # noqa: N815 - the ALTCHA wire format
    salt: str
    signature: str
