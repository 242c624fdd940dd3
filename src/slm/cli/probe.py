"""``slm probe run`` and ``slm probe check``: synthetic probes from the command line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out

if TYPE_CHECKING:
    from slm.domain.probe import CheckResult, Probe
    from slm.services.probing import SchedulerStats
    from slm.store.db import Store

probe_app = typer.Typer(help="Run synthetic probes (HTTP, TCP, DNS, transactions).")
app.add_typer(probe_app, name="probe")


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help="table or json.")]
NamesOpt = Annotated[
    list[str] | None, typer.Option("--name", "-n", help="Run only this probe (repeatable).")
]


@probe_app.command("run")
def run(
    paths: PathsArg,
    once: Annotated[
        bool, typer.Option("--once", help="Run every probe once, store and print, then exit.")
    ] = False,
    names: NamesOpt = None,
    fmt: FormatOpt = Format.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Run the probes under PATH on their schedules (until Ctrl-C) and store the results."""
    from slm.cli.store import open_store
    from slm.services.probing import probes_of, record_checks, run_once
    from slm.spec.loader import load_workspace

    probes = probes_of(load_workspace(paths), names)
    if not probes:
        err.print("no Probe objects found", markup=False)
        raise typer.Exit(1)
    store = open_store(db, workspace)
    store.ensure_at_head()  # a store that needs `slm db upgrade` fails before any check
    if once:
        results = asyncio.run(run_once(probes))
        record_checks(store, results)
        _print(results, fmt)
        err.print(f"recorded {len(results)} checks in {store.url}", markup=False)
        return
    err.print(f"running {len(probes)} probe(s), storing in {store.url}; Ctrl-C stops")
    stats = asyncio.run(_serve(probes, store, fmt))
    err.print(
        f"stopped: {stats.checks} checks, {stats.recorded} recorded"
        + (f", {stats.dropped} lost (store errors)" if stats.dropped else ""),
        markup=False,
    )


async def _serve(probes: Sequence[Probe], store: Store, fmt: Format) -> SchedulerStats:
    from slm.services.probing import run_scheduler

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def show(r: CheckResult) -> None:
        if fmt is Format.json:
            sys.stdout.write(result_line(r))
            sys.stdout.flush()
        else:
            out.print(_line(r), markup=False, highlight=False)

    def store_failed(e: Exception) -> None:
        err.print(f"error: storing probe results: {e} (will retry)", markup=False)

    return await run_scheduler(probes, store, stop, on_result=show, on_error=store_failed)


@probe_app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="Spec file or directory holding the probe.")],
    name: Annotated[str, typer.Argument(help="The probe's metadata.name.")],
    fmt: FormatOpt = Format.table,
) -> None:
    """Run one probe once and print the result (exit 1 if the check failed); stores nothing."""
    from slm.services.probing import probes_of, run_once
    from slm.spec.loader import load_workspace

    probes = probes_of(load_workspace([path]), [name])
    (result,) = asyncio.run(run_once(probes))
    _print([result], fmt)
    if not result.success:
        raise typer.Exit(1)


def result_line(r: CheckResult) -> str:
    """One check as a line of JSON Lines (``slm probe run --format json``): the document
    ``slm.probe-result/v1`` (docs/json.md) on one line."""
    from slm.services.views import document

    return json.dumps(document("slm.probe-result/v1", _view(r))) + "\n"


def _view(r: CheckResult) -> dict[str, Any]:
    return {
        "probe": r.probe,
        "location": r.location,
        "started_at": r.started_at.isoformat(),
        "success": r.success,
        "latency_seconds": round(r.latency, 6),
        "reason": r.reason,
        "details": dict(r.details),
    }


def _line(r: CheckResult) -> str:
    status = "ok  " if r.success else "FAIL"
    reason = f"  {r.reason}" if r.reason else ""
    when = r.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{when} {status} {r.probe}@{r.location} {r.latency * 1000:.0f}ms{reason}"


def _print(results: Sequence[CheckResult], fmt: Format) -> None:
    if fmt is Format.json:
        from slm.services.views import dumps, item_list

        sys.stdout.write(dumps(item_list("slm.probe-results/v1", map(_view, results))))
        return
    table = Table("probe", "location", "result", "latency", "reason")
    for r in results:
        table.add_row(
            Text(r.probe),
            Text(r.location),
            "ok" if r.success else "[red]FAIL[/red]",
            f"{r.latency * 1000:.0f} ms",
            Text(r.reason or "-"),
        )
    out.print(table)
