"""The estimators of SPEC §5, over rollup counts (whole months), exact with ties.

- Aalen–Johansen cumulative incidence of an offer, with stopping and returning to
  clinical work as competing events and "still searching" censored at its
  status_as_of; variance by the delta method (Collett, Modelling Survival Data,
  3rd ed., p. 411) and a log(-log) interval that stays inside [0, 1].
  Censorings at a month are taken to happen after that month's events.
- Kaplan–Meier and its log-log interval come from SciPy (``scipy.stats.ecdf``);
  with no competing events the Aalen–Johansen estimate equals 1 − KM, which the
  tests check.
- Wilson intervals for shares and the log-rank test come from SciPy too; the
  order-statistic interval for a median is the distribution-free one built from
  Binomial(n, 1/2) quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = 1.959963984540054


@dataclass(frozen=True)
class MonthCounts:
    """What happened in one month since the search began, for one group."""

    month: int
    events: int  # hires
    competing: int  # stopped searching or returned to clinical work
    censored: int  # still searching, last confirmed in this month


@dataclass(frozen=True)
class CurvePoint:
    month: int
    value: float
    low: float
    high: float
    at_risk: int  # people still searching at the start of this month
    events_so_far: int
    variance: float = 0.0  # delta-method variance of ``value``


def aalen_johansen(rows: Iterable[MonthCounts]) -> list[CurvePoint]:
    """Cumulative incidence of the event at the end of each month that had anything."""
    table = sorted(rows, key=lambda r: r.month)
    at_risk = sum(r.events + r.competing + r.censored for r in table)
    survival_before = 1.0  # overall "still searching" probability just before this month
    cif = 0.0
    events_so_far = 0
    # Terms of the delta-method variance, kept per month so each F(t) can be finished.
    history: list[tuple[float, float, float, float]] = []  # (F_i, a_i, b_i, c_i)
    points: list[CurvePoint] = []
    for row in table:
        n = at_risk
        if n == 0:
            break
        any_event = row.events + row.competing
        if row.events:
            cif += survival_before * row.events / n
        events_so_far += row.events
        first = any_event / (n * (n - any_event)) if n > any_event else 0.0
        second = survival_before**2 * row.events * (n - row.events) / n**3
        third = survival_before * row.events / n**2
        history.append((cif, first, second, third))
        variance = sum(
            (cif - f_i) ** 2 * a_i + b_i - 2 * (cif - f_i) * c_i for f_i, a_i, b_i, c_i in history
        )
        low, high = _loglog_interval(cif, max(variance, 0.0))
        points.append(CurvePoint(row.month, cif, low, high, n, events_so_far, variance))
        survival_before *= 1 - any_event / n
        at_risk -= any_event + row.censored
    return points


def _loglog_interval(value: float, variance: float) -> tuple[float, float]:
    if value <= 0.0:
        return 0.0, 0.0
    if value >= 1.0:
        return 1.0, 1.0
    se = math.sqrt(variance) / (value * abs(math.log(value)))
    centre = math.log(-math.log(value))
    try:
        return math.exp(-math.exp(centre + Z95 * se)), math.exp(-math.exp(centre - Z95 * se))
    except OverflowError:  # a huge standard error: the interval is everything
        return 0.0, 1.0


def value_at(points: Sequence[CurvePoint], month: int) -> CurvePoint | None:
    """The step function at ``month``: the last point at or before it. Whether anyone
    was followed that far is the caller's question (see ``followed_to``)."""
    if not points:
        return None
    before = [p for p in points if p.month <= month]
    if not before:
        return CurvePoint(month, 0.0, 0.0, 0.0, points[0].at_risk, 0)
    return before[-1]


def followed_to(rows: Iterable[MonthCounts]) -> int:
    """The last month anyone in the group was observed."""
    months = [r.month for r in rows if r.events or r.competing or r.censored]
    return max(months, default=-1)


def median_time(points: Sequence[CurvePoint]) -> tuple[int | None, int | None, int | None]:
    """Months until the cumulative incidence reaches one half, with an interval read off
    the confidence band (None where it is not reached)."""

    def first(values: Iterable[tuple[int, float]]) -> int | None:
        return next((month for month, value in values if value >= 0.5), None)

    estimate = first((p.month, p.value) for p in points)
    low = first((p.month, p.high) for p in points)
    high = first((p.month, p.low) for p in points)
    return estimate, low, high


def kaplan_meier(durations: Sequence[int], observed: Sequence[bool]):
    """SciPy's Kaplan–Meier estimate (as an ``ECDFResult``)."""
    data = stats.CensoredData(
        uncensored=[d for d, o in zip(durations, observed, strict=True) if o],
        right=[d for d, o in zip(durations, observed, strict=True) if not o],
    )
    return stats.ecdf(data)


def wilson(successes: int, total: int) -> tuple[float, float, float]:
    """A share with its 95 % Wilson interval."""
    result = stats.binomtest(successes, total)
    interval = result.proportion_ci(confidence_level=0.95, method="wilson")
    return successes / total, float(interval.low), float(interval.high)


def weighted_quantile(counts: Sequence[tuple[float, int]], rank: int) -> float:
    """The value at 1-based position ``rank`` of the sorted sample given as value→count."""
    seen = 0
    for value, count in sorted(counts):
        seen += count
        if seen >= rank:
            return value
    raise ValueError("rank beyond the sample")


def median_with_interval(counts: Sequence[tuple[float, int]]) -> tuple[float, float, float]:
    """The sample median and its distribution-free 95 % interval: the order statistics
    X(j) and X(k) with j, k from Binomial(n, 1/2), covering the median ≥ 95 %."""
    n = sum(count for _, count in counts)
    if n == 0:
        raise ValueError("empty sample")
    if n % 2:
        median = weighted_quantile(counts, (n + 1) // 2)
    else:
        median = (weighted_quantile(counts, n // 2) + weighted_quantile(counts, n // 2 + 1)) / 2
    j = int(stats.binom.ppf(0.025, n, 0.5))
    k = n - j + 1
    j = max(j, 1)
    k = min(k, n)
    return median, weighted_quantile(counts, j), weighted_quantile(counts, k)


def quartiles(counts: Sequence[tuple[float, int]]) -> tuple[float, float]:
    n = sum(count for _, count in counts)
    return (
        weighted_quantile(counts, max(1, math.ceil(n * 0.25))),
        weighted_quantile(counts, max(1, math.ceil(n * 0.75))),
    )


def logrank_p(first: Sequence[MonthCounts], second: Sequence[MonthCounts]) -> float:
    """Log-rank test of the hazard of an offer between two groups (competing exits
    censored, i.e. cause-specific hazards), via SciPy."""

    def censored_data(rows: Sequence[MonthCounts]) -> stats.CensoredData:
        months = np.array([r.month for r in rows], dtype=float)
        events = np.repeat(months, [r.events for r in rows])
        others = np.repeat(months, [r.competing + r.censored for r in rows])
        return stats.CensoredData(uncensored=events, right=others)

    return float(stats.logrank(censored_data(first), censored_data(second)).pvalue)


def landmark(rows: Sequence[MonthCounts], at: int) -> list[MonthCounts]:
    """Those still searching at month ``at``, followed from there (months shifted)."""
    return [
        MonthCounts(r.month - at, r.events, r.competing, r.censored) for r in rows if r.month >= at
    ]
