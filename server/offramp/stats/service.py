"""The statistics: a batch rebuild from the surveys, and readers of what it published.

``rebuild()`` aggregates in SQL (one GROUP BY per question, so 1,000,000 surveys
cost a few scans, not a million Python objects), turns the counts into rollup
tables and figures with the estimators, applies disclosure control, and replaces
the published tables in one transaction. Pages and the API read only those tables.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from offramp.db import current_engine, write_transaction
from offramp.forum.tables import Entity
from offramp.ids import this_hour
from offramp.stats import estimators as est
from offramp.stats.disclosure import small, suppressed_cells
from offramp.stats.tables import StatsCurve, StatsFigure, StatsRebuild, StatsRollup
from offramp.surveys.schemas import COMP_BANDS, LABELS, current_month

ELIGIBLE = "NOT s.flagged AND NOT s.excluded"
COMPETING = ("stopped_searching", "returned_clinical")
STATUSES = ("hired_nonclinical", "still_searching", "stopped_searching", "returned_clinical")
CURVE_MIN_GROUP = 50
COMPARISON_MIN_RESPONDENTS, COMPARISON_MIN_HIRES = 30, 10
LANDMARK = 3
HORIZONS = (6, 12, 24)
BURST_MINIMUM, BURST_FACTOR = 10, 4.0
# Read on every entity page. It starts from the (few) surveys held out — the partial
# index survey_held_out — and looks at each one's programs, so it costs the same at any
# number of surveys, however many name the entity.
HELD_OUT = (
    "WITH held AS MATERIALIZED (SELECT id, employer FROM survey "
    "WHERE flagged AND NOT excluded) "
    "SELECT 1 AS held FROM held WHERE held.employer = {} OR EXISTS "
    "(SELECT 1 FROM survey_program p WHERE p.survey = held.id AND p.entity = {}) LIMIT 1"
)


@dataclass
class Figure:
    metric: str
    label: str
    unit: str
    definition: str
    n: int | None = None
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    suppressed: bool = False


@dataclass
class Scope:
    kind: str
    slug: str
    figures: list[Figure] = field(default_factory=list)
    rollup: list[est.MonthCounts] = field(default_factory=list)
    curves: dict[str, list[est.CurvePoint]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # true group sizes, never published


class Statistics:
    def __init__(self, k: int = 11) -> None:
        self.k = k

    # -- reading what was published ----------------------------------------------

    async def latest(self) -> dict | None:
        return await StatsRebuild.select().order_by(StatsRebuild.as_of, ascending=False).first()

    async def figures(self, kind: str | None = None, scope: str | None = None) -> list[dict]:
        query = StatsFigure.select().order_by(StatsFigure.position)
        if kind:
            query = query.where(StatsFigure.scope_kind == kind)
        if scope:
            query = query.where(StatsFigure.scope == scope)
        return await query

    async def directory_counts(self) -> list[dict]:
        """What the directory shows of each entity's published figures: surveys naming a
        program (respondents), hires reported for an employer, interview reports — each
        under the same k rule as everywhere."""
        return await StatsFigure.select().where(
            StatsFigure.scope_kind.is_in(["program", "employer"]),
            StatsFigure.metric.is_in(["respondents", "hires", "interview_reports"]),
        )

    async def curves(self, kind: str, scope: str) -> dict[str, list[dict]]:
        rows = await (
            StatsCurve.select()
            .where(StatsCurve.scope_kind == kind, StatsCurve.scope == scope)
            .order_by(StatsCurve.month)
        )
        grouped: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            grouped[row["curve"]].append(row)
        return dict(grouped)

    async def held_out(self, entity_id: str) -> bool:
        """Whether recent surveys naming this entity are held out pending review."""
        return bool(await self._query(HELD_OUT, entity_id, entity_id))

    # -- the rebuild ------------------------------------------------------------------

    async def rebuild(self, now: datetime | None = None) -> dict:
        started = time.monotonic()
        moment = this_hour(now)
        await self.flag_bursts(moment)
        # Pending entities (added by a poster, not yet confirmed) get no figures of their own.
        approved = Entity.select(Entity.id, Entity.slug).where(Entity.status == "approved")
        slugs = {row["id"]: row["slug"] for row in await approved}
        scopes: list[Scope] = []
        totals = await self._query(
            "SELECT s.flagged OR s.excluded AS held, COUNT(*) AS n FROM survey s GROUP BY 1"
        )
        used = sum(r["n"] for r in totals if not r["held"])
        held = sum(r["n"] for r in totals if r["held"])

        by_training = await self._rollup("s.training")
        everyone = _merge(by_training.values())
        overall = Scope("all", "all", rollup=everyone)
        self._survival_figures(overall, everyone)
        await self._participation_figures(overall)
        await self._spend_figures(overall, "")
        await self._hire_figures(overall)
        await self._comparison(overall)
        scopes.append(overall)
        for training, rows in sorted(by_training.items(), key=lambda item: str(item[0])):
            if training:
                scope = Scope("training", training, rollup=rows)
                self._survival_figures(scope, rows)
                scopes.append(scope)
        for entity_id, rows in (await self._program_rollup()).items():
            if entity_id not in slugs:
                continue
            scope = Scope("program", slugs[entity_id], rollup=rows)
            self._survival_figures(scope, rows)
            await self._program_figures(scope, entity_id)
            scopes.append(scope)
        self._protect_groups(overall, [s for s in scopes if s.kind == "training"], "respondents")
        roles = await self._role_scopes()
        hires = sum(r.events for r in everyone)
        self._protect_groups_total(hires, roles, "hires")
        scopes += roles
        scopes += await self._employer_scopes(slugs)
        await self._publish(scopes, moment, used, held, time.monotonic() - started)
        return {
            "surveys_used": used,
            "held_out": held,
            "scopes": len(scopes),
            "seconds": round(time.monotonic() - started, 2),
        }

    # -- astroturf bursts -----------------------------------------------------------------

    async def flag_bursts(self, now: datetime) -> int:
        """Surveys naming one entity that arrive far faster than its usual rate are held
        out of the figures until a moderator reviews them."""
        week_ago, baseline_start = now - timedelta(days=7), now - timedelta(days=91)
        rows = await self._query(
            "SELECT e.entity AS entity, SUM(CASE WHEN s.created_at >= {} THEN 1 ELSE 0 END) "
            "AS recent, SUM(CASE WHEN s.created_at < {} AND s.created_at >= {} THEN 1 ELSE 0 "
            "END) AS before FROM (SELECT employer AS entity, id FROM survey WHERE employer IS "
            "NOT NULL UNION SELECT entity, survey FROM survey_program) e JOIN survey s ON s.id "
            "= e.id WHERE NOT s.excluded GROUP BY e.entity",
            week_ago,
            week_ago,
            baseline_start,
        )
        flagged = 0
        for row in rows:
            weekly = (row["before"] or 0) / 12
            recent = row["recent"] or 0
            if recent >= BURST_MINIMUM and recent > BURST_FACTOR * max(weekly, 1):
                result = await self._query(
                    "UPDATE survey SET flagged = {} WHERE created_at >= {} AND NOT flagged AND "
                    "NOT reviewed AND "
                    "(employer = {} OR id IN (SELECT survey FROM survey_program WHERE entity = "
                    "{})) RETURNING id",
                    True,
                    week_ago,
                    row["entity"],
                    row["entity"],
                )
                flagged += len(result)
        return flagged

    # -- rollups ------------------------------------------------------------------------------

    async def _rollup(self, group: str) -> dict[str | None, list[est.MonthCounts]]:
        rows = await self._query(
            f"SELECT {group} AS grp, s.duration AS month, s.status AS status, COUNT(*) AS n "
            f"FROM survey s WHERE {ELIGIBLE} GROUP BY {group}, s.duration, s.status"
        )
        return _to_month_counts(rows)

    async def _program_rollup(self) -> dict[str, list[est.MonthCounts]]:
        rows = await self._query(
            "SELECT p.entity AS grp, s.duration AS month, s.status AS status, COUNT(*) AS n "
            f"FROM survey_program p JOIN survey s ON s.id = p.survey WHERE {ELIGIBLE} "
            "GROUP BY p.entity, s.duration, s.status"
        )
        return _to_month_counts(rows)

    # -- figures ------------------------------------------------------------------------------

    def _survival_figures(self, scope: Scope, rows: list[est.MonthCounts]) -> None:
        k = self.k
        n = sum(r.events + r.competing + r.censored for r in rows)
        scope.sizes["respondents"] = n
        scope.figures.append(self._count("respondents", "Respondents", n, "#respondents"))
        cells = {
            "hired_nonclinical": sum(r.events for r in rows),
            "still_searching": sum(r.censored for r in rows),
        }
        competing = _status_split(rows)
        cells.update(competing)
        self._breakdown(scope, "status", "Status at the latest update", cells, n, "#status-mix")
        points = est.aalen_johansen(rows) if n else []
        reach = est.followed_to(rows)
        for horizon in HORIZONS:
            figure = Figure(
                f"offer_by_{horizon}_months",
                f"Offer within {horizon} months",
                "share",
                "#offer-by",
                n=n,
            )
            point = est.value_at(points, horizon)
            if small(n, k) or (point and small(point.events_so_far, k)):
                figure = _suppress(figure)
            elif point is not None and reach >= horizon:
                figure.value, figure.ci_low, figure.ci_high = point.value, point.low, point.high
            scope.figures.append(figure)
        median = Figure(
            "median_months_to_offer", "Median months to an offer", "months", "#median-time", n=n
        )
        if small(n, k) or small(sum(r.events for r in rows), k):
            median = _suppress(median)
        elif n:
            estimate, low, high = est.median_time(points)
            median.value = estimate
            median.ci_low, median.ci_high = low, high
        scope.figures.append(median)
        if n >= CURVE_MIN_GROUP:
            scope.curves["offer"] = [p for p in points if p.at_risk >= k]

    async def _participation_figures(self, scope: Scope) -> None:
        """N prospective, and how many of them confirmed their status in 6 months."""
        recent = current_month() - 6
        rows = await self._query(
            "SELECT s.prospective AS prospective, CASE WHEN s.as_of_month >= {} THEN 1 ELSE 0 "
            f"END AS recent, COUNT(*) AS n FROM survey s WHERE {ELIGIBLE} GROUP BY 1, 2",
            recent,
        )
        prospective = sum(r["n"] for r in rows if r["prospective"])
        confirmed = sum(r["n"] for r in rows if r["prospective"] and r["recent"])
        scope.figures.append(
            self._count("prospective", "Prospective respondents", prospective, "#prospective")
        )
        scope.figures.append(
            self._share(
                "update_rate",
                "Prospective updated in the last 6 months",
                confirmed,
                prospective,
                "#update-rate",
            )
        )

    async def _spend_figures(self, scope: Scope, where: str) -> None:
        rows = await self._query(
            f"SELECT s.paid_any AS paid, COUNT(*) AS n FROM survey s WHERE {ELIGIBLE}{where} "
            "GROUP BY s.paid_any"
        )
        paid = sum(r["n"] for r in rows if r["paid"])
        total = sum(r["n"] for r in rows)
        scope.figures.append(
            self._share("paid_any", "Paid for coaching, a course or a board", paid, total, "#spend")
        )
        spend = await self._query(
            f"SELECT s.spend AS value, COUNT(*) AS n FROM survey s WHERE {ELIGIBLE}{where} AND "
            "s.paid_any AND s.spend IS NOT NULL AND s.spend > 0 GROUP BY s.spend"
        )
        self._median_figures(
            scope,
            "spend",
            "spend among payers",
            [(r["value"], r["n"]) for r in spend],
            "usd",
            "#spend",
        )

    def _median_figures(self, scope, metric, words, counts, unit, definition) -> None:
        n = sum(count for _, count in counts)
        figure = Figure(f"median_{metric}", f"Median {words}", unit, definition, n=n)
        q1 = Figure(f"{metric}_q1", f"Lower quartile, {words}", unit, definition, n=n)
        q3 = Figure(f"{metric}_q3", f"Upper quartile, {words}", unit, definition, n=n)
        if n == 0 or small(n, self.k):
            scope.figures += [_suppress(figure), _suppress(q1), _suppress(q3)]
            return
        figure.value, figure.ci_low, figure.ci_high = est.median_with_interval(counts)
        q1.value, q3.value = est.quartiles(counts)
        scope.figures += [figure, q1, q3]

    async def _program_figures(self, scope: Scope, entity_id: str) -> None:
        prices = await self._query(
            "SELECT p.cost AS value, COUNT(*) AS n FROM survey_program p JOIN survey s ON s.id "
            f"= p.survey WHERE {ELIGIBLE} AND p.entity = {{}} AND p.cost IS NOT NULL AND "
            "p.cost > 0 GROUP BY p.cost",
            entity_id,
        )
        self._median_figures(
            scope,
            "price",
            "price paid",
            [(r["value"], r["n"]) for r in prices],
            "usd",
            "#program-price",
        )
        answers = await self._query(
            "SELECT "
            + ", ".join(
                f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {name}"
                for name, cond in (
                    ("recommend_yes", "p.would_recommend"),
                    ("recommend_n", "p.would_recommend IS NOT NULL"),
                    ("refund_asked", "p.refund IN ('asked', 'received')"),
                    ("refund_received", "p.refund = 'received'"),
                    ("refund_n", "p.refund IS NOT NULL"),
                    ("placement_yes", "p.promised_placement"),
                    ("placement_n", "p.promised_placement IS NOT NULL"),
                    ("claims_yes", "p.income_claims"),
                    ("claims_n", "p.income_claims IS NOT NULL"),
                )
            )
            + f" FROM survey_program p JOIN survey s ON s.id = p.survey WHERE {ELIGIBLE} "
            "AND p.entity = {}",
            entity_id,
        )
        a = {key: value or 0 for key, value in answers[0].items()}
        scope.figures += [
            self._share(
                "would_recommend",
                "Would recommend it",
                a["recommend_yes"],
                a["recommend_n"],
                "#program-answers",
            ),
            self._share(
                "refund_asked",
                "Asked for a refund",
                a["refund_asked"],
                a["refund_n"],
                "#program-answers",
            ),
            self._share(
                "refund_received",
                "Received a refund",
                a["refund_received"],
                a["refund_n"],
                "#program-answers",
            ),
            self._share(
                "promised_placement",
                "Were promised placement",
                a["placement_yes"],
                a["placement_n"],
                "#program-answers",
            ),
            self._share(
                "income_claims",
                "Heard income claims",
                a["claims_yes"],
                a["claims_n"],
                "#program-answers",
            ),
        ]

    async def _hire_figures(self, scope: Scope) -> None:
        """Channels, offers per application and salary change, among those hired."""
        hired = f"{ELIGIBLE} AND s.status = 'hired_nonclinical'"
        channels = await self._query(
            f"SELECT s.channel AS grp, COUNT(*) AS n FROM survey s WHERE {hired} GROUP BY s.channel"
        )
        cells = {r["grp"]: r["n"] for r in channels if r["grp"]}
        self._breakdown(
            scope, "channel", "Share of offers by channel", cells, sum(cells.values()), "#channels"
        )
        for column, words in (("applications", "applications"), ("interviews", "interviews")):
            ratios = await self._query(
                f"SELECT s.{column} AS value, s.offers AS offers, COUNT(*) AS n FROM survey s "
                f"WHERE {hired} AND s.offers > 0 AND s.{column} IS NOT NULL AND NOT "
                f"s.counts_inconsistent GROUP BY s.{column}, s.offers"
            )
            counts: dict[float, int] = defaultdict(int)
            for r in ratios:
                counts[round(r["value"] / r["offers"], 1)] += r["n"]
            self._median_figures(
                scope,
                f"{column}_per_offer",
                f"{words} per offer",
                list(counts.items()),
                "count",
                "#channels",
            )
        salary = await self._query(
            f"SELECT s.comp_before AS before, s.comp_after AS after, COUNT(*) AS n FROM survey s "
            f"WHERE {hired} AND s.comp_before IS NOT NULL AND s.comp_after IS NOT NULL "
            "GROUP BY s.comp_before, s.comp_after"
        )
        order = list(COMP_BANDS)
        change = {"up": 0, "same": 0, "down": 0}
        for r in salary:
            a, b = order.index(r["before"]), order.index(r["after"])
            change["up" if b > a else "down" if b < a else "same"] += r["n"]
        self._breakdown(
            scope,
            "salary_change",
            "Salary band after the move",
            change,
            sum(change.values()),
            "#salary",
        )

    async def _comparison(self, scope: Scope) -> None:
        """Paid coaching vs none, from a landmark at month 3 (no immortal-time bias)."""
        arms = await self._rollup("s.paid_by_month_3")  # keys True/False (or 1/0: equal)
        paid = est.landmark(arms.get(True, []), LANDMARK)
        unpaid = est.landmark(arms.get(False, []), LANDMARK)

        def size(rows):
            return sum(r.events + r.competing + r.censored for r in rows), sum(
                r.events for r in rows
            )

        (n_paid, hires_paid), (n_unpaid, hires_unpaid) = size(paid), size(unpaid)
        enough = (
            min(n_paid, n_unpaid) >= COMPARISON_MIN_RESPONDENTS
            and min(hires_paid, hires_unpaid) >= COMPARISON_MIN_HIRES
        )
        figures = [
            Figure(
                "paid_arm_offer_by_12",
                "Paid by month 3: offer within 12 more months",
                "share",
                "#paid-vs-none",
                n=n_paid,
            ),
            Figure(
                "unpaid_arm_offer_by_12",
                "Not paid by month 3: offer within 12 more months",
                "share",
                "#paid-vs-none",
                n=n_unpaid,
            ),
            Figure(
                "difference_offer_by_12",
                "Difference (paid − not paid)",
                "share",
                "#paid-vs-none",
                n=n_paid + n_unpaid,
            ),
            Figure(
                "logrank_p",
                "Log-rank test, p-value",
                "p_value",
                "#paid-vs-none",
                n=n_paid + n_unpaid,
            ),
        ]
        if not enough:
            scope.figures += [_suppress(f) for f in figures]
            return
        curve_paid, curve_unpaid = est.aalen_johansen(paid), est.aalen_johansen(unpaid)
        at_paid, at_unpaid = est.value_at(curve_paid, 12), est.value_at(curve_unpaid, 12)
        if at_paid and at_unpaid and min(est.followed_to(paid), est.followed_to(unpaid)) >= 12:
            figures[0].value, figures[0].ci_low, figures[0].ci_high = (
                at_paid.value,
                at_paid.low,
                at_paid.high,
            )
            figures[1].value, figures[1].ci_low, figures[1].ci_high = (
                at_unpaid.value,
                at_unpaid.low,
                at_unpaid.high,
            )
            se = ((_se(at_paid)) ** 2 + (_se(at_unpaid)) ** 2) ** 0.5
            diff = at_paid.value - at_unpaid.value
            figures[2].value, figures[2].ci_low, figures[2].ci_high = (
                diff,
                diff - est.Z95 * se,
                diff + est.Z95 * se,
            )
        figures[3].value = est.logrank_p(paid, unpaid)
        scope.figures += figures
        if min(n_paid, n_unpaid) >= CURVE_MIN_GROUP:
            scope.curves["offer_paid"] = [p for p in curve_paid if p.at_risk >= self.k]
            scope.curves["offer_unpaid"] = [p for p in curve_unpaid if p.at_risk >= self.k]

    async def _role_scopes(self) -> list[Scope]:
        """Per role category, among those hired into it: counts, time and channels."""
        rows = await self._query(
            "SELECT s.role_category AS grp, s.duration AS value, COUNT(*) AS n FROM survey s "
            f"WHERE {ELIGIBLE} AND s.status = 'hired_nonclinical' AND s.role_category IS NOT "
            "NULL GROUP BY s.role_category, s.duration"
        )
        channels = await self._query(
            "SELECT s.role_category AS grp, s.channel AS channel, COUNT(*) AS n FROM survey s "
            f"WHERE {ELIGIBLE} AND s.status = 'hired_nonclinical' AND s.role_category IS NOT "
            "NULL GROUP BY s.role_category, s.channel"
        )
        durations: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for r in rows:
            durations[r["grp"]].append((r["value"], r["n"]))
        scopes = []
        for role, counts in sorted(durations.items()):
            scope = Scope("role", role)
            hires = sum(n for _, n in counts)
            scope.sizes["hires"] = hires
            scope.figures.append(self._count("hires", "Hired into this role", hires, "#roles"))
            self._median_figures(
                scope,
                "months_to_offer_hired",
                "months to the offer (hires)",
                counts,
                "months",
                "#roles",
            )
            cells = {r["channel"]: r["n"] for r in channels if r["grp"] == role and r["channel"]}
            self._breakdown(
                scope, "channel", "Share of offers by channel", cells, hires, "#channels"
            )
            scopes.append(scope)
        return scopes

    async def _employer_scopes(self, slugs: dict[str, str]) -> list[Scope]:
        """Employers get counts only: hires reported, and how interviews went."""
        hires = await self._query(
            "SELECT s.employer AS grp, COUNT(*) AS n FROM survey s WHERE "
            f"{ELIGIBLE} AND s.status = 'hired_nonclinical' AND s.employer IS NOT NULL "
            "GROUP BY s.employer"
        )
        outcomes = await self._query(
            "SELECT employer AS grp, outcome, COUNT(*) AS n FROM interview_report "
            "GROUP BY employer, outcome"
        )
        reasons = await self._query(
            "SELECT employer AS grp, reason_given AS reason, COUNT(*) AS n FROM interview_report "
            "WHERE reason_given IS NOT NULL AND outcome = 'rejected' GROUP BY employer, "
            "reason_given"
        )
        weeks = await self._query(
            "SELECT employer AS grp, weeks_to_response AS value, COUNT(*) AS n FROM "
            "interview_report WHERE weeks_to_response IS NOT NULL GROUP BY employer, "
            "weeks_to_response"
        )
        employers = {r["grp"] for r in hires} | {r["grp"] for r in outcomes}
        scopes = []
        for employer in sorted(employers & slugs.keys()):
            scope = Scope("employer", slugs[employer])
            hired = sum(r["n"] for r in hires if r["grp"] == employer)
            scope.figures.append(
                self._count("hires", "Hires reported in surveys", hired, "#employers")
            )
            cells = {r["outcome"]: r["n"] for r in outcomes if r["grp"] == employer}
            reports = sum(cells.values())
            scope.figures.append(
                self._count("interview_reports", "Interview reports", reports, "#interviews")
            )
            self._breakdown(
                scope, "interview_outcome", "Interview outcomes", cells, reports, "#interviews"
            )
            why = {r["reason"]: r["n"] for r in reasons if r["grp"] == employer}
            self._breakdown(
                scope,
                "rejection_reason",
                "Reasons given for a rejection",
                why,
                sum(why.values()),
                "#interviews",
            )
            self._median_figures(
                scope,
                "weeks_to_response",
                "weeks to a response",
                [(r["value"], r["n"]) for r in weeks if r["grp"] == employer],
                "weeks",
                "#interviews",
            )
            scopes.append(scope)
        return scopes

    # -- complementary suppression across the scopes of one kind ---------------------------------

    def _protect_groups(self, overall: Scope, groups: list[Scope], metric: str) -> None:
        total = next((f.n for f in overall.figures if f.metric == metric), None)
        self._protect_groups_total(total or 0, groups, metric)

    def _protect_groups_total(self, total: int, groups: list[Scope], metric: str) -> None:
        """Training status and role split everyone into groups, and the total is published:
        a small group hidden alone could be recovered by subtraction, so hide whole groups
        until what is hidden (with those who did not answer) is none or at least k."""
        counts = {g.slug: _true_count(g, metric) for g in groups}
        unanswered = max(0, total - sum(counts.values()))
        cells = {**counts, "\0unanswered": unanswered}
        hidden = suppressed_cells(cells, self.k, frozenset({"\0unanswered"}))
        for group in groups:
            if group.slug in hidden:
                group.figures = [_suppress(f) for f in group.figures]
                group.curves.clear()

    # -- building blocks ------------------------------------------------------------------------

    def _count(self, metric: str, label: str, n: int, definition: str) -> Figure:
        figure = Figure(metric, label, "count", definition, n=n, value=float(n))
        return _suppress(figure) if small(n, self.k) else figure

    def _share(self, metric, label, numerator: int, denominator: int, definition) -> Figure:
        figure = Figure(metric, label, "share", definition, n=denominator)
        if denominator == 0:
            return figure
        if small(numerator, self.k) or small(denominator, self.k):
            return _suppress(figure)
        figure.value, figure.ci_low, figure.ci_high = est.wilson(numerator, denominator)
        return figure

    def _breakdown(self, scope, metric, label, cells: dict[str, int], total: int, definition):
        """A one-way breakdown: a share per cell, with complementary suppression."""
        if small(total, self.k) or total == 0:
            hidden = set(cells)
        else:
            hidden = suppressed_cells(cells, self.k)
        for name in sorted(cells, key=lambda c: -cells[c]):
            figure = Figure(
                f"{metric}:{name}",
                f"{label}: {LABELS.get(name, name)}",
                "share",
                definition,
                n=cells[name],
            )
            if name in hidden:
                figure = _suppress(figure)
            elif total:
                figure.value, figure.ci_low, figure.ci_high = est.wilson(cells[name], total)
            scope.figures.append(figure)

    async def _query(self, sql: str, *args) -> list[dict]:
        return await current_engine().run_querystring(_querystring(sql, args))

    async def _publish(self, scopes, moment, used, held, seconds) -> None:
        figures, curves, rollups = [], [], []
        for scope in scopes:
            for position, figure in enumerate(scope.figures):
                figures.append(
                    StatsFigure(
                        scope_kind=scope.kind,
                        scope=scope.slug,
                        metric=figure.metric,
                        label=figure.label,
                        n=figure.n,
                        value=figure.value,
                        ci_low=figure.ci_low,
                        ci_high=figure.ci_high,
                        suppressed=figure.suppressed,
                        unit=figure.unit,
                        definition=figure.definition,
                        position=position,
                    )
                )
            for name, points in scope.curves.items():
                curves += [
                    StatsCurve(
                        scope_kind=scope.kind,
                        scope=scope.slug,
                        curve=name,
                        month=p.month,
                        value=p.value,
                        ci_low=p.low,
                        ci_high=p.high,
                        at_risk=p.at_risk,
                    )
                    for p in points
                ]
            rollups += [
                StatsRollup(
                    scope_kind=scope.kind,
                    scope=scope.slug,
                    month=r.month,
                    hires=r.events,
                    competing=r.competing,
                    censored=r.censored,
                )
                for r in scope.rollup
            ]
        async with write_transaction():
            for table in (StatsFigure, StatsCurve, StatsRollup):
                await table.delete(force=True)
            for table_rows in (figures, curves, rollups):
                for start in range(0, len(table_rows), 500):
                    await type(table_rows[0]).insert(*table_rows[start : start + 500])
            await StatsRebuild.insert(
                StatsRebuild(
                    as_of=moment, surveys_used=used, surveys_held_out=held, seconds=seconds
                )
            )


def _true_count(scope: Scope, metric: str) -> int:
    """The group's size before suppression (kept on the scope for this purpose)."""
    return scope.sizes.get(metric, 0)


def _suppress(figure: Figure) -> Figure:
    figure.n = figure.value = figure.ci_low = figure.ci_high = None
    figure.suppressed = True
    return figure


def _se(point: est.CurvePoint) -> float:
    """Standard error recovered from the 95 % interval's width (symmetric enough at the
    sample sizes where the comparison is shown)."""
    return (point.high - point.low) / (2 * est.Z95)


def _status_split(rows: list[est.MonthCounts]) -> dict[str, int]:
    # The rollup folds both competing exits together; the mix needs them apart, so
    # they are carried in separate rows by _to_month_counts (see there).
    stopped = sum(getattr(r, "stopped", 0) for r in rows)
    returned = sum(r.competing for r in rows) - stopped
    return {"stopped_searching": stopped, "returned_clinical": returned}


@dataclass(frozen=True)
class _Counts(est.MonthCounts):
    stopped: int = 0


def _to_month_counts(rows: list[dict]) -> dict:
    grouped: dict = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for row in rows:
        cell = grouped[row["grp"]][row["month"]]
        status, n = row["status"], row["n"]
        if status == "hired_nonclinical":
            cell[0] += n
        elif status in COMPETING:
            cell[1] += n
            if status == "stopped_searching":
                cell[3] += n
        else:
            cell[2] += n
    return {
        group: [
            _Counts(month, *cell[:3], stopped=cell[3]) for month, cell in sorted(months.items())
        ]
        for group, months in grouped.items()
    }


def _merge(groups: Iterable[list[est.MonthCounts]]) -> list[est.MonthCounts]:
    merged: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for rows in groups:
        for r in rows:
            cell = merged[r.month]
            cell[0] += r.events
            cell[1] += r.competing
            cell[2] += r.censored
            cell[3] += getattr(r, "stopped", 0)
    return [_Counts(m, *c[:3], stopped=c[3]) for m, c in sorted(merged.items())]


def _querystring(sql: str, args: tuple):
    from piccolo.querystring import QueryString

    return QueryString(sql, *args)
