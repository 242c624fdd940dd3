"""Incident files: the incident timelines an incident-handling clause is measured from.

Until incidents come from slm itself, a clause reads them from a CSV or YAML file
(format in docs/agreements.md). CSV has one row per event with the header
``incident,service,priority,event,at,note``; YAML holds ``incidents:``, each with ``id``,
``service`` and ``events`` (``event``, ``at``, ``priority``, ``note``). Instants are RFC 3339
with an offset. Every problem is reported with file and line in one ``DataError``.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from slm.domain.errors import DataError
from slm.domain.incident_clock import EVENT_KINDS, EventKind, Incident, IncidentEvent
from slm.spec.yamlio import parse_file

CSV_COLUMNS = ("incident", "service", "priority", "event", "at", "note")


@dataclass(frozen=True)
class IncidentFile:
    path: str
    sha256: str
    incidents: tuple[Incident, ...]


@dataclass
class _Row:
    incident: str
    service: str
    priority: str
    event: str
    at: Any
    note: str
    where: str


def read_incidents(path: Path) -> IncidentFile:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read incident file: {e.strerror or e}") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: incident file is not UTF-8 text") from e
    problems: list[str] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        rows = _yaml_rows(str(path), text, problems)
    elif path.suffix.lower() == ".csv":
        rows = _csv_rows(str(path), text, problems)
    else:
        raise DataError(f"{path}: incident files are .csv, .yaml or .yml")
    incidents = _incidents(rows, problems)
    if problems:
        raise DataError("bad incident file:\n" + "\n".join(problems))
    return IncidentFile(str(path), hashlib.sha256(raw).hexdigest(), tuple(incidents))


def _csv_rows(path: str, text: str, problems: list[str]) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or []) and c != "note"]
    if missing:
        problems.append(f"{path}:1: missing column(s) {', '.join(missing)} (need {CSV_COLUMNS})")
        return []
    rows = []
    for rec in reader:
        where = f"{path}:{reader.line_num}"
        rows.append(
            _Row(
                (rec.get("incident") or "").strip(),
                (rec.get("service") or "").strip(),
                (rec.get("priority") or "").strip(),
                (rec.get("event") or "").strip(),
                (rec.get("at") or "").strip(),
                (rec.get("note") or "").strip(),
                where,
            )
        )
    return rows


def _yaml_rows(path: str, text: str, problems: list[str]) -> list[_Row]:
    docs, errors = parse_file(path, text)
    problems += [f"{e.path}:{e.line}: {e.message}" for e in errors]
    if errors:
        return []
    data = docs[0].data if len(docs) == 1 else None
    if not isinstance(data, dict) or not isinstance(data.get("incidents"), list):
        problems.append(f"{path}:1: expected a mapping with a list `incidents:`")
        return []
    doc = docs[0]
    rows = []
    for i, inc in enumerate(data["incidents"]):
        where = f"{path}:{doc.line_of(('incidents', i))}"
        if not isinstance(inc, dict) or not isinstance(inc.get("events"), list):
            problems.append(f"{where}: an incident needs id, service and a list of events")
            continue
        for j, ev in enumerate(inc["events"]):
            ewhere = f"{path}:{doc.line_of(('incidents', i, 'events', j))}"
            if not isinstance(ev, dict):
                problems.append(f"{ewhere}: an event is a mapping (event, at, priority, note)")
                continue
            rows.append(
                _Row(
                    str(inc.get("id") or ""),
                    str(inc.get("service") or ""),
                    str(ev.get("priority") or ""),
                    str(ev.get("event") or ""),
                    ev.get("at"),
                    str(ev.get("note") or ""),
                    ewhere,
                )
            )
    return rows


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    return None if t.tzinfo is None else t.astimezone(UTC)


def _incidents(rows: list[_Row], problems: list[str]) -> list[Incident]:
    by_id: dict[str, list[tuple[IncidentEvent, _Row]]] = {}
    for r in rows:
        ok = True
        if not r.incident:
            problems.append(f"{r.where}: incident: required")
            ok = False
        if r.event not in EVENT_KINDS:
            problems.append(f"{r.where}: event: {r.event!r} is not one of {', '.join(EVENT_KINDS)}")
            ok = False
        at = _instant(r.at)
        if at is None:
            problems.append(
                f"{r.where}: at: {r.at!r} is not an RFC 3339 instant with an offset "
                "(e.g. 2026-10-14T13:05:00Z)"
            )
            ok = False
        if r.event in ("open", "priority") and not r.priority:
            problems.append(f"{r.where}: priority: required for a {r.event} event")
            ok = False
        if ok and at is not None:
            kind = cast(EventKind, r.event)
            value = r.priority if kind in ("open", "priority") else ""
            event = IncidentEvent(kind, at, value, r.note, r.where)
            by_id.setdefault(r.incident, []).append((event, r))
    out = []
    for ident, items in by_id.items():
        opens = [r for e, r in items if e.kind == "open"]
        if len(opens) != 1:
            where = items[0][1].where
            problems.append(f"{where}: incident {ident!r} has {len(opens)} open events (need 1)")
            continue
        if not opens[0].service:
            problems.append(f"{opens[0].where}: service: required on the open event")
            continue
        events = sorted((e for e, _ in items), key=lambda e: (e.at, EVENT_KINDS.index(e.kind)))
        opened = next(e for e in events if e.kind == "open")
        early = [e for e in events if e.at < opened.at]
        if early:
            problems.append(
                f"{early[0].source}: {early[0].kind} at {early[0].at.isoformat()} is before "
                f"incident {ident!r} was opened ({opened.at.isoformat()})"
            )
            continue
        out.append(Incident(ident, opens[0].service, tuple(events), opens[0].where))
    return sorted(out, key=lambda i: (i.opened_at, i.id))
