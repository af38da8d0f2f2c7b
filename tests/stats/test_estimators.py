"""The estimators against independent reference values, ties and censoring included."""

from __future__ import annotations

import pytest
from scipy import stats

from offramp.stats import estimators as est
from offramp.stats.estimators import MonthCounts

# 20 people with distinct times; 1 = hired, 2 = competing exit, 0 = censored.
# Reference values: lifelines 0.30.3, AalenJohansenFitter(calculate_variance=True),
# run once offline (distinct times, so its tie-jittering plays no part).
TIMES = list(range(1, 21))
EVENTS = [1, 0, 2, 1, 1, 0, 2, 1, 0, 1, 2, 0, 1, 1, 0, 2, 1, 0, 1, 0]
LIFELINES = {
    1: (0.05, 0.0034540161, 0.2052992946),
    4: (0.1027777778, 0.0173544523, 0.278897866),
    5: (0.1555555556, 0.0385385119, 0.3452941256),
    8: (0.2121031746, 0.0656782506, 0.4135072996),
    10: (0.2737914863, 0.09849016, 0.4848206288),
    13: (0.3431908369, 0.1375559674, 0.5618200969),
    14: (0.4125901876, 0.1817355592, 0.6315192542),
    17: (0.4958694084, 0.2339689953, 0.7126778284),
    19: (0.6207882395, 0.3048049469, 0.8258675554),
}


def rows_from(times, events) -> list[MonthCounts]:
    counts: dict[int, list[int]] = {}
    for t, e in zip(times, events, strict=True):
        cell = counts.setdefault(t, [0, 0, 0])
        cell[{1: 0, 2: 1, 0: 2}[e]] += 1
    return [MonthCounts(t, *cell) for t, cell in sorted(counts.items())]


def test_aalen_johansen_matches_lifelines_without_ties():
    points = {p.month: p for p in est.aalen_johansen(rows_from(TIMES, EVENTS))}
    for month, (value, low, high) in LIFELINES.items():
        assert points[month].value == pytest.approx(value, abs=1e-9)
        assert points[month].low == pytest.approx(low, abs=1e-8)
        assert points[month].high == pytest.approx(high, abs=1e-8)


def test_without_competing_events_it_is_one_minus_kaplan_meier_with_ties():
    # Ties in events, and censorings in the same month as events.
    times = [1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 5, 6, 7, 7, 8]
    hired = [1, 1, 1, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0]
    km = est.kaplan_meier(times, [bool(h) for h in hired])
    points = est.aalen_johansen(rows_from(times, hired))
    for point in points:
        assert point.value == pytest.approx(1 - km.sf.evaluate(point.month), abs=1e-12)
    # ... and its variance is Greenwood's: S(t)^2 * sum d / (n (n - d)).
    greenwood = 0.0
    for row, point in zip(rows_from(times, hired), points, strict=True):
        n, d = point.at_risk, row.events
        greenwood += d / (n * (n - d)) if n > d else 0.0
        survival = 1 - point.value
        assert point.variance == pytest.approx(survival**2 * greenwood, rel=1e-9)


def test_ties_between_hires_competing_exits_and_censoring_by_hand():
    # Month 2: 10 at risk; 2 hired, 1 stopped, 1 censored. Month 5: 6 at risk; 3 hired.
    rows = [MonthCounts(2, 2, 1, 1), MonthCounts(5, 3, 0, 3)]
    first, second = est.aalen_johansen(rows)
    assert (first.at_risk, second.at_risk) == (10, 6)
    assert first.value == pytest.approx(2 / 10)
    survival_after_2 = 1 - 3 / 10  # both causes leave the risk set
    assert second.value == pytest.approx(2 / 10 + survival_after_2 * 3 / 6)
    # Treating the competing exit as censoring would overstate the incidence:
    naive = est.aalen_johansen([MonthCounts(2, 2, 0, 2), MonthCounts(5, 3, 0, 3)])
    assert naive[-1].value > second.value


def test_wilson_interval_is_scipys():
    value, low, high = est.wilson(7, 20)
    expected = stats.binomtest(7, 20).proportion_ci(method="wilson")
    assert (value, low, high) == (0.35, pytest.approx(expected.low), pytest.approx(expected.high))
    assert low == pytest.approx(0.1812, abs=1e-4) and high == pytest.approx(0.5671, abs=1e-4)


def test_median_and_its_order_statistic_interval():
    # 1..25: median 13; Binomial(25, 1/2) gives ranks 8 and 18 (coverage ≥ 95 %).
    counts = [(float(v), 1) for v in range(1, 26)]
    assert est.median_with_interval(counts) == (13.0, 8.0, 18.0)
    # As a value→count table with repeats, the same ranks apply.
    grouped = [(100.0, 10), (200.0, 10), (300.0, 5)]
    assert est.median_with_interval(grouped) == (200.0, 100.0, 200.0)


def test_median_time_reads_the_curve_and_its_band():
    rows = [MonthCounts(m, 10, 0, 0) for m in range(1, 11)]  # 100 people, 10 hired a month
    estimate, low, high = est.median_time(est.aalen_johansen(rows))
    assert estimate == 5 and low <= 5 <= high


def test_landmark_keeps_those_still_searching_and_shifts_time():
    rows = [MonthCounts(1, 5, 0, 1), MonthCounts(3, 2, 1, 0), MonthCounts(7, 4, 0, 3)]
    assert est.landmark(rows, 3) == [MonthCounts(0, 2, 1, 0), MonthCounts(4, 4, 0, 3)]


def test_logrank_detects_a_real_difference_and_not_a_fake_one():
    fast = [MonthCounts(m, 20, 0, 0) for m in range(1, 6)]
    slow = [MonthCounts(m, 5, 0, 5) for m in range(1, 11)]
    assert est.logrank_p(fast, slow) < 0.001
    assert est.logrank_p(fast, fast) > 0.5
