"""JSON API of search under /api/v1/search: the same service as the search page.

Searches are personal ("<program> refund lawsuit"): answers are never stored by
caches (``Cache-Control: no-store``), and nothing here logs the query.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from offramp.anonymity.abuse import AbuseControl
from offramp.forum.api import PRIVATE, errors
from offramp.search import schemas
from offramp.search.query import MAX_QUERY_CHARS, SYNTAX
from offramp.search.service import MAX_PER_PAGE, PER_PAGE, SearchIndex
from offramp.surveys.schemas import RoleCategory

MONTH = r"^(19|2\d)\d\d-(0[1-9]|1[0-2])$"  # 1900-01 to 2999-12


def month(name: str, description: str) -> QueryParameter:
    return QueryParameter(name=name, description=description, pattern=MONTH)


class SearchApi(Controller):
    path = "/api/v1/search"
    tags = ["search"]

    @get(
        "",
        operation_id="search",
        cache_control=PRIVATE,
        responses=errors(400, 422, 429),
    )
    async def search(
        self,
        request: Request,
        search_index: NamedDependency[SearchIndex],
        guard: NamedDependency[AbuseControl],
        q: Annotated[
            str,
            QueryParameter(
                description=f"What to find, at most {MAX_QUERY_CHARS} characters. {SYNTAX}. "
                "A search the syntax cannot read is answered 400 with code `bad_query`."
            ),
        ] = "",
        category: Annotated[str | None, QueryParameter(description="Category slug.")] = None,
        entity: Annotated[
            str | None,
            QueryParameter(description="Employer, program or certification: slug, name or alias."),
        ] = None,
        role: Annotated[
            RoleCategory | None,
            QueryParameter(description="Only posts in threads with this role tag (SPEC §2)."),
        ] = None,
        has_survey: Annotated[
            bool, QueryParameter(description="Only posts that carry an outcome survey.")
        ] = False,
        has_interview: Annotated[
            bool, QueryParameter(description="Only posts that carry an interview report.")
        ] = False,
        month_from: Annotated[str | None, month("from", "First month, YYYY-MM.")] = None,
        month_to: Annotated[str | None, month("to", "Last month, YYYY-MM (inclusive).")] = None,
        sort: Annotated[
            schemas.Sort, QueryParameter(description="`relevance` (default) or `newest`.")
        ] = "relevance",
        page: Annotated[int, QueryParameter(ge=1, le=1000)] = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
    ) -> schemas.SearchResults:
        """Published posts and thread titles matching a search, best match first (or newest
        first), one page at a time, each with its passage and the matched words marked.
        Only the newest matches are ranked (see `capped`)."""
        await guard.limit(request, "search")
        return await search_index.search(
            schemas.SearchRequest(
                q=q,
                category=category or None,
                entity=entity or None,
                role=role,
                has_survey=has_survey,
                has_interview=has_interview,
                month_from=month_from,
                month_to=month_to,
                sort=sort,
                page=page,
                per_page=limit,
            )
        )

    @get(
        "/entities",
        operation_id="searchEntities",
        responses=errors(400, 422),
    )
    async def entities(
        self,
        search_index: NamedDependency[SearchIndex],
        q: Annotated[
            str,
            QueryParameter(
                description="The start of a name, or of a word in one; case and accents do "
                "not matter.",
                max_length=140,
            ),
        ],
    ) -> list[schemas.EntitySuggestion]:
        """Employers, programs and certifications whose name, slug or alias (or a word in
        one) starts with `q`: for entity fields and the search filter."""
        return await search_index.suggest_entities(q)
