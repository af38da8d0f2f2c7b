"""The search page: a GET form that works without JavaScript, and its results.

The page is never cached anywhere: the route has no page cache and the answer says
``Cache-Control: no-store``. The query is not logged, and ``Referrer-Policy:
no-referrer`` (on every page) keeps it out of the Referer of any link followed.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from offramp.anonymity.abuse import AbuseControl
from offramp.errors import OfframpError
from offramp.forum.service import ROLE_TAGS, Forum
from offramp.forum.tables import Entity
from offramp.search import schemas
from offramp.search.query import MAX_QUERY_CHARS, SYNTAX
from offramp.search.service import SearchIndex
from offramp.surveys.schemas import LABELS
from offramp.web import page

FIELDS = ("q", "category", "entity", "role", "has_survey", "has_interview", "from", "to", "sort")


def page_link(values: dict[str, str], number: int) -> str:
    """The address of another page of the same search."""
    kept = {name: values[name] for name in FIELDS if values.get(name)}
    return "/search?" + urlencode({**kept, "page": number} if number > 1 else kept)


async def entity_names() -> list[str]:
    """Names for the entity field's suggestion list (a <datalist>: no JavaScript)."""
    rows = await Entity.select(Entity.name).order_by(Entity.name)
    return [row["name"] for row in rows]


class SearchPages(Controller):
    include_in_schema = False

    @get("/search", name="search")
    async def search(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        search_index: NamedDependency[SearchIndex],
        guard: NamedDependency[AbuseControl],
        q: FromQuery[str] = "",
        category: FromQuery[str] = "",
        entity: FromQuery[str] = "",
        role: FromQuery[str] = "",
        has_survey: FromQuery[bool] = False,
        has_interview: FromQuery[bool] = False,
        month_from: Annotated[str, QueryParameter(name="from")] = "",
        month_to: Annotated[str, QueryParameter(name="to")] = "",
        sort: FromQuery[str] = "relevance",
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=1000)] = 1,
    ) -> Any:
        values = {
            "q": q,
            "category": category,
            "entity": entity,
            "role": role,
            "has_survey": "true" if has_survey else "",
            "has_interview": "true" if has_interview else "",
            "from": month_from,
            "to": month_to,
            "sort": sort if sort in ("relevance", "newest") else "relevance",
        }
        context: dict[str, Any] = {
            "values": values,
            "categories": await forum.categories(),
            "entity_names": await entity_names(),
            "roles": ROLE_TAGS,
            "labels": LABELS,
            "syntax": SYNTAX,
            "max_chars": MAX_QUERY_CHARS,
            "results": None,
            "error": None,
            "suggestions": [],
        }
        if not q.strip():
            return page("search/search.html", personal=True, **context)
        await guard.limit(request, "search")
        try:
            results = await search_index.search(
                schemas.SearchRequest(
                    q=q,
                    category=category or None,
                    entity=entity or None,
                    role=role or None,
                    has_survey=has_survey,
                    has_interview=has_interview,
                    month_from=month_from or None,
                    month_to=month_to or None,
                    sort=values["sort"],
                    page=page_number,
                )
            )
        except OfframpError as exc:
            if exc.status_code == 429:
                raise
            if exc.field == "entity":
                context["suggestions"] = await search_index.suggest_entities(entity)
            context["error"] = {"field": exc.field or "q", "message": exc.message}
            return page("search/search.html", status_code=exc.status_code, personal=True, **context)
        context["results"] = results
        context["previous"] = page_link(values, results.page - 1) if results.page > 1 else None
        context["next"] = (
            page_link(values, results.page + 1) if results.page < results.pages else None
        )
        return page("search/search.html", personal=True, **context)
