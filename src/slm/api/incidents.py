"""Incident routes of ``slm serve`` under ``/api/v1/incidents`` (docs/api.md): list, get
one (merged timeline, downtime), open by hand, timeline events, impact start and end, the
root-cause record, sign-off and ServiceNow/Jira import.

Every change goes through ``IncidentService``, so the listeners (the outbound ITSM
webhooks of the priority policy's ``notify`` channels) hear about it exactly as from the
CLI. Instants left out default to the server's evaluation clock. Bodies are checked by
pydantic (``422`` naming each field); a refusal of the service is ``422`` naming the field
it concerns (the error's ``about``), a change to a signed-off root cause ``409``, an unknown
incident ``404``: problems of ``slm.api.problems``, raised by the service, not built here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from slm.api import pages
from slm.api.deps import EvaluationClock, Incidents
from slm.api.problems import responses
from slm.domain.incident import Attribution, Incident, IncidentKind, Priority, RootCause
from slm.services import itsm
from slm.services.incidents import IncidentService, incident_detail
from slm.services.itsm import incident_json
from slm.services.ports import Clock
from slm.services.views import document, iso, item_list

StatusFilter = Literal["open", "resolved", "closed", "all"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]")


def _rfc3339(value: object) -> object:
    """Only RFC 3339 text: pydantic would read a number as Unix seconds."""
    if isinstance(value, str) and _DATE.match(value):
        return value
    raise ValueError("expected an RFC 3339 instant with an offset (e.g. 2026-11-01T00:00:00Z)")


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewIncident(_Body):
    title: Text
    service: Name
    slo: str = ""
    priority: Priority | None = None  # None: the IncidentPriorityPolicy decides
    budget_remaining: Annotated[float, Field(strict=True, allow_inf_nan=False)] | None = None
    team: str = ""
    at: Instant | None = None
    kind: IncidentKind = "incident"


class NewEvent(_Body):
    text: Text
    kind: Name = "note"  # ``resolved`` resolves the incident
    team: str = ""
    at: Instant | None = None


class ImpactChange(_Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # start, end or both, not null
            "anyOf": [
                {"required": ["start"], "properties": {"start": {"type": "string"}}},
                {"required": ["end"], "properties": {"end": {"type": "string"}}},
            ]
        },
    )

    service: Name
    start: Instant | None = None
    end: Instant | None = Field(default=None, validate_default=True)

    @field_validator("end")
    @classmethod
    def _start_or_end(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if end is None and start is None and "start" in info.data:
            raise ValueError("give start, end or both")
        if end is not None and start is not None and end <= start:
            raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
        return end


class RootCauseRecord(_Body):
    category: Name
    attribution: Attribution
    summary: str = ""
    evidence: list[Text] = []
    corrective_actions: list[Text] = []


class SignOff(_Body):
    by: Name
    agreements: list[Name] = []


def _utc(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(UTC)


def _detail(incidents: IncidentService, clock: Clock, inc: Incident) -> dict[str, Any]:
    """One incident with its proposals and its downtime until the evaluation clock now."""
    view = incident_detail(inc, incidents.proposals(inc.id), clock.now())
    return document("slm.incident/v1", view)


_CHANGE = responses(404, 409, 413, 422, 503)
"""What a change of an incident can answer besides success."""


router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


@router.get("", responses=responses(422, 503))
def list_incidents(
    request: Request,
    response: Response,
    incidents: Incidents,
    clock: EvaluationClock,
    service: Annotated[str | None, Query(description="only this service")] = None,
    status: Annotated[
        StatusFilter, Query(description="open (default), resolved, closed, all")
    ] = "open",
    kind: Annotated[IncidentKind | None, Query(description="incident, problem, change")] = None,
    since: Annotated[
        Instant | None, Query(description="still open, or resolved at or after this")
    ] = None,
    limit: pages.Limit = pages.DEFAULT_LIMIT,
    cursor: pages.Cursor = None,
) -> dict[str, Any]:
    """Incidents, oldest first, with their merged timelines (default: the open ones),
    a page at a time: ``next`` is the path of the next page."""
    found = incidents.find(
        service=service,
        status=None if status == "all" else status,
        kind=kind,
        since=_utc(since),
        after=None if cursor is None else pages.decode(cursor),
        limit=limit + 1,
    )
    more = len(found) > limit
    found = found[:limit]
    last = (found[-1].opened_at, found[-1].id) if more else None
    views = [incident_json(i) for i in found]
    next_page = pages.next_page(request, response, last)
    return item_list("slm.incidents/v1", views, at=iso(clock.now()), next=next_page)


@router.get("/{incident_id}", responses=responses(404, 503))
def get_incident(incident_id: str, incidents: Incidents, clock: EvaluationClock) -> dict[str, Any]:
    """One incident: merged timeline, impacts, downtime, root cause, exclusions."""
    return _detail(incidents, clock, incidents.get(incident_id))


@router.post("", status_code=201, responses=responses(413, 422, 503))
def open_incident(
    body: NewIncident, incidents: Incidents, clock: EvaluationClock
) -> dict[str, Any]:
    """Open an incident by hand (without ``priority`` the policy decides)."""
    inc = incidents.open(
        body.title,
        body.service,
        slo=body.slo,
        priority=body.priority,
        budget_remaining=body.budget_remaining,
        at=_utc(body.at) or clock.now(),
        team=body.team,
        kind=body.kind,
    )
    return _detail(incidents, clock, inc)


@router.post("/{incident_id}/events", status_code=201, responses=_CHANGE)
def add_event(
    incident_id: str, body: NewEvent, incidents: Incidents, clock: EvaluationClock
) -> dict[str, Any]:
    """Add a timeline event for a team; kind ``resolved`` resolves the incident."""
    at = _utc(body.at) or clock.now()
    return _detail(
        incidents,
        clock,
        incidents.add_event(incident_id, body.kind, body.text, team=body.team, at=at),
    )


@router.post("/{incident_id}/impacts", responses=_CHANGE)
def set_impact(
    incident_id: str, body: ImpactChange, incidents: Incidents, clock: EvaluationClock
) -> dict[str, Any]:
    """Start an impact on a service, end its open one (``end`` alone), or record both."""
    start, end = _utc(body.start), _utc(body.end)
    return _detail(incidents, clock, incidents.set_impact(incident_id, body.service, start, end))


@router.put("/{incident_id}/root-cause", responses=_CHANGE)
def set_root_cause(
    incident_id: str, body: RootCauseRecord, incidents: Incidents, clock: EvaluationClock
) -> dict[str, Any]:
    """Record or replace the root-cause record (until it is signed off: then 409)."""
    cause = RootCause(
        body.category,
        body.attribution,
        body.summary,
        tuple(body.evidence),
        tuple(body.corrective_actions),
    )
    return _detail(incidents, clock, incidents.record_root_cause(incident_id, cause))


@router.post("/{incident_id}/signoff", responses=_CHANGE)
def sign_off(
    incident_id: str, body: SignOff, incidents: Incidents, clock: EvaluationClock
) -> dict[str, Any]:
    """Sign off the root cause: it and the impacts become immutable; a customer or
    force-majeure attribution proposes exclusions."""
    return _detail(incidents, clock, incidents.sign_off(incident_id, body.by, body.agreements)[0])


@router.post("/import", responses=responses(409, 413, 422, 503))
def import_records(
    doc: Annotated[Any, Body(description="the ServiceNow or Jira JSON document")],
    fmt: Annotated[itsm.Format, Query(alias="format", description="servicenow or jira")],
    incidents: Incidents,
) -> dict[str, Any]:
    """Import ServiceNow (``{"result": [...]}``) or Jira (``{"issues": [...]}``)
    records: all or nothing; every problem named by item index and field."""
    records = itsm.parse(doc, fmt, "")
    inserted, updated = incidents.import_records(records)
    return {
        "schema": "slm.incident-import/v1",
        "imported": len(records),
        "inserted": inserted,
        "updated": updated,
        "ids": [r.id for r in records],
    }
