"""``slm retention apply``: roll up and delete measurements per the retention policies."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out, parse_instant

if TYPE_CHECKING:
    from slm.services.retention import RetentionReport

retention_app = typer.Typer(
    help="Retention: roll-ups, deletion and legal holds of stored measurements.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")


class RetentionFormat(StrEnum):
    table = "table"
    json = "json"


@retention_app.command("apply")
def retention_apply(
    paths: PathsArg,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
    ] = False,
    at: Annotated[
        str | None, typer.Option("--at", help="Instant the ages are counted from. Default: now.")
    ] = None,
    fmt: Annotated[
        RetentionFormat, typer.Option("--format", help="table or json.")
    ] = RetentionFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Roll up and delete measurements per the RetentionPolicy objects under PATH,
    keeping everything a LegalHold covers; one transaction, safe to run again."""
    from slm.cli.store import open_store
    from slm.services.retention import apply_retention, report_view, require_policies
    from slm.spec.loader import load_workspace

    instant = parse_instant(at)
    ws = load_workspace(paths)
    require_policies(ws)  # before the default store is created
    store = open_store(db, workspace)
    report = apply_retention(store, ws, instant, dry_run=dry_run)
    if fmt is RetentionFormat.json:
        from slm.services.views import document, dumps

        sys.stdout.write(dumps(document("slm.retention/v1", report_view(report))))
    else:
        out.print(_table(report))
        out.print(_summary(report))
    for series in report.unselected:
        err.print(f"note: series {series} is selected by no RetentionPolicy: kept", markup=False)
    for hold in report.idle_holds:
        err.print(f"warning: LegalHold {hold} selects no stored series", markup=False)


def _table(report: RetentionReport) -> Table:
    title = "Retention" + (" (dry run: nothing changed)" if report.dry_run else "")
    table = Table(title=title)
    for col in ("series", "policy", "rows deleted", "roll-ups written", "held", "bytes freed"):
        if col in ("series", "policy"):  # key columns wrap rather than being cut short
            table.add_column(col, overflow="fold")
        else:
            table.add_column(col, justify="right")
    for s in report.series:
        table.add_row(
            s.series,
            s.policy + (f" (held: {', '.join(s.holds)})" if s.holds else ""),
            f"{s.deleted:,}",
            f"{s.new_rollups:,}",
            f"{s.held:,}",
            _bytes(s.deleted_bytes - s.rollup_bytes),
        )
    return table


def _summary(report: RetentionReport) -> str:
    verb = "would delete" if report.dry_run else "deleted"
    run = "" if report.run_id is None else f" (run {report.run_id} recorded)"
    return (
        f"{verb} {report.deleted:,} rows, wrote {report.new_rollups:,} roll-up rows, kept "
        f"{report.held:,} rows under legal hold; about {_bytes(report.bytes_freed)} freed "
        f"(estimate, {report.dialect}){run}"
    )


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{n} B"
