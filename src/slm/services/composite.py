"""Composite availability of a workspace's components: designed and measured, side by side.

*Designed* availability uses each component's ``target`` (what the design promises; a
component without a target but with SLOs promises the weighted mean of its objectives'
targets, and a pure grouping without either promises 1). *Measured* availability uses what
happened: each bound SLO objective is evaluated by the engine over one common window
ending at ``at`` (default the last 30 days), the objectives of a component are rolled up
by their composite weights, and the same dependency arithmetic combines the components.
A component with no SLOs, or whose SLOs had no data, counts with its designed value in the
measured column and is listed under ``assumed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from slm.domain.composite import (
    Component,
    Node,
    WeightedComposite,
    WeightedPart,
    closure,
    component_availability,
    refs,
    weighted_composite,
)
from slm.domain.errors import DataError, SourceError
from slm.domain.model import SLO, MetricQuery, RollingWindow
from slm.domain.results import ObjectiveResult
from slm.domain.series import DEFAULT_STEP, Buckets
from slm.services.evaluate import evaluate_slo
from slm.services.ports import SourceFactory
from slm.spec.workspace import Workspace

DEFAULT_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class PartResult:
    slo: str
    objective: str
    weight: float
    target: float
    sli: float | None  # None: no data over the window


@dataclass(frozen=True)
class ComponentRow:
    component: Component
    depends_on: tuple[str, ...]  # direct dependencies
    root: bool  # no other component depends on it
    design_own: float
    design: float
    measured_own: float | None
    measured: float | None
    assumed: tuple[str, ...]  # components counted with their design value when measuring
    parts: tuple[PartResult, ...] = ()
    budget: WeightedComposite | None = None  # roll-up of the SLO objectives (Nobl9 style)


@dataclass
class CompositeReport:
    at: datetime
    window: timedelta
    rows: list[ComponentRow] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class CachedReader:
    """Reads metric queries through the factory once per (query, span)."""

    def __init__(self, ws: Workspace, factory: SourceFactory, step: timedelta):
        self.ws, self.factory, self.step = ws, factory, step
        self._memo: dict[tuple[str, datetime, datetime], Buckets] = {}

    def read(self, q: MetricQuery, start: datetime, end: datetime) -> Buckets:
        query = json.dumps([q.source, q.source_type, dict(q.spec), q.base_dir], default=str)
        key = (query, start, end)
        if key not in self._memo:
            ds = self.ws.datasources.get(q.source) if q.source else None
            self._memo[key] = self.factory.for_query(q, ds).read(q, start, end, self.step)
        return self._memo[key]


def design_own(c: Component, slos: Mapping[str, SLO]) -> float:
    """What the design promises for ``c`` on its own (see the module docstring)."""
    if c.target is not None:
        return c.target
    if c.slos:
        return weighted_composite(_parts(c, slos, {})).target
    return 1.0


def _parts(
    c: Component, slos: Mapping[str, SLO], slis: Mapping[tuple[str, str], float | None]
) -> list[WeightedPart]:
    out = []
    for b in c.slos:
        objective = next(o for o in slos[b.slo].objectives if o.name == b.objective)
        out.append(
            WeightedPart(
                f"{b.slo}/{b.objective}", b.weight, objective.target, slis.get((b.slo, b.objective))
            )
        )
    return out


def measure_objectives(
    ws: Workspace,
    bindings: Iterable[tuple[str, str]],
    at: datetime,
    factory: SourceFactory,
    window: timedelta = DEFAULT_WINDOW,
    step: timedelta = DEFAULT_STEP,
) -> tuple[dict[tuple[str, str], ObjectiveResult], list[str]]:
    """Evaluate each (SLO, objective) over ``[at - window, at)``; failures as messages."""
    reader = CachedReader(ws, factory, step)
    results: dict[tuple[str, str], ObjectiveResult] = {}
    failures: list[str] = []
    for name in sorted({slo for slo, _ in bindings}):
        slo = replace(ws.slos[name], window=RollingWindow(window))
        try:
            for r in evaluate_slo(slo, at, reader.read, step=step):
                results[(name, r.objective)] = r
        except (SourceError, DataError) as e:
            failures.append(f"SLO {name}: {e}")
        except ValueError as e:
            failures.append(f"SLO {name}: cannot evaluate: {e}")
    return results, failures


def composite_report(
    ws: Workspace,
    components: Mapping[str, Component],
    at: datetime,
    factory: SourceFactory,
    *,
    window: timedelta = DEFAULT_WINDOW,
    step: timedelta = DEFAULT_STEP,
) -> CompositeReport:
    """Designed and measured availability of every component, in name order."""
    report = CompositeReport(at=at, window=window)
    nodes = {n: c.node() for n, c in components.items()}
    bindings = [(b.slo, b.objective) for c in components.values() for b in c.slos]
    results, report.failures = measure_objectives(ws, bindings, at, factory, window, step)
    slis = {k: (r.sli if r.status == "ok" else None) for k, r in results.items()}
    designed = {n: design_own(c, ws.slos) for n, c in components.items()}
    rollups: dict[str, tuple[WeightedComposite, WeightedComposite]] = {}
    for n, c in components.items():
        if c.slos:
            parts = _parts(c, ws.slos, slis)
            rollups[n] = (
                weighted_composite(parts, c.target, "reliability"),
                weighted_composite(parts, c.target, c.aggregation),
            )
    measured_own = {n: r[0].value for n, r in rollups.items()}
    measured_or_design = {
        n: v if (v := measured_own.get(n)) is not None else designed[n] for n in components
    }
    used = {d for c in components.values() if c.depends_on for d in refs(c.depends_on)}
    for n in sorted(components):
        c = components[n]
        members = closure(n, nodes)
        assumed = tuple(m for m in members if measured_own.get(m) is None)
        all_unmeasured = len(assumed) == len(members)
        part_results = tuple(
            PartResult(b.slo, b.objective, b.weight, p.target, slis.get((b.slo, b.objective)))
            for b, p in zip(c.slos, _parts(c, ws.slos, slis), strict=True)
        )
        report.rows.append(
            ComponentRow(
                component=c,
                depends_on=tuple(dict.fromkeys(refs(c.depends_on))) if c.depends_on else (),
                root=n not in used,
                design_own=designed[n],
                design=component_availability(n, nodes, designed),
                measured_own=measured_own.get(n),
                measured=None
                if all_unmeasured
                else component_availability(n, nodes, measured_or_design),
                assumed=assumed,
                parts=part_results,
                budget=rollups[n][1] if n in rollups else None,
            )
        )
    return report


def graph_nodes(components: Mapping[str, Component]) -> dict[str, Node]:
    return {n: c.node() for n, c in components.items()}
