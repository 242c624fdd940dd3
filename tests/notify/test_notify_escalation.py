"""Which escalation levels fire, and how often: the pure rules of slm.domain.escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from notify_helpers import result, transition

from slm.domain.alert_state import AlertStatus
from slm.domain.escalation import (
    AlertTrigger,
    BudgetTrigger,
    EscalationLevel,
    EscalationPolicy,
    LevelState,
    Recipient,
    RetryPolicy,
    StateKey,
    alert_firings,
    budget_firings,
    firings,
)

TEAM = (Recipient("team", "chat"),)


def level(n: int, *, budget: float | None = None, alert: tuple[str, ...] = (), resolve=False):  # type: ignore[no-untyped-def]
    return EscalationLevel(
        n,
        f"l{n}",
        TEAM,
        "internal-update",
        budget=BudgetTrigger(budget) if budget is not None else None,
        alert=AlertTrigger(alert, resolve) if alert else None,
    )


POLICY = EscalationPolicy(
    "p",
    (
        level(1, budget=50),
        level(2, budget=75),
        level(3, budget=100),
        level(4, alert=("page",), resolve=True),
        level(5, alert=("ticket",)),
    ),
)


def run(results: list[float], *, calendar: bool = False) -> list[list[int]]:
    """Levels fired at each successive evaluation with the given consumed ratios."""
    states: dict[StateKey, LevelState] = {}
    fired = []
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i, consumed in enumerate(results):
        r = result(
            consumed,
            at=start + timedelta(hours=i),
            calendar_start=start if calendar else None,
        )
        f, changed = budget_firings(POLICY, r, states)
        states.update(changed)
        fired.append([x.level.number for x in f])
    return fired


@pytest.mark.parametrize(
    ("consumed", "expected"),
    [
        pytest.param([0.1, 0.49999], [[], []], id="below-50-nothing"),
        pytest.param([0.5], [[1]], id="exactly-50-fires-level-1"),
        pytest.param([0.6, 0.7, 0.8], [[1], [], [2]], id="each-level-once-as-it-is-crossed"),
        pytest.param([1.3], [[1, 2, 3]], id="a-jump-fires-every-crossed-level"),
        pytest.param([0.8, 0.8, 0.8, 0.8], [[1, 2], [], [], []], id="no-repeat-while-above"),
    ],
)
def test_budget_levels_fire_once_when_crossed(
    consumed: list[float], expected: list[list[int]]
) -> None:
    assert run(consumed) == expected


def test_rolling_window_rearms_only_below_the_hysteresis() -> None:
    # 0.9 x 50% = 45%: dipping to 46% does not re-arm level 1, 44% does
    assert run([0.55, 0.46, 0.55, 0.44, 0.55]) == [[1], [], [], [], [1]]


def test_calendar_window_fires_once_per_period_even_after_a_dip() -> None:
    assert run([0.55, 0.2, 0.55], calendar=True) == [[1], [], []]


def test_calendar_window_fires_again_in_the_next_period() -> None:
    nov, dec = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    states: dict[StateKey, LevelState] = {}
    keys = []
    for start in (nov, nov, dec):
        f, changed = budget_firings(POLICY, result(0.6, calendar_start=start), states)
        states.update(changed)
        keys += [x.dedup_key for x in f]
    assert keys == [
        "budget/p/checkout-availability/default/L1/2026-11-01T00:00:00Z/1",
        "budget/p/checkout-availability/default/L1/2026-12-01T00:00:00Z/1",
    ]


def test_rolling_dedup_keys_count_episodes() -> None:
    states: dict[StateKey, LevelState] = {}
    keys = []
    for consumed in (0.6, 0.1, 0.6):
        f, changed = budget_firings(POLICY, result(consumed), states)
        states.update(changed)
        keys += [x.dedup_key for x in f]
    assert keys == [
        "budget/p/checkout-availability/default/L1/rolling/1",
        "budget/p/checkout-availability/default/L1/rolling/2",
    ]


def test_no_data_neither_fires_nor_rearms() -> None:
    states: dict[StateKey, LevelState] = {}
    f, changed = budget_firings(POLICY, result(0.9, no_data=True), states)
    assert f == [] and all(s.armed for s in changed.values())
    f, changed = budget_firings(POLICY, result(0.6), {})
    states.update(changed)
    f, changed = budget_firings(POLICY, result(0.0, no_data=True), states)
    assert changed == {}


def test_policy_selector_limits_the_slos() -> None:
    only = EscalationPolicy("only", (level(1, budget=50),), services=("payments",))
    assert budget_firings(only, result(0.9), {}) == ([], {})
    assert len(budget_firings(only, result(0.9, service="payments"), {})[0]) == 1


@pytest.mark.parametrize(
    ("status", "severity", "levels"),
    [
        pytest.param(AlertStatus.FIRING, "page", [4], id="page-firing"),
        pytest.param(AlertStatus.RESOLVED, "page", [4], id="page-resolved-when-asked"),
        pytest.param(AlertStatus.FIRING, "ticket", [5], id="ticket-firing"),
        pytest.param(AlertStatus.RESOLVED, "ticket", [], id="ticket-resolved-not-asked"),
        pytest.param(AlertStatus.PENDING, "page", [], id="pending-sends-nothing"),
        pytest.param(AlertStatus.FIRING, "PAGE", [4], id="severity-case-insensitive"),
    ],
)
def test_alert_levels(status: AlertStatus, severity: str, levels: list[int]) -> None:
    t = transition(status, severity=severity)
    assert [f.level.number for f in alert_firings(POLICY, t)] == levels


def test_alert_levels_fire_once_per_episode_and_status() -> None:
    keys = {
        f.dedup_key
        for t in (
            transition(AlertStatus.FIRING, episode=1),
            transition(AlertStatus.FIRING, episode=1),  # a replayed transition
            transition(AlertStatus.RESOLVED, episode=1),
            transition(AlertStatus.FIRING, episode=2),
        )
        for f in alert_firings(POLICY, t)
    }
    assert keys == {
        "alert/p/L4/checkout-availability/default/page-1h-5m/1/firing",
        "alert/p/L4/checkout-availability/default/page-1h-5m/1/resolved",
        "alert/p/L4/checkout-availability/default/page-1h-5m/2/firing",
    }


def test_a_grouped_transition_rides_on_its_leader() -> None:
    grouped = transition(AlertStatus.FIRING, severity="ticket", leader="other/alert/key")
    assert grouped.grouped
    assert alert_firings(POLICY, grouped) == []


def test_firings_joins_alert_transitions_to_their_result() -> None:
    r = result(0.2)
    fired, _ = firings([POLICY], [r], [transition(AlertStatus.FIRING)], {})
    assert [(f.trigger, f.level.number) for f in fired] == [("alert", 4)]
    assert fired[0].result is r
    assert fired[0].budget_consumed == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("failed", "rand", "seconds"),
    [
        pytest.param(1, 0.0, 30, id="first-retry-initial"),
        pytest.param(2, 0.0, 60, id="doubles"),
        pytest.param(4, 0.0, 240, id="doubles-again"),
        pytest.param(20, 0.0, 3600, id="capped-at-max"),
        pytest.param(500, 0.0, 3600, id="huge-attempt-no-overflow"),
        pytest.param(1, 0.5, 27, id="jitter-shortens-by-up-to-20pct"),
        pytest.param(2, 0.999999, 48.00001, id="jitter-lower-bound"),
    ],
)
def test_backoff(failed: int, rand: float, seconds: float) -> None:
    got = RetryPolicy().backoff(failed, rand).total_seconds()
    assert got == pytest.approx(seconds, rel=1e-6)


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.0)
    with pytest.raises(ValueError, match="exactly one"):
        EscalationLevel(1, "x", TEAM, "t")
