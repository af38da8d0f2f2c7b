"""Shapes of moderation data: reports, takedown requests, actions, the queue and the
public log (pydantic v2; separate input and output models)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from offramp.forum.schemas import _one_line, _printable

ReportReason = Literal[
    "identifies_person", "defamation", "spam", "harassment", "astroturfing", "other"
]
REPORT_REASONS: dict[str, str] = {
    "identifies_person": "It identifies a person",
    "defamation": "Defamation or a false statement of fact",
    "spam": "Spam or advertising",
    "harassment": "Harassment",
    "astroturfing": "Astroturfing or an undisclosed conflict of interest",
    "other": "Something else",
}

PostAction = Literal["approve", "hide", "restore", "redact", "dismiss", "uphold", "reject"]
ThreadAction = Literal["lock", "unlock"]

# What each logged action is called in public.
ACTION_LABELS: dict[str, str] = {
    "approve": "Held post approved",
    "hide": "Post hidden",
    "restore": "Post restored",
    "redact": "Revision redacted",
    "dismiss": "Reports dismissed",
    "lock": "Thread locked",
    "unlock": "Thread unlocked",
    "takedown_received": "Takedown request received",
    "takedown_upheld": "Takedown request upheld: post hidden",
    "takedown_rejected": "Takedown request rejected: post restored",
    "approve_entity": "New entry confirmed",
    "confirm_entity": "New entry confirmed by a second mention",
    "reject_entity": "Pending entry removed",
    "edit_entity": "Entry edited",
    "merge_entity": "Entries merged",
    "clear_surveys": "Flagged surveys counted",
    "exclude_surveys": "Flagged surveys left out",
}
EntityAction = Literal["approve", "reject", "edit", "merge", "clear_surveys", "exclude_surveys"]
ENTITY_NAME_MIN, ENTITY_NAME_MAX = 2, 120
WEBSITE_MAX, DESCRIPTION_MAX, ALIAS_MAX, ALIASES_MAX = 300, 2000, 120, 20

NOTE_MAX, REASON_MAX = 1000, 300
ORGANISATION_MAX, CLAIM_MIN, CLAIM_MAX = 120, 20, 5000
RESPONSE_MAX = 5000

OneLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(_printable),
    AfterValidator(_one_line),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_printable)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- input ------------------------------------------------------------------------------


class ReportCreate(_Input):
    reason: ReportReason = Field(description="Why the post should be looked at.")
    note: Text = Field(
        "", max_length=NOTE_MAX, description="Optional: more context. Seen by moderators only."
    )


class TakedownCreate(_Input):
    organisation: OneLine = Field(
        min_length=2,
        max_length=ORGANISATION_MAX,
        description="The organisation asking (e.g. the program's company). Shown publicly.",
    )
    claim: Text = Field(
        min_length=CLAIM_MIN,
        max_length=CLAIM_MAX,
        description="What in the post is false or unlawful, and why. Seen by moderators "
        "and by the post's author; the public log shows only the organisation.",
    )


class TakedownAnswer(_Input):
    response: Text = Field(min_length=1, max_length=RESPONSE_MAX)


class PostActionCreate(_Input):
    action: PostAction = Field(
        description="approve (a held post), hide, restore (a hidden post), redact (one "
        "revision), dismiss (the open reports), uphold / reject (the open takedown request)."
    )
    reason: OneLine = Field(
        "",
        max_length=REASON_MAX,
        description="The public reason, shown in the log (and in place of a hidden post). "
        "Required except for approve and dismiss.",
    )
    revision: int | None = Field(None, ge=1, description="For redact: the revision number.")


class EntityActionCreate(_Input):
    action: EntityAction = Field(
        description="approve / reject (a pending entry), edit (name, kind, website, "
        "description, aliases), merge (into another entry, `into`), clear_surveys / "
        "exclude_surveys (surveys naming it that were held out as a burst: count them, or "
        "leave them out for good)."
    )
    reason: OneLine = Field(
        "",
        max_length=REASON_MAX,
        description="The public reason, shown in the log. Required except for approve.",
    )
    into: OneLine | None = Field(
        None, max_length=140, description="For merge: the entry that remains (slug or name)."
    )
    name: OneLine | None = Field(
        None,
        min_length=ENTITY_NAME_MIN,
        max_length=ENTITY_NAME_MAX,
        description="For edit: the new name (the page moves; the old name keeps working).",
    )
    kind: Literal["employer", "program", "certification"] | None = Field(
        None, description="For edit."
    )
    website: OneLine | None = Field(
        None, max_length=WEBSITE_MAX, description="For edit: https://… or empty."
    )
    description: Text | None = Field(None, max_length=DESCRIPTION_MAX, description="For edit.")
    aliases: list[Annotated[OneLine, Field(min_length=1, max_length=ALIAS_MAX)]] | None = Field(
        None, max_length=ALIASES_MAX, description="For edit: the other names it goes by."
    )


class ThreadActionCreate(_Input):
    action: ThreadAction
    reason: OneLine = Field(min_length=3, max_length=REASON_MAX)


# -- output -----------------------------------------------------------------------------


class Received(BaseModel):
    """A report or takedown request was stored."""

    post_id: str
    message: str


class RevisionRead(BaseModel):
    number: int
    created: date
    title: str | None
    body_md: str
    redacted: bool
    current: bool


class ReportGroup(BaseModel):
    """The open reports of one post, grouped."""

    count: int
    reasons: dict[str, int] = Field(description="Open reports per reason.")
    notes: list[str] = Field(description="The notes readers added (moderators only).")
    first: date | None


class TakedownRead(BaseModel):
    id: str
    organisation: str
    claim: str
    response: str
    status: Literal["open", "upheld", "rejected"]
    created: date


class PostReview(BaseModel):
    """Everything a moderator needs to decide about one post. Nothing about who wrote it
    or reported it beyond the thread-scoped pseudonym every reader sees."""

    id: str
    number: int
    status: str
    author: str
    body_html: str
    created: date
    url: str
    thread_id: str
    thread_title: str
    thread_public: bool
    thread_locked: bool
    findings: list[str] = Field(description="Kinds of identifying detail that held it.")
    moderation_note: str
    revisions: list[RevisionRead]
    reports: ReportGroup
    takedown: TakedownRead | None


class QueueItem(BaseModel):
    """One thing awaiting a decision. ``kind`` says which; today every item is a post
    (reported, held, or under a takedown request). Other features add kinds."""

    kind: str
    urgency: int = Field(description="0 is the most urgent.")
    why: list[str] = Field(description="Why it is in the queue, most urgent first.")
    waiting_since: date
    title: str
    summary: str
    url: str = Field(description="Where a moderator reviews it.")
    post_id: str | None = None


class EntityReview(BaseModel):
    """An entry of the directory as moderators see it, with what awaits a decision."""

    slug: str
    name: str
    kind: str
    status: Literal["approved", "pending"]
    website: str
    description: str
    aliases: list[str]
    url: str
    created: date
    threads: int = Field(description="Public threads about it.")
    surveys: int = Field(description="Surveys naming it (moderators only).")
    interview_reports: int
    flagged_surveys: int = Field(description="Surveys naming it held out as a burst.")


class LogEntryRead(BaseModel):
    id: int
    day: date
    action: str
    label: str
    role: str = Field(
        description="moderator, admin, public (a takedown request arriving), or automatic "
        "(a rule, e.g. a new entry named again elsewhere)."
    )
    reason: str
    detail: str = Field("", description="What the action did, in words (e.g. a merge).")
    target: str = Field(description="What it concerned, in words.")
    url: str | None = Field(description="Where it is (hidden posts show their notice).")


class LogPage(BaseModel):
    entries: list[LogEntryRead]
    next: int | None = Field(description="`before` for the next (older) page, or null.")
