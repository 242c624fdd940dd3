"""Pure incident arithmetic: merged timelines, downtime without double counting, priority."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from slm.domain.incident import (
    ImpactInterval,
    Incident,
    MajorEvent,
    PriorityPolicy,
    PriorityRule,
    RootCause,
    TimelineEvent,
    budget_state,
    decide_priority,
    downtime_by_service,
    merge_timelines,
    proposed_exclusions,
)


def t(h: int, m: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=UTC)


def inc(iid: str, *impacts: ImpactInterval, events: tuple[TimelineEvent, ...] = ()) -> Incident:
    return Incident(iid, iid, "checkout", "P2", t(0), impacts=impacts, events=events)


PERIOD = (t(0), t(0, day=2))


def test_merged_timeline_is_ordered_and_keeps_teams() -> None:
    net = [TimelineEvent(t(10, 5), "note", "bgp flap", "network")]
    app = [TimelineEvent(t(10, 1), "note", "5xx up", "payments"), net[0]]
    merged = merge_timelines(net, app)
    assert [(e.at, e.team) for e in merged] == [(t(10, 1), "payments"), (t(10, 5), "network")]


@pytest.mark.parametrize(
    ("incidents", "expected"),
    [
        pytest.param(
            [inc("a", ImpactInterval("checkout", t(10), t(11)))], {"checkout": 60}, id="one"
        ),
        pytest.param(
            [
                inc("a", ImpactInterval("checkout", t(10), t(11))),
                inc("b", ImpactInterval("checkout", t(10, 30), t(11, 30))),
            ],
            {"checkout": 90},
            id="overlap-across-incidents",
        ),
        pytest.param(
            [
                inc(
                    "a",
                    ImpactInterval("checkout", t(10), t(12)),
                    ImpactInterval("checkout", t(10, 15), t(10, 45)),
                ),
                inc("b", ImpactInterval("checkout", t(11), t(11, 30))),
            ],
            {"checkout": 120},
            id="contained-twice",
        ),
        pytest.param(
            [
                inc("a", ImpactInterval("checkout", t(10), t(11))),
                inc("b", ImpactInterval("search", t(10), t(10, 10))),
            ],
            {"checkout": 60, "search": 10},
            id="per-service",
        ),
        pytest.param(
            [inc("a", ImpactInterval("checkout", t(23)))], {"checkout": 60}, id="open-until-end"
        ),
        pytest.param(
            [inc("a", ImpactInterval("checkout", datetime(2026, 10, 31, 23, tzinfo=UTC), t(1)))],
            {"checkout": 60},
            id="clipped-to-period",
        ),
    ],
)
def test_downtime_by_service(incidents: list[Incident], expected: dict[str, int]) -> None:
    got = downtime_by_service(incidents, PERIOD)
    assert got == {k: timedelta(minutes=v) for k, v in expected.items()}


def test_impact_end_must_follow_start() -> None:
    with pytest.raises(ValueError, match="not after"):
        ImpactInterval("checkout", t(11), t(10))


@pytest.mark.parametrize(
    ("remaining", "state"),
    [(None, "unknown"), (-0.1, "exhausted"), (0.0, "exhausted"), (0.1, "low"), (0.5, "ok")],
)
def test_budget_state(remaining: float | None, state: str) -> None:
    assert budget_state(remaining, 0.25) == state


POLICY = PriorityPolicy()
ON = MajorEvent(True, "ceo", t(9), "storm")


@pytest.mark.parametrize(
    ("criticality", "budget", "major", "expected"),
    [
        ("critical", "exhausted", None, "P1"),
        ("critical", "ok", None, "P2"),
        ("high", "exhausted", None, "P2"),
        ("high", "ok", None, "P3"),
        ("", "unknown", None, "P4"),
        ("critical", "ok", ON, "P1"),  # SLA-critical raised
        ("high", "exhausted", ON, "P2"),  # others held at P2 or below
        ("", "ok", ON, "P4"),
        ("critical", "ok", MajorEvent(False, "ceo", t(9)), "P2"),  # off again
    ],
)
def test_priority_rules(
    criticality: str, budget: str, major: MajorEvent | None, expected: str
) -> None:
    assert decide_priority(POLICY, criticality, budget, major) == expected  # type: ignore[arg-type]


def test_major_event_ranks_sla_critical_above_every_other() -> None:
    others = PriorityPolicy(rules=(PriorityRule("P1", ("high",)),), default="P3")
    assert decide_priority(others, "high", "ok", ON) == "P2"
    assert decide_priority(others, "critical", "ok", ON) == "P1"


@pytest.mark.parametrize(
    ("attribution", "category"),
    [("customer", "customer-caused"), ("force-majeure", "force-majeure"), ("provider", None)],
)
def test_root_cause_proposes_exclusions_of_merged_impact(
    attribution: str, category: str | None
) -> None:
    i = inc(
        "INC-1",
        ImpactInterval("checkout", t(10), t(11)),
        ImpactInterval("checkout", t(10, 30), t(12)),
        ImpactInterval("checkout", t(14), t(15)),
    )
    rc = RootCause("power", attribution)  # type: ignore[arg-type]
    got = proposed_exclusions(i, rc, t(20), ["acme-sla"])
    if category is None:
        assert got == []
        return
    assert [(e.start, e.duration, e.category) for e in got] == [
        (datetime(2026, 11, 1, 10), timedelta(hours=2), category),
        (datetime(2026, 11, 1, 14), timedelta(hours=1), category),
    ]
    assert all(e.approval == "pending" and not e.counts for e in got)
    assert got[0].occurrences(*PERIOD) == [(t(10), t(12))]


def test_root_cause_rejects_unknown_attribution() -> None:
    with pytest.raises(ValueError, match="attribution"):
        RootCause("x", "aliens")  # type: ignore[arg-type]
