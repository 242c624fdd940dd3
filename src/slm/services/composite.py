"""Composite availability of a workspace's components: designed and measured, side by side.

*Designed* availability uses each component's ``target`` (what the design promises; a
component without a target but with SLOs promises the weighted mean of their objectives'
targets, and a pure grouping without either promises 1) and the dependency formulas, as if
the parts failed independently.

*Measured* availability uses what happened, over one common window ending at ``at``
(default the last 30 days):

- a component's *own* measured availability is its bound SLO objectives evaluated by the
  engine over the window and rolled up by their composite weights (the SLOs' own
  counting: events, or slices);
- its *composite* measured availability is computed minute by minute
  (``slm.domain.composite_minutes``): each measured component's up fraction per minute
  (good / total events of its objectives in that minute, weighted) goes through the
  dependency arithmetic in that minute, and the window figure is the mean over the
  minutes in which every measured part had data (``coverage``). Outages that coincide or
  not are counted as they happened, which window-level availabilities cannot do.

A component with no SLOs, or whose SLOs had no data, counts with its designed value in the
measured column and is listed under ``assumed``.
"""

from __future__ import annotations

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
    expand,
    own,
    refs,
    weighted_composite,
)
from slm.domain.composite_minutes import (
    MinuteSeries,
    measured_composite,
    weighted_minutes,
)
from slm.domain.errors import DataError, SourceError
from slm.domain.indicators import events_for
from slm.domain.model import SLO, RollingWindow
from slm.domain.results import ObjectiveResult
from slm.domain.series import DEFAULT_STEP
from slm.domain.windows import window_bounds
from slm.services.evaluate import evaluate_slo, ungrouped_use
from slm.services.ports import SourceFactory
from slm.services.reading import SourceReader
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
    measured_own: float | None  # the SLO roll-up over the window (the engine's SLIs)
    measured: float | None  # per minute through the graph, mean over minutes with data
    assumed: tuple[str, ...]  # components counted with their design value when measuring
    measured_minutes: int = 0  # minutes that counted toward ``measured``
    measured_coverage: float | None = None  # their share of the window (None: unmeasured)
    parts: tuple[PartResult, ...] = ()
    budget: WeightedComposite | None = None  # roll-up of the SLO objectives (Nobl9 style)


@dataclass
class CompositeReport:
    at: datetime
    window: timedelta
    rows: list[ComponentRow] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


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


@dataclass
class Measurements:
    """What the bound SLO objectives measured over the common window."""

    start: datetime
    end: datetime
    step: timedelta
    results: dict[tuple[str, str], ObjectiveResult] = field(default_factory=dict)
    minutes: dict[tuple[str, str], MinuteSeries] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def window_minutes(self) -> int:
        return int((self.end - self.start) // self.step)


def measure_objectives(
    ws: Workspace,
    bindings: Iterable[tuple[str, str]],
    at: datetime,
    factory: SourceFactory,
    window: timedelta = DEFAULT_WINDOW,
    step: timedelta = DEFAULT_STEP,
) -> Measurements:
    """Evaluate each (SLO, objective) over ``[at - window, at)`` and take its up fraction
    per bucket over the same span; a failing SLO is a message, not an exception."""
    reader = SourceReader(ws, factory, step)
    start, end = window_bounds(RollingWindow(window), at, step)
    out = Measurements(start, end, step)
    wanted = set(bindings)
    for name in sorted({slo for slo, _ in wanted}):
        slo = replace(ws.slos[name], window=RollingWindow(window))
        if slo.grouping:
            out.failures.append(f"SLO {name}: {ungrouped_use(slo, 'a composite')}")
            continue
        try:
            for r in evaluate_slo(slo, at, reader.read, step=step):
                out.results[(name, r.objective)] = r
            for objective in slo.objectives:
                if (name, objective.name) in wanted:
                    indicator = slo.indicator_for(objective)
                    buckets = {
                        role: reader.read(q, start, end) for role, q in indicator.queries().items()
                    }
                    events = events_for(indicator, objective, buckets)
                    out.minutes[(name, objective.name)] = MinuteSeries.of_events(events)
        except (SourceError, DataError) as e:
            out.failures.append(f"SLO {name}: {e}")
        except ValueError as e:
            out.failures.append(f"SLO {name}: cannot evaluate: {e}")
    return out


def own_minutes(c: Component, measured: Measurements) -> MinuteSeries | None:
    """``c``'s own up fraction per minute (its objectives weighted); ``None``: no data."""
    parts = [
        (b.weight, measured.minutes[(b.slo, b.objective)])
        for b in c.slos
        if (b.slo, b.objective) in measured.minutes
    ]
    if not parts:
        return None
    series = weighted_minutes(parts)
    return series if series.present.any() else None


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
    measured = measure_objectives(ws, bindings, at, factory, window, step)
    report.failures = measured.failures
    slis = {k: (r.sli if r.status == "ok" else None) for k, r in measured.results.items()}
    designed = {n: design_own(c, ws.slos) for n, c in components.items()}
    rollups: dict[str, tuple[WeightedComposite, WeightedComposite]] = {}
    for n, c in components.items():
        if c.slos:
            parts = _parts(c, ws.slos, slis)
            rollups[n] = (
                weighted_composite(parts, c.target, "reliability"),
                weighted_composite(parts, c.target, c.aggregation),
            )
    minutes = {n: m for n, c in components.items() if (m := own_minutes(c, measured)) is not None}
    per_minute: dict[str, MinuteSeries | float] = {
        own(n): minutes.get(n, designed[n]) for n in components
    }
    used = {d for c in components.values() if c.depends_on for d in refs(c.depends_on)}
    for n in sorted(components):
        c = components[n]
        assumed = tuple(m for m in closure(n, nodes) if m not in minutes)
        composite = measured_composite(expand(n, nodes), per_minute, measured.window_minutes)
        report.rows.append(
            ComponentRow(
                component=c,
                depends_on=tuple(dict.fromkeys(refs(c.depends_on))) if c.depends_on else (),
                root=n not in used,
                design_own=designed[n],
                design=component_availability(n, nodes, designed),
                measured_own=rollups[n][0].value if n in rollups else None,
                measured=composite.value,
                assumed=assumed,
                measured_minutes=composite.minutes,
                measured_coverage=None if composite.value is None else composite.coverage,
                parts=_part_results(c, ws.slos, slis),
                budget=rollups[n][1] if n in rollups else None,
            )
        )
    return report


def _part_results(
    c: Component, slos: Mapping[str, SLO], slis: Mapping[tuple[str, str], float | None]
) -> tuple[PartResult, ...]:
    return tuple(
        PartResult(b.slo, b.objective, b.weight, p.target, slis.get((b.slo, b.objective)))
        for b, p in zip(c.slos, _parts(c, slos, slis), strict=True)
    )


def graph_nodes(components: Mapping[str, Component]) -> dict[str, Node]:
    return {n: c.node() for n, c in components.items()}
