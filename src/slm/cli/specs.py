"""``slm validate``, ``slm convert`` and ``slm apply``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out
from slm.cli.output import OutputOpt, emit

if TYPE_CHECKING:
    from slm.domain.errors import Problem
    from slm.spec.workspace import Workspace


class ConvertTarget(StrEnum):
    openslo = "openslo"


class ValidateFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


@app.command()
def validate(
    paths: PathsArg,
    strict: Annotated[
        bool, typer.Option("--strict", help="Treat warnings as errors (exit 1).")
    ] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="GLOB",
            help="Skip files matching GLOB (path under the directory, or file name); repeatable.",
        ),
    ] = None,
    fmt: Annotated[
        ValidateFormat,
        typer.Option(
            "--format",
            help="text; json (one document); github (GitHub Actions ::error/::warning lines).",
        ),
    ] = ValidateFormat.text,
) -> None:
    """Validate specs; print every problem as PATH:LINE: Kind/name: field: message.

    Warnings (an undefined Service or DataSource, an ignored field) exit 0 unless --strict.
    In directories, YAML files that are not specs are skipped with a note; a directory with
    no spec file is an error."""
    from slm.cli.errors import exit_code
    from slm.domain.errors import SpecError
    from slm.spec.loader import load_workspace

    try:
        ws = load_workspace(paths, strict=strict, exclude=exclude or ())
    except SpecError as e:
        if fmt is ValidateFormat.text:
            raise
        _report(fmt, e.problems, e.warnings, e.skipped, None)
        raise typer.Exit(exit_code(e)) from None
    texts, problems = _connection_problems(ws)
    if fmt is not ValidateFormat.text:
        _report(fmt, problems, ws.warnings, ws.skipped, None if problems else ws.summary())
        raise typer.Exit(1 if problems else 0)
    for path, why in ws.skipped:
        err.print(f"note: {path}: skipped: {why}", markup=False, highlight=False)
    for w in ws.warnings:
        err.print(str(w), markup=False, highlight=False, soft_wrap=True)
    if texts:
        for text in texts:
            err.print(text, markup=False, soft_wrap=True)
        err.print(f"{len(texts)} problem(s) in DataSource connection settings")
        raise typer.Exit(1)
    warned = f" ({len(ws.warnings)} warning(s))" if ws.warnings else ""
    out.print(f"OK: {ws.summary()}{warned}", markup=False, highlight=False)


def _connection_problems(ws: Workspace) -> tuple[list[str], list[Problem]]:
    """Unusable DataSource connection settings, as printed and as problems."""
    from slm.domain.errors import Problem
    from slm.sources.connections import connection_problems
    from slm.sources.prometheus_config import where_of

    texts: list[str] = []
    problems: list[Problem] = []
    for ds in ws.datasources.values():
        for text in connection_problems([ds]):
            texts.append(text)
            rest = text.removeprefix(where_of(ds) + ": ")
            field, sep, message = rest.partition(": ")
            if not sep or " " in field:
                field, message = "", rest
            origin = ds.origin
            problems.append(
                Problem(
                    path=origin.path if origin else "",
                    line=origin.line if origin else None,
                    kind="DataSource",
                    name=ds.name,
                    field=field,
                    message=message,
                )
            )
    return texts, problems


def _report(
    fmt: ValidateFormat,
    errors: list[Problem],
    warnings: list[Problem],
    skipped: list[tuple[str, str]],
    summary: str | None,
) -> None:
    if fmt is ValidateFormat.json:
        doc = {
            "schema": "slm.validate/v1",
            "valid": not errors,
            "summary": summary,
            "errors": [_problem_json(p) for p in errors],
            "warnings": [_problem_json(p) for p in warnings],
            "skipped": [{"path": path, "reason": why} for path, why in skipped],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    lines = [f"::notice file={_prop(path)}::{_data('skipped: ' + why)}" for path, why in skipped]
    lines += [_github(p, "error") for p in errors]
    lines += [_github(p, "warning") for p in warnings]
    sys.stdout.write("".join(line + "\n" for line in lines))


def _problem_json(p: Problem) -> dict[str, object]:
    return {
        "path": p.path,
        "line": p.line,
        "kind": p.kind,
        "name": p.name,
        "field": p.field,
        "message": p.message,
        "severity": p.severity,
    }


def _github(p: Problem, level: str) -> str:
    """A GitHub Actions workflow command: ``::error file=F,line=N,title=T::message``."""
    props = [f"file={_prop(p.path)}"]
    if p.line is not None:
        props.append(f"line={p.line}")
    title = f"{p.kind}/{p.name}" if p.name else p.kind
    if title:
        props.append(f"title={_prop(title)}")
    message = f"{p.field}: {p.message}" if p.field else p.message
    return f"::{level} {','.join(props)}::{_data(message)}"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


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
    from slm.cli.store import open_store
    from slm.services.record import save_specs
    from slm.spec.loader import load_workspace

    ws = load_workspace(paths)
    store = open_store(db, workspace)
    for saved in save_specs(store, ws):
        state = "changed" if saved.changed else "unchanged"
        out.print(f"{saved.kind}/{saved.name}: version {saved.version} ({state})")
