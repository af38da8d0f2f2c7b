"""The two full-text engines behind one interface: SQLite FTS5 and PostgreSQL.

Both rank a bounded candidate set: the newest ``bound`` documents that match (document
keys sort by publication hour, so "newest" is index order and costs no sort). Ranking
every match of a common word is what makes full-text search slow at scale; this keeps
a search's cost flat. docs/search.md says what the bound trades away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from piccolo.engine.postgres import PostgresEngine

from offramp.search.query import Query, QuerySyntaxError, to_fts5, to_tsquery
from offramp.search.tables import SearchDocument
from offramp.search.text import END, START

TITLE_WEIGHT = 10.0  # FTS5 bm25: a word in the title counts ten times a word in the text
PASSAGE_TOKENS = 32
TS_CONFIG = "offramp_search"  # created by search_0002_fulltext
HEADLINE = (
    f'StartSel="{START}", StopSel="{END}", MaxWords=40, MinWords=20, ShortWord=3, '
    'MaxFragments=2, FragmentDelimiter=" … "'
)
TITLE_HEADLINE = f'StartSel="{START}", StopSel="{END}", HighlightAll=true'


@dataclass(frozen=True)
class Filters:
    """Checked filters: a category slug, an entity id, a half-open time range, and a
    role tag of the thread; and whether the post carries an outcome survey or an
    interview report (each looked up by the post, on a unique index)."""

    category: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    role: str | None = None
    has_survey: bool = False
    has_interview: bool = False

    def sql(self) -> tuple[str, list]:
        """``AND ...`` conditions on ``search_document AS d``, with their arguments."""
        conditions, arguments = [], []
        for condition, value in (
            ("d.category = {}", self.category),
            ("d.entity = {}", self.entity_id),
            ("d.created_at >= {}", self.since),
            ("d.created_at < {}", self.before),
            (
                "d.thread IN (SELECT r.thread FROM forum_thread_role_tag AS r WHERE r.tag = {})",
                self.role,
            ),
        ):
            if value is not None:
                conditions.append(f" AND {condition}")
                arguments.append(value)
        if self.has_survey:
            conditions.append(" AND EXISTS (SELECT 1 FROM survey AS s WHERE s.post = d.post)")
        if self.has_interview:
            conditions.append(
                " AND EXISTS (SELECT 1 FROM interview_report AS i WHERE i.post = d.post)"
            )
        return "".join(conditions), arguments


@dataclass(frozen=True)
class Ranked:
    """One page of document keys, best first, and how many candidates were ranked."""

    keys: list[int]
    total: int


@dataclass(frozen=True)
class Marked:
    """A document's title and passage with the matches between START and END."""

    title: str
    passage: str


class FullText(Protocol):
    async def rank(
        self, query: Query, filters: Filters, newest: bool, limit: int, offset: int, bound: int
    ) -> Ranked: ...

    async def passages(self, query: Query, keys: list[int]) -> dict[int, Marked]: ...

    async def optimise(self, cluster: bool = False) -> None: ...


def full_text() -> FullText:
    """The engine the index table is bound to."""
    if isinstance(SearchDocument._meta.db, PostgresEngine):
        return PostgresFullText()
    return SQLiteFullText()


def _placeholders(count: int) -> str:
    return ", ".join(["{}"] * count)


async def _raw(sql: str, *arguments) -> list[dict]:
    return await SearchDocument.raw(sql, *arguments)


class SQLiteFullText:
    """FTS5 over ``search_fts`` (external content: the text lives in search_document)."""

    async def rank(self, query, filters, newest, limit, offset, bound) -> Ranked:
        conditions, filter_arguments = filters.sql()
        order = "id DESC" if newest else "score, id DESC"  # bm25: lower is better
        rows = await _raw(
            "WITH candidates AS ("
            " SELECT search_fts.rowid AS id, bm25(search_fts, {}, 1.0) AS score"
            " FROM search_fts JOIN search_document AS d ON d.id = search_fts.rowid"
            " WHERE search_fts MATCH {}" + conditions + " ORDER BY search_fts.rowid DESC LIMIT {})"
            " SELECT id, count(*) OVER () AS total FROM candidates"
            f" ORDER BY {order} LIMIT {{}} OFFSET {{}}",
            TITLE_WEIGHT,
            to_fts5(query),
            *filter_arguments,
            bound,
            limit,
            offset,
        )
        return Ranked([row["id"] for row in rows], rows[0]["total"] if rows else 0)

    async def passages(self, query, keys) -> dict[int, Marked]:
        if not keys:
            return {}
        rows = await _raw(
            "SELECT rowid AS id, highlight(search_fts, 0, {}, {}) AS title,"
            " snippet(search_fts, 1, {}, {}, '…', {}) AS passage"
            " FROM search_fts WHERE search_fts MATCH {}"
            f" AND rowid IN ({_placeholders(len(keys))})",
            START,
            END,
            START,
            END,
            PASSAGE_TOKENS,
            to_fts5(query),
            *keys,
        )
        return {row["id"]: Marked(row["title"] or "", row["passage"] or "") for row in rows}

    async def optimise(self, cluster: bool = False) -> None:
        """Merge the index's segments after a bulk load (FTS5's 'optimize'). The
        documents already lie in key order (the key is the rowid): ``cluster`` has
        nothing to do."""
        await _raw("INSERT INTO search_fts (search_fts) VALUES ('optimize')")


class PostgresFullText:
    """A generated ``tsvector`` with a GIN index; ts_rank_cd ranks, ts_headline marks."""

    async def rank(self, query, filters, newest, limit, offset, bound) -> Ranked:
        tsquery, query_arguments = to_tsquery(query, TS_CONFIG)
        await self._check_has_words(tsquery, query_arguments)
        conditions, filter_arguments = filters.sql()
        order = "id DESC" if newest else f"ts_rank_cd(tsv, {tsquery}) DESC, id DESC"
        order_arguments = [] if newest else query_arguments
        # MATERIALIZED: computed on its own, through the GIN index. Inlined, "newest"
        # let the planner walk the primary key backwards testing every document, which
        # for a word in a few hundred documents meant reading them all (bench/search.py).
        rows = await _raw(
            "WITH candidates AS MATERIALIZED ("
            " SELECT d.id, d.tsv FROM search_document AS d"
            f" WHERE d.tsv @@ ({tsquery})" + conditions + " ORDER BY d.id DESC LIMIT {})"
            " SELECT id, count(*) OVER () AS total FROM candidates"
            f" ORDER BY {order} LIMIT {{}} OFFSET {{}}",
            *query_arguments,
            *filter_arguments,
            bound,
            *order_arguments,
            limit,
            offset,
        )
        return Ranked([row["id"] for row in rows], rows[0]["total"] if rows else 0)

    async def _check_has_words(self, tsquery: str, arguments: list[str]) -> None:
        """PostgreSQL drops very common words ("the", "of"); a search of nothing but
        those would silently find nothing, so say so instead."""
        rows = await _raw(f"SELECT numnode({tsquery}) AS nodes", *arguments)
        if not rows[0]["nodes"]:
            raise QuerySyntaxError(
                "This search has only very common words (like 'the' or 'of'), which are "
                "not indexed. Add a more specific word."
            )

    async def passages(self, query, keys) -> dict[int, Marked]:
        if not keys:
            return {}
        tsquery, arguments = to_tsquery(query, TS_CONFIG)
        rows = await _raw(
            f"SELECT d.id, ts_headline('{TS_CONFIG}', d.title, {tsquery}, {{}}) AS title,"
            f" ts_headline('{TS_CONFIG}', d.body, {tsquery}, {{}}) AS passage"
            f" FROM search_document AS d WHERE d.id IN ({_placeholders(len(keys))})",
            *arguments,
            TITLE_HEADLINE,
            *arguments,
            HEADLINE,
            *keys,
        )
        return {row["id"]: Marked(row["title"] or "", row["passage"] or "") for row in rows}

    async def optimise(self, cluster: bool = False) -> None:
        """Refresh the planner's statistics after a bulk load; with ``cluster``, first
        rewrite the table in key order.

        Documents written as posts are published lie in key order already, so the walk
        down the newest documents (``rank``) reads neighbouring pages. A rebuild writes
        them in post-id order, which is random: the same walk then reads a page per
        document, several times slower at a million posts (docs/search.md). CLUSTER
        puts them back in order, but locks the table while it works — searches and new
        posts wait, about 10 s per million documents here."""
        if cluster:
            await _raw("CLUSTER search_document USING search_document_pkey")
        await _raw("ANALYZE search_document")
