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
}

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


class LogEntryRead(BaseModel):
    id: int
    day: date
    action: str
    label: str
    role: str = Field(description="moderator, admin, or public (a takedown request arriving).")
    reason: str
    target: str = Field(description="What it concerned, in words.")
    url: str | None = Field(description="Where it is (hidden posts show their notice).")


class LogPage(BaseModel):
    entries: list[LogEntryRead]
    next: int | None = Field(description="`before` for the next (older) page, or null.")
