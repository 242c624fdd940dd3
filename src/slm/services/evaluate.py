"""Evaluate every SLO objective of a workspace at an instant.

Reads each metric query once, through the one reader (``services/reading.py``), for the
span every objective of the SLO needs (its window and the longest alert window), shapes the
buckets into events per objective and hands them to the engine. A source that fails
affects only the SLOs that use it: they are reported as failures beside the results of the
rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from slm.domain.durations import format_duration
from slm.domain.errors import DataError, SourceError
from slm.domain.evaluation import evaluate_objective
from slm.domain.indicators import events_for
from slm.domain.model import SLO, AlertCatalogue, Group, Indicator, MetricQuery
from slm.domain.results import ObjectiveResult
from slm.domain.retention import StoredBuckets
from slm.domain.series import DEFAULT_STEP, Buckets, floor_to_step
from slm.domain.windows import period_length, window_bounds
from slm.services.ports import SourceFactory
from slm.services.reading import SourceReader
from slm.spec.catalogues import default_catalogue
from slm.spec.workspace import Workspace


@dataclass(frozen=True)
class Failure:
    slo: str
    message: str


@dataclass
class EvaluationReport:
    at: datetime
    results: list[ObjectiveResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def read_span(
    slo: SLO, at: datetime, longest: timedelta, step: timedelta
) -> tuple[datetime, datetime]:
    """What to read for ``slo`` at ``at``: its window and ``longest`` before the end.

    The time-slice methods count whole slices ending at the last slice boundary, so their
    windows can start up to one slice before ``end - duration``: the start is floored to
    every objective's slice grid (anchored at the epoch, as the engine's), so no slice of a
    window is cut off by the read."""
    start, end = window_bounds(slo.window, at, step)
    first = floor_to_step(min(start, end - longest), step)
    for objective in slo.objectives:
        if objective.time_slice_window is not None and objective.time_slice_window >= step:
            first = min(first, floor_to_step(first, objective.time_slice_window))
    return first, end


def _span(
    slo: SLO, at: datetime, catalogue: AlertCatalogue, step: timedelta
) -> tuple[datetime, datetime]:
    longest = max((w.long for w in catalogue.windows), default=timedelta())
    return read_span(slo, at, longest, step)


ReadGroups = Callable[[MetricQuery, tuple[str, ...], datetime, datetime], dict[Group, Buckets]]


def evaluate_slo(
    slo: SLO,
    at: datetime,
    read: Callable[[MetricQuery, datetime, datetime], Buckets],
    catalogue: AlertCatalogue | None = None,
    step: timedelta = DEFAULT_STEP,
    *,
    read_groups: ReadGroups | None = None,
) -> list[ObjectiveResult]:
    """One result per objective; for a grouped SLO one per objective and group (in group
    order), read through ``read_groups``."""
    cat = catalogue or default_catalogue(period_length(slo.window, at, step))
    start, end = _span(slo, at, cat, step)
    results = []
    for objective in slo.objectives:
        indicator = slo.indicator_for(objective)
        if slo.grouping:
            if read_groups is None:
                raise DataError(ungrouped_use(slo, "this use"))
            for group, buckets in grouped_buckets(slo, indicator, read_groups, start, end, step):
                events = events_for(indicator, objective, buckets)
                result = evaluate_objective(slo, objective, events, at, cat)
                notes = rollup_notes(buckets.values())
                results.append(replace(result, notes=notes, group=group))
            continue
        buckets = {role: read(q, start, end) for role, q in indicator.queries().items()}
        events = events_for(indicator, objective, buckets)
        result = evaluate_objective(slo, objective, events, at, cat)
        notes = rollup_notes(buckets.values())
        results.append(replace(result, notes=notes) if notes else result)
    return results


def grouped_buckets(
    slo: SLO,
    indicator: Indicator,
    read_groups: ReadGroups,
    start: datetime,
    end: datetime,
    step: timedelta,
) -> list[tuple[Group, dict[str, Buckets]]]:
    """Each group's buckets by role, for every group any role's query returned; a role
    with no series for a group has no data there (as a query without series)."""
    by_role = {
        role: read_groups(q, slo.grouping, start, end) for role, q in indicator.queries().items()
    }
    groups = sorted({g for found in by_role.values() for g in found})
    empty = Buckets.empty(start, end, step)
    return [(g, {role: found.get(g, empty) for role, found in by_role.items()}) for g in groups]


def ungrouped_use(slo: SLO, what: str) -> str:
    """Why a grouped SLO is refused where results are not computed per group."""
    return (
        f"SLO {slo.name} is grouped by {', '.join(slo.grouping)}: {what} does not compute "
        "per-group figures yet, and a sum across the groups would not be any group's figure "
        "(evaluate, report and serve compute them per group)"
    )


def rollup_notes(buckets: Iterable[Buckets]) -> tuple[str, ...]:
    """Say so when retention roll-ups stood in for removed buckets (docs/retention.md)."""
    resolutions = [b.resolution for b in buckets if isinstance(b, StoredBuckets) and b.from_rollups]
    if not resolutions:
        return ()
    coarsest = format_duration(max(resolutions))
    return (f"computed from {coarsest} roll-ups: finer buckets were removed by retention",)


def evaluate_workspace(
    ws: Workspace,
    at: datetime,
    factory: SourceFactory,
    *,
    catalogue: AlertCatalogue | None = None,
    names: Iterable[str] | None = None,
    step: timedelta = DEFAULT_STEP,
) -> EvaluationReport:
    """Results for every objective of every SLO (or of ``names``), in name order."""
    report = EvaluationReport(at=at)
    reader = SourceReader(ws, factory, step)
    wanted = sorted(ws.slos) if names is None else list(names)
    for name in wanted:
        slo = ws.slos[name]
        try:
            report.results.extend(
                evaluate_slo(slo, at, reader.read, catalogue, step, read_groups=reader.read_groups)
            )
        except (SourceError, DataError) as e:
            report.failures.append(Failure(slo.name, str(e)))
        except ValueError as e:  # mis-shaped data caught by the engine
            report.failures.append(Failure(slo.name, f"cannot evaluate: {e}"))
    return report


def queries(ws: Workspace) -> Iterable[MetricQuery]:
    """Every metric query the workspace's SLOs use."""
    for slo in ws.slos.values():
        for objective in slo.objectives:
            yield from slo.indicator_for(objective).queries().values()


def source_types(ws: Workspace) -> set[str]:
    """Lower-cased adapter types the workspace needs (``file``, ``store`` ...)."""
    types = set()
    for q in queries(ws):
        ds = ws.datasources.get(q.source) if q.source else None
        types.add((ds.type if ds is not None else q.source_type).lower())
    return types
