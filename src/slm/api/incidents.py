"""Incident routes of ``slm serve`` under ``/api/v1/incidents`` (docs/api.md): list, get
one (merged timeline, downtime), open by hand, timeline events, impact start and end, the
root-cause record, sign-off and ServiceNow/Jira import.

Every change goes through ``IncidentService``, so the listeners (the outbound ITSM
webhooks of the priority policy's ``notify`` channels) hear about it exactly as from the
CLI. Instants left out default to the server's evaluation clock. Bodies are checked by
pydantic (``422`` naming each field); a refusal of the service is ``422`` naming the field
it concerns, a change to a signed-off root cause ``409``, an unknown incident ``404``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from slm.domain.errors import ConflictError, DataError
from slm.domain.incident import Attribution, Incident, IncidentKind, Priority, RootCause
from slm.services import itsm
from slm.services.incidents import IncidentService, incident_detail
from slm.services.itsm import incident_json
from slm.services.ports import Clock
from slm.services.views import iso

T = TypeVar("T")
StatusFilter = Literal["open", "resolved", "closed", "all"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewIncident(_Body):
    title: Text
    service: Name
    slo: str = ""
    priority: Priority | None = None  # None: the IncidentPriorityPolicy decides
    budget_remaining: FiniteFloat | None = None
    team: str = ""
    at: AwareDatetime | None = None
    kind: IncidentKind = "incident"


class NewEvent(_Body):
    text: Text
    kind: Name = "note"  # ``resolved`` resolves the incident
    team: str = ""
    at: AwareDatetime | None = None


class ImpactChange(_Body):
    service: Name
    start: AwareDatetime | None = None
    end: AwareDatetime | None = Field(default=None, validate_default=True)

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


def _problem(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": f"{field}: {message}", "detail": [{"field": field, "msg": message}]},
        status_code=status,
    )


def _call(field: str, change: Callable[[], T]) -> T | JSONResponse:
    """Run one change of the service; its refusals become 409 (signed off) or 422."""
    try:
        return change()
    except ConflictError as e:
        return _problem(409, field, str(e))
    except DataError as e:
        return _problem(422, field, str(e))


def _import_problems(error: DataError, where: str) -> JSONResponse:
    """``itsm.parse``'s lines (``WHERE: result[0].priority: ...``) as field problems."""
    detail = []
    for line in str(error).splitlines():
        field, _, msg = line.removeprefix(f"{where}: ").partition(": ")
        detail.append({"field": field, "msg": msg} if msg else {"field": where, "msg": field})
    first = detail[0]
    return JSONResponse(
        {"error": f"{first['field']}: {first['msg']}", "detail": detail}, status_code=422
    )


def incidents_router(incidents: IncidentService, *, clock: Clock) -> APIRouter:
    """The routes over ``incidents``; ``clock`` (the evaluation clock) times what the
    requests leave untimed and the open end of impacts in the downtime."""
    router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

    def detail(inc: Incident) -> dict[str, Any]:
        return incident_detail(inc, incidents.proposals(inc.id), clock.now())

    @router.get("")
    def list_incidents(
        service: Annotated[str | None, Query(description="only this service")] = None,
        status: Annotated[
            StatusFilter, Query(description="open (default), resolved, closed, all")
        ] = "open",
        kind: Annotated[IncidentKind | None, Query(description="incident, problem, change")] = None,
        since: Annotated[
            AwareDatetime | None, Query(description="still open, or resolved at or after this")
        ] = None,
    ) -> dict[str, Any]:
        """Incidents, oldest first, with their merged timelines (default: the open ones)."""
        found = incidents.find(
            service=service,
            status=None if status == "all" else status,
            kind=kind,
            since=_utc(since),
        )
        found.sort(key=lambda i: (i.opened_at, i.id))
        return {"at": iso(clock.now()), "incidents": [incident_json(i) for i in found]}

    @router.get("/{incident_id}")
    def get_incident(incident_id: str) -> dict[str, Any]:
        """One incident: merged timeline, impacts, downtime, root cause, exclusions."""
        return detail(incidents.get(incident_id))

    @router.post("", status_code=201, response_model=None)
    def open_incident(body: NewIncident) -> dict[str, Any] | JSONResponse:
        """Open an incident by hand (without ``priority`` the policy decides)."""
        inc = _call(
            "body",
            lambda: incidents.open(
                body.title,
                body.service,
                slo=body.slo,
                priority=body.priority,
                budget_remaining=body.budget_remaining,
                at=_utc(body.at) or clock.now(),
                team=body.team,
                kind=body.kind,
            ),
        )
        return inc if isinstance(inc, JSONResponse) else detail(inc)

    @router.post("/{incident_id}/events", status_code=201, response_model=None)
    def add_event(incident_id: str, body: NewEvent) -> dict[str, Any] | JSONResponse:
        """Add a timeline event for a team; kind ``resolved`` resolves the incident."""
        inc = _call(
            "body",
            lambda: incidents.add_event(
                incident_id, body.kind, body.text, team=body.team, at=_utc(body.at) or clock.now()
            ),
        )
        return inc if isinstance(inc, JSONResponse) else detail(inc)

    @router.post("/{incident_id}/impacts", response_model=None)
    def set_impact(incident_id: str, body: ImpactChange) -> dict[str, Any] | JSONResponse:
        """Start an impact on a service, end its open one (``end`` alone), or record both."""
        field = "end" if body.start is None else "impacts"
        inc = _call(
            field,
            lambda: incidents.set_impact(
                incident_id, body.service, _utc(body.start), _utc(body.end)
            ),
        )
        return inc if isinstance(inc, JSONResponse) else detail(inc)

    @router.put("/{incident_id}/root-cause", response_model=None)
    def set_root_cause(incident_id: str, body: RootCauseRecord) -> dict[str, Any] | JSONResponse:
        """Record or replace the root-cause record (until it is signed off: then 409)."""
        cause = RootCause(
            body.category,
            body.attribution,
            body.summary,
            tuple(body.evidence),
            tuple(body.corrective_actions),
        )
        inc = _call("root_cause", lambda: incidents.record_root_cause(incident_id, cause))
        return inc if isinstance(inc, JSONResponse) else detail(inc)

    @router.post("/{incident_id}/signoff", response_model=None)
    def sign_off(incident_id: str, body: SignOff) -> dict[str, Any] | JSONResponse:
        """Sign off the root cause: it and the impacts become immutable; a customer or
        force-majeure attribution proposes exclusions."""
        rc = incidents.get(incident_id).root_cause  # which field a refusal is about
        field = "impacts" if rc is not None and not rc.signed_off else "root_cause"
        done = _call(field, lambda: incidents.sign_off(incident_id, body.by, body.agreements))
        return done if isinstance(done, JSONResponse) else detail(done[0])

    @router.post("/import", response_model=None)
    def import_records(
        doc: Annotated[Any, Body(description="the ServiceNow or Jira JSON document")],
        fmt: Annotated[itsm.Format, Query(alias="format", description="servicenow or jira")],
    ) -> dict[str, Any] | JSONResponse:
        """Import ServiceNow (``{"result": [...]}``) or Jira (``{"issues": [...]}``)
        records: all or nothing; every problem named by item index and field."""
        try:
            records = itsm.parse(doc, fmt, "body")
        except DataError as e:
            return _import_problems(e, "body")
        done = _call("body", lambda: incidents.import_records(records))
        if isinstance(done, JSONResponse):
            return done
        inserted, updated = done
        return {
            "imported": len(records),
            "inserted": inserted,
            "updated": updated,
            "ids": [r.id for r in records],
        }

    return router
