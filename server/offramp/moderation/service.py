"""Moderation's rules: reports, takedown requests, the queue, moderators' actions and
the public log. Knows nothing of HTTP.

Every action is one transaction that changes the post or thread, tells the forum
(``Forum.changed``, so derived data such as the search index follows) and writes
one public log entry. Staff never edit text silently: a redaction replaces a whole
revision with a visible marker and is logged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from offramp.anonymity.pseudonyms import pseudonym
from offramp.db import write_transaction
from offramp.errors import Conflict, Invalid, NotFound
from offramp.forum.render import render_markdown
from offramp.forum.service import POSTS_PER_PAGE, Author, Forum, thread_url
from offramp.forum.tables import Entity, Post, PostRevision, Thread
from offramp.ids import this_hour
from offramp.moderation import schemas
from offramp.moderation.tables import LogEntry, Report, Takedown

REDACTED = "[redacted by a moderator]"
LOG_PAGE_SIZE = 50
QUEUE_LIMIT = 500

# Lower is more urgent. A takedown request has replaced a post with a notice and its
# author may be waiting; a post that identifies someone can harm them today; a held
# post's author is waiting to be published.
URGENCY = {
    "takedown": 0,
    "identifies_person": 1,
    "held": 2,
    "harassment": 3,
    "defamation": 3,
    "astroturfing": 4,
    "spam": 4,
    "other": 5,
}
WHY = {
    "takedown": "Takedown request",
    "held": "Held: identifying details",
    **schemas.REPORT_REASONS,
}
DEFAULT_REASONS = {
    "approve": "Reviewed and published.",
    "dismiss": "Reports reviewed: the post stays as it is.",
}
REPORTABLE = ("published",)


@dataclass(frozen=True)
class Actor:
    """The moderator acting: kept in the log for internal audit, shown by role only."""

    moderator_id: str
    role: str


QueueSource = Callable[[], Awaitable[list[schemas.QueueItem]]]


@dataclass(frozen=True)
class Moderation:
    """The moderation service. ``sources`` add kinds of queue items from other features
    (pending entities, flagged surveys...): each returns its items, already scored with
    an urgency from ``URGENCY``'s scale."""

    forum: Forum
    sources: tuple[QueueSource, ...] = field(default=())

    # -- reports and takedown requests (anyone) --------------------------------------------

    async def report(self, post_id: str, data: schemas.ReportCreate) -> schemas.Received:
        """An anonymous report; reports of one post are grouped in the queue."""
        await self._public_post(post_id)
        async with write_transaction():
            await Report.insert(
                Report(post=post_id, reason=data.reason, note=data.note, created_at=this_hour())
            )
        return schemas.Received(
            post_id=post_id, message="Thank you. A moderator will look at this post."
        )

    async def request_takedown(
        self, post_id: str, data: schemas.TakedownCreate
    ) -> schemas.Received:
        """A takedown request: the post gives way to a notice while it is reviewed, and the
        request is logged publicly (by organisation; the claim stays with moderators and
        the author)."""
        async with write_transaction():
            post = await self._public_post(post_id)
            if await Takedown.exists().where(Takedown.post == post_id, Takedown.status == "open"):
                raise Conflict("This post is already under review.", code="under_review")
            await Takedown.insert(
                Takedown(
                    post=post_id,
                    organisation=data.organisation,
                    claim=data.claim,
                    created_at=this_hour(),
                )
            )
            await self._set_status(post, "under_review", f"requested by {data.organisation}")
            await self.forum.changed(post["thread"], post_id)
            await self._log(
                None,
                "takedown_received",
                f"Takedown request from {data.organisation}.",
                post,
                role="public",
            )
        return schemas.Received(
            post_id=post_id,
            message="Your request is received. The post is replaced by a notice while a "
            "moderator reviews it; the outcome appears in the public moderation log.",
        )

    async def takedown_for_author(self, post_id: str, author: Author) -> schemas.TakedownRead:
        """The open takedown request of a post, for its author (key or persona)."""
        await self.forum.own_post(post_id, author)
        return _takedown(await self._open_takedown(post_id))

    async def answer_takedown(
        self, post_id: str, author: Author, data: schemas.TakedownAnswer
    ) -> schemas.TakedownRead:
        """The post's author answers the open takedown request (moderators read it)."""
        await self.forum.own_post(post_id, author)
        async with write_transaction():
            takedown = await self._open_takedown(post_id)
            await Takedown.update({Takedown.response: data.response}).where(
                Takedown.id == takedown["id"]
            )
        return _takedown({**takedown, "response": data.response})

    # -- the queue -------------------------------------------------------------------------

    async def queue(self) -> list[schemas.QueueItem]:
        """Everything awaiting a decision, most urgent first, then longest waiting."""
        items = await self._post_items()
        for source in self.sources:
            items += await source()
        return sorted(items, key=lambda item: (item.urgency, item.waiting_since))

    async def _post_items(self) -> list[schemas.QueueItem]:
        """One item per post that is reported, held, or under a takedown request."""
        reports = await (
            Report.select(Report.post, Report.reason, Report.created_at)
            .where(Report.status == "open")
            .limit(QUEUE_LIMIT * 10)
        )
        takedowns = await Takedown.select(Takedown.post, Takedown.created_at).where(
            Takedown.status == "open"
        )
        held = await (
            Post.select(Post.id, Post.updated_at).where(Post.status == "held").limit(QUEUE_LIMIT)
        )
        flags: dict[str, list[tuple[str, object]]] = {}
        for row in reports:
            flags.setdefault(row["post"], []).append((row["reason"], row["created_at"]))
        for row in takedowns:
            flags.setdefault(row["post"], []).append(("takedown", row["created_at"]))
        for row in held:
            flags.setdefault(row["id"], []).append(("held", row["updated_at"]))
        posts = await self._post_rows(list(flags))
        return [
            _queue_item(posts[post_id], reasons)
            for post_id, reasons in flags.items()
            if post_id in posts and posts[post_id]["status"] not in ("deleted", "withdrawn")
        ]

    async def review(self, post_id: str) -> schemas.PostReview:
        """A post with its thread, revisions, open reports and takedown request."""
        post = await self._post(post_id)
        thread = await Thread.select().where(Thread.id == post["thread"]).first()
        revisions = await (
            PostRevision.select().where(PostRevision.post == post_id).order_by(PostRevision.number)
        )
        reports = await Report.select().where(Report.post == post_id, Report.status == "open")
        takedown = await (
            Takedown.select()
            .where(Takedown.post == post_id)
            .order_by(Takedown.created_at, ascending=False)
            .first()
        )
        return schemas.PostReview(
            id=post_id,
            number=post["seq"],
            status=post["status"],
            author=pseudonym(
                self.forum.secret, post["author_ref"], post["thread"], thread["op_ref"]
            ),
            body_html=post["body_html"],
            created=post["created_at"].date(),
            url=_post_url(post),
            thread_id=thread["id"],
            thread_title=thread["title"],
            thread_public=thread["status"] == "published",
            thread_locked=thread["locked"],
            findings=[kind for kind in post["findings"].split(",") if kind],
            moderation_note=post["moderation_note"],
            revisions=[_revision(row, post["revision_count"]) for row in revisions],
            reports=_report_group(reports),
            takedown=_takedown(takedown) if takedown else None,
        )

    # -- actions on posts ------------------------------------------------------------------

    async def act_on_post(
        self, actor: Actor, post_id: str, data: schemas.PostActionCreate
    ) -> schemas.LogEntryRead:
        """One moderator action on a post, in one transaction, logged."""
        reason = _reason_for(data.action, data.reason)
        action = {
            "approve": self._approve,
            "hide": self._hide,
            "restore": self._restore,
            "redact": self._redact,
            "dismiss": self._dismiss,
            "uphold": self._uphold,
            "reject": self._reject,
        }[data.action]
        async with write_transaction():
            post = await self._post(post_id)
            entry = await action(actor, post, reason, data)
            await self.forum.changed(post["thread"], post_id)
        return await self._entry(entry)

    async def _approve(self, actor, post, reason, _data) -> int:
        if not await self.forum.publish_held(post["id"]):
            raise Conflict("Only a held post can be approved.", code="not_held")
        return await self._log(actor, "approve", reason, post)

    async def _hide(self, actor, post, reason, _data) -> int:
        if post["status"] not in ("published", "held"):
            raise Conflict(
                "Only a published or held post can be hidden (a post under a takedown "
                "request is decided by upholding or rejecting the request).",
                code="not_hideable",
            )
        await self._set_status(post, "hidden", reason)
        await self._close_reports(post["id"])
        return await self._log(actor, "hide", reason, post)

    async def _restore(self, actor, post, reason, _data) -> int:
        if post["status"] != "hidden":
            raise Conflict("Only a hidden post can be restored.", code="not_hidden")
        await self._set_status(post, await self._status_before_hiding(post["id"]), "")
        return await self._log(actor, "restore", reason, post)

    async def _redact(self, actor, post, reason, data) -> int:
        if data.revision is None:
            raise Invalid("Say which revision to redact.", field="revision")
        revision = await (
            PostRevision.select()
            .where(PostRevision.post == post["id"], PostRevision.number == data.revision)
            .first()
        )
        if revision is None:
            raise NotFound("This post has no such revision.", field="revision")
        if revision["body_md"] == REDACTED:
            raise Conflict("This revision is redacted already.", code="redacted")
        await self._redact_revision(post, revision)
        return await self._log(actor, "redact", reason, post, revision=data.revision)

    async def _dismiss(self, actor, post, reason, _data) -> int:
        if not await self._close_reports(post["id"]):
            raise Conflict("This post has no open reports.", code="no_reports")
        return await self._log(actor, "dismiss", reason, post)

    async def _uphold(self, actor, post, reason, _data) -> int:
        takedown = await self._open_takedown(post["id"])
        await Takedown.update({Takedown.status: "upheld"}).where(Takedown.id == takedown["id"])
        if post["status"] == "deleted":
            raise Conflict("Its author deleted this post already.", code="deleted")
        await self._set_status(post, "hidden", reason)
        await self._close_reports(post["id"])
        return await self._log(actor, "takedown_upheld", reason, post, prior="published")

    async def _reject(self, actor, post, reason, _data) -> int:
        takedown = await self._open_takedown(post["id"])
        await Takedown.update({Takedown.status: "rejected"}).where(Takedown.id == takedown["id"])
        if post["status"] == "under_review":  # (its author may have edited it back to held)
            await self._set_status(post, "published", "")
        return await self._log(actor, "takedown_rejected", reason, post)

    # -- actions on threads ----------------------------------------------------------------

    async def act_on_thread(
        self, actor: Actor, thread_id: str, data: schemas.ThreadActionCreate
    ) -> schemas.LogEntryRead:
        """Lock a thread (replies are refused) or unlock it, logged."""
        locking = data.action == "lock"
        async with write_transaction():
            updated = await (
                Thread.update({Thread.locked: locking})
                .where(Thread.id == thread_id, Thread.locked == (not locking))
                .returning(Thread.id)
            )
            if not updated:
                if not await Thread.exists().where(Thread.id == thread_id):
                    raise NotFound("There is no such thread.", field="thread_id")
                raise Conflict(f"This thread is {'locked' if locking else 'unlocked'} already.")
            entry = await self._log_entry(actor, data.action, data.reason, thread=thread_id)
            await self.forum.changed(thread_id, None)
        return await self._entry(entry)

    # -- the public log --------------------------------------------------------------------

    async def log(self, before: int | None = None, limit: int = LOG_PAGE_SIZE) -> schemas.LogPage:
        """The log, newest first, one page at a time (``before`` an entry id)."""
        query = LogEntry.select().order_by(LogEntry.id, ascending=False).limit(limit + 1)
        if before is not None:
            query = query.where(LogEntry.id < before)
        rows = await query
        more = len(rows) > limit
        rows = rows[:limit]
        entries = await self._entries(rows)
        return schemas.LogPage(entries=entries, next=rows[-1]["id"] if more else None)

    async def entry(self, entry_id: int) -> schemas.LogEntryRead:
        return await self._entry(entry_id)

    async def _entry(self, entry_id: int) -> schemas.LogEntryRead:
        rows = await LogEntry.select().where(LogEntry.id == entry_id)
        return (await self._entries(rows))[0]

    async def _entries(self, rows: list[dict]) -> list[schemas.LogEntryRead]:
        """Log rows in public words, each with a link to what it concerned: a thread only
        while it is public, so the log never shows a held thread's title."""
        thread_ids = {row["thread"] for row in rows if row["thread"]}
        threads = {
            row["id"]: row
            for row in await Thread.select(Thread.id, Thread.title, Thread.status).where(
                Thread.id.is_in(list(thread_ids) or [""])
            )
        }
        posts = await self._post_rows([row["post"] for row in rows if row["post"]])
        entity_ids = [row["entity"] for row in rows if row["entity"]]
        entities = {
            row["id"]: row
            for row in await Entity.select(Entity.id, Entity.name, Entity.slug).where(
                Entity.id.is_in(entity_ids or [""])
            )
        }
        return [
            _log_entry(
                row,
                threads.get(row["thread"]),
                posts.get(row["post"]),
                entities.get(row["entity"]),
            )
            for row in rows
        ]

    # -- helpers ---------------------------------------------------------------------------

    async def _log(
        self,
        actor: Actor | None,
        action: str,
        reason: str,
        post: dict,
        *,
        revision: int | None = None,
        prior: str | None = None,
        role: str | None = None,
    ) -> int:
        return await self._log_entry(
            actor,
            action,
            reason,
            post=post["id"],
            thread=post["thread"],
            revision=revision,
            prior=prior if prior is not None else post["status"],
            role=role,
        )

    async def _log_entry(self, actor: Actor | None, action: str, reason: str, **about) -> int:
        return await write_log(actor, action, reason, **about)

    async def _post(self, post_id: str) -> dict:
        row = await Post.select().where(Post.id == post_id).first()
        if row is None or row["status"] == "withdrawn":
            raise NotFound("There is no such post.", field="post_id")
        return row

    async def _public_post(self, post_id: str) -> dict:
        """A post readers can see and report (not deleted, hidden or under review)."""
        post = await self._post(post_id)
        if post["status"] not in REPORTABLE:
            if post["status"] in ("hidden", "under_review"):
                raise Conflict(
                    "A moderator has already acted on this post: see the moderation log.",
                    code="already_moderated",
                )
            raise NotFound("There is no such post.", field="post_id")
        return post

    async def _post_rows(self, post_ids: list[str]) -> dict[str, dict]:
        if not post_ids:
            return {}
        rows = await Post.select(
            Post.id,
            Post.seq,
            Post.thread,
            Post.status,
            Post.body_md,
            Post.updated_at,
            Post.thread.title.as_alias("thread_title"),
            Post.thread.status.as_alias("thread_status"),
        ).where(Post.id.is_in(post_ids))
        return {row["id"]: row for row in rows}

    async def _open_takedown(self, post_id: str) -> dict:
        row = await (
            Takedown.select().where(Takedown.post == post_id, Takedown.status == "open").first()
        )
        if row is None:
            raise Conflict("This post has no open takedown request.", code="no_takedown")
        return row

    async def _set_status(self, post: dict, status: str, note: str) -> None:
        await Post.update({Post.status: status, Post.moderation_note: note}).where(
            Post.id == post["id"]
        )

    async def _status_before_hiding(self, post_id: str) -> str:
        """What a hidden post was before: published, or held if it never was public."""
        row = await (
            LogEntry.select(LogEntry.prior_status)
            .where(LogEntry.post == post_id, LogEntry.action.is_in(["hide", "takedown_upheld"]))
            .order_by(LogEntry.id, ascending=False)
            .first()
        )
        return "held" if row and row["prior_status"] == "held" else "published"

    async def _close_reports(self, post_id: str) -> int:
        closed = await (
            Report.update({Report.status: "closed"})
            .where(Report.post == post_id, Report.status == "open")
            .returning(Report.id)
        )
        return len(closed)

    async def _redact_revision(self, post: dict, revision: dict) -> None:
        """Replace one revision's text (and title) with the marker; when it is the
        current text, the post shows the marker too. Reports on it are settled."""
        title_changes = {PostRevision.title: REDACTED} if revision["title"] else {}
        await PostRevision.update({PostRevision.body_md: REDACTED, **title_changes}).where(
            PostRevision.id == revision["id"]
        )
        if revision["number"] == post["revision_count"]:
            await Post.update(
                {Post.body_md: REDACTED, Post.body_html: render_markdown(REDACTED)}
            ).where(Post.id == post["id"])
        if revision["title"]:
            await Thread.update({Thread.title: REDACTED}).where(
                Thread.id == post["thread"], Thread.title == revision["title"]
            )
        await self._close_reports(post["id"])


# -- rows to models ------------------------------------------------------------------------


async def write_log(
    actor: Actor | None,
    action: str,
    reason: str,
    *,
    post: str | None = None,
    thread: str | None = None,
    revision: int | None = None,
    entity: str | None = None,
    detail: str = "",
    prior: str = "",
    role: str | None = None,
) -> int:
    """One public log entry (inside the action's transaction); its id."""
    inserted = await LogEntry.insert(
        LogEntry(
            action=action,
            role=role or (actor.role if actor else "public"),
            moderator=actor.moderator_id if actor else None,
            post=post,
            thread=thread,
            revision=revision,
            entity=entity,
            reason=reason,
            detail=detail,
            prior_status=prior,
            created_at=this_hour(),
        )
    ).returning(LogEntry.id)
    return inserted[0]["id"]


async def log_confirmations(entity_ids: list[str]) -> None:
    """Entries that posters added and someone named again elsewhere: confirmed by the
    rule, logged like a moderator's decision (a Forum confirmation listener)."""
    for entity_id in entity_ids:
        await write_log(
            None,
            "confirm_entity",
            "Named again in another thread or survey.",
            entity=entity_id,
            role="automatic",
        )


def _reason_for(action: str, reason: str) -> str:
    """The public reason: typed by the moderator, or a default where one makes sense."""
    reason = reason.strip()
    if reason:
        return reason
    if action in DEFAULT_REASONS:
        return DEFAULT_REASONS[action]
    raise Invalid("Give a public reason: it is shown in the moderation log.", field="reason")


def _post_url(post: dict) -> str:
    page = (post["seq"] - 1) // POSTS_PER_PAGE + 1
    return thread_url(post["thread"], page) + f"#p{post['seq']}"


def _queue_item(post: dict, reasons: list[tuple[str, object]]) -> schemas.QueueItem:
    kinds = Counter(kind for kind, _ in reasons)
    ordered = sorted(kinds, key=lambda kind: (URGENCY[kind], -kinds[kind], kind))
    why = [WHY[kind] + (f" ×{kinds[kind]}" if kinds[kind] > 1 else "") for kind in ordered]
    text = " ".join(post["body_md"].split())
    return schemas.QueueItem(
        kind="post",
        urgency=URGENCY[ordered[0]],
        why=why,
        waiting_since=min(moment for _, moment in reasons).date(),
        title=f"Post {post['seq']} in “{post['thread_title']}”",
        summary=text[:200] + ("…" if len(text) > 200 else ""),
        url=f"/moderation/posts/{post['id']}",
        post_id=post["id"],
    )


def _revision(row: dict, current: int) -> schemas.RevisionRead:
    return schemas.RevisionRead(
        number=row["number"],
        created=row["created_at"].date(),
        title=row["title"],
        body_md=row["body_md"],
        redacted=row["body_md"] == REDACTED,
        current=row["number"] == current,
    )


def _report_group(rows: list[dict]) -> schemas.ReportGroup:
    return schemas.ReportGroup(
        count=len(rows),
        reasons=dict(Counter(row["reason"] for row in rows)),
        notes=[row["note"] for row in rows if row["note"]],
        first=min(row["created_at"] for row in rows).date() if rows else None,
    )


def _takedown(row: dict) -> schemas.TakedownRead:
    return schemas.TakedownRead(
        id=row["id"],
        organisation=row["organisation"],
        claim=row["claim"],
        response=row["response"],
        status=row["status"],
        created=row["created_at"].date(),
    )


def _log_entry(
    row: dict, thread: dict | None, post: dict | None, entity: dict | None = None
) -> schemas.LogEntryRead:
    public = thread is not None and thread["status"] == "published"
    target, url = "a thread that is not public", None
    if entity is not None:
        target, url = f"“{entity['name']}”", f"/entities/{entity['slug']}"
    elif row["entity"] or row["action"].endswith("_entity"):
        target = "an entry no longer in the directory"
    elif post is not None and public:
        target, url = f"post {post['seq']} in “{thread['title']}”", _post_url(post)
    elif post is not None:
        target = "a post that is not public"
    elif public:
        target, url = f"thread “{thread['title']}”", thread_url(thread["id"])
    if row["revision"]:
        target = f"revision {row['revision']} of {target}"
    return schemas.LogEntryRead(
        id=row["id"],
        day=row["created_at"].date(),
        action=row["action"],
        label=schemas.ACTION_LABELS.get(row["action"], row["action"]),
        role=row["role"],
        reason=row["reason"],
        detail=row["detail"],
        target=target,
        url=url,
    )
