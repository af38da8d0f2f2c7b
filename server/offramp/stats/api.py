"""The published statistics as JSON, with the same suppression as the pages."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from offramp.forum.api import PRINTABLE, errors
from offramp.stats.schemas import StatsRead, figure_read
from offramp.stats.service import Statistics

ScopeKind = Literal["all", "program", "employer", "role", "training"]


async def published(statistics: Statistics, kind: str | None, scope: str | None) -> StatsRead:
    latest = await statistics.latest()
    rows = await statistics.figures(kind, scope)
    return StatsRead(
        as_of=latest["as_of"] if latest else None,
        surveys_used=latest["surveys_used"] if latest else None,
        figures=[figure_read(row) for row in rows],
    )


class StatsApi(Controller):
    path = "/api/v1"
    tags = ["statistics"]

    @get("/stats", responses=errors(400, 422))
    async def stats(
        self,
        statistics: NamedDependency[Statistics],
        scope_kind: FromQuery[ScopeKind | None] = None,
        slug: Annotated[
            str | None,
            QueryParameter(
                name="scope", max_length=140, pattern=PRINTABLE, description="The scope's slug."
            ),
        ] = None,
    ) -> StatsRead:
        """Every published figure: N, value, 95 % interval, definition, schema versions.
        Cells resting on fewer than k respondents carry no numbers (suppressed: true).
        Self-reported, unverified; refreshed in batches, not per survey."""
        return await published(statistics, scope_kind, slug)
