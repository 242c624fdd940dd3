"""The alert state machine: pending, firing, resolved, hysteresis, no data and grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from slm.domain.alert_state import (
    PROMETHEUS_SEMANTICS,
    ActiveAlert,
    AlertRecord,
    AlertRule,
    AlertSettings,
    AlertStatus,
    advance,
    group_alerts,
    group_leaders,
    next_timer,
    observe,
)

MIN = timedelta(minutes=1)
T0 = datetime(2026, 10, 14, 13, 0, tzinfo=UTC)
IN, P, F, R = AlertStatus.INACTIVE, AlertStatus.PENDING, AlertStatus.FIRING, AlertStatus.RESOLVED

PAGE = AlertRule("page-1h-5m", "page", (60 * MIN, 5 * MIN), threshold=10.0)
AFTER = AlertRule("cond", "page", (60 * MIN,), "gte", threshold=10.0, alert_after=5 * MIN)


def run(
    rule: AlertRule, burns: list[float | None], settings: AlertSettings = AlertSettings()
) -> list[AlertStatus]:
    """Statuses after one evaluation a minute with every window at ``burns[i]``."""
    record, out = AlertRecord(), []
    for i, b in enumerate(burns):
        values = [b] * len(rule.windows)
        obs = observe(rule, values, [rule.factor(timedelta(days=30))] * len(values), settings)
        record = advance(record, rule, obs, T0 + i * MIN, settings)
        out.append(record.status)
    return out


@pytest.mark.parametrize(
    ("rule", "burns", "settings", "expected"),
    [
        pytest.param(PAGE, [1, 11, 11, 1], PROMETHEUS_SEMANTICS, [IN, F, F, R], id="fire-resolve"),
        pytest.param(AFTER, [10, 12, 12, 12, 12, 12, 12], PROMETHEUS_SEMANTICS,
                     [P, P, P, P, P, F, F], id="gte-pending-for-alert-after"),
        pytest.param(AFTER, [12, 12, 9, 12, 12, 12, 12, 12, 12], PROMETHEUS_SEMANTICS,
                     [P, P, IN, P, P, P, P, P, F], id="pending-resets-when-it-stops"),
        pytest.param(PAGE, [11, 9.5, 9.1, 11, 8.9, 8], AlertSettings(0.9, timedelta(0)),
                     [F, F, F, F, R, R], id="hysteresis-holds-above-0.9x"),
        pytest.param(PAGE, [11, 9.5, 11, 9.5, 11], PROMETHEUS_SEMANTICS,
                     [F, R, F, R, F], id="no-hysteresis-flaps"),
        pytest.param(PAGE, [11, 1, 1, 1, 1, 1, 1], AlertSettings(),
                     [F, F, F, F, F, R, R], id="min-firing-is-the-short-window"),
        pytest.param(PAGE, [11, None, None, 1], PROMETHEUS_SEMANTICS,
                     [F, F, F, R], id="no-data-keeps-firing"),
        pytest.param(PAGE, [None, None, 11], PROMETHEUS_SEMANTICS, [IN, IN, F],
                     id="no-data-never-fires"),
        pytest.param(PAGE, [11, 1, 11, 11], PROMETHEUS_SEMANTICS, [F, R, F, F],
                     id="re-fires-after-resolve"),
    ],
)  # fmt: skip
def test_transitions(
    rule: AlertRule, burns: list[float | None], settings: AlertSettings, expected: list[AlertStatus]
) -> None:
    assert run(rule, burns, settings) == expected


def test_episodes_count_activations_and_timestamps_are_kept() -> None:
    record = AlertRecord()
    for i, b in enumerate([11, 1, 11]):
        obs = observe(PAGE, [b, b], [10, 10], PROMETHEUS_SEMANTICS)
        record = advance(record, PAGE, obs, T0 + i * MIN, PROMETHEUS_SEMANTICS)
    assert (record.status, record.episode) == (F, 2)
    assert (record.fired_at, record.resolved_at, record.evaluated_at) == (
        T0 + 2 * MIN,
        None,
        T0 + 2 * MIN,
    )


def test_a_stale_or_repeated_evaluation_changes_nothing() -> None:
    obs = observe(PAGE, [11, 11], [10, 10], PROMETHEUS_SEMANTICS)
    fired = advance(AlertRecord(), PAGE, obs, T0, PROMETHEUS_SEMANTICS)
    calm = observe(PAGE, [1, 1], [10, 10], PROMETHEUS_SEMANTICS)
    assert advance(fired, PAGE, calm, T0, PROMETHEUS_SEMANTICS) is fired
    assert advance(fired, PAGE, calm, T0 - MIN, PROMETHEUS_SEMANTICS) is fired


def test_no_data_fires_when_the_policy_says_so() -> None:
    rule = AlertRule("c", "page", (5 * MIN,), threshold=2.0, no_data_fires=True)
    assert run(rule, [None, None, 1], PROMETHEUS_SEMANTICS) == [F, F, R]


def test_op_lt_resolves_above_threshold_over_ratio() -> None:
    rule = AlertRule("low", "ticket", (5 * MIN,), "lt", threshold=1.0)
    settings = AlertSettings(0.9, timedelta(0))
    assert run(rule, [0.5, 1.05, 1.2], settings) == [F, F, R]  # 1.0 / 0.9 = 1.11


def test_timers() -> None:
    obs = observe(AFTER, [12], [10], PROMETHEUS_SEMANTICS)
    pending = advance(AlertRecord(), AFTER, obs, T0, PROMETHEUS_SEMANTICS)
    assert next_timer(pending, AFTER, PROMETHEUS_SEMANTICS) == T0 + 5 * MIN
    fired = advance(AlertRecord(), PAGE, observe(PAGE, [11, 11], [10, 10], AlertSettings()), T0,
                    AlertSettings())  # fmt: skip
    assert next_timer(fired, PAGE, AlertSettings()) == T0 + 5 * MIN  # the short window
    assert next_timer(AlertRecord(), PAGE, AlertSettings()) is None


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"windows": ()}, id="no-window"),
        pytest.param({"threshold": 1.0, "budget_percent": 2.0}, id="both-thresholds"),
        pytest.param({"op": "eq"}, id="unknown-op"),
        pytest.param({"alert_after": -MIN}, id="negative-alert-after"),
    ],
)
def test_invalid_rules_are_refused(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {"id": "r", "severity": "page", "windows": (MIN,), "threshold": 1.0}
    with pytest.raises(ValueError, match="alert rule 'r'"):
        AlertRule(**{**fields, **bad})  # type: ignore[arg-type]


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="resolve_ratio"):
        AlertSettings(resolve_ratio=1.5)


def test_a_page_leads_its_slo_group_and_tickets_ride_along() -> None:
    alerts = [
        ActiveAlert("api/o/ticket-1d-2h", "svc/api", "ticket", T0),
        ActiveAlert("api/o/page-6h-30m", "svc/api", "page", T0 + 2 * MIN),
        ActiveAlert("api/o/page-1h-5m", "svc/api", "page", T0 + MIN),
        ActiveAlert("web/o/ticket-3d-6h", "svc/web", "ticket", T0),
    ]
    groups = group_alerts(alerts)
    assert [(g.key, g.leader, g.severity) for g in groups] == [
        ("svc/api", "api/o/page-1h-5m", "page"),
        ("svc/web", "web/o/ticket-3d-6h", "ticket"),
    ]
    assert groups[0].members == ("api/o/page-1h-5m", "api/o/page-6h-30m", "api/o/ticket-1d-2h")
    leaders = group_leaders(alerts)
    assert leaders["api/o/ticket-1d-2h"] == "api/o/page-1h-5m"
    assert leaders["web/o/ticket-3d-6h"] == "web/o/ticket-3d-6h"
