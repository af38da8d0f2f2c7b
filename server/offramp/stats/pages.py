"""The statistics pages, the methodology, and the CSV export."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from offramp.config import Settings
from offramp.forum.tables import Entity
from offramp.stats.api import published
from offramp.stats.charts import Series, incidence_chart
from offramp.stats.schemas import CSV_COLUMNS, NOTE, csv_row
from offramp.stats.service import COMPARISON_MIN_HIRES, COMPARISON_MIN_RESPONDENTS, Statistics
from offramp.surveys.schemas import LABELS
from offramp.web import page


def formatter(k: int):
    """How a published figure reads on a page: value, interval, or why there is none."""

    def number(value: float, unit: str) -> str:
        if unit == "share":
            return f"{value * 100:.0f}%"
        if unit == "usd":
            return f"${value:,.0f}"
        if unit in ("months", "weeks"):
            return f"{value:g} {unit}" if value != 1 else f"1 {unit[:-1]}"
        if unit == "p_value":
            return "< 0.001" if value < 0.001 else f"{value:.3f}"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:.1f}"

    def show(row: dict | None) -> str:
        if row is None:
            return "—"
        if row["suppressed"]:
            return f"fewer than {k}"
        if row["value"] is None:
            return "not reached" if row["unit"] == "months" else "not enough follow-up yet"
        text = number(row["value"], row["unit"])
        if row["ci_low"] is not None and row["ci_high"] is not None and row["unit"] != "count":
            if row["unit"] in ("months", "weeks"):  # "11 months (9 to 15)"
                text += f" ({row['ci_low']:g} to {row['ci_high']:g})"
            else:
                low = number(row["ci_low"], row["unit"])
                text += f" ({low} to {number(row['ci_high'], row['unit'])})"
        return text

    return show


class Published:
    """The published figures, looked up by scope and metric."""

    def __init__(self, rows: list[dict]) -> None:
        self.by_scope: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
        for row in rows:
            self.by_scope[(row["scope_kind"], row["scope"])][row["metric"]] = row

    def get(self, kind: str, scope: str, metric: str) -> dict | None:
        return self.by_scope.get((kind, scope), {}).get(metric)

    def scopes(self, kind: str) -> list[str]:
        return sorted(scope for (k, scope) in self.by_scope if k == kind)

    def breakdown(self, kind: str, scope: str, metric: str) -> list[dict]:
        prefix = metric + ":"
        rows = [r for m, r in self.by_scope.get((kind, scope), {}).items() if m.startswith(prefix)]
        return sorted(rows, key=lambda r: r["position"])


async def stats_context(statistics: Statistics, settings: Settings) -> dict[str, Any]:
    latest = await statistics.latest()
    figures = Published(await statistics.figures())
    curves = await statistics.curves("all", "all")
    overall = incidence_chart(
        [Series("All respondents", "line-a", curves.get("offer", []))],
        "Cumulative incidence of a non-clinical offer, all respondents",
    )
    comparison = ""
    if curves.get("offer_paid") and curves.get("offer_unpaid"):
        comparison = incidence_chart(
            [
                Series("Paid by month 3", "line-a", curves["offer_paid"]),
                Series("Not paid by month 3", "line-b", curves["offer_unpaid"]),
            ],
            "Cumulative incidence of an offer after month 3: paid coaching vs none",
        )
    names = {row["slug"]: row["name"] for row in await Entity.select(Entity.slug, Entity.name)}
    return {
        "entity_names": names,
        "latest": latest,
        "figures": figures,
        "curves": curves,
        "overall_chart": overall,
        "comparison_chart": comparison,
        "fmt": formatter(settings.stats_min_cell),
        "k": settings.stats_min_cell,
        "labels": LABELS,
        "note": NOTE,
        "comparison_minimum": (COMPARISON_MIN_RESPONDENTS, COMPARISON_MIN_HIRES),
    }


class StatsPages(Controller):
    include_in_schema = False

    @get("/stats", cache=True, name="stats")
    async def stats(
        self, statistics: NamedDependency[Statistics], settings: NamedDependency[Settings]
    ) -> Any:
        return page("stats/stats.html", **(await stats_context(statistics, settings)))

    @get("/stats/methodology", cache=True, name="methodology")
    async def methodology(self, settings: NamedDependency[Settings]) -> Any:
        return page(
            "stats/methodology.html",
            k=settings.stats_min_cell,
            note=NOTE,
            comparison_minimum=(COMPARISON_MIN_RESPONDENTS, COMPARISON_MIN_HIRES),
        )

    @get("/stats.csv", cache=True, name="stats_csv")
    async def stats_csv(self, statistics: NamedDependency[Statistics]) -> Response:
        """The same records as GET /api/v1/stats, one per line."""
        data = await published(statistics, None, None)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for figure in data.figures:
            writer.writerow(csv_row(figure))
        return Response(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'inline; filename="offramp-stats.csv"'},
        )
