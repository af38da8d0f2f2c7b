"""The forum's rules and queries. Knows nothing of HTTP.

Every write is one transaction. List queries are keyset-paginated on
``(last_activity, id)`` so page 50 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import get_args

from piccolo.columns.combination import WhereRaw
from piccolo.query import Select

from offramp.anonymity.detector import Finding, find_identifying_details
from offramp.anonymity.editkeys import clean_key, hash_key, key_matches, new_edit_key
from offramp.anonymity.pseudonyms import pseudonym
from offramp.db import write_transaction
from offramp.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
)
from offramp.forum import entities, schemas
from offramp.forum.entities import EntityPlan, alias_key
from offramp.forum.render import render_markdown
from offramp.forum.tables import (
    Category,
    Entity,
    EntityAlias,
    Post,
    PostRevision,
    Thread,
    ThreadRoleTag,
)
from offramp.ids import new_id, this_hour
from offramp.surveys.schemas import RoleCategory

POSTS_PER_PAGE = 30
THREADS_PER_PAGE = 25
ACTIVE_WINDOW = timedelta(days=7)
ACTIVE_CANDIDATES = 300  # "most active" ranks the threads active most recently, this many

DELETED_NOTICE = "[deleted by author]"
# Statuses that keep a post's place in its thread (the last three as a notice only).
PUBLIC_POST_STATUSES = ("published", "deleted", "hidden", "under_review")
NOTICE_STATUSES = ("hidden", "under_review")
MAX_DELAY_HOURS = 24


ChangeListener = Callable[[str, "str | None"], Awaitable[None]]
ConfirmationListener = Callable[[list[str]], Awaitable[None]]  # ids of confirmed entities
Attachment = Callable[[str, str], Awaitable[None]]  # (thread_id, post_id), in the transaction


@dataclass(frozen=True)
class Author:
    """Who is writing: proven by an edit key, by a persona's session, or neither."""

    key: str | None = None
    persona_id: str | None = None


@dataclass(frozen=True)
class Publishing:
    """How a new post is published (SPEC §3.5, §3.6)."""

    confirmed_findings: bool = False
    delay: bool = False
    findings: list[Finding] = field(default_factory=list)


class NeedsConfirmation(Invalid):
    """The text seems to contain identifying details and the author has not confirmed."""

    code = "identifying_details"

    def __init__(self, findings: list[Finding]):
        kinds = sorted({finding.kind for finding in findings})
        super().__init__(
            "This text seems to contain identifying details ("
            + ", ".join(kinds)
            + "). Remove them, or confirm to publish anyway: the post is then held until a "
            "moderator has reviewed it.",
            field="body",
        )
        self.findings = findings


_THREAD_COLUMNS = (
    Thread.id,
    Thread.title,
    Thread.category,
    Thread.category.name.as_alias("category_name"),
    Thread.entity.slug.as_alias("entity_slug"),
    Thread.entity.name.as_alias("entity_name"),
    Thread.entity.kind.as_alias("entity_kind"),
    Thread.post_count,
    Thread.reply_count,
    Thread.locked,
    Thread.op_ref,
    Thread.created_at,
    Thread.last_activity,
)


@dataclass(frozen=True)
class Forum:
    """The forum service, bound to the secret that derives pseudonyms.

    ``listeners`` are told, inside the same transaction, whenever a post or its
    thread changes (created, edited, deleted, published, hidden...): features that
    keep derived data, such as the search index, stay exactly in step.
    """

    secret: bytes
    listeners: tuple[ChangeListener, ...] = ()
    confirmation_listeners: tuple[ConfirmationListener, ...] = ()
    # The categories are made by migrations only (SPEC §2) and so cannot change while
    # a process runs: read once, on first use, instead of on every page.
    _categories: list[schemas.CategoryRead] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    async def changed(self, thread_id: str, post_id: str | None = None) -> None:
        """Call inside the write transaction, after the change."""
        for listener in self.listeners:
            await listener(thread_id, post_id)

    # -- reading -------------------------------------------------------------

    async def categories(self) -> list[schemas.CategoryRead]:
        if not self._categories:
            rows = await Category.select().order_by(Category.position).run()
            if not self._categories:  # another request may have filled it meanwhile
                self._categories.extend(_category(row) for row in rows)
        return list(self._categories)

    async def category(self, slug: str) -> schemas.CategoryRead:
        for category in await self.categories():
            if category.slug == slug:
                return category
        raise NotFound(f"There is no category '{slug}'.", field="category")

    async def threads(
        self,
        *,
        category: str | None = None,
        entity: str | None = None,
        cursor: str | None = None,
        limit: int = THREADS_PER_PAGE,
        sort: str = "activity",
        role: str | None = None,
    ) -> schemas.ThreadList:
        """One page of published threads in ``sort`` order (see ``SORT_KEYS``), after
        ``cursor`` (the ``next`` of the previous page, which encodes the same order),
        only those tagged ``role`` if given."""
        query = self.threads_query(
            category=category, entity=entity, cursor=cursor, sort=sort, role=role
        )
        rows = await query.limit(limit + 1)
        more = len(rows) > limit
        rows = await _with_role_tags(rows[:limit])
        next_cursor = None
        if more:
            keys = SORT_KEYS[sort]
            next_cursor = _encode_cursor(sort, [rows[-1][key] for key in keys], rows[-1]["id"])
        return schemas.ThreadList(threads=[_thread(row) for row in rows], next=next_cursor)

    def threads_query(
        self,
        *,
        category: str | None = None,
        entity: str | None = None,
        cursor: str | None = None,
        sort: str = "activity",
        role: str | None = None,
    ) -> Select:
        """The query behind ``threads``, unlimited (tests read its plan)."""
        keys = _sort_keys(sort)
        query = Thread.select(*_THREAD_COLUMNS).where(Thread.status == "published")
        if role is not None:
            _check_role(role)
            tagged = ThreadRoleTag.select(ThreadRoleTag.thread).where(ThreadRoleTag.tag == role)
            query = query.where(Thread.id.is_in(tagged))
        if category is not None:
            query = query.where(Thread.category == category)
        if entity is not None:
            query = query.where(Thread.entity == entity)
        if sort == "unanswered":
            query = query.where(Thread.reply_count == 0)
        if cursor:
            values, thread_id = _decode_cursor(cursor, sort)
            columns = ", ".join(f"forum_thread.{key}" for key in keys)
            query = query.where(
                WhereRaw(
                    f"({columns}, forum_thread.id) < ({'{}, ' * len(keys)}{{}})",
                    *values,
                    thread_id,
                )
            )
        order = [getattr(Thread, key) for key in keys]
        return query.order_by(*order, Thread.id, ascending=False)

    def active_candidates(self) -> Select:
        """The threads ``active_threads`` ranks (tests read its plan)."""
        since = this_hour() - ACTIVE_WINDOW
        return (
            Thread.select(Thread.id, Thread.reply_count)
            .where(Thread.status == "published", Thread.last_activity >= since)
            .where(Thread.reply_count > 0)
            .order_by(Thread.last_activity, Thread.id, ascending=False)
            .limit(ACTIVE_CANDIDATES)
        )

    async def active_threads(self, limit: int = 8) -> list[schemas.ThreadRead]:
        """The busiest of the recently active threads: among the ``ACTIVE_CANDIDATES``
        threads active most recently (within the last week), those with the most replies.
        Bounded on purpose: a walk down the last-activity index, so the home page costs
        the same with a thousand threads or a million, where "most replies in the whole
        week" would read every thread active that week."""
        candidates = await self.active_candidates()
        candidates.sort(key=lambda row: (-row["reply_count"], row["id"]))
        chosen = [row["id"] for row in candidates[:limit]]
        if not chosen:
            return []
        found = {
            row["id"]: row
            for row in await Thread.select(*_THREAD_COLUMNS).where(Thread.id.is_in(chosen))
        }
        rows = [found[thread_id] for thread_id in chosen if thread_id in found]
        return [_thread(row) for row in await _with_role_tags(rows)]

    async def thread(self, thread_id: str) -> schemas.ThreadRead:
        return _thread(await self._thread_row(thread_id))

    async def thread_page(self, thread_id: str, page: int = 1) -> schemas.ThreadPage:
        row = await self._thread_row(thread_id)
        pages = max(1, math.ceil(row["post_count"] / POSTS_PER_PAGE))
        if page < 1 or page > pages:
            raise NotFound(f"This thread has pages 1 to {pages}.", field="page")
        first = (page - 1) * POSTS_PER_PAGE
        posts = await (
            Post.select()
            .where(Post.thread == thread_id, Post.seq > first)
            .where(Post.seq <= first + POSTS_PER_PAGE)
            .where(Post.status.is_in(list(PUBLIC_POST_STATUSES)))
            .order_by(Post.seq)
        )
        return schemas.ThreadPage(
            thread=_thread(row),
            posts=[self._post(post, row["op_ref"], page) for post in posts],
            page=page,
            pages=pages,
        )

    async def post(self, post_id: str) -> schemas.PostRead:
        """A post as the public sees it: held and scheduled posts do not exist."""
        post = await self._post_row(post_id)
        if post["status"] not in PUBLIC_POST_STATUSES:
            raise NotFound("There is no such post.", field="post_id")
        return await self._read(post)

    async def post_stub(self, post_id: str) -> schemas.PostRead:
        """Enough of a post to ask for its key: the whole post when it is public, else
        only its number and day (its text stays private until the key is shown)."""
        post = await self._post_row(post_id)
        if post["status"] == "withdrawn":
            raise NotFound("There is no such post.", field="post_id")
        read = await self._read(post)
        if post["status"] in PUBLIC_POST_STATUSES:
            return read
        return read.model_copy(update={"body_html": "", "author": "you"})

    async def _read(self, post: dict, for_author: bool = False) -> schemas.PostRead:
        thread = await Thread.select(Thread.op_ref).where(Thread.id == post["thread"]).first()
        return self._post(post, thread["op_ref"], _page_of(post["seq"]), for_author)

    # -- entities ------------------------------------------------------------

    async def entities(self, kind: str | None = None) -> list[schemas.EntityRead]:
        """The directory: approved entities only (pending ones are listed nowhere)."""
        query = Entity.select().where(Entity.status == "approved").order_by(Entity.name)
        if kind:
            query = query.where(Entity.kind == kind)
        return [_entity(row) for row in await query]

    async def entity(self, slug: str) -> schemas.EntityRead:
        row = await Entity.select().where(Entity.slug == slug).first()
        if row is None:
            raise NotFound(f"There is no employer, program or certification '{slug}'.")
        return _entity(row)

    async def current_slug(self, old: str) -> str | None:
        """Where an entity now lives whose page was ``old`` (renamed, or merged into
        another): its slug, looked up through the names it is known by."""
        row = (
            await EntityAlias.select(EntityAlias.entity.slug.as_alias("slug"))
            .where(EntityAlias.key == alias_key(old))
            .first()
        )
        return row["slug"] if row and row["slug"] != old else None

    async def entity_id(self, slug: str) -> str:
        row = await Entity.select(Entity.id).where(Entity.slug == slug).first()
        if row is None:
            raise NotFound(f"There is no employer, program or certification '{slug}'.")
        return row["id"]

    async def resolve_entity(self, text: str, **options) -> str:
        """The id of the entity whose slug, name or alias is ``text``; see
        ``entities.resolve`` for adding new names through an ``EntityPlan``."""
        return await entities.resolve(text, **options)

    async def apply_entities(self, plan: EntityPlan, source: str) -> None:
        """Inside the write transaction: add the plan's new entities (pending) and
        confirm pending ones that ``source`` names independently."""
        confirmed = await entities.apply(plan, source)
        if confirmed:
            for listener in self.confirmation_listeners:
                await listener(confirmed)

    # -- writing -------------------------------------------------------------

    def check_findings(self, texts: list[str], publishing: Publishing) -> Publishing:
        """Scan what will be published; refuse unconfirmed identifying details."""
        findings = [finding for text in texts for finding in find_identifying_details(text)]
        if findings and not publishing.confirmed_findings:
            raise NeedsConfirmation(findings)
        return Publishing(publishing.confirmed_findings, publishing.delay, findings)

    def _status_for(self, publishing: Publishing, now: datetime) -> tuple[str, datetime | None]:
        if publishing.findings:
            return "held", None
        if publishing.delay:
            return "scheduled", now + timedelta(hours=secrets.randbelow(MAX_DELAY_HOURS) + 1)
        return "published", None

    def persona_ref(self, persona_id: str, thread_id: str) -> str:
        """A persona's author reference inside one thread (unlinkable across threads)."""
        digest = hmac.new(self.secret, f"persona|{persona_id}|{thread_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:12]

    async def create_thread(
        self,
        data: schemas.ThreadCreate,
        author: Author = Author(),
        publishing: Publishing = Publishing(),
        attach: Attachment | None = None,
        plan: EntityPlan | None = None,
    ) -> schemas.ThreadCreated:
        """Start a thread. ``attach`` (e.g. an outcome survey) is written in the same
        transaction as the post, with the new thread's and post's ids. ``plan`` holds
        the entities the post names (its survey's too); new ones are added with it."""
        await self.category(data.category)  # a clear 404 before anything is written
        plan = plan if plan is not None else EntityPlan(allow_new=data.new_entities)
        entity_id = None
        if data.entity:
            entity_id = await self.resolve_entity(data.entity, plan=plan, new_kind=data.entity_kind)
        publishing = self.check_findings([data.title, data.body], publishing)
        key, key_hash = new_edit_key()
        now = this_hour()
        status, publish_at = self._status_for(publishing, now)
        thread_id, post_id = new_id(), new_id()
        author_ref = (
            self.persona_ref(author.persona_id, thread_id) if author.persona_id else post_id
        )
        async with write_transaction():
            await self.apply_entities(plan, source=thread_id)
            await Thread.insert(
                Thread(
                    id=thread_id,
                    title=data.title,
                    category=data.category,
                    entity=entity_id,
                    op_ref=author_ref,
                    post_count=1,
                    status=status,
                    created_at=now,
                    last_activity=now,
                )
            )
            await self._insert_post(
                post_id,
                thread_id,
                1,
                author_ref,
                data.body,
                key_hash,
                now,
                status=status,
                publish_at=publish_at,
                findings=publishing.findings,
                persona_id=author.persona_id,
            )
            await PostRevision.insert(
                PostRevision(
                    post=post_id, number=1, title=data.title, body_md=data.body, created_at=now
                )
            )
            if entity_id and status == "published":
                await _count_thread_for_entity(entity_id)
            if attach:
                await attach(thread_id, post_id)
            await _tag_thread(thread_id, data.role_tags)
            await self.changed(thread_id, post_id)
        post = await self._read(await self._post_row(post_id))
        thread = _thread(await self._thread_row(thread_id, public=False))
        return schemas.ThreadCreated(thread=thread, post=post, edit_key=key)

    async def create_reply(
        self,
        thread_id: str,
        data: schemas.ReplyCreate,
        author: Author = Author(),
        publishing: Publishing = Publishing(),
        attach: Attachment | None = None,
        plan: EntityPlan | None = None,
    ) -> schemas.PostCreated:
        author_key = clean_key(data.author_key) if data.author_key else None
        if data.author_key and author_key is None and not author.persona_id:
            raise Forbidden("That is not an edit key.", field="author_key")
        publishing = self.check_findings([data.body], publishing)
        key, key_hash = new_edit_key()
        now = this_hour()
        status, publish_at = self._status_for(publishing, now)
        visible = status == "published"
        post_id = new_id()
        async with write_transaction():
            changes: dict = {Thread.post_count: Thread.post_count + 1}
            if visible:
                changes |= {Thread.reply_count: Thread.reply_count + 1, Thread.last_activity: now}
            thread = await (
                Thread.update(changes)
                .where(Thread.id == thread_id, Thread.status == "published")
                .where(Thread.locked == False)  # noqa: E712 (a SQL comparison)
                .returning(Thread.post_count)
            )
            if not thread:
                await self._thread_row(thread_id)  # raises 404 if it does not exist
                raise Conflict("This thread is locked: no new replies.", code="locked")
            if author.persona_id:
                author_ref = self.persona_ref(author.persona_id, thread_id)
            elif author_key:
                author_ref = await self._author_ref_for_key(thread_id, author_key)
            else:
                author_ref = post_id
            seq = thread[0]["post_count"]
            await self._insert_post(
                post_id,
                thread_id,
                seq,
                author_ref,
                data.body,
                key_hash,
                now,
                status=status,
                publish_at=publish_at,
                findings=publishing.findings,
                persona_id=author.persona_id,
            )
            await PostRevision.insert(
                PostRevision(post=post_id, number=1, body_md=data.body, created_at=now)
            )
            if plan is not None:
                await self.apply_entities(plan, source=thread_id)
            if attach:
                await attach(thread_id, post_id)
            await self.changed(thread_id, post_id)
        post = await self._read(await self._post_row(post_id))
        return schemas.PostCreated(post=post, edit_key=key)

    async def publish_due(self, now: datetime | None = None) -> int:
        """Publish every delayed post whose hour has come. Safe to run anywhere, any
        number of times, concurrently: each post is claimed by one UPDATE."""
        moment = this_hour(now)
        due = await (
            Post.select(Post.id)
            .where(Post.status == "scheduled", Post.publish_at <= moment)
            .limit(500)
        )
        published = 0
        for row in due:
            async with write_transaction():
                claimed = await (
                    Post.update({Post.status: "published"})
                    .where(Post.id == row["id"], Post.status == "scheduled")
                    .returning(Post.id, Post.thread, Post.seq, Post.publish_at)
                )
                if not claimed:
                    continue  # another instance published it first
                await self._made_visible(claimed[0])
                await self.changed(claimed[0]["thread"], claimed[0]["id"])
                published += 1
        return published

    async def publish_held(self, post_id: str) -> bool:
        """A moderator approved a held post: publish and count it, as if it had just been
        posted. Call inside the caller's write transaction; False if it was not held."""
        claimed = await (
            Post.update({Post.status: "published", Post.findings: ""})
            .where(Post.id == post_id, Post.status == "held")
            .returning(Post.id, Post.thread, Post.seq, Post.publish_at)
        )
        if not claimed:
            return False
        await self._made_visible(claimed[0])
        await self.changed(claimed[0]["thread"], post_id)
        return True

    async def _made_visible(self, post: dict) -> None:
        """A post became public: it is dated now (its publication), and counted."""
        when = post["publish_at"] or this_hour()
        await Post.update(
            {Post.created_at: when, Post.updated_at: when, Post.publish_at: None}
        ).where(Post.id == post["id"])
        if post["seq"] == 1:
            thread = await (
                Thread.update(
                    {
                        Thread.status: "published",
                        Thread.created_at: when,
                        Thread.last_activity: when,
                    }
                )
                .where(Thread.id == post["thread"])
                .returning(Thread.entity)
            )
            if thread and thread[0]["entity"]:
                await _count_thread_for_entity(thread[0]["entity"])
        else:
            await Thread.update(
                {Thread.reply_count: Thread.reply_count + 1, Thread.last_activity: when}
            ).where(Thread.id == post["thread"])

    async def edit_post(
        self, post_id: str, author: Author, data: schemas.PostUpdate
    ) -> schemas.PostRead:
        now = this_hour()
        html = render_markdown(data.body)
        texts = [data.body] + ([data.title] if data.title else [])
        findings = find_identifying_details("\n".join(texts))
        if findings and not data.confirm_identifying_details:
            raise NeedsConfirmation(findings)
        async with write_transaction():
            post = await self._authorised_post(post_id, author)
            if post["status"] == "deleted":
                raise Conflict("This post was deleted and cannot be edited.", code="deleted")
            if data.title is not None and post["seq"] != 1:
                raise Invalid(
                    "Only the opening post of a thread can change its title.", field="title"
                )
            changes: dict = {
                Post.body_md: data.body,
                Post.body_html: html,
                Post.updated_at: now,
                Post.revision_count: Post.revision_count + 1,
            }
            if findings:  # newly confirmed identifying details: back to review
                changes |= {
                    Post.findings: ",".join(sorted({f.kind for f in findings})),
                    Post.status: "held",
                }
            updated = await (
                Post.update(changes).where(Post.id == post_id).returning(Post.revision_count)
            )
            await PostRevision.insert(
                PostRevision(
                    post=post_id,
                    number=updated[0]["revision_count"],
                    title=data.title,
                    body_md=data.body,
                    created_at=now,
                )
            )
            if data.title is not None:
                await Thread.update({Thread.title: data.title}).where(Thread.id == post["thread"])
            if findings and post["status"] == "published":
                await self._hidden_again(post)
            await self.changed(post["thread"], post_id)
        return await self._read(await self._post_row(post_id))

    async def _hidden_again(self, post: dict) -> None:
        """A published post went back to review: take it out of the public counts."""
        if post["seq"] == 1:
            await Thread.update({Thread.status: "held"}).where(Thread.id == post["thread"])
        else:
            await Thread.update({Thread.reply_count: Thread.reply_count - 1}).where(
                Thread.id == post["thread"]
            )

    async def delete_post(self, post_id: str, author: Author) -> schemas.PostRead:
        """Erase the text and its history; the post's place in the thread stays."""
        now = this_hour()
        async with write_transaction():
            post = await self._authorised_post(post_id, author)
            if post["status"] != "deleted":
                await Post.update(
                    {
                        Post.status: "deleted",
                        Post.body_md: "",
                        Post.body_html: "",
                        Post.findings: "",
                        Post.persona: None,
                        Post.publish_at: None,
                        Post.updated_at: now,
                    }
                ).where(Post.id == post_id)
                await PostRevision.delete().where(PostRevision.post == post_id)
                if post["status"] in ("held", "scheduled"):
                    await self._deleted_before_publication(post)
                await self.changed(post["thread"], post_id)
        return await self._read(await self._post_row(post_id))

    async def _deleted_before_publication(self, post: dict) -> None:
        """Never public, now deleted: it stays out of sight rather than leave a notice."""
        await Post.update({Post.status: "withdrawn"}).where(Post.id == post["id"])
        if post["seq"] == 1:
            await Thread.update({Thread.status: "withdrawn"}).where(Thread.id == post["thread"])

    async def owns(self, post_id: str, persona_id: str | None) -> bool:
        """Whether ``persona_id`` manages this post (so it needs no edit key)."""
        if not persona_id:
            return False
        return await Post.exists().where(Post.id == post_id, Post.persona == persona_id)

    async def own_post(self, post_id: str, author: Author) -> schemas.PostRead:
        """The post, for its author (any status), once ``author`` is shown to own it."""
        return await self._read(await self._authorised_post(post_id, author), for_author=True)

    async def post_source(self, post_id: str, author: Author) -> dict:
        """The Markdown and title an author edits; needs the key or the persona."""
        post = await self._authorised_post(post_id, author)
        title = None
        if post["seq"] == 1:
            title = (await self._thread_row(post["thread"], public=False))["title"]
        return {"body": post["body_md"], "title": title}

    # -- helpers ---------------------------------------------------------------

    async def _insert_post(
        self,
        post_id,
        thread_id,
        seq,
        author_ref,
        body,
        key_hash,
        now,
        *,
        status="published",
        publish_at=None,
        findings=(),
        persona_id=None,
    ):
        await Post.insert(
            Post(
                id=post_id,
                thread=thread_id,
                seq=seq,
                author_ref=author_ref,
                body_md=body,
                body_html=render_markdown(body),
                key_hash=key_hash,
                status=status,
                publish_at=publish_at,
                findings=",".join(sorted({finding.kind for finding in findings})),
                persona=persona_id,
                created_at=now,
                updated_at=now,
            )
        )

    async def _thread_row(self, thread_id: str, public: bool = True) -> dict:
        query = Thread.select(*_THREAD_COLUMNS).where(Thread.id == thread_id)
        if public:
            query = query.where(Thread.status == "published")
        row = await query.first()
        if row is None:
            raise NotFound("There is no such thread.", field="thread_id")
        return (await _with_role_tags([row]))[0]

    async def _post_row(self, post_id: str) -> dict:
        row = await Post.select().where(Post.id == post_id).first()
        if row is None:
            raise NotFound("There is no such post.", field="post_id")
        return row

    async def _authorised_post(self, post_id: str, author: Author) -> dict:
        post = await self._post_row(post_id)
        if post["status"] == "withdrawn":
            raise NotFound("There is no such post.", field="post_id")
        if author.persona_id and post["persona"] == author.persona_id:
            return post
        if author.key is None or not author.key.strip():
            raise Unauthorized("This needs the post's edit key.", field="edit_key")
        key = clean_key(author.key)
        if key is None or not key_matches(key, post["key_hash"]):
            raise Forbidden("That edit key does not belong to this post.", field="edit_key")
        return post

    async def _author_ref_for_key(self, thread_id: str, key: str) -> str:
        row = await (
            Post.select(Post.author_ref)
            .where(Post.key_hash == hash_key(key), Post.thread == thread_id)
            .first()
        )
        if row is None:
            raise Forbidden(
                "That edit key does not belong to a post in this thread.",
                field="author_key",
            )
        return row["author_ref"]

    def _post(
        self, row: dict, op_ref: str, page: int, for_author: bool = False
    ) -> schemas.PostRead:
        """A post as readers see it; ``for_author`` keeps the text of a post hidden by a
        moderator (its author may read it, and the reason, with the key)."""
        deleted = row["status"] in ("deleted", "withdrawn")
        shown = not deleted and (for_author or row["status"] not in NOTICE_STATUSES)
        return schemas.PostRead(
            id=row["id"],
            thread_id=row["thread"],
            number=row["seq"],
            author=pseudonym(self.secret, row["author_ref"], row["thread"], op_ref),
            status="deleted" if deleted else row["status"],
            body_html=row["body_html"] if shown else "",
            edited=row["revision_count"] > 1 and not deleted,
            created=row["created_at"].date(),
            url=thread_url(row["thread"], page) + f"#p{row['seq']}",
            notice=row["moderation_note"] or None if row["status"] in NOTICE_STATUSES else None,
        )


# -- row to model ----------------------------------------------------------------


async def _count_thread_for_entity(entity_id: str) -> None:
    await Entity.update({Entity.thread_count: Entity.thread_count + 1}).where(
        Entity.id == entity_id
    )


def thread_url(thread_id: str, page: int = 1) -> str:
    return f"/threads/{thread_id}" + (f"?page={page}" if page > 1 else "")


def _page_of(seq: int) -> int:
    return (seq - 1) // POSTS_PER_PAGE + 1


def _category(row: dict) -> schemas.CategoryRead:
    return schemas.CategoryRead(
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        url=f"/c/{row['slug']}",
    )


def _thread(row: dict) -> schemas.ThreadRead:
    entity = None
    if row["entity_slug"]:
        entity = schemas.EntityRef(
            slug=row["entity_slug"],
            name=row["entity_name"],
            kind=row["entity_kind"],
            url=f"/entities/{row['entity_slug']}",
        )
    return schemas.ThreadRead(
        id=row["id"],
        title=row["title"],
        url=thread_url(row["id"]),
        category=row["category"],
        category_name=row["category_name"],
        entity=entity,
        reply_count=row["reply_count"],
        locked=row["locked"],
        created=row["created_at"].date(),
        last_activity=row["last_activity"].date(),
        role_tags=[schemas.role_tag(tag) for tag in row.get("role_tags", ())],
    )


def _entity(row: dict) -> schemas.EntityRead:
    return schemas.EntityRead(
        slug=row["slug"],
        name=row["name"],
        kind=row["kind"],
        url=f"/entities/{row['slug']}",
        website=row["website"],
        description=row["description"],
        aliases=[line for line in row["aliases"].splitlines() if line.strip()],
        status=row["status"],
        thread_count=row["thread_count"],
    )


# -- role tags -------------------------------------------------------------------

ROLE_TAGS = get_args(RoleCategory)  # SPEC §2, in the list's order


def _check_role(role: str) -> None:
    if role not in ROLE_TAGS:
        raise Invalid(f"role must be one of: {', '.join(ROLE_TAGS)}.", field="role")


async def _tag_thread(thread_id: str, tags: list[str]) -> None:
    if tags:
        await ThreadRoleTag.insert(*(ThreadRoleTag(thread=thread_id, tag=tag) for tag in tags))


async def _with_role_tags(rows: list[dict]) -> list[dict]:
    """The rows, each with its thread's role tags: one query for them all."""
    if not rows:
        return rows
    tags: dict[str, list[str]] = {}
    for found in await ThreadRoleTag.select(ThreadRoleTag.thread, ThreadRoleTag.tag).where(
        ThreadRoleTag.thread.is_in([row["id"] for row in rows])
    ):
        tags.setdefault(found["thread"], []).append(found["tag"])
    for row in rows:
        row["role_tags"] = sorted(tags.get(row["id"], ()), key=ROLE_TAGS.index)
    return rows


# The key of each thread-list order, every column descending, then the thread's id.
# An index serves each one in every scope (site, category, entity), so a page after a
# cursor is a walk down an index: forum_0002 (activity), feeds_0001 (newest),
# forum_0006 (replies; unanswered walks its reply_count = 0 part, in which the last
# activity is the day the thread was started).
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "activity": ("last_activity",),
    "newest": ("created_at",),
    "replies": ("reply_count", "last_activity"),
    "unanswered": ("last_activity",),
}
_BAD_CURSOR = "The cursor is not valid: use the `next` value of a previous page."


def _sort_keys(sort: str) -> tuple[str, ...]:
    if sort not in SORT_KEYS:
        raise Invalid(f"sort must be one of: {', '.join(SORT_KEYS)}.", field="sort")
    return SORT_KEYS[sort]


def _encode_cursor(sort: str, values: list, thread_id: str) -> str:
    """The position after a page: its order, then the last thread's key."""
    text = [value.isoformat() if isinstance(value, datetime) else str(value) for value in values]
    raw = "|".join([sort, *text, thread_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[list, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest(_BAD_CURSOR, field="cursor") from None
    parts = raw.split("|")
    keys = SORT_KEYS[sort]
    if parts[0] in SORT_KEYS and parts[0] != sort:
        raise BadRequest(
            f"This cursor belongs to the order sort={parts[0]}, not sort={sort}: keep the "
            "order while paging, or start again from the first page.",
            field="cursor",
        )
    if len(parts) != len(keys) + 2 or parts[0] != sort or not 0 < len(parts[-1]) <= 12:
        raise BadRequest(_BAD_CURSOR, field="cursor")
    try:
        values = [_cursor_value(key, text) for key, text in zip(keys, parts[1:-1], strict=True)]
    except ValueError:
        raise BadRequest(_BAD_CURSOR, field="cursor") from None
    return values, parts[-1]


def _cursor_value(key: str, text: str) -> int | datetime:
    if key == "reply_count":
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise ValueError(text)
        return int(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment
