"""``slm sla statement|costs|simulate``: agreement statements, credits and what-ifs."""

from __future__ import annotations

import re
import sys
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out, parse_instant
from slm.cli.output import OutputOpt, emit, plain_text

sla_app = typer.Typer(
    help="Agreements (SLA, OLA, UC): statements, credits per cost centre, target simulation.",
    no_args_is_help=True,
)
app.add_typer(sla_app, name="sla")


class StatementFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


PeriodOpt = Annotated[
    str, typer.Option("--period", help="Month (2026-10) or quarter (2026-Q4), agreement zone.")
]


def _factory(ws: Any, db: str | None, workspace: Path) -> Any:
    from slm.cli.store import open_store
    from slm.services.evaluate import source_types
    from slm.services.statements import reads_store_incidents
    from slm.sources.factory import SourceFactory

    # A store given with --db is opened even when no SLO reads from it: statements then
    # also use its incidents and their approved exclusions (docs/agreements.md). An
    # incident clause without a file reads the store's incidents, so it opens the store
    # (--db, SLM_DB_URL, or the workspace's default file).
    wanted = (
        db is not None or bool({"store", "probe"} & source_types(ws)) or reads_store_incidents(ws)
    )
    store = open_store(db, workspace) if wanted else None
    return SourceFactory(store=store)


@sla_app.command()
def statement(
    paths: PathsArg,
    agreement: Annotated[str, typer.Option("--agreement", help="Agreement name.")],
    period: PeriodOpt,
    fmt: Annotated[
        StatementFormat, typer.Option("--format", help="table, json or html.")
    ] = StatementFormat.table,
    record: Annotated[
        bool, typer.Option("--record", help="Store the statement with its inputs.")
    ] = False,
    output: OutputOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Compute an agreement's statement for one period.

    Exit code 8 when a clause's attainment is unknown (no data, or coverage below its
    minimum): the statement is printed with its credits undetermined, and not recorded."""
    from slm.domain.statement import statement_dict
    from slm.render_statement import statement_html, statement_table
    from slm.services.errors import UndeterminedError
    from slm.services.sla import undetermined_message
    from slm.services.statements import compute_statement, statement_json
    from slm.spec.loader import load_workspace

    ws = load_workspace(paths)
    store = None
    if record:  # checked before the statement is computed (a preflight)
        from slm.cli.store import open_store

        store = open_store(db, workspace)
    st = compute_statement(ws, agreement, period, _factory(ws, db, workspace))
    undetermined = undetermined_message(st)
    if store is not None and undetermined is None:
        from slm.services.ports import SystemClock
        from slm.services.sla import record_statement

        state = record_statement(store, st, SystemClock())
        err.print(f"statement {state} in {store.url} (inputs {st.inputs['sha256'][:12]})")
    if fmt is StatementFormat.table:
        table = statement_table(statement_dict(st))
        if output is None:
            out.print(table)
        else:
            emit(plain_text(table), output)
    else:
        body = statement_dict(st)
        text = statement_json(st) if fmt is StatementFormat.json else statement_html(body)
        emit(text, output)
    if undetermined is not None:
        raise UndeterminedError(("not recorded: " if record else "") + undetermined)


@sla_app.command()
def costs(
    paths: PathsArg,
    period: PeriodOpt,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table or json.")
    ] = OutputFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Sum every agreement's credits for a period per cost centre and per owning team."""
    from slm.render_statement import costs_table
    from slm.services.sla import costs as compute_costs
    from slm.spec.loader import load_workspace

    ws = load_workspace(paths)
    result = compute_costs(ws, period, _factory(ws, db, workspace))
    if fmt is OutputFormat.table:
        out.print(costs_table(result))
    else:
        _costs_json(result)
    if result.undetermined:
        from slm.services.errors import UndeterminedError

        which = ", ".join(f"{x.agreement}/{x.clause}" for x in result.undetermined)
        raise UndeterminedError(
            f"period {result.period}: credits undetermined, the attainment of {which} is unknown"
        )


def _costs_json(result: Any) -> None:

    def rows(key: str) -> list[dict[str, str | None]]:
        return [
            {key: n, "currency": c, "credits": None if v is None else str(v)}
            for n, c, v in result.by(key)
        ]

    from slm.services.views import document, dumps

    body = {
        "period": result.period,
        "by_cost_centre": rows("cost_centre"),
        "by_team": rows("team"),
        "lines": [
            {
                "agreement": line.agreement,
                "type": line.agreement_type,
                "clause": line.clause,
                "cost_centre": line.cost_centre,
                "team": line.team,
                "currency": line.currency,
                "amount": None if line.amount is None else str(line.amount),
            }
            for line in result.lines
        ],
        "skipped": list(result.skipped),
    }
    sys.stdout.write(dumps(document("slm.costs/v1", body)))


_HISTORY = re.compile(r"^([1-9][0-9]*)(mo|q)$")


def _history(text: str) -> tuple[int, str]:
    m = _HISTORY.match(text.strip())
    if not m:
        raise typer.BadParameter(
            f"{text!r}: give a count of months or quarters, e.g. 12mo or 4q",
            param_hint="--history",
        )
    return int(m.group(1)), m.group(2)


def _targets(text: str) -> list[Decimal]:
    out = []
    for part in text.split(","):
        try:
            d = Decimal(part.strip())
        except InvalidOperation:
            d = Decimal("NaN")
        if not d.is_finite() or not Decimal(0) < d <= Decimal(100):
            raise typer.BadParameter(
                f"{part.strip()!r} is not a percent in (0, 100], e.g. 99.9",
                param_hint="--targets",
            )
        out.append(d)
    return out


@sla_app.command()
def simulate(
    paths: PathsArg,
    targets: Annotated[
        str, typer.Option("--targets", help="Candidate targets in percent: 99.5,99.9,99.95.")
    ],
    history: Annotated[
        str, typer.Option("--history", help="Past periods to replay: 12mo (months) or 4q.")
    ] = "12mo",
    agreement: Annotated[
        list[str] | None, typer.Option("--agreement", help="Agreement (repeatable). Default: all.")
    ] = None,
    clause: Annotated[str | None, typer.Option("--clause", help="Only this clause.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Replay periods that ended by then. Default: now.")
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="table or json.")
    ] = OutputFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Replay candidate targets over past periods: attainment, breaches, credits, budget."""
    from slm.cli.progress import progress
    from slm.render_statement import simulation_table
    from slm.services.sla import simulate as run
    from slm.services.statements import agreements
    from slm.spec.loader import load_workspace

    wanted = _targets(targets)
    count, unit = _history(history)
    instant = parse_instant(at)
    ws = load_workspace(paths)
    names = agreement or sorted(agreements(ws))
    sims = []
    with progress("simulate", total=len(names)) as bar:
        for name in names:
            bar.advance()
            ag = agreements(ws).get(name)
            periods = count
            if ag is not None and unit == "mo" and ag.period == "quarter":
                periods = max(1, count // 3)
            elif ag is not None and unit == "q" and ag.period == "month":
                periods = count * 3
            factory = _factory(ws, db, workspace)
            sims += run(ws, factory, wanted, periods, instant, names=[name], clause=clause)
    if fmt is OutputFormat.table:
        out.print(simulation_table(sims))
        return
    from slm.domain.statement import attainment_value, ratio_value
    from slm.services.views import dumps, item_list

    body = [
        {
            "agreement": s.agreement,
            "clause": s.clause,
            "current_target": ratio_value(s.current_target),
            "currency": s.currency,
            "candidates": [
                {
                    "target": ratio_value(c.target),
                    "breached_periods": c.breached_periods,
                    "unknown_periods": c.unknown_periods,
                    "total_credit": str(c.total_credit),
                    "periods": [
                        {
                            "period": p.period,
                            "attainment": None
                            if p.attainment is None
                            else attainment_value(p.attainment),
                            "breached": p.breached,
                            "credit": None if p.credit is None else str(p.credit),
                            "error_budget_minutes": p.budget_minutes,
                        }
                        for p in c.periods
                    ],
                }
                for c in s.candidates
            ],
        }
        for s in sims
    ]
    sys.stdout.write(dumps(item_list("slm.sla-simulation/v1", body)))
