"""``slm composite``: designed and measured availability of components, side by side."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

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
    from slm.services.composite import ComponentRow, CompositeReport


class CompositeFormat(StrEnum):
    table = "table"
    json = "json"


def parse_window(value: str) -> Any:
    return parse_duration_option(value, "--window")


@app.command()
def composite(
    paths: PathsArg,
    at: Annotated[
        str | None, typer.Option("--at", help="Instant (RFC 3339). Default: now.")
    ] = None,
    window: Annotated[
        str, typer.Option("--window", help="Measured over this window ending at --at.")
    ] = "30d",
    fmt: Annotated[
        CompositeFormat, typer.Option("--format", help="table or json.")
    ] = CompositeFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Availability of every Component under PATH: from targets and from measured data."""
    from slm.cli.store import open_store
    from slm.services.composite import composite_report
    from slm.services.evaluate import source_types
    from slm.sources.factory import SourceFactory
    from slm.spec.components import components
    from slm.spec.loader import load_workspace

    instant = parse_instant(at)
    span = parse_window(window)
    ws = load_workspace(paths)
    comps = components(ws.objects)
    if not comps:
        err.print("error: no Component objects found under the given paths", markup=False)
        raise typer.Exit(1)
    store = open_store(db, workspace) if {"store", "probe"} & source_types(ws) else None
    report = composite_report(ws, comps, instant, SourceFactory(store=store), window=span)
    if fmt is CompositeFormat.json:
        from slm.services.views import document, dumps

        sys.stdout.write(dumps(document("slm.composite/v1", report_view(report))))
    else:
        out.print(composite_table(report))
    for failure in report.failures:
        err.print(f"error: {failure}", markup=False)
    if report.failures:
        raise typer.Exit(3)


def _pct(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x * 100:.{digits}f}%"


def _num(x: float | None) -> float | None:
    import math

    return None if x is None or not math.isfinite(x) else x


def row_view(r: ComponentRow) -> dict[str, Any]:
    c = r.component
    b = r.budget
    return {
        "component": c.name,
        "display_name": c.display_name,
        "root": r.root,
        "tier": c.tier,
        "party": c.party,
        "provider": c.provider,
        "hosting": c.hosting,
        "operated_by": c.operated_by,
        "depends_on": list(r.depends_on),
        "design": {"own": r.design_own, "composite": r.design},
        "measured": {
            "own": r.measured_own,
            "composite": r.measured,
            "coverage": r.measured_coverage,
            "minutes": r.measured_minutes,
            "assumed_from_design": list(r.assumed),
        },
        "slos": [
            {
                "slo": p.slo,
                "objective": p.objective,
                "weight": p.weight,
                "target": p.target,
                "sli": p.sli,
            }
            for p in r.parts
        ],
        "error_budget": None
        if b is None
        else {
            "aggregation": b.aggregation,
            "target": b.target,
            "value": b.value,
            "budget": b.error_budget,
            "burned": _num(b.budget_burned),
            "remaining": _num(b.budget_remaining),
            "coverage": b.coverage,
            "parts": [
                {
                    "name": s.name,
                    "normalized_weight": s.normalized_weight,
                    "value": s.value,
                    "burned": _num(s.budget_burned),
                    "burn_contribution": _num(s.burn_contribution),
                }
                for s in b.parts
            ],
        },
    }


DESIGN_METHOD = (
    "from the targets: each component's target through the dependency formulas, as if "
    "the parts failed independently (what the design promises)"
)
MEASURED_METHOD = (
    "from the data: own = the bound SLO objectives over the window, rolled up by weight; "
    "composite = minute by minute, each component's up fraction in that minute (good/total "
    "events) through the same formulas, then the mean over the minutes in which every "
    "measured part had data (coverage); unmeasured parts count with their design value. "
    "It differs from the design by what happened and by when: outages count in the "
    "minutes they occurred, so redundant parts down in different minutes never fail "
    "together and parts in series down in the same minutes lose those minutes once"
)

TABLE_NOTE = (
    "Design: the targets through the dependency formulas, parts failing independently "
    "(what the design promises).\n"
    "Measured own: the component's SLOs over the window. Measured: minute by minute, each "
    "measured part's up fraction through the same formulas, averaged over the minutes with "
    "data (Coverage); unmeasured parts at their design value.\n"
    "They differ because Design is what was promised, with failures assumed independent, "
    "and Measured is what happened, outages in the minutes they occurred: redundant parts "
    "down in different minutes never failed together, parts in series down in the same "
    "minutes lost them once."
)


def report_view(report: CompositeReport) -> dict[str, Any]:
    from slm.domain.durations import format_duration
    from slm.services.views import iso

    return {
        "at": iso(report.at),
        "window": {
            "duration": format_duration(report.window),
            "start": iso(report.at - report.window),
            "end": iso(report.at),
        },
        "method": {"design": DESIGN_METHOD, "measured": MEASURED_METHOD},
        "components": [row_view(r) for r in report.rows],
        "failures": report.failures,
    }


def _delta(r: ComponentRow) -> Text:
    if r.measured is None:
        return Text("-")
    style = "green" if r.measured >= r.design else "red bold"
    return Text(_pct(r.measured), style=style)


def _budget(r: ComponentRow) -> Text:
    b = r.budget
    if b is None or b.budget_remaining is None:
        return Text("-")
    left = b.budget_remaining
    style = "green" if left > 0.5 else "yellow" if left > 0 else "red bold"
    return Text(f"{left * 100:.1f}%", style=style)


def composite_table(report: CompositeReport) -> Table:
    from slm.domain.durations import format_duration
    from slm.services.views import iso

    table = Table(
        title=(
            f"Composite availability at {iso(report.at)} "
            f"(measured over {format_duration(report.window)})"
        ),
        title_justify="left",
        caption=TABLE_NOTE,
        caption_justify="left",
    )
    for name, justify in (
        ("Component", "left"),
        ("Party (tier)", "left"),
        ("Hosting", "left"),
        ("Design own", "right"),
        ("Design", "right"),
        ("Measured own", "right"),
        ("Measured", "right"),
        ("Coverage", "right"),
        ("Budget left", "right"),
        ("Unmeasured", "right"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in report.rows:
        c = r.component
        members = len(r.assumed) if r.measured is None else None
        table.add_row(
            Text(c.name, style="bold" if r.root else ""),
            f"{c.party or c.provider} ({c.tier})",
            c.hosting or "-",
            _pct(r.design_own),
            _pct(r.design),
            _pct(r.measured_own),
            _delta(r),
            _pct(r.measured_coverage, 1),
            _budget(r),
            "all" if members is not None else str(len(r.assumed)),
        )
    return table
