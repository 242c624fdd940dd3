"""The backtest engine: the same burn rates as the evaluation engine, the same episodes as
stepping the state machine at every instant, and incidents matched as documented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from slm.domain.alert_state import (
    PROMETHEUS_SEMANTICS,
    AlertRecord,
    AlertRule,
    AlertSettings,
    AlertStatus,
    advance,
    catalogue_rules,
    observe,
)
from slm.domain.backtest import AlertEpisode, BurnHistory, Incident, PolicyRun
from slm.domain.durations import format_duration
from slm.domain.evaluation import evaluate_many
from slm.domain.model import (
    SLO,
    BudgetingMethod,
    CalendarWindow,
    Indicator,
    MetricQuery,
    MissingData,
    Objective,
    RatioMetric,
    RollingWindow,
    ThresholdMetric,
    Window,
)
from slm.domain.series import EventSeries
from slm.spec.catalogues import default_catalogue

MIN = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)
WORKBOOK_30D = default_catalogue(30 * D)  # the shipped YAML catalogue
T0 = datetime(2026, 3, 1, tzinfo=UTC)
Q = MetricQuery(None, "File", {})


def make_slo(
    window: Window,
    method: BudgetingMethod = BudgetingMethod.OCCURRENCES,
    threshold: bool = False,
    missing: MissingData = MissingData.IGNORE,
) -> SLO:
    indicator = (
        Indicator("t", threshold=ThresholdMetric(Q), missing_data=missing)
        if threshold
        else Indicator("r", ratio=RatioMetric(total=Q, good=Q), missing_data=missing)
    )
    slices = method is not BudgetingMethod.OCCURRENCES
    objective = Objective(
        "o",
        0.99,
        time_slice_window=5 * MIN if slices else None,
        time_slice_target=0.95 if method is BudgetingMethod.TIMESLICES else None,
    )
    return SLO("slo", "svc", indicator, window, method, (objective,))


def noisy_events(n: int, seed: int, gaps: bool = True) -> EventSeries:
    """Traffic with bursts of errors and, optionally, gaps in the data."""
    rng = np.random.default_rng(seed)
    total = rng.integers(50, 150, n).astype(np.float64)
    error = np.where(rng.random(n) < 0.02, rng.random(n), 0.002)
    burst = (np.arange(n) // 180) % 7 == 3
    error = np.where(burst, 0.3, error)
    good = np.floor(total * (1 - error))
    present = rng.random(n) > 0.02 if gaps else np.ones(n, dtype=bool)
    return EventSeries(T0, MIN, np.where(present, good, 0), np.where(present, total, 0), present)


CASES = [
    pytest.param(make_slo(RollingWindow(7 * D)), id="occurrences-rolling"),
    pytest.param(
        make_slo(RollingWindow(7 * D), threshold=True, missing=MissingData.BAD),
        id="threshold-missing-bad",
    ),
    pytest.param(make_slo(RollingWindow(7 * D), BudgetingMethod.TIMESLICES), id="timeslices"),
    pytest.param(
        make_slo(RollingWindow(7 * D), BudgetingMethod.RATIO_TIMESLICES, missing=MissingData.GOOD),
        id="ratio-timeslices-missing-good",
    ),
    pytest.param(
        make_slo(CalendarWindow("month", 1, T0, "Europe/Berlin")), id="calendar-month-berlin"
    ),
]


@pytest.mark.parametrize("slo", CASES)
def test_burn_rates_equal_the_evaluation_engine_at_every_instant(slo: SLO) -> None:
    events = noisy_events(40 * 24 * 60, seed=7)
    if slo.indicator.threshold is not None:  # one point a minute: good when under 1% errors
        ok = (events.good >= 0.99 * events.total) & events.present
        events = EventSeries(
            T0, MIN, ok.astype(np.float64), events.present.astype(np.float64), events.present
        )
    start, end = T0 + 29 * D + 13 * MIN, T0 + 32 * D
    history = BurnHistory(slo, slo.objectives[0], events, start, end)
    picks = np.linspace(0, len(history) - 1, 97).astype(int)
    instants = [history.instant(int(i)) for i in picks]
    results = evaluate_many(slo, slo.objectives[0], events, instants, WORKBOOK_30D)
    for window in sorted({w for r in WORKBOOK_30D.windows for w in (r.long, r.short)}):
        expected = [r.burn_rates[format_duration(window)] for r in results]
        got = history.burn(window)[picks]
        assert [None if np.isnan(x) else pytest.approx(x) for x in got] == expected, window
    periods = [(r.window_start, r.at) for r in results]
    assert len(periods) == len(picks)
    if isinstance(slo.window, CalendarWindow):  # March in Berlin is 31 days minus an hour
        march = history.period_seconds[history.position(T0 + 29 * D + H)]
        assert march == (31 * D - H).total_seconds()
        assert history.period_seconds[-1] == (30 * D).total_seconds()


def naive_episodes(
    history: BurnHistory, rule: AlertRule, settings: AlertSettings
) -> list[tuple[datetime, datetime | None]]:
    """Step the state machine at every instant (what a live evaluator would do)."""
    burns = [history.burn(w) for w in rule.windows]
    record, out, fired = AlertRecord(), [], None
    for i in range(len(history)):
        period = timedelta(seconds=float(history.period_seconds[i]))
        values = [None if np.isnan(b[i]) else float(b[i]) for b in burns]
        obs = observe(rule, values, [rule.factor(period)] * len(values), settings)
        at = history.instant(i)
        new = advance(record, rule, obs, at, settings)
        if new.status is AlertStatus.FIRING and record.status is not AlertStatus.FIRING:
            fired = at
        if new.status is AlertStatus.RESOLVED and record.status is AlertStatus.FIRING:
            out.append((fired, at))
        record = new
    if record.status is AlertStatus.FIRING:
        out.append((fired, None))
    return out


RULES = [
    pytest.param(catalogue_rules(WORKBOOK_30D)[0], id="page-1h-5m"),
    pytest.param(catalogue_rules(WORKBOOK_30D)[3], id="ticket-3d-6h"),
    pytest.param(
        AlertRule("after", "page", (30 * MIN,), "gte", threshold=4.0, alert_after=20 * MIN),
        id="alert-after-20m",
    ),
    pytest.param(
        AlertRule("nodata", "page", (5 * MIN,), threshold=6.0, no_data_fires=True),
        id="no-data-fires",
    ),
    pytest.param(AlertRule("low", "ticket", (H,), "lt", threshold=1.3), id="op-lt"),
]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(AlertSettings(), id="hysteresis"),
        pytest.param(PROMETHEUS_SEMANTICS, id="prometheus"),
        pytest.param(AlertSettings(0.8, timedelta(minutes=45)), id="custom"),
    ],
)
def test_replay_over_change_points_equals_stepping_every_instant(
    rule: AlertRule, settings: AlertSettings
) -> None:
    slo = make_slo(RollingWindow(30 * D))
    events = noisy_events(6 * 24 * 60, seed=11)
    events.present[3000:3030] = False  # a half-hour gap: no data at all for the 5m window
    events.good[3000:3030] = events.total[3000:3030] = 0
    history = BurnHistory(slo, slo.objectives[0], events, T0 + 3 * D, T0 + 6 * D)
    run = PolicyRun("p", history.end)
    run.add(history, [rule], settings)
    got = [(e.fired_at, e.resolved_at) for e in run.result(None).episodes]
    assert got == naive_episodes(history, rule, settings)
    assert got  # the data does make this rule fire


# --- incidents ------------------------------------------------------------------------

END = T0 + 10 * D


def episode(fired: timedelta, resolved: timedelta | None, slo: str = "a") -> AlertEpisode:
    return AlertEpisode(
        "p",
        "r",
        "page",
        slo,
        "o",
        T0 + fired,
        T0 + fired,
        None if resolved is None else T0 + resolved,
    )


def test_incidents_are_matched_to_overlapping_alerts() -> None:
    slo = make_slo(RollingWindow(30 * D))
    n = (30 * D + 10 * D) // MIN  # a full period of steady traffic before T0, as read
    events = EventSeries(
        T0 - 30 * D, MIN, np.full(n, 99.0), np.full(n, 100.0), np.ones(n, dtype=bool)
    )
    run = PolicyRun("p", END)
    history = BurnHistory(slo, slo.objectives[0], events, T0, T0 + 10 * D)
    run.histories[("a", "o")] = history
    run.episodes = [
        episode(2 * H, 3 * H),  # inside incident 1
        episode(5 * H, 9 * H),  # already firing when incident 2 starts
        episode(20 * H, 21 * H),  # no incident
        episode(30 * H, None),  # still firing at the end, no incident
        episode(2 * H, 3 * H, slo="b"),  # another SLO
    ]
    incidents = [
        Incident("a", T0 + H, T0 + 4 * H, id="one"),
        Incident("a", T0 + 6 * H, T0 + 7 * H, id="two"),
        Incident("a", T0 + 12 * H, T0 + 13 * H, id="three"),
        Incident("a", T0 + H, T0 + 2 * H, objective="other", id="not-this-objective"),
    ]
    result = run.result(incidents)
    ttd = {d.incident.id: d.time_to_detect for d in result.detections}
    assert ttd == {"one": H, "two": timedelta(0), "three": None}
    assert [i.id for i in result.missed] == ["three"]
    assert [(e.slo, e.fired_at - T0) for e in result.unmatched] == [
        ("b", 2 * H),
        ("a", 20 * H),
        ("a", 30 * H),
    ]
    assert result.alerts_fired == 5
    assert result.alert_hours == pytest.approx(1 + 4 + 1 + (240 - 30) + 1)
    # 1% errors for the hour before detection: 0.01 / (0.01 x 30 days) of the budget
    # (the 30-day window before detection is full of the same traffic)
    (one,) = [d for d in result.detections if d.incident.id == "one"]
    assert one.budget_consumed == pytest.approx(1 / 720)
