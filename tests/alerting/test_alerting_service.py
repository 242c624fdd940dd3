"""AlertService on a real store (SQLite and PostgreSQL): transitions, persistence across a
restart, deduplication, grouping and OpenSLO alert policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from slm.domain.alert_state import AlertStatus, AlertTransition
from slm.domain.errors import SpecError
from slm.domain.evaluation import evaluate_objective
from slm.domain.model import (
    SLO,
    BudgetingMethod,
    Indicator,
    MetricQuery,
    Objective,
    Origin,
    RatioMetric,
    RollingWindow,
)
from slm.domain.series import EventSeries
from slm.services.alerting import AlertService, transition_view
from slm.services.evaluate import evaluate_workspace
from slm.services.ports import FixedClock
from slm.sources.factory import SourceFactory
from slm.spec.catalogues import default_catalogue
from slm.spec.loader import load_workspace
from slm.spec.workspace import AlertCondition, AlertPolicy, Workspace
from slm.store.alerts import AlertRepository
from slm.store.db import Store

MIN = timedelta(minutes=1)
OUTAGE = datetime(2026, 10, 14, 13, 0, tzinfo=UTC)  # checkout errors until 13:45
SLO_NAME = "checkout-availability"
F, R = AlertStatus.FIRING, AlertStatus.RESOLVED


@pytest.fixture(scope="module")
def examples_ws(examples_dir: Path) -> Workspace:
    return load_workspace([examples_dir])


def check(service: AlertService, ws: Workspace, at: datetime) -> list[AlertTransition]:
    report = evaluate_workspace(ws, at, SourceFactory(), names=[SLO_NAME])
    return service.process(report.results, at)


def moves(transitions: list[AlertTransition]) -> list[tuple[str, str, str]]:
    return [(t.rule, t.from_status.value, t.to_status.value) for t in transitions]


def test_the_checkout_outage_fires_groups_and_resolves(
    store: Store, examples_ws: Workspace
) -> None:
    service = AlertService(store, examples_ws, clock=FixedClock(OUTAGE))
    assert check(service, examples_ws, OUTAGE + 2 * MIN) == []
    fired = check(service, examples_ws, OUTAGE + 3 * MIN)
    assert moves(fired) == [("page-1h-5m", "inactive", "firing")]
    (page,) = fired
    assert page.key == f"{SLO_NAME}/Requests succeed/page-1h-5m"
    assert (page.group, page.leader, page.grouped) == (
        "checkout/checkout-availability",
        page.key,
        False,
    )
    assert page.burn_rates["1h"] is not None and page.burn_rates["1h"] > page.thresholds["1h"]

    later = check(service, examples_ws, OUTAGE + 10 * MIN)
    assert {t.rule for t in later} == {"page-6h-30m", "ticket-1d-2h", "ticket-3d-6h"}
    for t in later:  # the first page leads the SLO's group: the others ride along
        assert t.leader == page.key
        assert t.grouped
    assert check(service, examples_ws, OUTAGE + 11 * MIN) == []  # deduplicated

    view = transition_view(later[0])
    assert view["grouped"] is True and view["to"] == "firing"

    resolved = check(service, examples_ws, OUTAGE + 60 * MIN)
    assert ("page-1h-5m", "firing", "resolved") in moves(resolved)
    with store.transaction() as repos:
        repo = AlertRepository(repos.connection)
        log = repo.events(slo=SLO_NAME)
        states = {a.rule: a.record.status for a in repo.all()}
    assert [(t.rule, t.to_status) for t in log] == [
        (t.rule, t.to_status) for t in fired + later + resolved
    ]
    assert states["page-1h-5m"] is R
    assert len(states) == 4  # one row per alert key, however often it was evaluated


def test_a_restart_neither_re_fires_nor_forgets(store: Store, examples_ws: Workspace) -> None:
    first = AlertService(store, examples_ws)
    assert len(check(first, examples_ws, OUTAGE + 10 * MIN)) == 4
    restarted = AlertService(store, examples_ws)
    assert check(restarted, examples_ws, OUTAGE + 10 * MIN) == []  # replayed evaluation
    assert check(restarted, examples_ws, OUTAGE + 11 * MIN) == []  # still firing: no re-fire
    assert check(restarted, examples_ws, OUTAGE + 5 * MIN) == []  # late, out of order
    firing = restarted.alerts(statuses=[F])
    assert {a.rule for a in firing} == {"page-1h-5m", "page-6h-30m", "ticket-1d-2h", "ticket-3d-6h"}
    (group,) = restarted.groups()
    assert group.severity == "page" and len(group.members) == 4
    resolved = check(restarted, examples_ws, OUTAGE + 3 * 60 * MIN)
    assert ("page-1h-5m", "firing", "resolved") in moves(resolved)


# --- OpenSLO alert policies ------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_Q = MetricQuery(None, "File", {})
WORKBOOK = default_catalogue(timedelta(days=30))  # what AlertService checks windows against


def policy_ws(lookback: timedelta = timedelta(hours=1)) -> Workspace:
    condition = AlertCondition(
        "fast-burn", "page", "gt", 14.4, lookback, alert_after=5 * MIN,
        origin=Origin("policies.yaml", 12, "openslo/v1", "AlertCondition"),
    )  # fmt: skip
    policy = AlertPolicy("fast", ("fast-burn",), ())
    slo = SLO(
        "api",
        "svc",
        Indicator("i", ratio=RatioMetric(total=_Q, good=_Q)),
        RollingWindow(timedelta(days=30)),
        BudgetingMethod.OCCURRENCES,
        (Objective("o", 0.999),),
        alert_policies=("fast",),
    )
    return Workspace(
        slos={"api": slo},
        alert_policies={"fast": policy},
        alert_conditions={"fast-burn": condition},
    )


def test_an_openslo_condition_is_pending_for_alert_after(store: Store) -> None:
    ws = policy_ws()
    n = 3 * 60
    total = np.full(n, 1000.0)
    bad = np.where(np.arange(n) >= 60, 1000.0, 0.0)  # a total outage from minute 60
    events = EventSeries(T0, MIN, total - bad, total, np.ones(n, dtype=bool))
    slo = ws.slos["api"]
    service = AlertService(store, ws)
    seen = []
    for minute in range(58, 70):
        at = T0 + minute * MIN
        result = evaluate_objective(slo, slo.objectives[0], events, at, WORKBOOK)
        seen += [
            (minute, t.from_status.value, t.to_status.value) for t in service.process([result], at)
        ]
    # 1h burn > 14.4 once a single bad minute is in the window (1000 x 1/60 = 16.7),
    # then pending for alertAfter 5m
    assert seen == [(61, "inactive", "pending"), (66, "pending", "firing")]
    (alert,) = service.alerts()
    assert alert.key == "api/o/fast/fast-burn"
    assert (alert.policy, alert.severity) == ("fast", "page")


def test_a_lookback_window_that_is_not_evaluated_is_a_spec_error(store: Store) -> None:
    with pytest.raises(SpecError) as info:
        AlertService(store, policy_ws(timedelta(minutes=90)))
    (problem,) = info.value.problems
    assert str(problem).startswith(
        "policies.yaml:12: AlertCondition/fast-burn: spec.condition.lookbackWindow: "
        "lookbackWindow 1h30m (used by SLO api) is not a window slm evaluates"
    )
