"""``slm report``: SLI, events, error budget and burn rate of every objective over windows."""

from __future__ import annotations

import sys
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from slm.cli.app import (
    DbOpt,
    PathsArg,
    WorkspaceOpt,
    app,
    err,
    out,
    parse_duration_option,
    parse_instant,
)

if TYPE_CHECKING:
    from slm.services.report import Report

STORE_BACKED = {"store", "probe"}


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


def parse_windows(text: str) -> list[timedelta]:
    windows = []
    for part in text.split(","):
        w = parse_duration_option(part, "--windows")
        if w < timedelta(minutes=1) or w % timedelta(minutes=1):
            raise typer.BadParameter(
                f"{part.strip()!r}: windows must be whole minutes", param_hint="--windows"
            )
        windows.append(w)
    return windows


def report_view(report: Report) -> dict[str, Any]:
    from slm.domain.durations import format_duration

    def iso(t: Any) -> str:
        return str(t.isoformat().replace("+00:00", "Z"))

    return {
        "at": iso(report.at),
        "end": iso(report.end),
        "windows": [format_duration(w) for w in report.windows],
        "objectives": [
            {
                "slo": o.slo,
                "service": o.service,
                "objective": o.objective,
                **({"group": dict(o.group)} if o.group else {}),
                "target": o.target,
                "windows": [
                    {
                        "window": format_duration(w.window),
                        "start": iso(w.start),
                        "end": iso(w.end),
                        "sli": w.sli,
                        "good": w.good,
                        "total": w.total,
                        "error_budget": {
                            "unit": w.error_budget.unit,
                            "total": w.error_budget.total,
                            "consumed": w.error_budget.consumed,
                            "remaining": w.error_budget.remaining,
                            "remaining_ratio": w.error_budget.remaining_ratio,
                        },
                        "burn_rate": w.burn_rate,
                        "coverage": w.coverage,
                        "path": w.path,
                        "reason": w.reason,
                    }
                    for w in o.windows
                ],
                "notes": list(o.notes),
            }
            for o in report.objectives
        ],
        "failures": [{"slo": f.slo, "message": f.message} for f in report.failures],
    }


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def render_table(report: Report) -> Any:
    from rich.table import Table

    from slm.domain.durations import format_duration
    from slm.domain.model import group_text
    from slm.render import count_text

    table = Table(title=f"SLO report at {report.end.isoformat().replace('+00:00', 'Z')}")
    for col in ("SLO", "objective", "window", "SLI", "good", "total", "budget left", "burn"):
        if col in ("SLO", "objective"):  # key columns wrap rather than being cut short
            table.add_column(col, overflow="fold")
        else:
            table.add_column(col, justify="right")
    table.add_column("path")
    for o in report.objectives:
        for w in o.windows:
            ratio = w.error_budget.remaining_ratio
            table.add_row(
                o.slo,
                o.objective + (f" {group_text(o.group)}" if o.group else ""),
                format_duration(w.window),
                _num(None if w.sli is None else w.sli * 100, ".4f") + ("%" if w.sli else ""),
                count_text(w.good),
                count_text(w.total),
                "-" if ratio is None else f"{ratio * 100:.1f}%",
                _num(w.burn_rate, ".2f"),
                w.path if w.reason is None else f"{w.path} ({w.reason})",
            )
    return table


@app.command()
def report(
    paths: PathsArg,
    at: Annotated[
        str | None, typer.Option("--at", help="Instant (RFC 3339). Default: now.")
    ] = None,
    windows: Annotated[
        str, typer.Option("--windows", help="Comma-separated rolling windows.")
    ] = "1h,1d,7d,30d",
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="table or json.")
    ] = ReportFormat.table,
    pushdown: Annotated[
        bool,
        typer.Option(
            "--pushdown/--no-pushdown",
            help="Let the metrics engine sum windows where it can (default) or read buckets.",
        ),
    ] = True,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """SLI, good/total, error budget and burn rate per objective over rolling windows."""
    from slm.services.evaluate import source_types
    from slm.services.report import report_workspace
    from slm.sources.factory import SourceFactory
    from slm.spec.loader import load_workspace

    instant = parse_instant(at)
    wins = parse_windows(windows)
    ws = load_workspace(paths)
    store = None
    if source_types(ws) & STORE_BACKED:
        from slm.cli.store import open_store

        store = open_store(db, workspace)
    from slm.cli.progress import progress

    with progress("report", total=len(ws.slos)) as bar:
        result = report_workspace(
            ws, instant, SourceFactory(store=store), wins, pushdown=pushdown, advance=bar.advance
        )
    if fmt is ReportFormat.json:
        from slm.services.views import document, dumps

        sys.stdout.write(dumps(document("slm.report/v1", report_view(result))))
    else:
        out.print(render_table(result))
        for o in result.objectives:
            for note in o.notes:
                out.print(f"note: {o.slo}/{o.objective}: {note}", markup=False)
    for failure in result.failures:
        err.print(f"error: SLO {failure.slo}: {failure.message}", markup=False)
    if result.failures:
        raise typer.Exit(3)
