"""The ``slm`` command line: parse input, call services, render output.

Errors from ``slm.domain.errors`` become a message on stderr and the error's exit code;
nothing here prints a traceback for bad input.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from slm import __version__
from slm.domain.errors import SlmError, SpecError

app = typer.Typer(
    name="slm",
    help="Service level management: SLOs, error budgets, burn-rate alerts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Manage the store (SQLite by default, PostgreSQL by URL).", no_args_is_help=True
)
app.add_typer(db_app, name="db")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

PathsArg = Annotated[list[Path], typer.Argument(help="Spec files or directories (recursive).")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="SLM_DB_URL",
        help="Store URL (sqlite:///..., postgresql://...). Default: .slm/slm.db in the workspace.",
    ),
]
WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace", envvar="SLM_WORKSPACE", help="Workspace directory for the default store."
    ),
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class ConvertTarget(StrEnum):
    openslo = "openslo"


def _parse_at(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an RFC 3339 instant (e.g. 2026-11-01T00:00:00Z)", param_hint="--at"
        ) from None
    if t.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no UTC offset; add Z or +HH:MM", param_hint="--at")
    return t.astimezone(UTC)


@app.command()
def version() -> None:
    """Print the slm version."""
    out.print(__version__)


@app.command()
def validate(paths: PathsArg) -> None:
    """Validate specs; print every problem as PATH:LINE: Kind/name: field: message."""
    from slm.spec.loader import load_workspace

    ws = load_workspace(paths)
    counts = ws.summary()
    out.print(f"OK: {counts}")


@app.command()
def convert(
    path: Annotated[list[Path], typer.Argument(help="Sloth or OpenSLO v1alpha specs.")],
    to: Annotated[
        ConvertTarget, typer.Option("--to", help="Target format.")
    ] = ConvertTarget.openslo,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here, not stdout.")
    ] = None,
) -> None:
    """Convert specs to OpenSLO v1 YAML."""
    from slm.spec.convert import to_openslo_v1

    text = to_openslo_v1(path)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")


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
    record: Annotated[bool, typer.Option("--record", help="Store the specs and results.")] = False,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Evaluate every SLO objective under PATH at an instant."""
    from slm.services.evaluate import evaluate_workspace, source_types
    from slm.services.views import result_view
    from slm.sources.factory import SourceFactory
    from slm.spec.catalogues import load_catalogue
    from slm.spec.loader import load_workspace
    from slm.store.db import open_store

    instant = _parse_at(at)
    ws = load_workspace(paths)
    cat = load_catalogue(catalogue) if catalogue else None
    store = open_store(db, workspace) if record or "store" in source_types(ws) else None
    report = evaluate_workspace(ws, instant, SourceFactory(store=store), catalogue=cat)
    if store is not None and record:
        from slm.services.record import record_evaluation

        saved = record_evaluation(store, ws, report.results)
        err.print(f"recorded {saved} results in {store.url}")
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps([result_view(r) for r in report.results], indent=2) + "\n")
    else:
        from slm.render import status_table

        out.print(status_table(report.results, instant))
    for failure in report.failures:
        err.print(f"[red]error[/red]: SLO {failure.slo}: {failure.message}")
    if report.failures:
        raise typer.Exit(3)


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="CSV, Parquet or OpenMetrics files.")],
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Load measurements into the store (idempotent, one transaction per file)."""
    from slm.services.ingest import ingest_file
    from slm.store.db import open_store

    store = open_store(db, workspace)
    for f in files:
        rep = ingest_file(store, f)
        if rep.skipped_as_duplicate_file:
            out.print(f"{f}: already loaded, nothing changed")
        else:
            out.print(f"{f}: {rep.rows} rows, {len(rep.series)} series, {rep.new_rows} new buckets")


@app.command()
def apply(paths: PathsArg, db: DbOpt = None, workspace: WorkspaceOpt = Path(".")) -> None:
    """Validate specs and save them (text, hash, version) in the store."""
    from slm.services.record import save_specs
    from slm.spec.loader import load_workspace
    from slm.store.db import open_store

    ws = load_workspace(paths)
    store = open_store(db, workspace)
    for saved in save_specs(store, ws):
        state = "changed" if saved.changed else "unchanged"
        out.print(f"{saved.kind}/{saved.name}: version {saved.version} ({state})")


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None, workspace: WorkspaceOpt = Path(".")) -> None:
    """Apply the store's migrations up to the newest."""
    from slm.store.db import open_store, upgrade

    store = open_store(db, workspace)
    upgrade(store)
    out.print("store is up to date")


def main() -> None:
    try:
        app()
    except SpecError as e:
        for p in e.problems:
            err.print(str(p), markup=False, highlight=False)
        files = len({p.path for p in e.problems})
        err.print(f"{len(e.problems)} problem(s) in {files} file(s)", markup=False)
        sys.exit(e.exit_code)
    except SlmError as e:
        err.print(f"error: {e}", markup=False, highlight=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
