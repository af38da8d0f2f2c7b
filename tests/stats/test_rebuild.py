"""The statistics rebuild on a real database: figures, suppression, batching, bursts,
and a property test that no published number singles anyone out."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offramp.forum.seed import ensure_entities
from offramp.ids import this_hour
from offramp.stats.service import Statistics
from offramp.stats.tables import StatsCurve, StatsFigure
from offramp.surveys.seed import seed_surveys
from offramp.surveys.tables import Survey, SurveyProgram, SurveyRevision

K = 11
# Shares computed as numerator / denominator (the others are estimates or breakdown cells,
# whose n is already the cell's count).
SIMPLE_SHARES = {
    "paid_any",
    "update_rate",
    "would_recommend",
    "refund_asked",
    "refund_received",
    "promised_placement",
    "income_claims",
}


async def clear_surveys() -> None:
    for table in (SurveyProgram, SurveyRevision, Survey):
        await table.delete(force=True)


def by_metric(rows: list[dict], kind: str = "all", scope: str = "all") -> dict[str, dict]:
    return {r["metric"]: r for r in rows if r["scope_kind"] == kind and r["scope"] == scope}


async def test_a_rebuild_publishes_every_headline_figure(forum):
    await seed_surveys(800, seed=3)
    result = await Statistics().rebuild()
    assert result["surveys_used"] == 800
    figures = by_metric(await StatsFigure.select())
    for metric in (
        "respondents",
        "prospective",
        "update_rate",
        "offer_by_6_months",
        "offer_by_12_months",
        "offer_by_24_months",
        "median_months_to_offer",
        "paid_any",
        "median_spend",
        "status:hired_nonclinical",
        "channel:recruiter",
    ):
        assert metric in figures, metric
    twelve = figures["offer_by_12_months"]
    assert 0 < twelve["ci_low"] < twelve["value"] < twelve["ci_high"] < 1
    assert figures["respondents"]["n"] == 800
    assert await StatsCurve.count().where(StatsCurve.curve == "offer") > 10


async def test_figures_change_only_when_the_batch_runs(forum):
    await seed_surveys(300, seed=4)
    statistics = Statistics()
    await statistics.rebuild()
    before = by_metric(await StatsFigure.select())["respondents"]["n"]
    await seed_surveys(50, seed=5)
    assert by_metric(await StatsFigure.select())["respondents"]["n"] == before
    await statistics.rebuild()
    assert by_metric(await StatsFigure.select())["respondents"]["n"] == before + 50


async def test_small_groups_carry_no_numbers(forum):
    await seed_surveys(6, seed=6)
    await Statistics().rebuild()
    rows = await StatsFigure.select()
    assert rows and all(
        r["suppressed"] for r in rows if r["unit"] != "p_value" and r["scope_kind"] == "all"
    )
    for row in rows:
        if row["suppressed"]:
            assert row["n"] is None and row["value"] is None and row["ci_low"] is None


async def test_a_burst_for_one_entity_is_held_out(forum):
    await ensure_entities()
    await seed_surveys(200, seed=7)
    # Thirty surveys for one program arrive this week, against none before.
    program = (await SurveyProgram.select(SurveyProgram.entity).first())["entity"]
    recent = await Survey.select(Survey.id).limit(30)
    for row in recent:
        await Survey.update({Survey.created_at: this_hour() - timedelta(days=1)}).where(
            Survey.id == row["id"]
        )
        await SurveyProgram.delete().where(SurveyProgram.survey == row["id"])
        await SurveyProgram.insert(SurveyProgram(survey=row["id"], entity=program, cost=1000))
    result = await Statistics().rebuild()
    assert result["held_out"] >= 30
    assert await Survey.count().where(Survey.flagged == True) >= 30  # noqa: E712


def test_api_and_csv_carry_the_same_suppression(client):
    client.blocking_portal.call(lambda: seed_surveys(120, seed=8))
    client.blocking_portal.call(Statistics().rebuild)
    api = client.get("/api/v1/stats").json()
    assert api["as_of"] and api["figures"]
    rows = list(csv.DictReader(io.StringIO(client.get("/stats.csv").text)))
    assert len(rows) == len(api["figures"])
    for record, row in zip(api["figures"], rows, strict=True):
        assert row["metric"] == record["metric"]
        assert row["suppressed"] == ("true" if record["suppressed"] else "false")
        if record["suppressed"]:
            assert record["n"] is None and record["value"] is None and row["n"] == ""
        assert row["note"] == "self-reported, unverified"
        assert record["definition"].startswith("/stats/methodology#")
    page = client.get("/stats")
    assert page.status_code == 200 and "self-reported, unverified" in page.text
    assert "<svg" in page.text and "Data for the chart above" in page.text
    assert client.get("/stats/methodology").status_code == 200


def published_counts(rows: list[dict]):
    """Everything an observer can read: per scope, each metric's n and value."""
    scopes: dict = defaultdict(dict)
    for row in rows:
        scopes[(row["scope_kind"], row["scope"])][row["metric"]] = row
    return scopes


def assert_nothing_singles_anyone_out(rows: list[dict]) -> None:
    for row in rows:
        if row["suppressed"] or row["n"] is None:
            continue
        assert not 0 < row["n"] < K, row
        if row["metric"] in SIMPLE_SHARES and row["value"] is not None:
            numerator = round(row["value"] * row["n"])
            assert not 0 < numerator < K, row
    scopes = published_counts(rows)
    for metrics in scopes.values():
        respondents = metrics.get("respondents")
        status = [r for m, r in metrics.items() if m.startswith("status:")]
        if respondents and not respondents["suppressed"] and status:
            hidden = respondents["n"] - sum(r["n"] for r in status if not r["suppressed"])
            assert not 0 < hidden < K, (hidden, status)
        hired = metrics.get("status:hired_nonclinical")
        channels = [r for m, r in metrics.items() if m.startswith("channel:")]
        if hired and not hired["suppressed"] and channels:
            hidden = hired["n"] - sum(r["n"] for r in channels if not r["suppressed"])
            assert not 0 < hidden < K, (hidden, channels)
    overall = scopes.get(("all", "all"), {}).get("respondents")
    training = [
        m["respondents"]
        for (kind, _), m in scopes.items()
        if kind == "training" and "respondents" in m
    ]
    if overall and not overall["suppressed"] and training:
        hidden = overall["n"] - sum(r["n"] for r in training if not r["suppressed"])
        assert not 0 < hidden < K, ("training", hidden)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(count=st.integers(min_value=0, max_value=120), seed=st.integers(0, 10_000))
async def test_no_published_number_reveals_a_group_of_one_to_ten(forum, count, seed):
    await clear_surveys()
    await seed_surveys(count, seed=seed)
    await Statistics().rebuild()
    assert_nothing_singles_anyone_out(await StatsFigure.select())
