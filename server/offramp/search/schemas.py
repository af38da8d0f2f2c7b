"""Shapes of a search: what is asked (``SearchRequest``) and what comes back."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from offramp.forum.schemas import EntityRef

Sort = Literal["relevance", "newest"]


class SearchRequest(BaseModel):
    """A search as the service takes it; filters are already checked by then."""

    q: str
    category: str | None = None
    entity: str | None = None  # slug, name or alias
    role: str | None = None  # a role tag (SPEC §2) of the thread
    has_survey: bool = False  # only posts that carry an outcome survey
    has_interview: bool = False  # only posts that carry an interview report
    month_from: str | None = None  # YYYY-MM, inclusive
    month_to: str | None = None  # YYYY-MM, inclusive
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = 20


class Piece(BaseModel):
    text: str
    match: bool = Field(description="True for the words that matched the search.")


class CategoryRef(BaseModel):
    slug: str
    name: str
    url: str


class SearchResult(BaseModel):
    thread_id: str
    thread_title: str
    title: list[Piece] = Field(
        description="The thread's title in pieces, matched words marked (opening posts only; "
        "otherwise one plain piece)."
    )
    post_id: str
    post_number: int = Field(description="Position of the post in its thread, 1 = opening post.")
    url: str = Field(description="Path of the post on its thread's page.")
    passage: list[Piece] = Field(
        description="A passage of the post around the matches, in pieces. Show matched pieces "
        "highlighted and escape every piece."
    )
    passage_html: str = Field(
        description="The same passage as HTML: every piece escaped, matches inside <mark>."
    )
    category: CategoryRef
    entity: EntityRef | None
    day: date = Field(description="Day the post was published (UTC).")


class SearchResults(BaseModel):
    results: list[SearchResult]
    page: int
    pages: int = Field(description="Pages available for this search (bounded, see `capped`).")
    total: int = Field(description="Matches ranked: exact when `capped` is false.")
    capped: bool = Field(
        description="True when more posts match than are ranked: only the newest matches "
        "(see docs/search.md) are ranked. Narrow the search, or move the date range back."
    )
    sort: Sort


class EntitySuggestion(EntityRef):
    thread_count: int
