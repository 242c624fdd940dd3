"""``slm incident ...``: open, list, show, timeline events, impact, root cause, sign-off,
exclusion approval, ITSM import/export and major-event mode (see docs/incidents.md)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.table import Table

from slm.cli.app import DbOpt, WorkspaceOpt, app, out, parse_instant
from slm.cli.output import OutputOpt, emit

if TYPE_CHECKING:
    from slm.services.incidents import IncidentService
    from slm.services.outages import ServiceDowntime

incident_app = typer.Typer(
    help="Incidents: timelines, impact, root cause, ITSM sync.", no_args_is_help=True
)
app.add_typer(incident_app, name="incident")
major_app = typer.Typer(help="Major-event mode: SLA-critical services first.", no_args_is_help=True)
incident_app.add_typer(major_app, name="major-event")

SpecOpt = Annotated[
    list[Path] | None,
    typer.Option("--spec", help="Spec files or directories (SLO criticality, policy, channels)."),
]
AtOpt = Annotated[str | None, typer.Option("--at", help="RFC 3339 instant. Default: now.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _service(spec: list[Path] | None, db: str | None, workspace: Path) -> IncidentService:
    from slm.cli.store import open_store
    from slm.services.incidents import IncidentService
    from slm.spec.loader import load_workspace

    ws = load_workspace(spec) if spec else None
    return IncidentService(open_store(db, workspace), ws)


@incident_app.command("open")
def incident_open(
    title: Annotated[str, typer.Option("--title", help="What is broken.")],
    service: Annotated[str, typer.Option("--service", help="The impacted service.")],
    slo: Annotated[str, typer.Option("--slo", help="The SLO at risk (for criticality).")] = "",
    priority: Annotated[
        str | None, typer.Option("--priority", help="P1..P4; default: from the rules.")
    ] = None,
    budget_remaining: Annotated[
        float | None, typer.Option("--budget-remaining", help="Remaining budget fraction.")
    ] = None,
    team: Annotated[str, typer.Option("--team", help="The reporting team.")] = "",
    at: AtOpt = None,
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Open an incident by hand."""
    if priority is not None and priority not in ("P1", "P2", "P3", "P4"):
        raise typer.BadParameter(f"{priority!r} is not P1..P4", param_hint="--priority")
    when = parse_instant(at) if at is not None else None
    inc = _service(spec, db, workspace).open(
        title,
        service,
        slo=slo,
        priority=priority,  # type: ignore[arg-type]
        budget_remaining=budget_remaining,
        at=when,
        team=team,
    )
    out.print(f"{inc.id} {inc.priority} {inc.service}: {inc.title}", markup=False)


@incident_app.command("list")
def incident_list(
    status: Annotated[str | None, typer.Option("--status", help="open, resolved, closed")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="incident, problem, change")] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """List incidents (and imported problems and changes)."""
    from slm.services.itsm import incident_json

    svc = _service(None, db, workspace)
    found = svc.find(status=status, kind=kind)
    if as_json:
        from slm.services.views import dumps, iso, item_list

        doc = item_list("slm.incidents/v1", map(incident_json, found), at=iso(svc.clock.now()))
        sys.stdout.write(dumps(doc))
        return
    table = Table(title="Incidents")
    for col in ("id", "priority", "status", "service", "opened", "title"):
        table.add_column(col, overflow="fold")
    for i in found:
        table.add_row(i.id, i.priority, i.status, i.service, i.opened_at.isoformat(), i.title)
    out.print(table)


@incident_app.command("show")
def incident_show(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    as_json: JsonOpt = False,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Show one incident with its merged timeline, impact and root cause."""
    from slm.services.incidents import incident_detail

    svc = _service(None, db, workspace)
    view = incident_detail(svc.get(incident_id), svc.proposals(incident_id), svc.clock.now())
    if as_json:
        from slm.services.views import document, dumps

        sys.stdout.write(dumps(document("slm.incident/v1", view)))
        return
    out.print(
        f"{view['id']} {view['priority']} {view['status']} {view['service']}: {view['title']}",
        markup=False,
    )
    for e in view["timeline"]:
        team = f" [{e['team']}]" if e["team"] else ""
        out.print(f"  {e['at']}{team} {e['kind']}: {e['text']}", markup=False)
    for x in view["impacts"]:
        out.print(f"  impact {x['service']}: {x['start']} .. {x['end'] or 'ongoing'}", markup=False)
    if view["root_cause"]:
        out.print(f"  root cause: {json.dumps(view['root_cause'])}", markup=False)
    for p in view["exclusions"]:
        out.print(
            f"  exclusion #{p['id']} {p['name']} ({p['category']}): {p['state']}", markup=False
        )


@incident_app.command("event")
def incident_event(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    text: Annotated[str, typer.Argument(help="What happened.")],
    kind: Annotated[str, typer.Option("--kind", help="note, mitigated, resolved, ...")] = "note",
    team: Annotated[str, typer.Option("--team", help="The team adding it.")] = "",
    at: AtOpt = None,
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Add a timeline event (kind ``resolved`` resolves the incident)."""
    when = parse_instant(at) if at is not None else None
    inc = _service(spec, db, workspace).add_event(incident_id, kind, text, team=team, at=when)
    out.print(f"{inc.id}: {len(inc.timeline)} timeline events", markup=False)


@incident_app.command("impact")
def incident_impact(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    service: Annotated[str, typer.Option("--service", help="The impacted service.")],
    start: Annotated[str | None, typer.Option("--start", help="Impact start.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Impact end.")] = None,
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Record an impact interval: --start (and --end), or --end to close the open one."""
    if start is None and end is None:
        raise typer.BadParameter("give --start, --end or both", param_hint="--start")
    s = parse_instant(start, "--start") if start is not None else None
    e = parse_instant(end, "--end") if end is not None else None
    inc = _service(spec, db, workspace).set_impact(incident_id, service, s, e)
    for x in inc.impacts:
        out.print(
            f"{inc.id} impact {x.service}: {x.start.isoformat()} .. "
            f"{x.end.isoformat() if x.end else 'ongoing'}",
            markup=False,
        )


@incident_app.command("rca")
def incident_rca(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    category: Annotated[str, typer.Option("--category", help="e.g. config-change, capacity.")],
    attribution: Annotated[
        str, typer.Option("--attribution", help="provider, customer, third-party, force-majeure")
    ],
    summary: Annotated[str, typer.Option("--summary")] = "",
    evidence: Annotated[list[str] | None, typer.Option("--evidence", help="Link; repeat.")] = None,
    action: Annotated[
        list[str] | None, typer.Option("--action", help="Corrective action; repeat.")
    ] = None,
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Record (or replace, until signed off) the root-cause record."""
    from slm.domain.errors import DataError
    from slm.domain.incident import Attribution, RootCause

    try:
        rc = RootCause(
            category,
            cast("Attribution", attribution),
            summary,
            tuple(evidence or ()),
            tuple(action or ()),
        )
    except ValueError as e:
        raise DataError(f"incident {incident_id}: {e}") from None
    _service(spec, db, workspace).record_root_cause(incident_id, rc)
    out.print(f"{incident_id}: root cause recorded ({category}, {attribution})", markup=False)


@incident_app.command("signoff")
def incident_signoff(
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    by: Annotated[str, typer.Option("--by", help="Who signs off.")],
    agreement: Annotated[
        list[str] | None, typer.Option("--agreement", help="Limit proposed exclusions; repeat.")
    ] = None,
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Sign off the root cause; it is immutable afterwards."""
    _, proposals = _service(spec, db, workspace).sign_off(incident_id, by, agreement or ())
    out.print(f"{incident_id}: root cause signed off by {by}", markup=False)
    for p in proposals:
        out.print(
            f"proposed exclusion #{p.id} {p.exclusion.name} ({p.exclusion.category}); "
            f"approve with `slm incident approve-exclusion {p.id} --by NAME`",
            markup=False,
        )


@incident_app.command("approve-exclusion")
def incident_approve_exclusion(
    proposal_id: Annotated[int, typer.Argument(help="Proposed exclusion id.")],
    by: Annotated[str, typer.Option("--by", help="Who approves.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead.")] = False,
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Approve (or --reject) an exclusion a root cause proposed."""
    p = _service(spec, db, workspace).decide_exclusion(proposal_id, by, approved=not reject)
    out.print(f"exclusion #{p.id} {p.exclusion.name}: {p.state} by {by}", markup=False)


@incident_app.command("import")
def incident_import(
    path: Annotated[Path, typer.Argument(help="JSON file.")],
    fmt: Annotated[str, typer.Option("--format", help="servicenow or jira")],
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Import incidents, problems and changes (all or nothing)."""
    from slm.services import itsm

    if fmt not in itsm.FORMATS:
        raise typer.BadParameter(f"{fmt!r}: use servicenow or jira", param_hint="--format")
    records = itsm.read_file(path, fmt)
    ins, upd = _service(spec, db, workspace).import_records(records)
    out.print(f"imported {len(records)} record(s): {ins} new, {upd} updated", markup=False)


@incident_app.command("export")
def incident_export(
    fmt: Annotated[str, typer.Option("--format", help="servicenow or jira")],
    output: OutputOpt = None,
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Export incidents in the ServiceNow Table API or Jira issues JSON shape."""
    from slm.services import itsm

    if fmt not in itsm.FORMATS:
        raise typer.BadParameter(f"{fmt!r}: use servicenow or jira", param_hint="--format")
    doc = itsm.export(_service(None, db, workspace).find(kind=kind), fmt)
    emit(json.dumps(doc, indent=2) + "\n", output)


@incident_app.command("downtime")
def incident_downtime(
    service: Annotated[str, typer.Option("--service", help="The impacted service.")],
    period: Annotated[
        str,
        typer.Option(
            "--period",
            help="Month 2026-10, quarter 2026-Q4, day 2026-10-14, or START/END instants.",
        ),
    ],
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA zone of a month, quarter or day.")
    ] = "UTC",
    priority: Annotated[
        list[str] | None, typer.Option("--priority", help="Only incidents of P1..P4; repeat.")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Open impacts count until then. Default: now.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    output: OutputOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """A service's downtime from the incidents' impact intervals (overlaps counted once)."""
    from slm.services.outages import parse_window, store_downtime
    from slm.store.db import open_store

    if fmt not in ("table", "json"):
        raise typer.BadParameter(f"{fmt!r}: use table or json", param_hint="--format")
    for p in priority or ():
        if p not in ("P1", "P2", "P3", "P4"):
            raise typer.BadParameter(f"{p!r} is not P1..P4", param_hint="--priority")
    window = parse_window(period, time_zone)
    instant = parse_instant(at)
    report = store_downtime(open_store(db, workspace), service, window, instant, priority or ())
    if fmt == "json":
        from slm.services.views import document, dumps

        text = dumps(document("slm.incident-downtime/v1", _downtime_json(report)))
    else:
        text = _downtime_text(report)
    emit(text, output)


def _z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _downtime_json(r: ServiceDowntime) -> dict[str, Any]:
    a = r.availability
    return {
        "service": r.service,
        "period": {"label": r.window.label, "start": _z(r.window.start), "end": _z(r.window.end)},
        "until": _z(r.until),
        "measured_seconds": r.measured.total_seconds(),
        "downtime_seconds": r.downtime.total_seconds(),
        "availability": None if a is None else round(float(a), 9),
        "intervals": [{"start": _z(s), "end": _z(e)} for s, e in r.spans],
        "incidents": [
            {
                "id": c.incident.id,
                "priority": c.incident.priority,
                "title": c.incident.title,
                "open_impact": c.open,
                "intervals": [{"start": _z(s), "end": _z(e)} for s, e in c.spans],
                "seconds": sum((e - s for s, e in c.spans), timedelta(0)).total_seconds(),
            }
            for c in r.contributions
        ],
    }


def _downtime_text(r: ServiceDowntime) -> str:
    from io import StringIO

    from rich.console import Console

    from slm.domain.durations import format_duration

    a = r.availability
    buf = StringIO()
    console = Console(file=buf, width=200, no_color=True, highlight=False, soft_wrap=True)
    console.print(
        f"{r.service}: {format_duration(r.downtime) if r.downtime else '0s'} down in "
        f"{r.window.label} ({_z(r.window.start)} .. {_z(r.window.end)}); availability "
        + ("-" if a is None else f"{float(a) * 100:.4f}%")
        + (f" (measured until {_z(r.until)})" if r.until < r.window.end else ""),
        markup=False,
    )
    table = Table(title="Incidents with an impact", title_justify="left")
    for col in ("incident", "priority", "start", "end", "downtime", "title"):
        table.add_column(col, justify="right" if col == "downtime" else "left", no_wrap=True)
    for c in r.contributions:
        for s, e in c.spans:
            table.add_row(
                c.incident.id,
                c.incident.priority,
                _z(s),
                _z(e) + (" (open)" if c.open and e == r.until else ""),
                format_duration(e - s),
                c.incident.title,
            )
    console.print(table)
    console.print(
        f"{len(r.spans)} merged interval(s); overlapping impacts are counted once", markup=False
    )
    return buf.getvalue()


def _major(
    on: bool, by: str, reason: str, spec: list[Path] | None, db: str | None, workspace: Path
) -> None:
    changed = _service(spec, db, workspace).set_major_event(on, by, reason)
    out.print(
        f"major-event mode {'on' if on else 'off'} (by {by}); "
        f"{len(changed)} open incident(s) re-prioritised",
        markup=False,
    )
    for i in changed:
        out.print(f"  {i.id} {i.service}: {i.priority}", markup=False)


@major_app.command("on")
def major_on(
    by: Annotated[str, typer.Option("--by", help="Who declares it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Declare a major event: SLA-critical services rank above the rest."""
    _major(True, by, reason, spec, db, workspace)


@major_app.command("off")
def major_off(
    by: Annotated[str, typer.Option("--by", help="Who ends it.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    spec: SpecOpt = None,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """End the major event: priorities return to the rules."""
    _major(False, by, reason, spec, db, workspace)
