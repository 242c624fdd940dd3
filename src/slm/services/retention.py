"""Applying retention policies to the store (``slm retention apply``).

Every series of the store is matched against the workspace's ``RetentionPolicy`` objects
(by name pattern, or by service through the SLOs that read the series from the store);
a series no policy selects is left alone, one that two policies select is an error. For
each selected series the policy's steps run finest first: roll the rows past the tier's
``keep`` up into the next tier, seal those roll-ups, delete the rows -- except rows that a
``LegalHold`` of the series covers. Everything happens in one transaction: a failure
leaves the store as it was, and a second run at the same instant changes nothing. A dry
run does the same work and rolls it back, so its numbers are exactly what a real run does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slm.domain.durations import format_duration
from slm.domain.errors import NotFoundError, Problem, SpecError
from slm.domain.retention import (
    LegalHold,
    RetentionPolicy,
    Step,
    holds_for,
    plan,
    policy_for,
)
from slm.services.ports import Clock, SystemClock
from slm.services.views import iso
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.retention import RetentionRepository

POLICY_KEY = ("slm/v1", "RetentionPolicy")
HOLD_KEY = ("slm/v1", "LegalHold")


@dataclass(frozen=True)
class StepReport:
    resolution: str  # of the rows the step deletes: "stored" or e.g. "1h"
    into: str | None  # the roll-up resolution, None when old rows expire
    before: datetime
    new_rollups: int
    deleted: int
    held: int


@dataclass
class SeriesReport:
    series: str
    policy: str
    holds: tuple[str, ...]
    steps: list[StepReport] = field(default_factory=list)
    deleted_bytes: int = 0
    rollup_bytes: int = 0

    @property
    def deleted(self) -> int:
        return sum(s.deleted for s in self.steps)

    @property
    def new_rollups(self) -> int:
        return sum(s.new_rollups for s in self.steps)

    @property
    def held(self) -> int:
        return sum(s.held for s in self.steps)


@dataclass
class RetentionReport:
    at: datetime
    dry_run: bool
    dialect: str
    series: list[SeriesReport] = field(default_factory=list)
    unselected: list[str] = field(default_factory=list)  # series no policy selects
    idle_holds: list[str] = field(default_factory=list)  # holds that select no series
    run_id: int | None = None

    @property
    def deleted(self) -> int:
        return sum(s.deleted for s in self.series)

    @property
    def new_rollups(self) -> int:
        return sum(s.new_rollups for s in self.series)

    @property
    def held(self) -> int:
        return sum(s.held for s in self.series)

    @property
    def bytes_freed(self) -> int:
        """Estimated bytes made reusable: deleted rows minus the roll-ups written."""
        return sum(s.deleted_bytes - s.rollup_bytes for s in self.series)


class _DryRun(Exception):  # control flow, never escapes this module
    """Raised inside the transaction of a dry run to roll it back."""


def retention_objects(ws: Workspace) -> tuple[list[RetentionPolicy], list[LegalHold]]:
    policies = [p for p in ws.objects.get(POLICY_KEY, {}).values()]
    holds = [h for h in ws.objects.get(HOLD_KEY, {}).values()]
    return sorted(policies, key=lambda p: p.name), sorted(holds, key=lambda h: h.name)


def require_policies(ws: Workspace) -> None:
    """Raise ``NotFoundError`` when the workspace holds no ``RetentionPolicy``."""
    if not ws.objects.get(POLICY_KEY):
        raise NotFoundError("no RetentionPolicy in the given specs: nothing to apply")


def store_series_services(ws: Workspace) -> dict[str, frozenset[str]]:
    """Series read from the store (``type: Store`` sources) -> the services of their SLOs."""
    out: dict[str, set[str]] = {}
    for slo in ws.slos.values():
        for objective in slo.objectives:
            for q in slo.indicator_for(objective).queries().values():
                series = q.spec.get("series")
                if q.source_type.lower() == "store" and isinstance(series, str):
                    out.setdefault(series, set()).add(slo.service)
    return {k: frozenset(v) for k, v in out.items()}


def apply_retention(
    store: Store,
    ws: Workspace,
    at: datetime,
    *,
    dry_run: bool = False,
    clock: Clock | None = None,
) -> RetentionReport:
    """Apply the workspace's retention policies to the store at ``at`` (module docstring)."""
    policies, holds = retention_objects(ws)
    require_policies(ws)
    services_of = store_series_services(ws)
    report = RetentionReport(at=at, dry_run=dry_run, dialect=store.dialect)
    try:
        with store.transaction() as repos:
            repo = RetentionRepository(repos.connection)
            names = repo.series_names()
            _check_conflicts(names, policies, services_of)
            for series in names:
                _apply_series(repo, series, policies, holds, services_of, at, report)
            used = {h for s in report.series for h in s.holds}
            report.idle_holds = [
                h.name
                for h in holds
                if h.name not in used and not any(h.selector.matches(n, services_of) for n in names)
            ]
            if dry_run:
                raise _DryRun
            report.run_id = repo.record_run(
                at,
                (clock or SystemClock()).now(),
                rows_deleted=report.deleted,
                rollup_rows=report.new_rollups,
                bytes_freed=report.bytes_freed,
                report=report_view(report),
            )
    except _DryRun:
        pass
    return report


def _apply_series(
    repo: RetentionRepository,
    series: str,
    policies: list[RetentionPolicy],
    holds: list[LegalHold],
    services_of: Mapping[str, frozenset[str]],
    at: datetime,
    report: RetentionReport,
) -> None:
    matched = policy_for(series, policies, services_of)
    if not matched:
        report.unselected.append(series)
        return
    policy = matched[0]
    held_by = holds_for(series, holds, services_of)
    spans = [h.span() for h in held_by]
    out = SeriesReport(series, policy.name, tuple(h.name for h in held_by))
    for step in plan(policy, at):
        done = repo.apply_step(series, step, spans)
        out.steps.append(_step_report(step, done.new_rollups, done.deleted, done.held))
        out.deleted_bytes += done.deleted_bytes
        out.rollup_bytes += done.rollup_bytes
    report.series.append(out)


def _step_report(step: Step, new_rollups: int, deleted: int, held: int) -> StepReport:
    return StepReport(
        resolution="stored" if step.source == 0 else _res(step.source),
        into=None if step.target is None else _res(step.target),
        before=datetime.fromtimestamp(step.before, tz=UTC),
        new_rollups=new_rollups,
        deleted=deleted,
        held=held,
    )


def _res(seconds: int) -> str:
    return format_duration(timedelta(seconds=seconds))


def _check_conflicts(
    names: Iterable[str],
    policies: list[RetentionPolicy],
    services_of: Mapping[str, frozenset[str]],
) -> None:
    problems: list[Problem] = []
    for series in names:
        matched = policy_for(series, policies, services_of)
        if len(matched) > 1:
            first = matched[0]
            where = first.origin
            others = ", ".join(p.name for p in matched[1:])
            problems.append(
                Problem(
                    where.path if where else "",
                    where.line if where else None,
                    "RetentionPolicy",
                    first.name,
                    "spec.selector",
                    f"series {series!r} is also selected by RetentionPolicy {others}; "
                    "narrow the selectors so one policy selects each series",
                )
            )
    if problems:
        raise SpecError(problems)


def report_view(report: RetentionReport) -> dict[str, Any]:
    """The report as plain data (the JSON of ``slm retention apply --format json``)."""
    return {
        "at": iso(report.at),
        "dry_run": report.dry_run,
        "dialect": report.dialect,
        "run_id": report.run_id,
        "rows_deleted": report.deleted,
        "rollup_rows_written": report.new_rollups,
        "rows_held": report.held,
        "bytes_freed_estimate": report.bytes_freed,
        "series": [
            {
                "series": s.series,
                "policy": s.policy,
                "holds": list(s.holds),
                "rows_deleted": s.deleted,
                "rollup_rows_written": s.new_rollups,
                "rows_held": s.held,
                "bytes_freed_estimate": s.deleted_bytes - s.rollup_bytes,
                "steps": [
                    {
                        "rows": st.resolution,
                        "into": st.into,
                        "before": iso(st.before),
                        "rollup_rows_written": st.new_rollups,
                        "rows_deleted": st.deleted,
                        "rows_held": st.held,
                    }
                    for st in s.steps
                ],
            }
            for s in report.series
        ],
        "series_without_policy": report.unselected,
        "holds_selecting_nothing": report.idle_holds,
    }
