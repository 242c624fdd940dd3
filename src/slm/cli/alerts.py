"""``slm alerts ...``: backtest alert policies, drive and inspect alert states."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

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
    from slm.domain.alert_state import AlertSettings

alerts_app = typer.Typer(
    help="Burn-rate alerts: backtest policies against history, run and inspect alert states.",
    no_args_is_help=True,
)
app.add_typer(alerts_app, name="alerts")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table or json.")]
HysteresisOpt = Annotated[
    bool,
    typer.Option(
        "--hysteresis/--no-hysteresis",
        help="Resolve at 0.9 x threshold after one short window (slm's alerts), or as soon "
        "as the condition is false (Prometheus rules).",
    ),
]


def _settings(hysteresis: bool) -> AlertSettings:
    from slm.domain.alert_state import PROMETHEUS_SEMANTICS, AlertSettings

    return AlertSettings() if hysteresis else PROMETHEUS_SEMANTICS


def _dump(doc: dict[str, Any]) -> None:
    """A JSON document (docs/json.md) on stdout."""
    from slm.services.views import dumps

    sys.stdout.write(dumps(doc))


@alerts_app.command()
def backtest(
    paths: PathsArg,
    start: Annotated[str, typer.Option("--from", help="Start of the replay (RFC 3339).")],
    end: Annotated[str, typer.Option("--to", help="End of the replay (RFC 3339).")],
    policy: Annotated[
        list[Path] | None,
        typer.Option(
            "--policy",
            help="AlertWindowCatalogue or OpenSLO AlertPolicy file (repeat to compare). "
            "Default: the shipped catalogue for each SLO period.",
        ),
    ] = None,
    incidents: Annotated[
        Path | None,
        typer.Option("--incidents", help="Recorded incidents (CSV or YAML, see docs)."),
    ] = None,
    slo: Annotated[
        list[str] | None, typer.Option("--slo", help="Only these SLOs (repeatable).")
    ] = None,
    step: Annotated[str, typer.Option("--step", help="Bucket and evaluation step.")] = "1m",
    hysteresis: HysteresisOpt = True,
    fmt: FormatOpt = OutputFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Replay history through alert policies and compare them side by side."""
    from slm.cli.store import open_store
    from slm.services.backtest import (
        DEFAULT,
        backtest_view,
        load_incidents,
        load_policies,
        run_backtest,
    )
    from slm.services.evaluate import source_types
    from slm.sources.factory import SourceFactory
    from slm.spec.loader import load_workspace

    t0, t1 = parse_instant(start, "--from"), parse_instant(end, "--to")
    if t1 <= t0:
        raise typer.BadParameter("must be after --from", param_hint="--to")
    bucket = parse_duration_option(step, "--step")
    ws = load_workspace(paths)
    unknown = sorted(set(slo or ()) - set(ws.slos))
    if unknown:
        raise typer.BadParameter(f"unknown SLO(s): {', '.join(unknown)}", param_hint="--slo")
    policies = load_policies(policy) if policy else [DEFAULT]
    recorded = load_incidents(incidents, set(ws.slos)) if incidents else None
    store = open_store(db, workspace) if "store" in source_types(ws) else None
    from slm.cli.progress import progress

    with progress("backtest", total=len(slo or ws.slos)) as bar:
        report = run_backtest(
            ws,
            SourceFactory(store=store),
            t0,
            t1,
            policies,
            recorded,
            slos=slo or None,
            step=bucket,
            settings=_settings(hysteresis),
            advance=bar.advance,
        )
    view = backtest_view(report)
    if fmt is OutputFormat.json:
        from slm.services.views import document

        _dump(document("slm.backtest/v1", view))
    else:
        _print_backtest(view)
    for failure in report.failures:
        err.print(f"error: SLO {failure.slo}: {failure.message}", markup=False)
    if report.failures:
        raise typer.Exit(3)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 120:
        return f"{seconds:.0f}s"
    h, rest = divmod(s, 3600)
    return f"{h}h{rest // 60:02d}m" if h else f"{rest // 60}m{rest % 60:02d}s"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.2f}%"


def _n(x: Any) -> str:
    return "-" if x is None else str(x)


def _print_backtest(view: dict[str, Any]) -> None:
    policies: list[dict[str, Any]] = view["policies"]
    summary = Table(title=f"Backtest {view['from']} .. {view['to']}")
    summary.add_column("")
    for p in policies:
        summary.add_column(p["name"], justify="right")
    rows: Sequence[tuple[str, Any]] = (
        ("alerts fired", lambda p: str(p["alerts_fired"])),
        (
            "  by severity",
            lambda p: ", ".join(f"{k} {v}" for k, v in sorted(p["by_severity"].items())) or "-",
        ),
        ("alert hours", lambda p: f"{p['alert_hours']:.2f}"),
        ("incidents detected", lambda p: _n(p["detected"])),
        ("incidents missed", lambda p: _n(p["missed"])),
        ("alerts with no incident", lambda p: _n(p["alerts_without_incident"])),
        ("mean time to detect", lambda p: _duration(p["mean_time_to_detect_seconds"])),
    )
    for label, cell in rows:
        summary.add_row(label, *(cell(p) for p in policies))
    out.print(summary)
    if not policies or not policies[0]["detections"]:
        return
    table = Table(title="Time to detect (budget consumed before detection)")
    table.add_column("incident", overflow="fold")
    table.add_column("slo", overflow="fold")
    table.add_column("start")
    for p in policies:
        table.add_column(p["name"], justify="right")
    for i, d in enumerate(policies[0]["detections"]):
        cells = []
        for p in policies:
            di = p["detections"][i]
            ttd = di["time_to_detect_seconds"]
            cells.append(
                f"missed ({_pct(di['budget_consumed'])})"
                if ttd is None
                else f"{_duration(ttd)} {di['severity']} ({_pct(di['budget_consumed'])})"
            )
        table.add_row(d["incident"], d["slo"], d["start"], *cells)
    out.print(table)


@alerts_app.command()
def check(
    paths: PathsArg,
    at: Annotated[
        str | None, typer.Option("--at", help="Instant (RFC 3339). Default: now.")
    ] = None,
    catalogue: Annotated[
        Path | None,
        typer.Option("--windows", help="Alert-window catalogue (AlertWindowCatalogue YAML)."),
    ] = None,
    hysteresis: HysteresisOpt = True,
    fmt: FormatOpt = OutputFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Evaluate PATH at an instant, advance the stored alert states, print the transitions."""
    from slm.cli.store import open_store
    from slm.services.alerting import AlertService, transition_view
    from slm.services.evaluate import evaluate_workspace
    from slm.sources.factory import SourceFactory
    from slm.spec.catalogues import load_catalogue
    from slm.spec.loader import load_workspace

    instant = parse_instant(at)
    ws = load_workspace(paths)
    cat = load_catalogue(catalogue) if catalogue else None
    store = open_store(db, workspace)
    service = AlertService(store, ws, catalogue=cat, settings=_settings(hysteresis))
    report = evaluate_workspace(ws, instant, SourceFactory(store=store), catalogue=cat)
    transitions = service.process(report.results, instant)
    views = [transition_view(t) for t in transitions]
    if fmt is OutputFormat.json:
        from slm.services.views import iso, item_list

        _dump(item_list("slm.alert-check/v1", views, at=iso(instant)))
    else:
        table = Table(title=f"Alert transitions at {instant.isoformat()}")
        for col in ("alert", "severity", "from", "to", "grouped under"):
            table.add_column(col, overflow="fold")
        for v in views:
            under = v["leader"] if v["grouped"] and v["to"] == "firing" else ""
            table.add_row(v["key"], v["severity"], v["from"], v["to"], under)
        out.print(table if views else "no alert changed state")
    for failure in report.failures:
        err.print(f"error: SLO {failure.slo}: {failure.message}", markup=False)
    if report.failures:
        raise typer.Exit(3)


@alerts_app.command("list")
def list_alerts(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="inactive, pending, firing or resolved (repeatable)."),
    ] = None,
    fmt: FormatOpt = OutputFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """The stored alert states."""
    from slm.cli.store import open_store
    from slm.domain.alert_state import AlertStatus
    from slm.services.alerting import alert_view
    from slm.store.alerts import AlertRepository

    try:
        wanted = [AlertStatus(s) for s in status] if status else None
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--status") from None
    store = open_store(db, workspace)
    with store.transaction() as repos:
        views = [alert_view(a) for a in AlertRepository(repos.connection).all(statuses=wanted)]
    if fmt is OutputFormat.json:
        from slm.services.views import item_list

        _dump(item_list("slm.alerts/v1", views))
        return
    table = Table(title="Alerts")
    for col in ("alert", "severity", "status", "since", "episode"):
        table.add_column(col, overflow="fold")
    for v in views:
        since = v["resolved_at"] or v["fired_at"] or v["pending_since"] or "-"
        table.add_row(v["key"], v["severity"], v["status"], since, str(v["episode"]))
    out.print(table)


@alerts_app.command()
def events(
    slo: Annotated[str | None, typer.Option("--slo", help="Only this SLO.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only transitions at or after (RFC 3339).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most the last N.", min=1)] = 100,
    fmt: FormatOpt = OutputFormat.table,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """The log of alert transitions, oldest first."""
    from slm.cli.store import open_store
    from slm.services.alerting import transition_view
    from slm.store.alerts import AlertRepository

    after = parse_instant(since, "--since") if since else None
    store = open_store(db, workspace)
    with store.transaction() as repos:
        found = AlertRepository(repos.connection).events(slo=slo, since=after, limit=limit)
    views = [transition_view(t) for t in found]
    if fmt is OutputFormat.json:
        from slm.services.views import item_list

        _dump(item_list("slm.alert-events/v1", views))
        return
    table = Table(title="Alert transitions")
    for col in ("at", "alert", "severity", "from", "to"):
        table.add_column(col, overflow="fold")
    for v in views:
        table.add_row(v["at"], v["key"], v["severity"], v["from"], v["to"])
    out.print(table)
