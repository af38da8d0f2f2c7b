"""Published statistics as the API and the CSV export give them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

NOTE = "self-reported, unverified"


class ScopeRef(BaseModel):
    kind: Literal["all", "program", "employer", "role", "training"]
    slug: str


class FigureRead(BaseModel):
    scope: ScopeRef
    metric: str
    label: str
    n: int | None = Field(description="Respondents the figure rests on; null when suppressed.")
    value: float | None = Field(description="Null when suppressed or not observable yet.")
    ci_low: float | None = Field(description="95 % interval, lower end.")
    ci_high: float | None = Field(description="95 % interval, upper end.")
    suppressed: bool = Field(description="True when fewer than k respondents are involved.")
    unit: str = Field(description="share (0–1), months, usd, weeks, count or p_value.")
    definition: str = Field(description="Where the methodology page defines this figure.")
    schema_versions: list[int] = Field(description="Survey schema versions used.")
    note: str = NOTE


class StatsRead(BaseModel):
    as_of: datetime | None = Field(description="When the published figures were computed.")
    surveys_used: int | None
    figures: list[FigureRead]


def figure_read(row: dict) -> FigureRead:
    return FigureRead(
        scope=ScopeRef(kind=row["scope_kind"], slug=row["scope"]),
        metric=row["metric"],
        label=row["label"],
        n=row["n"],
        value=row["value"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        suppressed=row["suppressed"],
        unit=row["unit"],
        definition=f"/stats/methodology{row['definition']}",
        schema_versions=[1],
    )


CSV_COLUMNS = [
    "scope_kind", "scope", "metric", "label", "n", "value", "ci_low", "ci_high", "suppressed",
    "unit", "definition", "schema_versions", "note",
]  # fmt: skip


def csv_row(figure: FigureRead) -> list[str]:
    def text(value) -> str:
        return "" if value is None else str(value)

    return [
        figure.scope.kind, figure.scope.slug, figure.metric, figure.label, text(figure.n),
        text(figure.value), text(figure.ci_low), text(figure.ci_high),
        "true" if figure.suppressed else "false", figure.unit, figure.definition,
        " ".join(str(v) for v in figure.schema_versions), figure.note,
    ]  # fmt: skip
