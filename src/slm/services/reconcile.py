"""Comparing two sources of the same SLI day by day (``slm reconcile``).

Each side is an SLI or an SLO of the workspace, named ``NAME``, ``sli/NAME`` or
``slo/NAME`` (a bare name that is both an SLI and an SLO must be prefixed). A threshold
SLI needs an SLO: its first objective gives the operator and value. Both sides are read
over the whole range once, on one-minute buckets, and compared per local day of the given
time zone (see ``slm.domain.reconcile``). Days read from store roll-ups are marked with
the roll-up resolution; a day whose bounds cut through roll-up buckets is marked inexact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from slm.domain.durations import format_duration
from slm.domain.errors import NotFoundError, SlmError
from slm.domain.indicators import events_for
from slm.domain.model import Indicator, Objective
from slm.domain.reconcile import (
    Day,
    DayComparison,
    DaySide,
    compare_days,
    daily_sides,
    local_days,
)
from slm.domain.retention import StoredBuckets
from slm.domain.series import DEFAULT_STEP, Buckets
from slm.services.evaluate import ungrouped_use
from slm.services.ports import SourceFactory
from slm.services.reading import SourceReader
from slm.services.views import iso
from slm.spec.workspace import Workspace


@dataclass(frozen=True)
class Side:
    """What one side of a reconciliation reads: a label, the indicator, its objective."""

    label: str  # "sli/NAME" or "slo/NAME"
    indicator: Indicator
    objective: Objective


@dataclass(frozen=True)
class DayNote:
    """Where a side's day came from when roll-ups were involved."""

    resolution: timedelta
    exact: bool  # False when the day's bounds cut through roll-up buckets


@dataclass
class ReconcileReport:
    a: str
    b: str
    time_zone: str
    tolerance_pp: float
    days: list[DayComparison] = field(default_factory=list)
    notes_a: dict[date, DayNote] = field(default_factory=dict)
    notes_b: dict[date, DayNote] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for d in self.days if d.status == status)


def resolve_side(ws: Workspace, ref: str) -> Side:
    kind, _, name = ref.partition("/") if "/" in ref else ("", "", ref)
    if kind not in ("", "sli", "slo"):
        raise NotFoundError(f"{ref!r}: use NAME, sli/NAME or slo/NAME")
    is_sli, is_slo = name in ws.slis, name in ws.slos
    if kind == "" and is_sli and is_slo:
        raise SlmError(f"{name!r} is both an SLI and an SLO: write sli/{name} or slo/{name}")
    if kind in ("", "sli") and is_sli:
        indicator = ws.slis[name]
        if indicator.threshold is not None:
            raise SlmError(
                f"SLI {name!r} is a threshold metric: reconcile the SLO that uses it "
                "(its objective gives the operator and value)"
            )
        return Side(f"sli/{name}", indicator, Objective(name="", target=0.5))
    if kind in ("", "slo") and is_slo:
        slo = ws.slos[name]
        if slo.grouping:
            raise SlmError(ungrouped_use(slo, "slm reconcile"))
        objective = slo.objectives[0]
        return Side(f"slo/{name}", slo.indicator_for(objective), objective)
    wanted = {"sli": "SLI", "slo": "SLO"}.get(kind, "SLI or SLO")
    raise NotFoundError(f"no {wanted} named {name!r} in the given specs")


def reconcile(
    ws: Workspace,
    factory: SourceFactory,
    a: str,
    b: str,
    first: date,
    last: date,
    *,
    time_zone: str = "UTC",
    tolerance_pp: float = 0.1,
    step: timedelta = DEFAULT_STEP,
) -> ReconcileReport:
    """Compare sides ``a`` and ``b`` on the local days ``first`` .. ``last`` (inclusive)."""
    side_a, side_b = resolve_side(ws, a), resolve_side(ws, b)
    days = local_days(first, last, time_zone)
    start, end = days[0].start, days[-1].end
    report = ReconcileReport(side_a.label, side_b.label, time_zone, tolerance_pp)
    sides = []
    reader = SourceReader(ws, factory, step)
    for side, notes in ((side_a, report.notes_a), (side_b, report.notes_b)):
        buckets = {role: reader.read(q, start, end) for role, q in side.indicator.queries().items()}
        try:
            events = events_for(side.indicator, side.objective, buckets)
        except ValueError as e:
            raise SlmError(f"{side.label}: cannot use the data: {e}") from e
        sides.append(daily_sides(events, days))
        notes.update(_rollup_notes(buckets.values(), days))
    report.days = compare_days(days, sides[0], sides[1], tolerance_pp)
    return report


def _rollup_notes(buckets: Iterable[Buckets], days: list[Day]) -> dict[date, DayNote]:
    notes: dict[date, DayNote] = {}
    for b in buckets:
        if not isinstance(b, StoredBuckets) or not b.rollups:
            continue
        for day in days:
            spans = [s for s in b.rollups if s.start < day.end and s.end > day.start]
            if not spans:
                continue
            res = max(s.resolution for s in spans)
            exact = all(
                (t - s.start) % s.resolution == timedelta(0)
                for s in spans
                for t in (day.start, day.end)
                if s.start < t < s.end
            )
            old = notes.get(day.day)
            if old is not None:
                res, exact = max(res, old.resolution), exact and old.exact
            notes[day.day] = DayNote(res, exact)
    return notes


def _difference(a: DaySide, b: DaySide) -> float:
    """``|sli_a - sli_b|`` as a ratio, computed exactly from the counts (no float noise)."""
    return float(abs(Fraction(a.good) / Fraction(a.total) - Fraction(b.good) / Fraction(b.total)))


def report_view(report: ReconcileReport) -> dict[str, Any]:
    """The report as plain data (``slm reconcile --format json``); ratios in 0..1."""

    def side(s: DaySide, note: DayNote | None) -> dict[str, Any]:
        return {
            "sli": s.sli,
            "good": s.good,
            "total": s.total,
            "present_buckets": s.present,
            "expected_buckets": s.expected,
            "rollup_resolution": None if note is None else format_duration(note.resolution),
            "exact": True if note is None else note.exact,
        }

    return {
        "a": report.a,
        "b": report.b,
        "time_zone": report.time_zone,
        "tolerance": float(Fraction(repr(report.tolerance_pp)) / 100),
        "summary": {s: report.count(s) for s in ("ok", "differs", "missing", "no_data")},
        "days": [
            {
                "day": d.day.day.isoformat(),
                "start": iso(d.day.start),
                "end": iso(d.day.end),
                "a": side(d.a, report.notes_a.get(d.day.day)),
                "b": side(d.b, report.notes_b.get(d.day.day)),
                "difference": _difference(d.a, d.b) if d.difference_pp is not None else None,
                "status": d.status,
            }
            for d in report.days
        ],
    }
