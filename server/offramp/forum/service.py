"""The forum's rules and queries. Knows nothing of HTTP.

Every write is one transaction. List queries are keyset-paginated on
``(last_activity, id)`` so page 50 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from piccolo.columns.combination import WhereRaw

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
from offramp.forum import schemas
from offramp.forum.render import render_markdown
from offramp.forum.tables import (
    Category,
    Entity,
    EntityAlias,
    Post,
    PostRevision,
    Thread,
)
from offramp.ids import new_id, this_hour

POSTS_PER_PAGE = 30
THREADS_PER_PAGE = 25
ACTIVE_WINDOW = timedelta(days=7)

DELETED_NOTICE = "[deleted by author]"

_THREAD_COLUMNS = (
    Thread.id,
    Thread.title,
    Thread.category,
    Thread.category.name.as_alias("category_name"),
    Thread.entity.slug.as_alias("entity_slug"),
    Thread.entity.name.as_alias("entity_name"),
    Thread.entity.kind.as_alias("entity_kind"),
    Thread.post_count,
    Thread.locked,
    Thread.op_ref,
    Thread.created_at,
    Thread.last_activity,
)


@dataclass(frozen=True)
class Forum:
    """The forum service, bound to the secret that derives pseudonyms."""

    secret: bytes

    # -- reading -------------------------------------------------------------

    async def categories(self) -> list[schemas.CategoryRead]:
        rows = await Category.select().order_by(Category.position).run()
        return [_category(row) for row in rows]

    async def category(self, slug: str) -> schemas.CategoryRead:
        row = await Category.select().where(Category.slug == slug).first().run()
        if row is None:
            raise NotFound(f"There is no category '{slug}'.", field="category")
        return _category(row)

    async def threads(
        self,
        *,
        category: str | None = None,
        entity: str | None = None,
        cursor: str | None = None,
        limit: int = THREADS_PER_PAGE,
    ) -> schemas.ThreadList:
        query = Thread.select(*_THREAD_COLUMNS).where(Thread.status == "published")
        if category is not None:
            query = query.where(Thread.category == category)
        if entity is not None:
            query = query.where(Thread.entity == entity)
        if cursor:
            last_activity, thread_id = _decode_cursor(cursor)
            query = query.where(
                WhereRaw(
                    "(forum_thread.last_activity, forum_thread.id) < ({}, {})",
                    last_activity,
                    thread_id,
                )
            )
        rows = await query.order_by(Thread.last_activity, Thread.id, ascending=False).limit(
            limit + 1
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1]["last_activity"], rows[-1]["id"]) if more else None
        return schemas.ThreadList(threads=[_thread(row) for row in rows], next=next_cursor)

    async def active_threads(self, limit: int = 8) -> list[schemas.ThreadRead]:
        """Threads with the most posts among those active in the last week."""
        since = this_hour() - ACTIVE_WINDOW
        rows = await (
            Thread.select(*_THREAD_COLUMNS)
            .where(Thread.status == "published", Thread.last_activity >= since)
            .where(Thread.post_count > 1)
            .order_by(Thread.post_count, ascending=False)
            .order_by(Thread.id)
            .limit(limit)
        )
        return [_thread(row) for row in rows]

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
            .order_by(Post.seq)
        )
        return schemas.ThreadPage(
            thread=_thread(row),
            posts=[self._post(post, row["op_ref"], page) for post in posts],
            page=page,
            pages=pages,
        )

    async def post(self, post_id: str) -> schemas.PostRead:
        post = await self._post_row(post_id)
        thread = await Thread.select(Thread.op_ref).where(Thread.id == post["thread"]).first()
        return self._post(post, thread["op_ref"], _page_of(post["seq"]))

    # -- entities ------------------------------------------------------------

    async def entities(self, kind: str | None = None) -> list[schemas.EntityRead]:
        query = Entity.select().order_by(Entity.name)
        if kind:
            query = query.where(Entity.kind == kind)
        return [_entity(row) for row in await query]

    async def entity(self, slug: str) -> schemas.EntityRead:
        row = await Entity.select().where(Entity.slug == slug).first()
        if row is None:
            raise NotFound(f"There is no employer, program or certification '{slug}'.")
        return _entity(row)

    async def entity_id(self, slug: str) -> str:
        row = await Entity.select(Entity.id).where(Entity.slug == slug).first()
        if row is None:
            raise NotFound(f"There is no employer, program or certification '{slug}'.")
        return row["id"]

    async def resolve_entity(self, text: str) -> str:
        """The id of the entity whose slug, name or alias is ``text``."""
        row = (
            await EntityAlias.select(EntityAlias.entity)
            .where(EntityAlias.key == alias_key(text))
            .first()
        )
        if row is None:
            raise Invalid(
                f"No employer, program or certification is called '{text}'. Pick one from "
                "the list (the directory at /entities), or leave the field empty.",
                field="entity",
            )
        return row["entity"]

    # -- writing -------------------------------------------------------------

    async def create_thread(self, data: schemas.ThreadCreate) -> schemas.ThreadCreated:
        await self.category(data.category)  # a clear 404 before anything is written
        entity_id = await self.resolve_entity(data.entity) if data.entity else None
        key, key_hash = new_edit_key()
        now = this_hour()
        thread_id, post_id = new_id(), new_id()
        async with write_transaction():
            await Thread.insert(
                Thread(
                    id=thread_id,
                    title=data.title,
                    category=data.category,
                    entity=entity_id,
                    op_ref=post_id,
                    post_count=1,
                    created_at=now,
                    last_activity=now,
                )
            )
            await self._insert_post(post_id, thread_id, 1, post_id, data.body, key_hash, now)
            await PostRevision.insert(
                PostRevision(
                    post=post_id,
                    number=1,
                    title=data.title,
                    body_md=data.body,
                    created_at=now,
                )
            )
            if entity_id:
                await Entity.update({Entity.thread_count: Entity.thread_count + 1}).where(
                    Entity.id == entity_id
                )
        thread = await self.thread(thread_id)
        return schemas.ThreadCreated(thread=thread, post=await self.post(post_id), edit_key=key)

    async def create_reply(self, thread_id: str, data: schemas.ReplyCreate) -> schemas.PostCreated:
        author_key = clean_key(data.author_key) if data.author_key else None
        if data.author_key and author_key is None:
            raise Forbidden("That is not an edit key.", field="author_key")
        key, key_hash = new_edit_key()
        now = this_hour()
        post_id = new_id()
        async with write_transaction():
            thread = await (
                Thread.update(
                    {
                        Thread.post_count: Thread.post_count + 1,
                        Thread.last_activity: now,
                    }
                )
                .where(Thread.id == thread_id, Thread.status == "published")
                .where(Thread.locked == False)  # noqa: E712 (a SQL comparison)
                .returning(Thread.post_count)
            )
            if not thread:
                await self._thread_row(thread_id)  # raises 404 if it does not exist
                raise Conflict("This thread is locked: no new replies.", code="locked")
            author_ref = post_id
            if author_key:
                author_ref = await self._author_ref_for_key(thread_id, author_key)
            seq = thread[0]["post_count"]
            await self._insert_post(post_id, thread_id, seq, author_ref, data.body, key_hash, now)
            await PostRevision.insert(
                PostRevision(post=post_id, number=1, body_md=data.body, created_at=now)
            )
        return schemas.PostCreated(post=await self.post(post_id), edit_key=key)

    async def edit_post(
        self, post_id: str, raw_key: str | None, data: schemas.PostUpdate
    ) -> schemas.PostRead:
        now = this_hour()
        html = render_markdown(data.body)
        async with write_transaction():
            post = await self._post_with_key(post_id, raw_key)
            if post["status"] == "deleted":
                raise Conflict("This post was deleted and cannot be edited.", code="deleted")
            if data.title is not None and post["seq"] != 1:
                raise Invalid(
                    "Only the opening post of a thread can change its title.",
                    field="title",
                )
            updated = await (
                Post.update(
                    {
                        Post.body_md: data.body,
                        Post.body_html: html,
                        Post.updated_at: now,
                        Post.revision_count: Post.revision_count + 1,
                    }
                )
                .where(Post.id == post_id)
                .returning(Post.revision_count)
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
        return await self.post(post_id)

    async def delete_post(self, post_id: str, raw_key: str | None) -> schemas.PostRead:
        """Erase the text and its history; the post's place in the thread stays."""
        now = this_hour()
        async with write_transaction():
            post = await self._post_with_key(post_id, raw_key)
            if post["status"] != "deleted":
                await Post.update(
                    {
                        Post.status: "deleted",
                        Post.body_md: "",
                        Post.body_html: "",
                        Post.updated_at: now,
                    }
                ).where(Post.id == post_id)
                await PostRevision.delete().where(PostRevision.post == post_id)
        return await self.post(post_id)

    async def check_key(self, post_id: str, raw_key: str | None) -> schemas.PostRead:
        """The post, if ``raw_key`` is its edit key (for the edit form)."""
        await self._post_with_key(post_id, raw_key)
        return await self.post(post_id)

    async def post_source(self, post_id: str, raw_key: str | None) -> dict:
        """The Markdown and title an author edits; needs the key."""
        post = await self._post_with_key(post_id, raw_key)
        title = None
        if post["seq"] == 1:
            title = (await self._thread_row(post["thread"]))["title"]
        return {"body": post["body_md"], "title": title}

    # -- helpers ---------------------------------------------------------------

    async def _insert_post(self, post_id, thread_id, seq, author_ref, body, key_hash, now):
        await Post.insert(
            Post(
                id=post_id,
                thread=thread_id,
                seq=seq,
                author_ref=author_ref,
                body_md=body,
                body_html=render_markdown(body),
                key_hash=key_hash,
                created_at=now,
                updated_at=now,
            )
        )

    async def _thread_row(self, thread_id: str) -> dict:
        row = await (
            Thread.select(*_THREAD_COLUMNS)
            .where(Thread.id == thread_id, Thread.status == "published")
            .first()
        )
        if row is None:
            raise NotFound("There is no such thread.", field="thread_id")
        return row

    async def _post_row(self, post_id: str) -> dict:
        row = await Post.select().where(Post.id == post_id).first()
        if row is None:
            raise NotFound("There is no such post.", field="post_id")
        return row

    async def _post_with_key(self, post_id: str, raw_key: str | None) -> dict:
        post = await self._post_row(post_id)
        key = clean_key(raw_key)
        if raw_key is None or not raw_key.strip():
            raise Unauthorized("This needs the post's edit key.", field="edit_key")
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

    def _post(self, row: dict, op_ref: str, page: int) -> schemas.PostRead:
        deleted = row["status"] == "deleted"
        return schemas.PostRead(
            id=row["id"],
            thread_id=row["thread"],
            number=row["seq"],
            author=pseudonym(self.secret, row["author_ref"], row["thread"], op_ref),
            status=row["status"],
            body_html="" if deleted else row["body_html"],
            edited=row["revision_count"] > 1 and not deleted,
            created=row["created_at"].date(),
            url=thread_url(row["thread"], page) + f"#p{row['seq']}",
        )


# -- row to model ----------------------------------------------------------------


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
        reply_count=row["post_count"] - 1,
        locked=row["locked"],
        created=row["created_at"].date(),
        last_activity=row["last_activity"].date(),
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


def alias_key(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name, for look-ups."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().replace("-", " ").split())[:140]


def _encode_cursor(last_activity: datetime, thread_id: str) -> str:
    raw = f"{last_activity.isoformat()}|{thread_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, thread_id = raw.split("|", 1)
        moment = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest(
            "The cursor is not valid: use the `next` value of a previous page.",
            field="cursor",
        ) from None
    if moment.tzinfo is None or len(thread_id) > 12:
        raise BadRequest(
            "The cursor is not valid: use the `next` value of a previous page.",
            field="cursor",
        )
    return moment, thread_id
