"""Grouped SLOs on the real Prometheus: one result per group, each equal to the same SLO
written for that group alone; never one figure summed across the groups.

The test server has counters of two instances (``b`` restarts and misses scrapes). An SLO
grouped by ``instance`` (the ``slm.dev/grouping`` annotation) must give, for
``instance="a"`` and ``instance="b"``, exactly what an ungrouped SLO whose queries select
that instance gives, through ``slm evaluate``, ``slm report`` and ``slm serve``'s
evaluation (its status and /metrics)."""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from prom_helpers import END, History

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "consistency"))

from consistency_helpers import budget_fields

from slm.services.evaluate import evaluate_workspace
from slm.services.ports import FixedClock
from slm.services.report import GROUPED, report_workspace
from slm.services.scheduler import EvaluationLoop, IsolatedSources, LoopSettings
from slm.services.status import StatusBoard
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store, open_store, upgrade

AT = END - timedelta(hours=20, minutes=3)

HEAD = """apiVersion: openslo/v1
kind: Service
metadata: {{name: web}}
spec: {{}}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: prom}}
spec:
  type: Prometheus
  connectionDetails: {{url: '{url}'}}
"""

SLO = """---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
  annotations: {annotations}
spec:
  service: web
  indicator:
    metadata: {{name: {name}}}
    spec:
      ratioMetric:
        counter: {counter}
        good:
          metricSource:
            metricSourceRef: prom
            spec: {{query: '{good}'}}
        total:
          metricSource:
            metricSourceRef: prom
            spec: {{query: '{total}'}}
  timeWindow: [{{duration: 1d, isRolling: true}}]
  budgetingMethod: {method}
  objectives: [{{displayName: ok, target: 0.99{slices}}}]
"""

GROUPED_BY = "{'slm.dev/grouping': instance}"


def _slo(name: str, grouped: bool, counter: bool, sel: str, method: str = "Occurrences") -> str:
    only = sel.lstrip(",")
    if counter:
        good, total = f'http_requests_total{{code="200"{sel}}}', f"http_requests_total{{{only}}}"
    else:
        inner = f'increase(http_requests_total{{code="200"{sel}}}[1m])'
        tot = f"increase(http_requests_total{{{only}}}[1m])"
        # grouped: the per-series expression (slm sums it by instance); alone: summed here
        good, total = (inner, tot) if grouped else (f"sum({inner})", f"sum({tot})")
    slices = ", timeSliceTarget: 0.995, timeSliceWindow: 5m" if method == "Timeslices" else ""
    return SLO.format(
        name=name,
        annotations=GROUPED_BY if grouped else "{}",
        counter=str(counter).lower(),
        good=good,
        total=total,
        method=method,
        slices=slices,
    )


def _specs(url: str) -> str:
    parts = [HEAD.format(url=url)]
    for counter in (True, False):
        kind = "counters" if counter else "increases"
        parts.append(_slo(f"by-instance-{kind}", True, counter, ""))
        for inst in ("a", "b"):
            parts.append(_slo(f"{inst}-{kind}", False, counter, f',instance="{inst}"'))
    parts.append(_slo("by-instance-slices", True, True, "", "Timeslices"))
    for inst in ("a", "b"):
        parts.append(_slo(f"{inst}-slices", False, True, f',instance="{inst}"', "Timeslices"))
    return "".join(parts)


@pytest.fixture
def ws(history: History, tmp_path: Path) -> Workspace:
    path = tmp_path / "grouped.yaml"
    path.write_text(_specs(history.url), encoding="utf-8")
    return load_workspace([path])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'serve.db'}", tmp_path)
    upgrade(s)
    yield s
    s.close()


KINDS = ("counters", "increases", "slices")


def test_evaluate_gives_one_result_per_group_equal_to_the_group_alone(ws: Workspace) -> None:
    report = evaluate_workspace(ws, AT, SourceFactory())
    assert not report.failures, report.failures
    by = {(r.slo, r.group): r for r in report.results}
    for kind in KINDS:
        groups = [g for (slo, g) in by if slo == f"by-instance-{kind}"]
        assert groups == [(("instance", "a"),), (("instance", "b"),)], kind
        for inst in ("a", "b"):
            got = by[(f"by-instance-{kind}", (("instance", inst),))]
            alone = by[(f"{inst}-{kind}", ())]
            assert alone.total >= 288 and alone.sli is not None  # a day of events or slices
            # the same figures, names and group aside
            assert replace(got, slo=alone.slo, group=()) == alone, (kind, inst)
    # the groups are not one sum: instance b had the restarts and the gap
    a = by[("by-instance-counters", (("instance", "a"),))]
    b = by[("by-instance-counters", (("instance", "b"),))]
    assert (a.good, a.total) != (b.good, b.total)


def test_report_gives_each_group_its_windows(ws: Workspace) -> None:
    windows = (timedelta(hours=1), timedelta(days=1))
    report = report_workspace(ws, AT, SourceFactory(), windows)
    assert not report.failures, report.failures
    by = {(o.slo, o.group): o for o in report.objectives}
    for inst in ("a", "b"):
        got = by[("by-instance-counters", (("instance", inst),))]
        alone = by[(f"{inst}-counters", ())]
        for g, w in zip(got.windows, alone.windows, strict=True):
            assert (g.start, g.end, g.good, g.total, g.sli) == (
                w.start,
                w.end,
                w.good,
                w.total,
                w.sli,
            )
            assert budget_fields(g.error_budget) == budget_fields(w.error_budget)
            assert g.burn_rate == w.burn_rate
            assert (g.path, g.reason) == ("buckets", GROUPED)


def test_serve_status_and_metrics_are_per_group(ws: Workspace, store: Store) -> None:
    from fastapi.testclient import TestClient

    from slm.api.app import create_app

    settings = LoopSettings()
    board = StatusBoard.of(
        ws.slos, {n: settings.default_interval for n in ws.slos}, settings.source_timeout
    )
    clock = FixedClock(AT)
    loop = EvaluationLoop(
        ws,
        IsolatedSources(SourceFactory),
        store,
        board,
        clock=clock,
        wall=clock,
        settings=settings,
        rng=random.Random(1),
    )
    name = "by-instance-counters"
    want = [r for r in evaluate_workspace(ws, AT, SourceFactory()).results if r.slo == name]
    try:
        computed = loop.compute(ws.slos[name], AT)
        assert list(computed.results) == want and len(want) == 2
        assert len(computed.provenance) == 2 and all(p["queries"] for p in computed.provenance)
        asyncio.run(loop.attempt(name))
    finally:
        loop._writer.shutdown(wait=True)
    with TestClient(create_app(board, store, clock=clock, wall=clock)) as client:
        status = client.get(f"/api/v1/slos/{name}/status").json()
        metrics = client.get("/metrics").text
    assert [(r["group"], r["sli"]) for r in status["results"]] == [
        ({"instance": i}, r.sli) for i, r in zip("ab", want, strict=True)
    ]
    for inst, r in zip("ab", want, strict=True):
        line = (
            f'slm_slo_window_total{{instance="{inst}",objective="ok",service="web",slo="{name}"}}'
        )
        assert f"{line} {r.total}" in metrics, line


def test_a_query_that_sums_the_groups_away_is_refused(history: History, tmp_path: Path) -> None:
    path = tmp_path / "summed.yaml"
    text = HEAD.format(url=history.url) + SLO.format(
        name="summed",
        annotations=GROUPED_BY,
        counter="false",
        good='sum(increase(http_requests_total{code="200"}[1m]))',
        total="sum(increase(http_requests_total[1m]))",
        method="Occurrences",
        slices="",
    )
    path.write_text(text, encoding="utf-8")
    report = evaluate_workspace(load_workspace([path]), AT, SourceFactory())
    assert not report.results
    (failure,) = report.failures
    assert failure.message.startswith("DataSource prom (Prometheus): the query ")
    assert "returns no series with the grouping label(s) instance" in failure.message
