"""A failing post-evaluation hook never stops the evaluation loop: it is logged with the
SLO's name and counted (``slm_slo_hook_failures_total``), the later hooks and the other
SLOs still run, and so does the next tick. Real store, real AlertService and
IncidentService; the data comes from the in-memory fake source."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from serve_helpers import SERVICE
from sqlalchemy.engine import Connection

from slm.api.metrics import StatusCollector
from slm.domain.alert_state import AlertStatus
from slm.domain.series import Buckets
from slm.services.alerting import AlertService
from slm.services.incidents import IncidentChange, IncidentService
from slm.services.ports import FixedClock
from slm.services.scheduler import (
    AlertPipeline,
    Computed,
    EvaluationLoop,
    LoopSettings,
    evaluation_intervals,
)
from slm.services.status import StatusBoard
from slm.sources.fake import FakeSource, FakeSourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store

AT = datetime(2026, 11, 1, tzinfo=UTC)
NAMES = ("api-availability", "api-latency", "api-search")
BROKEN = "api-latency"

SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: api
  indicator:
    metadata:
      name: {name}-success
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource:
            type: Store
            spec:
              series: {name}_good
        total:
          metricSource:
            type: Store
            spec:
              series: {name}_total
  timeWindow:
    - duration: 1d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Requests succeed
      target: 0.99
"""


def burning_series() -> dict[str, Buckets]:
    """Every SLO at a 50% error ratio for 3 days: burn rate 50, every page row fires."""
    start, n = AT - timedelta(days=3), 3 * 1440
    present = np.ones(n, dtype=bool)
    out = {}
    for name in NAMES:
        out[f"{name}_total"] = Buckets(start, timedelta(minutes=1), np.full(n, 10.0), present)
        out[f"{name}_good"] = Buckets(start, timedelta(minutes=1), np.full(n, 5.0), present)
    return out


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    (tmp_path / "service.yaml").write_text(SERVICE.format(service="api"))
    for name in NAMES:
        (tmp_path / f"{name}.yaml").write_text(SLO.format(name=name))
    return load_workspace([tmp_path])


class RaisesOn:
    """A hook that fails after evaluations of one SLO and records every call."""

    name = "raises-on-one"

    def __init__(self, slo: str):
        self.slo = slo
        self.calls: list[str] = []

    def __call__(self, c: Computed) -> None:
        self.calls.append(c.slo)
        if c.slo == self.slo:
            raise RuntimeError(f"hook broke on {c.slo}")


class FailingListener:
    """An incident ChangeListener (a webhook plug-in) that fails for one SLO's incidents
    (``times`` times, or always)."""

    def __init__(self, slo: str, times: int | None = None):
        self.slo = slo
        self.left = times

    def incident_changed(self, connection: Connection, change: IncidentChange) -> None:
        mine = change.incident is not None and change.incident.slo == self.slo
        if mine and (self.left is None or self.left > 0):
            self.left = None if self.left is None else self.left - 1
            raise ConnectionError("ITSM webhook unreachable")


def make_loop(ws: Workspace, store: Store, hooks: list[object]) -> EvaluationLoop:
    s = LoopSettings(default_interval=timedelta(seconds=1))
    board = StatusBoard.of(ws.slos, evaluation_intervals(ws, s.default_interval), s.source_timeout)
    return EvaluationLoop(
        ws,
        FakeSourceFactory(FakeSource(burning_series())),
        store,
        board,
        clock=FixedClock(AT),
        settings=s,
        rng=random.Random(3),
        hooks=hooks,  # type: ignore[arg-type]
    )


async def two_ticks(loop: EvaluationLoop) -> None:
    await loop.tick()
    await loop.drain()
    for name in NAMES:  # make every SLO due again: the next tick
        loop._due[name] = 0.0
    await loop.tick()
    await loop.drain()


def metrics_text(board: StatusBoard) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(board, FixedClock(AT), FixedClock(AT)))
    return generate_latest(registry).decode()


def test_a_hook_failing_on_one_slo_stops_neither_the_others_nor_the_next_tick(
    ws: Workspace, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    raising = RaisesOn(BROKEN)
    alerts = AlertService(store, ws)
    loop = make_loop(ws, store, [raising, AlertPipeline(alerts, None, None)])
    with caplog.at_level(logging.ERROR, logger="slm.serve"):
        asyncio.run(two_ticks(loop))

    # every SLO was evaluated on both ticks, and the hook was called each time
    for name in NAMES:
        state = loop.board.get(name)
        assert state is not None
        assert (state.successes, state.failures, state.error) == (2, 0, None), name
    assert sorted(raising.calls) == sorted(NAMES * 2)

    # the alert pipeline after the failing hook still ran: every SLO's page fires
    firing = {a.slo for a in alerts.alerts(statuses=[AlertStatus.FIRING]) if a.severity == "page"}
    assert firing == set(NAMES)

    # counted per SLO and hook, logged with the SLO's name
    broken = loop.board.get(BROKEN)
    assert broken is not None and dict(broken.hook_failures) == {"raises-on-one": 2}
    assert all(dict(s.hook_failures) == {} for s in loop.board.snapshot() if s.name != BROKEN)
    failed = [r for r in caplog.records if "post-evaluation hook raises-on-one failed" in r.message]
    assert [r.getMessage().split(":")[0] for r in failed] == [f"SLO {BROKEN}"] * 2
    assert all(r.exc_info is not None for r in failed)  # with the traceback

    text = metrics_text(loop.board)
    assert (
        f'slm_slo_hook_failures_total{{hook="raises-on-one",service="api",slo="{BROKEN}"}} 2.0'
        in text
    )
    assert text.count("slm_slo_hook_failures_total{") == 1


def test_a_failing_pipeline_step_is_counted_by_step_and_the_others_run(
    ws: Workspace, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = AlertService(store, ws)
    incidents = IncidentService(store, ws, listeners=[FailingListener(BROKEN)])
    loop = make_loop(ws, store, [AlertPipeline(alerts, None, incidents)])
    with caplog.at_level(logging.ERROR, logger="slm.serve"):
        asyncio.run(two_ticks(loop))

    # the incidents step failed (and rolled back) for one SLO only; the others opened theirs
    opened = {i.slo for i in incidents.find(status="open")}
    assert opened == set(NAMES) - {BROKEN}
    # the alert step of the broken SLO still ran: its page fires
    assert BROKEN in {a.slo for a in alerts.alerts(statuses=[AlertStatus.FIRING])}
    broken = loop.board.get(BROKEN)
    assert broken is not None and broken.successes == 2
    # the first tick's transitions failed; the second tick applied them again, and failed
    assert dict(broken.hook_failures) == {"incidents": 2}
    assert any(
        r.getMessage() == f"SLO {BROKEN}: post-evaluation hook alert-pipeline: "
        "failed step(s): incidents"
        for r in caplog.records
    )
    assert any(
        r.getMessage().startswith(f"SLO {BROKEN}: updating incidents failed; ")
        for r in caplog.records
    )
    text = metrics_text(loop.board)
    assert f'slm_slo_hook_failures_total{{hook="incidents",service="api",slo="{BROKEN}"}} 2.0' in (
        text
    )


def test_transitions_whose_incidents_step_failed_are_applied_at_the_next_evaluation(
    ws: Workspace, store: Store
) -> None:
    """The page fires at the first tick while the ITSM plug-in is down (the incidents step
    rolls back); the second tick has no new transition, yet opens the incident from the
    kept ones, with the alert's time and its timeline event."""
    alerts = AlertService(store, ws)
    incidents = IncidentService(store, ws, listeners=[FailingListener(BROKEN, times=1)])
    loop = make_loop(ws, store, [AlertPipeline(alerts, None, incidents)])
    asyncio.run(two_ticks(loop))
    assert {i.slo for i in incidents.find(status="open")} == set(NAMES)
    [opened] = [i for i in incidents.find(status="open") if i.slo == BROKEN]
    assert opened.opened_at == AT
    assert any(e.kind == "alert" and "-> firing" in e.text for e in opened.events)
    broken = loop.board.get(BROKEN)
    assert broken is not None and dict(broken.hook_failures) == {"incidents": 1}
