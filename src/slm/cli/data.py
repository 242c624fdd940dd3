"""``slm ingest`` and ``slm db ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slm.cli.app import DbOpt, WorkspaceOpt, app, out

db_app = typer.Typer(
    help="Manage the store (SQLite by default, PostgreSQL by URL).", no_args_is_help=True
)
app.add_typer(db_app, name="db")


@app.command()
def ingest(
    files: Annotated[
        list[Path] | None, typer.Argument(help="CSV, Parquet or OpenMetrics files.")
    ] = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
    batch: Annotated[
        list[Path] | None,
        typer.Option(
            "--batch", help="JSON push batch(es) whose counts are added (see docs/api.md)."
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Key of a single --batch file.")
    ] = None,
    epoch_unit: Annotated[
        str,
        typer.Option(
            "--epoch-unit",
            help="Unit of numeric timestamps in CSV/Parquet files: s, ms, us, ns, or auto "
            "(from their magnitude; ambiguous ones are refused).",
        ),
    ] = "auto",
) -> None:
    """Load measurements into the store (idempotent, one transaction per file or batch)."""
    from slm.cli.store import open_store
    from slm.domain.instants import EPOCH_OPTIONS
    from slm.services.ingest import ingest_file

    if not files and not batch:
        raise typer.BadParameter("give measurement files or --batch FILE", param_hint="FILES")
    unit = next((u for u in EPOCH_OPTIONS if u == epoch_unit), None)
    if unit is None:
        raise typer.BadParameter(
            f"{epoch_unit!r} is not one of {', '.join(EPOCH_OPTIONS)}", param_hint="--epoch-unit"
        )
    store = open_store(db, workspace)
    if batch:
        from slm.cli.serve import ingest_batches

        ingest_batches(store, batch, idempotency_key)
    for f in files or []:
        rep = ingest_file(store, f, epoch_unit=unit)
        if rep.skipped_as_duplicate_file:
            out.print(f"{f}: already loaded, nothing changed")
        else:
            out.print(f"{f}: {rep.rows} rows, {len(rep.series)} series, {rep.new_rows} new buckets")


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None, workspace: WorkspaceOpt = Path(".")) -> None:
    """Apply the store's migrations up to the newest."""
    from slm.store.db import open_store, upgrade

    store = open_store(db, workspace)
    upgrade(store)
    out.print(f"store {store.url} is at revision {store.revision()}")
