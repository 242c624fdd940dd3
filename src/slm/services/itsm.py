"""ITSM sync: incidents, problems and changes in the JSON shapes of the ServiceNow Table API
and of Jira issues (search results), both ways.

ServiceNow: ``{"result": [{"number", "short_description", "priority", "state", "opened_at",
"resolved_at", "cmdb_ci", ...}]}``; the table follows from the number prefix (INC, PRB,
CHG); instants are ``YYYY-MM-DD HH:MM:SS`` UTC; ``cmdb_ci`` may be a string or a reference
object (``display_value`` or ``value``). Jira: ``{"issues": [{"key", "fields": {"summary",
"priority": {"name"}, "status": {"name"}, "created", "resolutiondate",
"issuetype": {"name"}, "components": [{"name"}]}}]}``. slm's impact intervals travel in
the custom field ``u_slm_impacts`` (ServiceNow) or ``slm_impacts`` (Jira field), so a round
trip keeps downtime. Every problem is reported with the item index and field in one
``InvalidDocument``; nothing is imported unless every item is valid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from slm.domain.errors import DataError, FieldProblem, InvalidDocument
from slm.domain.incident import ImpactInterval, Incident, Priority, Status, TimelineEvent

Format = Literal["servicenow", "jira"]
FORMATS: tuple[Format, ...] = ("servicenow", "jira")

SN_PREFIX = {"INC": "incident", "PRB": "problem", "CHG": "change"}
SN_PRIORITY: Mapping[str, Priority] = {"1": "P1", "2": "P2", "3": "P3", "4": "P4", "5": "P4"}
# incident states: 1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed, 8 Canceled
SN_STATE = {"1": "open", "2": "open", "3": "open", "6": "resolved", "7": "closed", "8": "closed"}
SN_STATE_OUT = {"open": "2", "resolved": "6", "closed": "7"}
JIRA_PRIORITY: Mapping[str, Priority] = {
    "highest": "P1",
    "blocker": "P1",
    "critical": "P1",
    "high": "P2",
    "major": "P2",
    "medium": "P3",
    "low": "P4",
    "lowest": "P4",
    "minor": "P4",
    "trivial": "P4",
}
JIRA_PRIORITY_OUT = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
JIRA_DONE = {"done", "resolved", "closed", "completed", "cancelled", "canceled"}
JIRA_TYPE = {"incident": "incident", "problem": "problem", "change": "change"}
JIRA_TYPE_OUT = {"incident": "Incident", "problem": "Problem", "change": "Change"}


Loc = tuple[str | int, ...]


class _Problems:
    def __init__(self, where: str):
        self.where = where
        self.items: list[FieldProblem] = []

    def add(self, loc: Loc, message: str) -> None:
        self.items.append(FieldProblem(loc, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidDocument(self.items, self.where)


# --- reading ----------------------------------------------------------------------------


def read_file(path: Path, fmt: Format) -> list[Incident]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not JSON: {e.msg}") from None
    return parse(doc, fmt, str(path))


def parse(doc: Any, fmt: Format, where: str = "<input>") -> list[Incident]:
    if fmt == "servicenow":
        return _parse_list(doc, "result", _servicenow_item, where)
    return _parse_list(doc, "issues", _jira_item, where)


def _parse_list(
    doc: Any, key: str, item: Callable[[Any, Loc, _Problems], Incident | None], where: str
) -> list[Incident]:
    problems = _Problems(where)
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        problems.add((key,), f'expected an object {{"{key}": [...]}}')
        problems.raise_if_any()
    out: list[Incident] = []
    for i, raw in enumerate(doc[key]):
        inc = item(raw, (key, i), problems)
        if inc is not None:
            out.append(inc)
    ids = [i.id for i in out]
    for n, iid in enumerate(ids):
        if iid in ids[:n]:
            problems.add((key, n), f"duplicate record {iid!r}")
    problems.raise_if_any()
    return out


def _field(d: Mapping[str, Any], name: str, at: Loc, p: _Problems, *, required: bool = True) -> Any:
    value = d.get(name)
    if isinstance(value, Mapping) and name in ("cmdb_ci", "business_service"):
        value = value.get("display_value") or value.get("value")
    if required and (value is None or value == ""):
        p.add((*at, name), "missing")
    return value


def _instant(value: Any, at: Loc, p: _Problems) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        p.add(at, f"expected a date-time string, got {value!r}")
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit() and ":" not in text[-5:]:
        text = text[:-2] + ":" + text[-2:]  # Jira's +0000
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        p.add(at, f"{value!r} is not a date-time (e.g. 2026-11-01 10:00:00)")
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _impacts(value: Any, at: Loc, p: _Problems) -> tuple[ImpactInterval, ...]:
    if value in (None, "", []):
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            p.add(at, "not a JSON list of impact intervals")
            return ()
    if not isinstance(value, list):
        p.add(at, "expected a list of {service, start, end}")
        return ()
    out = []
    for n, v in enumerate(value):
        if not isinstance(v, dict) or not v.get("service"):
            p.add((*at, n, "service"), "missing")
            continue
        start = _instant(v.get("start"), (*at, n, "start"), p)
        end = _instant(v.get("end"), (*at, n, "end"), p)
        if start is None:
            p.add((*at, n, "start"), "missing")
            continue
        try:
            out.append(ImpactInterval(str(v["service"]), start, end))
        except ValueError as e:
            p.add((*at, n, "end"), str(e))
    return tuple(out)


def _servicenow_item(raw: Any, at: Loc, p: _Problems) -> Incident | None:
    if not isinstance(raw, dict):
        p.add(at, "expected an object")
        return None
    before = len(p.items)
    number = _field(raw, "number", at, p)
    title = _field(raw, "short_description", at, p)
    service = _field(raw, "cmdb_ci", at, p, required=False) or _field(
        raw, "business_service", at, p, required=False
    )
    if not service:
        p.add((*at, "cmdb_ci"), "missing (the configuration item names the service)")
    prio_raw = str(_field(raw, "priority", at, p) or "")
    priority = SN_PRIORITY.get(prio_raw.split(" ")[0])
    if prio_raw and priority is None:
        p.add((*at, "priority"), f"{prio_raw!r} is not a ServiceNow priority 1..5")
    state = str(_field(raw, "state", at, p) or "")
    kind = SN_PREFIX.get(str(number or "")[:3], "incident")
    status = SN_STATE.get(state) if kind == "incident" else None
    if kind == "incident" and state and status is None:
        p.add((*at, "state"), f"{state!r} is not an incident state (1, 2, 3, 6, 7, 8)")
    opened = _instant(_field(raw, "opened_at", at, p), (*at, "opened_at"), p)
    resolved = _instant(raw.get("resolved_at") or raw.get("closed_at"), (*at, "resolved_at"), p)
    if status is None:
        status = "resolved" if resolved is not None else "open"
    impacts = _impacts(raw.get("u_slm_impacts"), (*at, "u_slm_impacts"), p)
    if len(p.items) > before:
        return None
    assert opened is not None and priority is not None
    return Incident(
        id=str(number),
        title=str(title),
        service=str(service),
        priority=priority,
        opened_at=opened,
        kind=kind,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        resolved_at=resolved,
        source="servicenow",
        external_id=str(number),
        external_status=state,
        impacts=impacts,
        events=(TimelineEvent(opened, "opened", str(title), "", "import"),),
    )


def _name(fields: Mapping[str, Any], key: str, at: Loc, p: _Problems) -> str | None:
    v = fields.get(key)
    if not isinstance(v, Mapping) or not isinstance(v.get("name"), str) or not v["name"]:
        p.add((*at, "fields", key, "name"), "missing")
        return None
    return str(v["name"])


def _jira_item(raw: Any, at: Loc, p: _Problems) -> Incident | None:
    if not isinstance(raw, dict):
        p.add(at, "expected an object")
        return None
    before = len(p.items)
    key = _field(raw, "key", at, p)
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        p.add((*at, "fields"), "missing")
        return None
    title = _field(fields, "summary", (*at, "fields"), p)
    prio = _name(fields, "priority", at, p)
    priority = JIRA_PRIORITY.get(prio.lower()) if prio else None
    if prio and priority is None:
        p.add((*at, "fields", "priority", "name"), f"{prio!r} is not a known Jira priority")
    status_name = _name(fields, "status", at, p)
    type_name = _name(fields, "issuetype", at, p)
    kind = JIRA_TYPE.get((type_name or "").lower().split(" ")[0], "incident")
    created = _instant(fields.get("created"), (*at, "fields", "created"), p)
    if fields.get("created") in (None, ""):
        p.add((*at, "fields", "created"), "missing")
    resolved = _instant(fields.get("resolutiondate"), (*at, "fields", "resolutiondate"), p)
    comps = fields.get("components") or []
    service = next((c.get("name") for c in comps if isinstance(c, Mapping) and c.get("name")), None)
    if not service:
        p.add((*at, "fields", "components"), "missing (the first component names the service)")
    impacts = _impacts(fields.get("slm_impacts"), (*at, "fields", "slm_impacts"), p)
    if len(p.items) > before:
        return None
    assert created is not None and priority is not None and status_name is not None
    done = status_name.lower() in JIRA_DONE or resolved is not None
    status: Status = (
        ("closed" if status_name.lower() == "closed" else "resolved") if done else "open"
    )
    return Incident(
        id=str(key),
        title=str(title),
        service=str(service),
        priority=priority,
        opened_at=created,
        kind=kind,  # type: ignore[arg-type]
        status=status,
        resolved_at=resolved,
        source="jira",
        external_id=str(key),
        external_status=status_name,
        impacts=impacts,
        events=(TimelineEvent(created, "opened", str(title), "", "import"),),
    )


# --- writing ----------------------------------------------------------------------------


def _sn_time(t: datetime | None) -> str:
    return "" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _jira_time(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _impacts_out(i: Incident) -> list[dict[str, str | None]]:
    return [
        {
            "service": x.service,
            "start": x.start.isoformat(),
            "end": None if x.end is None else x.end.isoformat(),
        }
        for x in i.impacts
    ]


def to_servicenow(incidents: Sequence[Incident]) -> dict[str, Any]:
    return {
        "result": [
            {
                "number": i.id,
                "short_description": i.title,
                "priority": i.priority[1],
                "state": (
                    i.external_status
                    if i.source == "servicenow" and i.external_status
                    else SN_STATE_OUT[i.status]
                ),
                "opened_at": _sn_time(i.opened_at),
                "resolved_at": _sn_time(i.resolved_at),
                "cmdb_ci": i.service,
                "sys_class_name": i.kind if i.kind != "change" else "change_request",
                "u_slm_slo": i.slo,
                "u_slm_impacts": _impacts_out(i),
            }
            for i in incidents
        ]
    }


def to_jira(incidents: Sequence[Incident]) -> dict[str, Any]:
    issues = []
    for i in incidents:
        status = (
            i.external_status
            if i.source == "jira" and i.external_status
            else {"open": "Open", "resolved": "Resolved", "closed": "Closed"}[i.status]
        )
        issues.append(
            {
                "key": i.id,
                "fields": {
                    "summary": i.title,
                    "priority": {"name": JIRA_PRIORITY_OUT[i.priority]},
                    "status": {"name": status},
                    "created": _jira_time(i.opened_at),
                    "resolutiondate": _jira_time(i.resolved_at),
                    "issuetype": {"name": JIRA_TYPE_OUT[i.kind]},
                    "components": [{"name": i.service}],
                    "slm_impacts": _impacts_out(i),
                },
            }
        )
    return {"startAt": 0, "maxResults": len(issues), "total": len(issues), "issues": issues}


def export(incidents: Sequence[Incident], fmt: Format) -> dict[str, Any]:
    return to_servicenow(incidents) if fmt == "servicenow" else to_jira(incidents)


def incident_json(i: Incident) -> dict[str, Any]:
    """slm's own view of an incident (``slm incident show --format json``, webhooks)."""
    rc = i.root_cause
    return {
        "id": i.id,
        "kind": i.kind,
        "title": i.title,
        "service": i.service,
        "slo": i.slo,
        "priority": i.priority,
        "base_priority": i.base_priority or i.priority,
        "criticality": i.criticality,
        "status": i.status,
        "opened_at": i.opened_at.isoformat(),
        "resolved_at": None if i.resolved_at is None else i.resolved_at.isoformat(),
        "source": i.source,
        "external_id": i.external_id,
        "timeline": [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "team": e.team,
                "text": e.text,
                "source": e.source,
            }
            for e in i.timeline
        ],
        "impacts": _impacts_out(i),
        "root_cause": None
        if rc is None
        else {
            "category": rc.category,
            "attribution": rc.attribution,
            "summary": rc.summary,
            "evidence": list(rc.evidence),
            "corrective_actions": list(rc.corrective_actions),
            "signed_off_by": rc.signed_off_by or None,
            "signed_off_at": None if rc.signed_off_at is None else rc.signed_off_at.isoformat(),
        },
    }
