"""``slm reconcile``: compare two sources of the same SLI day by day.

Exit codes: 0 every day within the tolerance; 6 at least one day differs by more than
the tolerance; 7 no day differs, but on some days one or both sides had no data; the
usual codes for bad specs (1), source failures (3) and unknown names (4).
"""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, out
from slm.domain.durations import format_duration

if TYPE_CHECKING:
    from slm.services.reconcile import DayNote, ReconcileReport

EXIT_DIFFERS = 6
EXIT_MISSING = 7


class ReconcileFormat(StrEnum):
    table = "table"
    json = "json"


def _day(value: str, param: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=param
        ) from None


@app.command()
def reconcile(
    paths: PathsArg,
    sli: Annotated[
        str, typer.Option("--sli", help="First side: an SLI or SLO name (sli/NAME, slo/NAME).")
    ],
    against: Annotated[
        str, typer.Option("--against", help="Second side, compared with the first.")
    ],
    first: Annotated[str, typer.Option("--from", help="First local day (YYYY-MM-DD).")],
    last: Annotated[str, typer.Option("--to", help="Last local day, included (YYYY-MM-DD).")],
    tolerance: Annotated[
        str,
        typer.Option("--tolerance", help="Allowed daily difference in percentage points."),
    ] = "0.1%",
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA zone whose local days are compared.")
    ] = "UTC",
    fmt: Annotated[
        ReconcileFormat, typer.Option("--format", help="table or json.")
    ] = ReconcileFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Compare two measurements of an SLI per day; exit 6 where they differ."""
    from slm.cli.store import open_store
    from slm.domain.reconcile import parse_tolerance
    from slm.services.evaluate import source_types
    from slm.services.reconcile import reconcile as run
    from slm.services.reconcile import report_view
    from slm.sources.factory import SourceFactory
    from slm.spec.loader import load_workspace

    day0, day1 = _day(first, "--from"), _day(last, "--to")
    if day1 < day0:
        raise typer.BadParameter(f"{last} is before --from {first}", param_hint="--to")
    try:
        tol = parse_tolerance(tolerance)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--tolerance") from None
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(
            f"unknown IANA time zone {time_zone!r}", param_hint="--time-zone"
        ) from None
    ws = load_workspace(paths)
    store = open_store(db, workspace) if "store" in source_types(ws) else None
    report = run(
        ws,
        SourceFactory(store=store),
        sli,
        against,
        day0,
        day1,
        time_zone=time_zone,
        tolerance_pp=tol,
    )
    if fmt is ReconcileFormat.json:
        from slm.services.views import document, dumps

        sys.stdout.write(dumps(document("slm.reconcile/v1", report_view(report))))
    else:
        out.print(_table(report))
        out.print(_summary(report))
    if report.count("differs"):
        raise typer.Exit(EXIT_DIFFERS)
    if report.count("missing") or report.count("no_data"):
        raise typer.Exit(EXIT_MISSING)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.4f}%"


def _note(notes: dict[date, DayNote], day: date) -> str:
    note = notes.get(day)
    if note is None:
        return ""
    return f"{format_duration(note.resolution)} roll-ups" + ("" if note.exact else ", inexact")


def _table(report: ReconcileReport) -> Table:
    table = Table(title=f"{report.a} against {report.b} (days in {report.time_zone})")
    for col in ("day", report.a, "coverage", report.b, "coverage", "difference", "status"):
        table.add_column(col, overflow="fold")
    for d in report.days:
        notes = [
            n for n in (_note(report.notes_a, d.day.day), _note(report.notes_b, d.day.day)) if n
        ]
        diff = "-" if d.difference_pp is None else f"{d.difference_pp:.4f} pp"
        status = d.status + (f" ({'; '.join(notes)})" if notes else "")
        table.add_row(
            d.day.day.isoformat(),
            _pct(d.a.sli),
            f"{d.a.coverage:.1%}",
            _pct(d.b.sli),
            f"{d.b.coverage:.1%}",
            diff,
            status,
        )
    return table


def _summary(report: ReconcileReport) -> str:
    return (
        f"{len(report.days)} day(s): {report.count('ok')} within {report.tolerance_pp:g} pp, "
        f"{report.count('differs')} differ, {report.count('missing')} missing on one side, "
        f"{report.count('no_data')} without data"
    )
