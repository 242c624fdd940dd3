"""The worked figures of the SRE Workbook's chapter "Alerting on SLOs", two ways.

Source: https://sre.google/workbook/alerting-on-slos/ . The chapter text was not available
to the session that wrote these tests, so every figure is *derived* from the chapter's
formulas, for a 99.9% SLO over 30 days (budget 43.2 minutes of full outage):

- detection time = (1 - SLO) / error ratio x window x burn-rate threshold
  (= threshold / burn x window);
- budget consumed when the alert fires = burn-rate threshold x window / period;
- reset time (an outage that outlasted the window, then stops) = window x (1 - threshold /
  burn), for the window that clears first (the short window of a multiwindow row).

The derived figures match the ones quoted from the chapter (0.6 s and 2 min 10 s detection
of a total outage, 5% budget over 36 h, 140% of the budget spent by a 1 h ``for`` clause,
58 minutes reset and a never-alerting 35x burn for the 5%-in-1h burn-rate alert, 0.864 min
for the 1h/14.4 page). Each scenario is then replayed by the backtest over synthetic
one-second data (1000 requests a second) and must give the formula's value rounded up to
the one-second grid; budget consumed may differ by one second's worth of burn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from slm.domain.alert_state import (
    PROMETHEUS_SEMANTICS,
    AlertRule,
    AlertSettings,
    catalogue_rules,
)
from slm.domain.backtest import BurnHistory, Incident, PolicyResult, PolicyRun
from slm.domain.model import (
    SLO,
    BudgetingMethod,
    Indicator,
    MetricQuery,
    Objective,
    Operator,
    RatioMetric,
    RollingWindow,
)
from slm.domain.series import EventSeries
from slm.spec.catalogues import default_catalogue

SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
PERIOD = 30 * D
WORKBOOK_30D = default_catalogue(PERIOD)  # the shipped YAML catalogue
SLO_TARGET = 0.999
ERROR_SHARE = 0.001  # 1 - SLO_TARGET, as the decimal it is (not 1 - 0.999 in binary floats)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
_Q = MetricQuery(None, "File", {})
WORKBOOK_SLO = SLO(
    "api",
    "svc",
    Indicator("i", ratio=RatioMetric(total=_Q, good=_Q)),
    RollingWindow(PERIOD),
    BudgetingMethod.OCCURRENCES,
    (Objective("availability", SLO_TARGET),),
)


def rule(
    rid: str,
    window: timedelta,
    threshold: float,
    op: Operator = "gt",
    alert_after: timedelta = timedelta(0),
) -> AlertRule:
    return AlertRule(rid, "page", (window,), op, threshold=threshold, alert_after=alert_after)


# --- the book's formulas --------------------------------------------------------------


def burn_of(error_ratio: float) -> float:
    return error_ratio / ERROR_SHARE


def detection(threshold: float, window: timedelta, error_ratio: float) -> timedelta:
    """(1 - SLO) / error ratio x window x burn-rate threshold."""
    return ERROR_SHARE / error_ratio * window * threshold


def budget_at_alert(threshold: float, window: timedelta) -> float:
    """Burn-rate threshold x window / period."""
    return threshold * (window / PERIOD)


def reset(threshold: float, window: timedelta, error_ratio: float) -> timedelta:
    """Window x (1 - threshold / burn): the window still holds enough bad seconds."""
    return window * (1 - threshold / burn_of(error_ratio))


def on_grid(d: timedelta) -> timedelta:
    """The first one-second instant at or after ``d`` (no figure here is a whole second)."""
    seconds = d / SEC
    assert seconds != int(seconds)
    return math.ceil(seconds) * SEC


# --- the backtest over synthetic data -------------------------------------------------


@dataclass(frozen=True)
class Run:
    result: PolicyResult
    outage_start: datetime
    outage_end: datetime

    def episode(self, rule_id: str) -> tuple[timedelta, timedelta | None]:
        """(detection, reset) of the first episode of ``rule_id``."""
        e = next(e for e in self.result.episodes if e.rule == rule_id)
        reset = None if e.resolved_at is None else e.resolved_at - self.outage_end
        return e.fired_at - self.outage_start, reset


def replay(
    rules: list[AlertRule],
    error_ratio: float,
    outage: timedelta,
    tail: timedelta,
    settings: AlertSettings = PROMETHEUS_SEMANTICS,
) -> Run:
    """Clean traffic for a full period (the budget at detection is the period's, as
    ``slm evaluate`` counts it), the outage, then ``tail`` of clean traffic."""
    lead = max([PERIOD, *(w for r in rules for w in r.windows)]) + MIN
    n = (lead + outage + tail) // SEC
    total = np.full(n, 1000.0)
    bad = np.zeros(n)
    a, b = lead // SEC, (lead + outage) // SEC
    bad[a:b] = error_ratio * 1000
    events = EventSeries(T0, SEC, total - bad, total, np.ones(n, dtype=bool))
    start, end = T0 + lead, T0 + lead + outage
    history = BurnHistory(WORKBOOK_SLO, WORKBOOK_SLO.objectives[0], events, start, events.end)
    run = PolicyRun("workbook", history.end)
    run.add(history, rules, settings)
    return Run(run.result([Incident("api", start, end, id="outage")]), start, end)


def consumed(run: Run) -> float:
    (d,) = run.result.detections
    assert d.budget_consumed is not None
    return d.budget_consumed


def one_second_of(error_ratio: float) -> float:
    return burn_of(error_ratio) * (SEC / PERIOD)


# --- 1. target error rate >= SLO threshold (10-minute window) --------------------------


def test_error_rate_above_slo_over_10m() -> None:
    """Alert if the 10m error ratio >= 0.1%: a total outage is detected in 0.6 s, having
    spent 0.023% of the budget (the book's "0.02%"); reset takes the 10m window."""
    r = rule("rate10m", 10 * MIN, 1.0, op="gte")
    assert detection(1.0, 10 * MIN, 1.0) == timedelta(seconds=0.6)
    assert budget_at_alert(1.0, 10 * MIN) == pytest.approx(0.000231, abs=1e-6)
    run = replay([r], 1.0, 20 * MIN, 20 * MIN)
    detected, reset_time = run.episode("rate10m")
    assert detected == on_grid(detection(1.0, 10 * MIN, 1.0)) == SEC
    assert reset_time == on_grid(reset(1.0, 10 * MIN, 1.0))  # 9.99 minutes
    assert consumed(run) == pytest.approx(budget_at_alert(1.0, 10 * MIN), abs=one_second_of(1))


# --- 2. increased alert window (36 hours, 5% of the budget) ----------------------------


def test_increased_alert_window_36h() -> None:
    """A 36h window: a total outage is detected after 2 min 10 s (129.6 s) with 5% of the
    budget spent, and the alert then fires for ~36 hours after the outage ends."""
    r = rule("rate36h", 36 * H, 1.0, op="gte")
    assert detection(1.0, 36 * H, 1.0) == timedelta(seconds=129.6)
    assert budget_at_alert(1.0, 36 * H) == pytest.approx(0.05)
    run = replay([r], 1.0, 36 * H, 37 * H)
    detected, reset_time = run.episode("rate36h")
    assert detected == on_grid(detection(1.0, 36 * H, 1.0)) == timedelta(minutes=2, seconds=10)
    assert reset_time == on_grid(reset(1.0, 36 * H, 1.0))
    assert reset_time is not None and reset_time > 35.9 * H
    assert consumed(run) == pytest.approx(0.05, abs=one_second_of(1))


# --- 3. incrementing alert duration (for: 1h) ------------------------------------------


@pytest.mark.parametrize(
    ("error_ratio", "budget", "rate_delay"),
    [
        pytest.param(1.0, 1.389, SEC, id="total-outage-spends-140pct"),
        # 30 s of 0.2% errors put the 1m ratio exactly at 0.1%, a burn rate of exactly 1
        # (the budget share is the decimal 0.001): the rate trips then, not a second later.
        pytest.param(0.002, 0.002801, 30 * SEC, id="0.2pct-errors-same-detection"),
    ],
)
def test_incrementing_alert_duration(
    error_ratio: float, budget: float, rate_delay: timedelta
) -> None:
    """``ratio_rate1m >= 0.1% for 1h``: every outage is detected after one hour (plus the
    1m rate's own delay), whatever its size, so a total outage spends 1000 x 1h / 720h =
    139% of the budget (the book's "140%") before anyone is told; a 0.2% error ratio is
    detected after 1h30s (the 1m rate needs 30 s to reach 0.1%), the same hour."""
    r = rule("for1h", MIN, 1.0, op="gte", alert_after=H)
    formula = H + detection(1.0, MIN, error_ratio)
    assert burn_of(error_ratio) * (formula / PERIOD) == pytest.approx(budget, rel=1e-3)
    assert rate_delay - SEC <= detection(1.0, MIN, error_ratio) <= rate_delay
    run = replay([r], error_ratio, 2 * H, 10 * MIN)
    detected, reset_time = run.episode("for1h")
    assert detected == H + rate_delay
    if error_ratio == 1.0:
        assert reset_time == on_grid(reset(1.0, MIN, error_ratio))
    assert consumed(run) == pytest.approx(budget, rel=2e-3)


# --- 4. alert on burn rate (one window) ------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "budget", "detect", "reset_time"),
    [
        # 5% of the budget in 1h: the chapter's example (58-minute reset).
        pytest.param(36.0, 0.05, timedelta(minutes=2.16), timedelta(minutes=57.84), id="36x-5pct"),
        # 2% of the budget in 1h: the fast page row, 0.864 minutes for a total outage.
        pytest.param(14.4, 0.02, timedelta(minutes=0.864), timedelta(minutes=59.136), id="14.4x"),
    ],
)
def test_alert_on_burn_rate(
    threshold: float, budget: float, detect: timedelta, reset_time: timedelta
) -> None:
    r = rule("burn1h", H, threshold)
    assert detection(threshold, H, 1.0) == pytest.approx(detect, abs=timedelta(microseconds=1))
    assert budget_at_alert(threshold, H) == pytest.approx(budget)
    assert reset(threshold, H, 1.0) == pytest.approx(reset_time, abs=timedelta(microseconds=1))
    run = replay([r], 1.0, 2 * H, 2 * H)
    detected, resets = run.episode("burn1h")
    assert detected == on_grid(detect)
    assert resets == on_grid(reset(threshold, H, 1.0))
    assert consumed(run) == pytest.approx(budget, abs=one_second_of(1))


def test_a_35x_burn_never_trips_the_36x_alert_but_spends_the_budget_in_20_5_hours() -> None:
    """Low recall of a single burn-rate alert: 35x < 36x never alerts, yet it spends the
    whole 30-day budget in 720h / 35 = 20.6 hours."""
    assert abs(PERIOD / 35 - timedelta(hours=20.571)) < timedelta(seconds=2)
    run = replay([rule("burn1h", H, 36.0)], 35 * (1 - SLO_TARGET), 21 * H, H)
    assert run.result.episodes == ()
    (missed,) = run.result.detections
    assert missed.detected_at is None
    assert missed.budget_consumed is not None and missed.budget_consumed > 1.0


# --- 5. multiple burn rates --------------------------------------------------------------

MULTI = [
    AlertRule("page-1h", "page", (H,), threshold=14.4),
    AlertRule("page-6h", "page", (6 * H,), threshold=6.0),
    AlertRule("ticket-3d", "ticket", (3 * D,), threshold=1.0),
]


def test_multiple_burn_rates_total_outage() -> None:
    """Three single-window alerts: the 1h/14.4 page detects a total outage after 0.864 min
    (2% spent); the 6h/6 page after 2.16 min; the 3d ticket keeps firing for ~3 days after
    the outage ends: "an even longer reset time, as a result of the 3-day window"."""
    run = replay(MULTI, 1.0, 3 * D, 3 * D + H)
    for rid, threshold, window in (("page-1h", 14.4, H), ("page-6h", 6.0, 6 * H)):
        detected, resets = run.episode(rid)
        assert detected == on_grid(detection(threshold, window, 1.0))
        assert resets == on_grid(reset(threshold, window, 1.0))
    detected, resets = run.episode("ticket-3d")
    assert detected == on_grid(detection(1.0, 3 * D, 1.0))  # 4.32 minutes
    assert resets == on_grid(reset(1.0, 3 * D, 1.0))
    assert resets is not None and resets > 71.9 * H
    (d,) = run.result.detections
    assert (d.rule, d.time_to_detect) == ("page-1h", on_grid(timedelta(minutes=0.864)))
    assert consumed(run) == pytest.approx(0.02, abs=one_second_of(1))


def test_multiple_burn_rates_slow_burn_is_caught_by_the_ticket() -> None:
    """A 0.2% error ratio (2x burn) never pages; the 3d ticket fires after 1/2 x 3d = 36h,
    having spent 1 x 3d / 30d = 10% of the budget."""
    run = replay(MULTI, 0.002, 40 * H, H)
    assert [e.rule for e in run.result.episodes] == ["ticket-3d"]
    detected, _ = run.episode("ticket-3d")
    assert detection(1.0, 3 * D, 0.002) == pytest.approx(36 * H, abs=timedelta(microseconds=1))
    assert detected == 36 * H + SEC  # a whole second: the first instant strictly above 1x
    (d,) = run.result.detections
    assert d.severity == "ticket"
    assert consumed(run) == pytest.approx(0.10, abs=one_second_of(0.002))


# --- 6. multiwindow, multi-burn-rate (the shipped 30d catalogue) -------------------------

ROWS = {  # row: (threshold, long, short)
    "page-1h-5m": (14.4, H, 5 * MIN),
    "page-6h-30m": (6.0, 6 * H, 30 * MIN),
    "ticket-1d-2h": (3.0, D, 2 * H),
    "ticket-3d-6h": (1.0, 3 * D, 6 * H),
}


def test_multiwindow_multi_burn_rate_total_outage() -> None:
    """Each row detects as its long window would (0.864 min for the 1h/5m page), spends
    its budget share (2%, 5%, 10%, 10%), and resets after about its *short* window (4.93
    minutes for the page) instead of its long one: the point of the short window."""
    rules = catalogue_rules(WORKBOOK_30D)
    assert [r.factor(PERIOD) for r in rules] == pytest.approx([14.4, 6, 3, 1])
    run = replay(list(rules), 1.0, 7 * H, 7 * H)
    for rid, (threshold, long, short) in ROWS.items():
        detected, resets = run.episode(rid)
        assert detected == on_grid(detection(threshold, long, 1.0)), rid
        assert resets == on_grid(reset(threshold, short, 1.0)), rid
    assert budget_at_alert(14.4, H) == pytest.approx(0.02)
    assert budget_at_alert(6.0, 6 * H) == pytest.approx(0.05)
    assert budget_at_alert(3.0, D) == pytest.approx(0.10)
    assert budget_at_alert(1.0, 3 * D) == pytest.approx(0.10)
    assert run.episode("page-1h-5m")[1] == timedelta(seconds=296)  # 5 x (1 - 14.4/1000) min
    assert consumed(run) == pytest.approx(0.02, abs=one_second_of(1))


def test_slm_hysteresis_keeps_the_workbook_reset_time_within_seconds() -> None:
    """slm's own alerts resolve at 0.9 x threshold after one short window: for a total
    outage the 1h/5m page resets after 5m x (1 - 0.9 x 14.4/1000) = 296.1 s, one second
    later than the Prometheus rule (295.7 s); detection is unchanged."""
    rules = catalogue_rules(WORKBOOK_30D)[:1]
    run = replay(list(rules), 1.0, 2 * H, H, settings=AlertSettings())
    detected, resets = run.episode("page-1h-5m")
    assert detected == on_grid(detection(14.4, H, 1.0))
    assert resets == on_grid(reset(0.9 * 14.4, 5 * MIN, 1.0)) == timedelta(seconds=297)


def test_hysteresis_stops_flapping_at_the_threshold() -> None:
    """An error ratio that alternates 10% above and 5% below the page threshold every
    10 minutes flaps a Prometheus-style rule; with slm's hysteresis it fires once."""
    rules = [AlertRule("flap", "page", (5 * MIN,), threshold=14.4)]
    lead = 10 * MIN
    n = (lead + 6 * H) // SEC
    phase = np.arange(n) // 600
    ratio = np.where(phase % 2 == 0, 14.4 * 1.1, 14.4 * 0.95) * (1 - SLO_TARGET)
    ratio[: lead // SEC] = 0
    total = np.full(n, 1000.0)
    events = EventSeries(T0, SEC, total - ratio * 1000, total, np.ones(n, dtype=bool))
    counts = {}
    for name, settings in (("prometheus", PROMETHEUS_SEMANTICS), ("slm", AlertSettings())):
        h = BurnHistory(WORKBOOK_SLO, WORKBOOK_SLO.objectives[0], events, T0 + lead, events.end)
        run = PolicyRun(name, h.end)
        run.add(h, rules, settings)
        counts[name] = run.result(None).alerts_fired
    assert counts["prometheus"] >= 15
    assert counts["slm"] == 1
