"""``slm evaluate``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out, parse_instant

STORE_BACKED = {"store", "probe"}
"""Source types that read from slm's own store (ingested series, probe checks)."""


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def evaluate(
    paths: PathsArg,
    at: Annotated[
        str | None, typer.Option("--at", help="Instant (RFC 3339). Default: now.")
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table or json.")
    ] = OutputFormat.table,
    catalogue: Annotated[
        Path | None,
        typer.Option("--windows", help="Alert-window catalogue (AlertWindowCatalogue YAML)."),
    ] = None,
    record: Annotated[
        bool, typer.Option("--record", help="Store the specs and the results.")
    ] = False,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Evaluate every SLO objective under PATH at an instant."""
    from slm.cli.store import open_store
    from slm.render import status_table
    from slm.services.evaluate import evaluate_workspace, source_types
    from slm.services.views import dumps, iso, item_list, result_view
    from slm.sources.factory import SourceFactory
    from slm.spec.catalogues import load_catalogue
    from slm.spec.loader import load_workspace

    instant = parse_instant(at)
    ws = load_workspace(paths)
    cat = load_catalogue(catalogue) if catalogue else None
    needs_store = record or bool(source_types(ws) & STORE_BACKED)
    store = open_store(db, workspace) if needs_store else None
    factory = SourceFactory(store=store)
    report = evaluate_workspace(ws, instant, factory, catalogue=cat)
    if at is None and report.results and all(r.status == "no_data" for r in report.results):
        # No --at and nothing has data now: the data likely ends earlier (the bundled
        # examples end on 2026-11-01). Evaluate where it ends, and say so.
        from slm.services.data_end import data_end

        end = data_end(ws, factory)
        if end is not None and end < instant:
            err.print(
                f"note: no objective has data at {iso(instant)} (now); the data ends at "
                f"{iso(end)}, so this is the status there. Give --at to choose the instant.",
                markup=False,
                highlight=False,
            )
            instant = end
            report = evaluate_workspace(ws, instant, factory, catalogue=cat)
    if store is not None and record:
        from slm.services.record import record_evaluation

        saved = record_evaluation(store, ws, report.results)
        err.print(f"recorded {saved} results in {store.url}")
    if fmt is OutputFormat.json:
        views = [result_view(r) for r in report.results]
        failures = [{"slo": f.slo, "message": f.message} for f in report.failures]
        doc = item_list("slm.evaluate/v1", views, at=iso(instant), failures=failures)
        sys.stdout.write(dumps(doc))
    else:
        out.print(status_table(report.results, instant))
    for failure in report.failures:
        err.print(f"error: SLO {failure.slo}: {failure.message}", markup=False)
    if report.failures:
        raise typer.Exit(3)
