"""``slm validate``, ``slm convert`` and ``slm apply``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out
from slm.cli.output import OutputOpt, emit


class ConvertTarget(StrEnum):
    openslo = "openslo"


@app.command()
def validate(paths: PathsArg) -> None:
    """Validate specs; print every problem as PATH:LINE: Kind/name: field: message."""
    from slm.sources.connections import connection_problems
    from slm.spec.loader import load_workspace

    ws = load_workspace(paths)
    problems = connection_problems(ws.datasources.values())
    if problems:
        for problem in problems:
            err.print(problem, markup=False, soft_wrap=True)
        err.print(f"{len(problems)} problem(s) in DataSource connection settings")
        raise typer.Exit(1)
    out.print(f"OK: {ws.summary()}")


@app.command()
def convert(
    path: Annotated[list[Path], typer.Argument(help="Sloth or OpenSLO v1alpha specs.")],
    to: Annotated[
        ConvertTarget, typer.Option("--to", help="Target format.")
    ] = ConvertTarget.openslo,
    output: OutputOpt = None,
) -> None:
    """Convert specs to OpenSLO v1 YAML."""
    from slm.spec.convert import to_openslo_v1

    emit(to_openslo_v1(path), output)


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
