"""Search: the index that follows the forum, and the searches run against it.

Knows nothing of HTTP. ``SearchIndex.changed`` is a forum listener: the forum awaits
it inside each write transaction, after the change, so the index can never show what
the forum no longer publishes (or miss what it does). Only published posts of
published threads have a document; held, scheduled, deleted and withdrawn posts — and
anything a moderator hides — have none.

Queries are never logged or stored here.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from piccolo.columns.combination import WhereRaw
from piccolo.engine.postgres import PostgresEngine

from offramp.db import write_transaction
from offramp.errors import Invalid
from offramp.forum.entities import alias_key, lookup
from offramp.forum.schemas import EntityRef
from offramp.forum.service import POSTS_PER_PAGE, ROLE_TAGS, thread_url
from offramp.forum.tables import Category, EntityAlias, Post, Thread
from offramp.search import schemas
from offramp.search.engines import Filters, Marked, full_text
from offramp.search.query import parse
from offramp.search.tables import SearchDocument
from offramp.search.text import clean, pieces, plain_text, to_html

CANDIDATES = 1000  # matches ranked per search, newest first (docs/search.md)
PER_PAGE = 20
MAX_PER_PAGE = 50
REINDEX_BATCH = 500
SUGGESTIONS = 8

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_MONTH = re.compile(r"^((?:19|2\d)\d\d)-(0[1-9]|1[0-2])$", re.ASCII)  # 1900-01 to 2999-12
FINDABLE = "published"


def document_key(post_id: str, created_at: datetime) -> int:
    """A document's sort key: hours since 2020 (23 bits), then 40 bits from the post id.

    Sorting by key is sorting by publication hour, so "the newest matches" is a walk
    down an index on both engines. The key is fixed for a post once published.
    """
    hours = int((created_at - _EPOCH).total_seconds() // 3600)
    hours = max(0, min(hours, 2**23 - 1))
    tail = int.from_bytes(hashlib.blake2b(post_id.encode(), digest_size=5).digest())
    return (hours << 40) | tail


_POST_COLUMNS = (
    Post.id,
    Post.thread,
    Post.seq,
    Post.status,
    Post.body_html,
    Post.created_at,
)
_THREAD_COLUMNS = (Thread.status, Thread.title, Thread.category, Thread.entity)
_KEPT_ON_UPDATE = [
    SearchDocument.id,
    SearchDocument.thread,
    SearchDocument.category,
    SearchDocument.entity,
    SearchDocument.created_at,
    SearchDocument.title,
    SearchDocument.body,
]


def _document(post: dict, thread: dict) -> SearchDocument:
    """The index's view of a published post."""
    return SearchDocument(
        id=document_key(post["id"], post["created_at"]),
        post=post["id"],
        thread=post["thread"],
        category=thread["category"],
        entity=thread["entity"],
        created_at=post["created_at"],
        title=clean(thread["title"]) if post["seq"] == 1 else "",
        body=clean(plain_text(post["body_html"])),
    )


async def _store(documents: list[SearchDocument]) -> None:
    """Insert or replace documents (a post has at most one)."""
    if documents:
        await SearchDocument.insert(*documents).on_conflict(
            target=SearchDocument.post, action="DO UPDATE", values=_KEPT_ON_UPDATE
        )


@dataclass(frozen=True)
class SearchIndex:
    """The search service: keeps the index, answers searches and entity look-ups."""

    candidates: int = CANDIDATES

    # -- following the forum ------------------------------------------------------------

    async def changed(self, thread_id: str, post_id: str | None = None) -> None:
        """Bring the index in line with one thread (and one of its posts) after a change.

        Called inside the forum's write transaction. A thread that is not published
        loses every document; a change to its opening post may have changed the title or
        the thread's status, so the whole thread is checked (cheaply: only documents
        that differ are written).
        """
        thread = await Thread.select(*_THREAD_COLUMNS).where(Thread.id == thread_id).first()
        if thread is None or thread["status"] != FINDABLE:
            await SearchDocument.delete().where(SearchDocument.thread == thread_id)
            return
        post = None
        if post_id is not None:
            post = await Post.select(*_POST_COLUMNS).where(Post.id == post_id).first()
        if post is None or post["seq"] == 1:
            await self._sync_thread(thread_id, thread)
        if post is not None:
            await self._sync_post(post, thread)

    async def _sync_post(self, post: dict, thread: dict) -> None:
        if post["status"] == FINDABLE:
            await _store([_document(post, thread)])
        else:
            await SearchDocument.delete().where(SearchDocument.post == post["id"])

    async def _sync_thread(self, thread_id: str, thread: dict) -> None:
        """Documents for exactly the published posts of a published thread, carrying the
        thread's category and entity."""
        stale = Post.select(Post.id).where(Post.thread == thread_id, Post.status != FINDABLE)
        await SearchDocument.delete().where(
            SearchDocument.thread == thread_id, SearchDocument.post.is_in(stale)
        )
        category, entity = thread["category"], thread["entity"]
        moved = SearchDocument.category != category
        if entity is None:
            moved = moved | SearchDocument.entity.is_not_null()
        else:
            moved = moved | SearchDocument.entity.is_null() | (SearchDocument.entity != entity)
        await SearchDocument.update(
            {SearchDocument.category: category, SearchDocument.entity: entity}
        ).where(SearchDocument.thread == thread_id, moved)
        indexed = SearchDocument.select(SearchDocument.post).where(
            SearchDocument.thread == thread_id
        )
        missing = await Post.select(*_POST_COLUMNS).where(
            Post.thread == thread_id, Post.status == FINDABLE, Post.id.not_in(indexed)
        )
        await _store([_document(post, thread) for post in missing])

    async def reindex(self, cluster: bool = False) -> int:
        """Rebuild the index from the forum, in batches; searches keep working meanwhile.

        Returns the number of documents. Every findable post is (re)written, then the
        documents of posts no longer findable are removed. ``cluster``: on PostgreSQL,
        then store the documents in key order (``PostgresFullText.optimise``), which
        briefly locks the index.
        """
        written, last = 0, ""
        while True:
            async with write_transaction():
                rows = await self._findable_batch(last)
                await _store([_document(row, _thread_of(row)) for row in rows])
            written += len(rows)
            if len(rows) < REINDEX_BATCH:
                break
            last = rows[-1]["id"]
        async with write_transaction():
            await SearchDocument.raw(
                "DELETE FROM search_document WHERE NOT EXISTS (SELECT 1 FROM forum_post AS p"
                " JOIN forum_thread AS t ON t.id = p.thread WHERE p.id = search_document.post"
                " AND p.status = {} AND t.status = {})",
                FINDABLE,
                FINDABLE,
            )
        await full_text().optimise(cluster)
        return written

    async def _findable_batch(self, after: str) -> list[dict]:
        query = (
            Post.select(
                *_POST_COLUMNS,
                Post.thread.title.as_alias("thread_title"),
                Post.thread.category.as_alias("thread_category"),
                Post.thread.entity.as_alias("thread_entity"),
            )
            .where(Post.status == FINDABLE, Post.thread.status == FINDABLE, Post.id > after)
            .order_by(Post.id)
            .limit(REINDEX_BATCH)
        )
        if isinstance(Post._meta.db, PostgresEngine):
            # An edit committed while this batch is read waits for it, then re-indexes
            # its post itself: the batch cannot write back an older text.
            query = query.lock_rows("SHARE", of=(Post,))
        return await query

    # -- searching ------------------------------------------------------------------------

    async def search(self, request: schemas.SearchRequest) -> schemas.SearchResults:
        """One page of results. Raises QuerySyntaxError (400) or Invalid (422)."""
        query = parse(request.q)
        filters = await self._filters(request)
        per_page = max(1, min(request.per_page, MAX_PER_PAGE))
        max_pages = math.ceil(self.candidates / per_page)
        if not 1 <= request.page <= max_pages:
            raise Invalid(f"page must be between 1 and {max_pages}.", field="page")
        engine = full_text()
        ranked = await engine.rank(
            query,
            filters,
            newest=request.sort == "newest",
            limit=per_page,
            offset=(request.page - 1) * per_page,
            bound=self.candidates,
        )
        marked = await engine.passages(query, ranked.keys)
        results = await self._results(ranked.keys, marked)
        return schemas.SearchResults(
            results=results,
            page=request.page,
            pages=max(1, math.ceil(ranked.total / per_page)),
            total=ranked.total,
            capped=ranked.total >= self.candidates,
            sort=request.sort,
        )

    async def _filters(self, request: schemas.SearchRequest) -> Filters:
        for field, value in (("category", request.category), ("entity", request.entity)):
            if value is not None and (len(value) > 140 or _CONTROL.search(value)):
                raise Invalid(f"{field}: not a name this site uses.", field=field)
        if request.category and not await Category.exists().where(
            Category.slug == request.category
        ):
            raise Invalid(f"There is no category '{request.category}'.", field="category")
        entity_id = await self.resolve_entity(request.entity) if request.entity else None
        since = _month_start(request.month_from, "from") if request.month_from else None
        before = _month_after(request.month_to, "to") if request.month_to else None
        if since and before and since >= before:
            raise Invalid("The first month comes after the last one.", field="from")
        if request.role is not None and request.role not in ROLE_TAGS:
            raise Invalid(f"role must be one of: {', '.join(ROLE_TAGS)}.", field="role")
        return Filters(
            request.category,
            entity_id,
            since,
            before,
            request.role,
            has_survey=request.has_survey,
            has_interview=request.has_interview,
        )

    async def resolve_entity(self, text: str) -> str:
        """The id of the entity named ``text`` (slug, name or alias, any case or accents);
        otherwise a 422 that suggests close names."""
        row = await lookup(text)
        if row is not None:
            return row["id"]
        suggestions = await self.suggest_entities(text)
        hint = (
            " Did you mean " + " or ".join(f"'{s.name}'" for s in suggestions[:3]) + "?"
            if suggestions
            else " See the directory at /entities."
        )
        raise Invalid(
            f"No employer, program or certification is called '{text[:80]}'.{hint}",
            field="entity",
        )

    async def _results(self, keys: list[int], marked: dict[int, Marked]) -> list:
        if not keys:
            return []
        document = SearchDocument
        rows = await document.select(
            document.id,
            document.created_at,
            document.post.as_alias("post_id"),
            document.post.seq.as_alias("seq"),
            document.thread.as_alias("thread_id"),
            document.thread.title.as_alias("thread_title"),
            document.thread.category.as_alias("category"),
            document.thread.category.name.as_alias("category_name"),
            document.thread.entity.slug.as_alias("entity_slug"),
            document.thread.entity.name.as_alias("entity_name"),
            document.thread.entity.kind.as_alias("entity_kind"),
        ).where(
            document.id.is_in(keys),
            # Belt and braces: the index holds only these, and the page says so too.
            document.post.status == FINDABLE,
            document.thread.status == FINDABLE,
        )
        by_key = {row["id"]: row for row in rows}
        return [_result(by_key[key], marked.get(key)) for key in keys if key in by_key]

    # -- entities ---------------------------------------------------------------------------

    async def suggest_entities(
        self, text: str, limit: int = SUGGESTIONS
    ) -> list[schemas.EntitySuggestion]:
        """Entities whose name, slug or alias — or a word in one — starts with ``text``,
        ignoring case and accents. Names starting with it first, then the busiest."""
        key = _CONTROL.sub("", alias_key(text))
        if not key:
            return []
        pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await EntityAlias.select(
            EntityAlias.key,
            EntityAlias.entity.slug.as_alias("slug"),
            EntityAlias.entity.name.as_alias("name"),
            EntityAlias.entity.kind.as_alias("kind"),
            EntityAlias.entity.thread_count.as_alias("thread_count"),
        ).where(
            WhereRaw(
                "(forum_entity_alias.\"key\" LIKE {} ESCAPE '\\'"
                " OR forum_entity_alias.\"key\" LIKE {} ESCAPE '\\')",
                pattern + "%",
                "% " + pattern + "%",
            )
        )
        rows.sort(key=lambda r: (not r["key"].startswith(key), -r["thread_count"], r["name"]))
        found: dict[str, schemas.EntitySuggestion] = {}
        for row in rows:
            found.setdefault(
                row["slug"],
                schemas.EntitySuggestion(
                    slug=row["slug"],
                    name=row["name"],
                    kind=row["kind"],
                    url=f"/entities/{row['slug']}",
                    thread_count=row["thread_count"],
                ),
            )
        return list(found.values())[:limit]


# -- helpers ---------------------------------------------------------------------------------


def _thread_of(row: dict) -> dict:
    return {
        "title": row["thread_title"],
        "category": row["thread_category"],
        "entity": row["thread_entity"],
    }


def _month(text: str, field: str) -> tuple[int, int]:
    match = _MONTH.match(text)
    if match is None:
        raise Invalid(
            f"{field}: give a month as YYYY-MM between 1900 and 2999, e.g. 2025-03.", field=field
        )
    return int(match[1]), int(match[2])


def _month_start(text: str, field: str) -> datetime:
    year, month = _month(text, field)
    return datetime(year, month, 1, tzinfo=UTC)


def _month_after(text: str, field: str) -> datetime:
    year, month = _month(text, field)
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _result(row: dict, marked: Marked | None) -> schemas.SearchResult:
    passage = pieces(marked.passage) if marked else []
    title = pieces(marked.title) if marked and marked.title else [(row["thread_title"], False)]
    entity = None
    if row["entity_slug"]:
        entity = EntityRef(
            slug=row["entity_slug"],
            name=row["entity_name"],
            kind=row["entity_kind"],
            url=f"/entities/{row['entity_slug']}",
        )
    return schemas.SearchResult(
        thread_id=row["thread_id"],
        thread_title=row["thread_title"],
        title=[schemas.Piece(text=text, match=match) for text, match in title],
        post_id=row["post_id"],
        post_number=row["seq"],
        url=_post_url(row["thread_id"], row["seq"]),
        passage=[schemas.Piece(text=text, match=match) for text, match in passage],
        passage_html=to_html(passage),
        category=schemas.CategoryRef(
            slug=row["category"], name=row["category_name"], url=f"/c/{row['category']}"
        ),
        entity=entity,
        day=_as_datetime(row["created_at"]).date(),
    )


def _post_url(thread_id: str, seq: int) -> str:
    return thread_url(thread_id, (seq - 1) // POSTS_PER_PAGE + 1) + f"#p{seq}"
