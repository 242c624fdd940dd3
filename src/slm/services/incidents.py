"""Incident use cases: open (by hand, from page alerts, by import), timeline, impact, root
cause and sign-off, exclusion approval, major-event mode; every change told to listeners.

``IncidentService.on_alert_transitions(transitions)`` is what the evaluation loop calls with
the ``AlertTransition`` list of one evaluation. One alert episode (key, episode) opens at
most one incident: a firing *page* transition opens one, unless an open incident of the same
alert group (``service/slo``) exists, which it joins; every later transition of a linked
alert (or of the group, while its incident is open) appends a timeline event.

Listeners (``ChangeListener``) are called inside the transaction of the change, so a
webhook enqueued through the notification outbox (``OutboxChangeListener``) is committed
with the change or not at all.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Connection

from slm.domain.alert_state import AlertStatus, AlertTransition, severity_rank
from slm.domain.errors import DataError, NotFoundError, StoreConflict
from slm.domain.incident import (
    ExclusionProposal,
    ImpactInterval,
    Incident,
    MajorEvent,
    Priority,
    PriorityPolicy,
    ProposalState,
    RootCause,
    TimelineEvent,
    approve,
    budget_state,
    decide_priority,
    downtime_by_service,
    proposed_exclusions,
    with_major_event,
)
from slm.services.ports import Clock, SystemClock
from slm.spec.incident_rules import POLICY_KEY
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.incidents import IncidentRepository


@dataclass(frozen=True)
class IncidentChange:
    action: str  # opened, event, impact, root-cause, signed-off, imported, priority, ...
    incident_id: str
    at: datetime
    incident: Incident | None = None
    detail: str = ""


class ChangeListener(Protocol):
    def incident_changed(self, connection: Connection, change: IncidentChange) -> None: ...


def change_payload(change: IncidentChange) -> dict[str, Any]:
    from slm.services.itsm import incident_json

    return {
        "type": "incident.change",
        "action": change.action,
        "incident": change.incident_id,
        "at": change.at.isoformat(),
        "detail": change.detail,
        "record": None if change.incident is None else incident_json(change.incident),
    }


def proposal_view(p: ExclusionProposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "state": p.state,
        "name": p.exclusion.name,
        "category": p.exclusion.category,
        "decided_by": p.decided_by or None,
    }


def incident_detail(
    incident: Incident, proposals: Sequence[ExclusionProposal], until: datetime
) -> dict[str, Any]:
    """One incident as ``slm incident show --json`` and ``GET /api/v1/incidents/{id}`` show
    it: the record with its merged timeline, its proposed exclusions, and its downtime per
    impacted service in seconds (the union of its impact intervals; an open one counts
    until ``until``)."""
    from slm.services.itsm import incident_json

    view = incident_json(incident)
    view["exclusions"] = [proposal_view(p) for p in proposals]
    spans = [
        i if i.end is not None else ImpactInterval(i.service, i.start, until)
        for i in incident.impacts
        if i.end is not None or i.start < until
    ]
    downtime = {}
    if spans:
        period = (min(i.start for i in spans), max(i.end or until for i in spans))
        downtime = downtime_by_service([replace(incident, impacts=tuple(spans))], period)
    view["downtime_seconds"] = {s: d.total_seconds() for s, d in downtime.items()}
    view["downtime_until"] = until.isoformat()
    return view


class OutboxChangeListener:
    """Enqueue one webhook message per change on each channel, through the notification
    outbox (delivered, retried and logged by ``slm notify dispatch``)."""

    def __init__(self, channels: Sequence[Any]):
        self.channels = list(channels)

    def incident_changed(self, connection: Connection, change: IncidentChange) -> None:
        from slm.notify.channels import to_json
        from slm.store.outbox import NewMessage, OutboxRepository

        outbox = OutboxRepository(connection)
        payload = change_payload(change)
        for ch in self.channels:
            mid = str(uuid.uuid4())
            outbox.add(
                NewMessage(
                    message_id=mid,
                    dedup_key=f"incident:{change.incident_id}:{change.action}:{mid}",
                    policy="incidents",
                    level=0,
                    level_name="incident",
                    trigger=change.action,
                    slo="",
                    objective="",
                    service=change.incident.service if change.incident else "",
                    recipient=ch.name,
                    channel=ch.name,
                    channel_config=to_json(ch),
                    to=(),
                    subject=f"{change.incident_id} {change.action}",
                    body=change.detail or f"{change.incident_id} {change.action}",
                    payload=payload,
                    max_attempts=ch.retry.max_attempts,
                ),
                change.at,
            )


class IncidentService:
    def __init__(
        self,
        store: Store,
        ws: Workspace | None = None,
        *,
        clock: Clock | None = None,
        listeners: Iterable[ChangeListener] = (),
    ):
        self.store = store
        self.ws = ws or Workspace()
        self.clock = clock or SystemClock()
        self.listeners = list(listeners)
        policies = list(self.ws.objects.get(POLICY_KEY, {}).values())
        self.policy: PriorityPolicy = policies[0] if policies else PriorityPolicy()
        if not self.listeners and self.policy.notify:
            self.listeners.append(OutboxChangeListener(self._channels(self.policy.notify)))

    def _channels(self, names: Sequence[str]) -> list[Any]:
        from slm.spec.escalation import CHANNEL_KEY

        channels = self.ws.objects.get(CHANNEL_KEY, {})
        missing = [n for n in names if n not in channels]
        if missing:
            raise NotFoundError(
                f"IncidentPriorityPolicy {self.policy.name}: notify names unknown "
                f"NotificationChannel(s) {', '.join(missing)}"
            )
        return [channels[n] for n in names]

    # --- helpers -------------------------------------------------------------------------

    def criticality(self, service: str, slo: str = "") -> str:
        s = self.ws.slos.get(slo)
        if s is not None and "criticality" in s.labels:
            return s.labels["criticality"]
        svc = self.ws.services.get(service or (s.service if s else ""))
        return svc.labels.get("criticality", "") if svc is not None else ""

    def _tell(self, repo: IncidentRepository, action: str, iid: str, detail: str = "") -> None:
        if not self.listeners:
            return
        change = IncidentChange(action, iid, self.clock.now(), repo.get(iid), detail)
        for listener in self.listeners:
            listener.incident_changed(repo.c, change)

    # --- opening ---------------------------------------------------------------------------

    def open(
        self,
        title: str,
        service: str,
        *,
        slo: str = "",
        priority: Priority | None = None,
        budget_remaining: float | None = None,
        at: datetime | None = None,
        team: str = "",
        kind: str = "incident",
    ) -> Incident:
        def work() -> Incident:
            with self.store.transaction() as repos:
                repo = IncidentRepository(repos.connection)
                return self._open(
                    repo, title, service, slo, priority, budget_remaining, at, team, kind
                )

        return _retrying(work)

    def _open(
        self,
        repo: IncidentRepository,
        title: str,
        service: str,
        slo: str,
        priority: Priority | None,
        budget_remaining: float | None,
        at: datetime | None,
        team: str,
        kind: str = "incident",
        source: str = "manual",
        alert_group: str = "",
    ) -> Incident:
        if not title.strip():
            raise DataError("an incident needs a title", about="title")
        if not service.strip():
            raise DataError("an incident needs a service", about="service")
        when = at or self.clock.now()
        crit = self.criticality(service, slo)
        major = repo.major_event()
        if priority is None:
            state = budget_state(budget_remaining, self.policy.low_budget)
            base = decide_priority(self.policy, crit, state)
            why = f"rule: criticality={crit or '-'}, budget={state}"
        else:
            base, why = priority, "set by hand"
        effective = with_major_event(self.policy, base, crit, major)
        if effective != base:
            why += f"; major event on: {base} -> {effective}"
        iid = repo.next_id(kind)
        incident = Incident(
            id=iid,
            title=title,
            service=service,
            priority=effective,
            base_priority=base,
            criticality=crit,
            opened_at=when,
            kind=kind,  # type: ignore[arg-type]
            slo=slo,
            source=source,
            alert_group=alert_group,
            events=(TimelineEvent(when, "opened", f"{title} ({effective}, {why})", team, source),),
        )
        repo.insert(incident, self.clock.now())
        self._tell(repo, "opened", iid)
        return repo.get(iid)

    def on_alert_transitions(self, transitions: Sequence[AlertTransition]) -> list[str]:
        """Open or update incidents from one evaluation's transitions; the touched ids."""
        if not transitions:
            return []

        def work() -> list[str]:
            touched: list[str] = []
            with self.store.transaction() as repos:
                repo = IncidentRepository(repos.connection)
                for t in sorted(transitions, key=lambda t: (t.at, severity_rank(t.severity))):
                    iid = self._on_transition(repo, t)
                    if iid is not None and iid not in touched:
                        touched.append(iid)
            return touched

        return _retrying(work)

    def recover(self, since: datetime) -> list[str]:
        """Apply the page alerts logged since ``since`` that fired but have no incident.

        ``AlertService.process`` commits transitions before the incidents step runs; a
        server that crashed between the two (or whose incidents step kept failing until it
        stopped) would never open those incidents. Call this at start-up (e.g. with the
        last hour). Only firing transitions whose alert episode is linked to no incident are
        applied (with the transitions of the same episode that followed), so it is a no-op
        for everything that was applied already."""
        from slm.store.alerts import AlertRepository

        with self.store.transaction() as repos:
            events = AlertRepository(repos.connection).events(since=since)
            repo = IncidentRepository(repos.connection)
            episodes = {
                (t.key, t.episode)
                for t in events
                if t.to_status is AlertStatus.FIRING and repo.linked(t.key, t.episode) is None
            }
        # the lost episodes' transitions in order: firing, and what followed (resolved)
        lost = [t for t in events if (t.key, t.episode) in episodes]
        return self.on_alert_transitions(lost) if lost else []

    def _on_transition(self, repo: IncidentRepository, t: AlertTransition) -> str | None:
        iid = repo.linked(t.key, t.episode)
        text = f"{t.rule} ({t.severity}) {t.from_status} -> {t.to_status}"
        event = TimelineEvent(t.at, "alert", text, "", "alert")
        if iid is not None:
            repo.add_events(iid, [event])
            self._tell(repo, "event", iid, text)
            return iid
        group_open = repo.open_for_group(t.group)
        if group_open is not None and t.to_status in (AlertStatus.FIRING, AlertStatus.PENDING):
            repo.link(t.key, t.episode, group_open)
            repo.add_events(group_open, [event])
            self._tell(repo, "event", group_open, text)
            return group_open
        if t.to_status is AlertStatus.FIRING and severity_rank(t.severity) == 0:
            title = f"{t.service}/{t.slo}: {t.objective} burning error budget ({t.rule})"
            inc = self._open(
                repo,
                title,
                t.service,
                t.slo,
                None,
                None,
                t.at,
                "",
                source="alert",
                alert_group=t.group,
            )
            repo.link(t.key, t.episode, inc.id)
            repo.add_events(inc.id, [event])
            return inc.id
        return None

    # --- timeline and impact -----------------------------------------------------------------

    def add_event(
        self, iid: str, kind: str, text: str, *, team: str = "", at: datetime | None = None
    ) -> Incident:
        with self.store.transaction() as repos:
            repo = IncidentRepository(repos.connection)
            repo.get(iid)
            when = at or self.clock.now()
            repo.add_events(iid, [TimelineEvent(when, kind, text, team, "manual")])
            if kind == "resolved":
                repo.update(iid, self.clock.now(), status="resolved", resolved_at=when)
            self._tell(repo, "event", iid, f"{kind}: {text}")
            return repo.get(iid)

    def set_impact(
        self, iid: str, service: str, start: datetime | None, end: datetime | None
    ) -> Incident:
        """Start an impact (``start``), end the open one (``end`` only), or record both."""
        with self.store.transaction() as repos:
            repo = IncidentRepository(repos.connection)
            repo.lock(iid)
            if start is None:
                current = repo.open_impact(iid, service)
                if current is None:
                    raise DataError(
                        f"incident {iid}: no open impact on {service!r} to end; give its start",
                        about="end",
                    )
                start = current.start
            try:
                impact = ImpactInterval(service, start, end)
            except ValueError as e:
                raise DataError(f"incident {iid}: {e}", about="end") from None
            repo.set_impact(iid, impact)
            self._tell(repo, "impact", iid, f"{service} {start.isoformat()} .. {end}")
            return repo.get(iid)

    # --- root cause --------------------------------------------------------------------------

    def record_root_cause(self, iid: str, cause: RootCause) -> Incident:
        with self.store.transaction() as repos:
            repo = IncidentRepository(repos.connection)
            repo.lock(iid)  # a concurrent sign-off commits first, or waits for this
            repo.set_root_cause(iid, cause, self.clock.now())
            self._tell(repo, "root-cause", iid, f"{cause.category} ({cause.attribution})")
            return repo.get(iid)

    def sign_off(
        self, iid: str, by: str, agreements: Sequence[str] = ()
    ) -> tuple[Incident, list[ExclusionProposal]]:
        """Sign off the root cause (then immutable); a customer or force-majeure attribution
        proposes exclusions of the incident's merged impact intervals."""
        if not by.strip():
            raise DataError("sign-off needs who signs (--by)", about="by")
        now = self.clock.now()
        with self.store.transaction() as repos:
            repo = IncidentRepository(repos.connection)
            repo.lock(iid)  # concurrent sign-offs and edits of the incident take turns
            incident = repo.get(iid)
            if any(i.end is None for i in incident.impacts):
                raise DataError(
                    f"incident {iid}: end every impact interval before sign-off", about="impacts"
                )
            cause = repo.sign_off(iid, by, now)
            for e in proposed_exclusions(incident, cause, now, agreements):
                repo.propose(iid, e, now)
            self._tell(repo, "signed-off", iid, f"by {by}")
            return repo.get(iid), repo.proposals(iid)

    def proposals(self, iid: str | None = None) -> list[ExclusionProposal]:
        with self.store.transaction() as repos:
            return IncidentRepository(repos.connection).proposals(iid)

    def decide_exclusion(
        self, proposal_id: int, by: str, *, approved: bool = True
    ) -> ExclusionProposal:
        now = self.clock.now()
        with self.store.transaction() as repos:
            repo = IncidentRepository(repos.connection)
            found = [p for p in repo.proposals() if p.id == proposal_id]
            if not found:
                raise NotFoundError(f"no proposed exclusion {proposal_id}")
            p = found[0]
            if p.state != "proposed":
                raise DataError(f"exclusion {proposal_id} was {p.state} by {p.decided_by} already")
            state: ProposalState = "approved" if approved else "rejected"
            exclusion = (
                approve(p.exclusion, by) if approved else replace(p.exclusion, approval="rejected")
            )
            repo.decide(proposal_id, state, exclusion, by, now)
            self._tell(repo, f"exclusion-{state}", p.incident_id, exclusion.name)
            return next(q for q in repo.proposals() if q.id == proposal_id)

    def approved_exclusions(self) -> list[Any]:
        """The approved proposals as ``Exclusion`` objects, for statements."""
        return [p.exclusion for p in self.proposals() if p.state == "approved"]

    # --- major event -----------------------------------------------------------------------

    def major_event(self) -> MajorEvent | None:
        with self.store.transaction() as repos:
            return IncidentRepository(repos.connection).major_event()

    def set_major_event(self, on: bool, by: str, reason: str = "") -> list[Incident]:
        """Switch major-event mode; re-prioritise every open incident. The changed ones."""
        if not by.strip():
            raise DataError("major-event mode needs who switches it (--by)")
        now = self.clock.now()
        changed: list[Incident] = []
        with self.store.transaction() as repos:
            repo = IncidentRepository(repos.connection)
            event = MajorEvent(on, by, now, reason)
            repo.set_major_event(event)
            for inc in repo.find(status="open"):
                base = inc.base_priority or inc.priority
                new = with_major_event(self.policy, base, inc.criticality, event)
                if new != inc.priority:
                    repo.update(inc.id, now, priority=new)
                    text = f"{inc.priority} -> {new} (major event {'on' if on else 'off'})"
                    repo.add_events(inc.id, [TimelineEvent(now, "priority", text, "", "manual")])
                    self._tell(repo, "priority", inc.id, text)
                    changed.append(repo.get(inc.id))
        return changed

    # --- reading and import ------------------------------------------------------------------

    def get(self, iid: str) -> Incident:
        with self.store.transaction() as repos:
            return IncidentRepository(repos.connection).get(iid)

    def find(self, **filters: Any) -> list[Incident]:
        with self.store.transaction() as repos:
            return IncidentRepository(repos.connection).find(**filters)

    def import_records(self, records: Sequence[Incident]) -> tuple[int, int]:
        """Insert or replace imported records in one transaction: (inserted, updated)."""
        inserted = updated = 0
        now = self.clock.now()
        with self.store.transaction() as repos:
            repo = IncidentRepository(repos.connection)
            for r in records:
                if repo.exists(r.id):
                    repo.lock(r.id)
                    repo.replace(r, now)
                    updated += 1
                else:
                    repo.insert(r, now)
                    inserted += 1
                self._tell(repo, "imported", r.id)
        return inserted, updated


_ATTEMPTS = 20
T = TypeVar("T")


def _retrying(work: Callable[[], T]) -> T:
    """Run a unit of work that numbers new incidents (``next_id`` reads the highest id):
    when a concurrent writer took the same number first, the store refuses the insert
    (``StoreConflict``), the transaction rolls back whole (outbox messages included) and
    it runs again with the next number."""
    for attempt in range(_ATTEMPTS):
        try:
            return work()
        except StoreConflict:
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.001, 0.02))  # let the other writer commit
    raise AssertionError("unreachable")
