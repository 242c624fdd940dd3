"""``slm sla check`` and ``slm sla supplier``: composite checks of agreements.

Registers on the ``sla`` command group of ``slm.cli.sla`` when that module defines one,
else creates the group itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out, parse_instant

if TYPE_CHECKING:
    from slm.services.sla_check import CheckReport, ClauseCheck, SupplierReport

if importlib.util.find_spec("slm.cli.sla") is not None:  # the agreements group, first
    importlib.import_module("slm.cli.sla")


def _sla_group() -> typer.Typer:
    for g in app.registered_groups:
        t = g.typer_instance
        if t is not None and "sla" in (g.name, t.info.name):
            return t
    group = typer.Typer(help="Agreements: SLAs, OLAs and UCs.", no_args_is_help=True)
    app.add_typer(group, name="sla")
    return group


sla = _sla_group()


class CheckFormat(StrEnum):
    table = "table"
    json = "json"


def _pct(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x * 100:.{digits}f}%"


def _required(x: float | None) -> str:
    """A required target, rounded *up* to 4 decimals of a percent (so it suffices)."""
    if x is None:
        return "unreachable"
    import math

    return f"{math.ceil(x * 1e6 - 1e-6) / 1e4:.4f}%"


def _load(paths: list[Path]) -> tuple[Any, Any, Any]:
    from slm.services.sla_check import agreements_of
    from slm.spec.components import components
    from slm.spec.loader import load_workspace

    ws = load_workspace(paths)
    agreements = agreements_of(ws.objects)
    comps = components(ws.objects)
    if not agreements:
        err.print("error: no Agreement objects found under the given paths", markup=False)
        raise typer.Exit(1)
    if not comps:
        err.print("error: no Component objects found under the given paths", markup=False)
        raise typer.Exit(1)
    return ws, agreements, comps


# --- slm sla check ----------------------------------------------------------------------


@sla.command("check")
def check(
    paths: PathsArg,
    agreement: Annotated[
        list[str] | None, typer.Option("--agreement", help="Check only this SLA (repeatable).")
    ] = None,
    fmt: Annotated[
        CheckFormat, typer.Option("--format", help="table or json.")
    ] = CheckFormat.table,
) -> None:
    """Flag SLAs whose underpinning OLAs and UCs cannot support their targets."""
    from slm.services.sla_check import check_agreements

    ws, agreements, comps = _load(paths)
    report = check_agreements(agreements, comps, ws.slos, agreement or None)
    if fmt is CheckFormat.json:
        from slm.services.views import document, dumps

        sys.stdout.write(dumps(document("slm.sla-check/v1", check_view(report))))
    else:
        out.print(check_table(report))
        for c in report.checks:
            if c.verdict != "supported":
                err.print(f"{c.sla}/{c.clause}: {c.verdict}: {c.reason}", markup=False)
    if not report.ok:
        raise typer.Exit(1)


def clause_view(c: ClauseCheck) -> dict[str, Any]:
    return {
        "sla": c.sla,
        "clause": c.clause,
        "target": c.target,
        "component": c.component,
        "supported": c.supported,
        "verdict": c.verdict,
        "reason": c.reason,
        "promises": [
            {
                "agreement": p.agreement,
                "type": p.type,
                "party": p.party,
                "clause": p.clause,
                "component": p.component,
                "target": p.target,
                "required": p.required,
                "sufficient": p.sufficient,
                "in_scope": p.in_scope,
            }
            for p in c.promises
        ],
        "unpromised": [{"component": n, "design": v} for n, v in c.unpromised],
        "not_counted": [{"agreement": a, "clause": cl, "reason": why} for a, cl, why in c.ignored],
    }


def check_view(report: CheckReport) -> dict[str, Any]:
    return {"ok": report.ok, "checks": [clause_view(c) for c in report.checks]}


_VERDICT_STYLE = {"supported": "green", "not-supported": "red bold", "unchecked": "yellow"}


def check_table(report: CheckReport) -> Table:
    table = Table(title="SLA targets against their OLAs and UCs", title_justify="left")
    for name, justify in (
        ("SLA / clause", "left"),
        ("Target", "right"),
        ("Component", "left"),
        ("Supported", "right"),
        ("Verdict", "left"),
        ("Underpinned by (target → needed)", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in report.checks:
        promises = "\n".join(
            f"{p.type} {p.agreement}/{p.clause} on {p.component}: {_pct(p.target, 3)}"
            + (f" → {_required(p.required)}" if p.in_scope else " (not a dependency)")
            for p in c.promises
        )
        promises += "".join(f"\n{a}/{cl}: not counted ({why})" for a, cl, why in c.ignored)
        promises = promises.strip()
        table.add_row(
            f"{c.sla}/{c.clause}",
            _pct(c.target, 3),
            c.component or "-",
            _pct(c.supported),
            Text(c.verdict, style=_VERDICT_STYLE[c.verdict]),
            promises or "-",
        )
    return table


# --- slm sla supplier -------------------------------------------------------------------

_HISTORY = re.compile(r"^\s*(\d+)\s*(mo|m|months?|q|quarters?)?\s*$")


def parse_history(value: str) -> int:
    """``12mo`` / ``12`` -> 12 periods; ``4q`` -> 4 periods (in the UC's own period unit)."""
    m = _HISTORY.match(value)
    if m is None or int(m.group(1)) < 1:
        raise typer.BadParameter(
            f"{value!r} is not a history length (e.g. 12mo, 6mo, 4q)", param_hint="--history"
        )
    return int(m.group(1))


@sla.command("supplier")
def supplier(
    paths: PathsArg,
    uc: Annotated[str, typer.Option("--uc", help="The vendor's proposed UC (Agreement name).")],
    history: Annotated[
        str, typer.Option("--history", help="Measured periods to look back on (e.g. 12mo).")
    ] = "12mo",
    at: Annotated[
        str | None, typer.Option("--at", help="History ends before this instant. Default: now.")
    ] = None,
    fmt: Annotated[
        CheckFormat, typer.Option("--format", help="table or json.")
    ] = CheckFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Would a vendor's proposed UC support our SLAs? Which target would it have to meet?"""
    from slm.cli.store import open_store
    from slm.services.evaluate import source_types
    from slm.services.sla_check import supplier_report
    from slm.sources.factory import SourceFactory

    periods = parse_history(history)
    instant = parse_instant(at)
    ws, agreements, comps = _load(paths)
    # --db opens the store even when no SLO reads from it: the approved exclusions of its
    # signed-off incidents then count in the history, as they do in statements
    wanted = db is not None or bool({"store", "probe"} & source_types(ws))
    store = open_store(db, workspace) if wanted else None
    report = supplier_report(
        ws, uc, agreements, comps, instant, SourceFactory(store=store), periods
    )
    if fmt is CheckFormat.json:
        from slm.services.views import document, dumps

        sys.stdout.write(dumps(document("slm.sla-supplier/v1", supplier_view(report))))
    else:
        _print_supplier(report)
    for failure in report.failures:
        err.print(f"error: {failure}", markup=False)
    if report.failures:
        raise typer.Exit(3)
    if not report.ok:
        raise typer.Exit(1)


def supplier_view(report: SupplierReport) -> dict[str, Any]:
    from slm.services.views import iso

    return {
        "uc": report.uc.name,
        "vendor": report.uc.provider,
        "periods": report.periods,
        "ok": report.ok,
        "clauses": [
            {
                "clause": c.clause,
                "component": c.component,
                "proposed": c.proposed,
                "required": c.required if c.supports else None,
                "proposal_supports_sla": c.proposal_ok if c.supports else None,
                "history_supports_sla": c.history_ok if c.supports else None,
                "business_hours_only": c.business_hours_only,
                "note": c.note,
                "sla_clauses": [
                    {
                        "sla": chk.sla,
                        "clause": chk.clause,
                        "target": chk.target,
                        "supported": chk.supported,
                        "required": p.required,
                    }
                    for chk, p in c.supports
                ],
                "history": [
                    {
                        "period": h.label,
                        "start": iso(h.start),
                        "end": iso(h.end),
                        "attainment": h.attainment,
                        "raw_attainment": h.raw_attainment,
                        "eligible_minutes": h.eligible_minutes,
                        "excluded_minutes": h.excluded_minutes,
                        "coverage": h.coverage,
                        "meets_proposed": h.meets_proposed,
                        "meets_required": h.meets_required,
                    }
                    for h in c.history
                ],
            }
            for c in report.clauses
        ],
        "failures": report.failures,
    }


def _yes(x: bool | None) -> Text:
    if x is None:
        return Text("-", style="dim")
    return Text("yes", style="green") if x else Text("no", style="red bold")


def _print_supplier(report: SupplierReport) -> None:
    uc = report.uc
    summary = Table(
        title=f"Supplier validation: UC {uc.name} with {uc.provider}", title_justify="left"
    )
    for name, justify in (
        ("Clause", "left"),
        ("Component", "left"),
        ("Proposed", "right"),
        ("Needed", "right"),
        ("Proposal supports SLA", "left"),
        ("History supports SLA", "left"),
        ("For", "left"),
    ):
        summary.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in report.clauses:
        summary.add_row(
            c.clause,
            c.component or "-",
            _pct(c.proposed, 3),
            _required(c.required) if c.supports else "-",
            _yes(c.proposal_ok if c.supports else None),
            _yes(c.history_ok if c.supports else None),
            ", ".join(f"{chk.sla}/{chk.clause} ({_pct(chk.target, 3)})" for chk, _ in c.supports)
            or c.note,
        )
    out.print(summary)
    for c in report.clauses:
        if not c.history:
            continue
        hours = "business hours" if c.business_hours_only else "every minute"
        hist = Table(
            title=f"History of {uc.name}/{c.clause} ({hours}, approved exclusions left out)",
            title_justify="left",
        )
        for name in (
            "Period",
            "Attainment",
            "Before exclusions",
            "Eligible min",
            "Excluded min",
            "Coverage",
            "Meets proposed",
            "Meets needed",
        ):
            hist.add_column(name, justify="left" if name == "Period" else "right")
        for h in c.history:
            hist.add_row(
                h.label,
                _pct(h.attainment),
                _pct(h.raw_attainment),
                str(h.eligible_minutes),
                str(h.excluded_minutes),
                _pct(h.coverage, 1),
                _yes(h.meets_proposed),
                _yes(h.meets_required),
            )
        out.print(hist)
