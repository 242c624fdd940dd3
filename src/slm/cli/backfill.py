"""``slm backfill``: store the buckets of every Prometheus-backed SLI over a past range."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out, parse_instant


@app.command()
def backfill(
    paths: PathsArg,
    from_: Annotated[
        str,
        typer.Option("--from", help="Start of the range (RFC 3339, e.g. 2026-10-01T00:00:00Z)."),
    ],
    to: Annotated[str, typer.Option("--to", help="End of the range (RFC 3339), exclusive.")],
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Read every Prometheus SLI query under PATH over [--from, --to) into the store.

    Idempotent: running it again rewrites the same buckets. The series keys the buckets
    are stored under are listed at the end (see docs/prometheus.md).
    """
    from rich.table import Table

    from slm.cli.progress import progress
    from slm.cli.store import open_store
    from slm.services.backfill import backfill as run_backfill
    from slm.sources.factory import SourceFactory
    from slm.spec.loader import load_workspace

    start, end = parse_instant(from_, "--from"), parse_instant(to, "--to")
    if start >= end:
        raise typer.BadParameter(f"{from_} is not before --to {to}", param_hint="--from")
    ws = load_workspace(paths)
    store = open_store(db, workspace)
    with progress("backfill") as bar:
        report = run_backfill(
            ws,
            store,
            SourceFactory(store=store),
            start,
            end,
            on_plan=bar.total,
            advance=bar.advance,
        )
    if not report.stored and not report.failures:
        err.print("nothing to backfill: no SLI reads a Prometheus data source", markup=False)
    if report.stored:
        table = Table("series", "buckets", "with data", "query")
        for s in report.stored:
            table.add_row(s.key, str(s.buckets), str(s.present), s.promql)
        out.print(table)
        out.print(
            f"stored {sum(s.present for s in report.stored)} buckets of "
            f"{len(report.stored)} queries in {store.url}",
            markup=False,
        )
    for key, message in report.failures:
        err.print(f"error: {key}: {message}", markup=False, highlight=False)
    if report.failures:
        raise typer.Exit(3)
