"""Incidents, their timeline events and impact intervals, alert links, proposed
exclusions and the major-event flag log.

A signed-off root-cause record is immutable: ``set_root_cause``, ``sign_off`` and impact
changes on such an incident raise ``SignedOffError`` and change nothing.
Concurrent changes of one incident cannot slip past a sign-off: a unit of work that
changes an incident first ``lock``s it (``SELECT ... FOR UPDATE`` on PostgreSQL; on
SQLite a write that takes the database's write lock), so they take turns, and the root
cause and the sign-off are written by conditional updates (``WHERE signed_off_at IS
NULL``) whose row count is checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from slm.domain.errors import DataError, NotFoundError, SignedOffError
from slm.domain.exclusions import Exclusion
from slm.domain.incident import (
    ExclusionProposal,
    ImpactInterval,
    Incident,
    MajorEvent,
    ProposalState,
    RootCause,
    TimelineEvent,
)
from slm.store.schema import incident_alerts as al
from slm.store.schema import incident_events as ev
from slm.store.schema import incident_exclusions as ex
from slm.store.schema import incident_impacts as im
from slm.store.schema import incidents as inc
from slm.store.schema import major_events as me

PREFIX = {"incident": "INC", "problem": "PRB", "change": "CHG"}


_ID_LOCK = 0x736C6D01  # "slm" 1: numbering incidents


class IncidentRepository:
    def __init__(self, connection: Connection):
        self.c = connection

    # --- incidents -----------------------------------------------------------------------

    def next_id(self, kind: str) -> str:
        """The next free number. On PostgreSQL a transaction-level advisory lock makes
        concurrent writers take turns until they commit; on SQLite (one writer at a time,
        but the highest id is read before the write lock is taken) a concurrent insert of
        the same id is refused and the caller repeats its unit of work."""
        if self.c.dialect.name == "postgresql":
            self.c.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ID_LOCK})
        prefix = PREFIX[kind]
        ids = self.c.execute(sa.select(inc.c.id).where(inc.c.id.like(f"{prefix}-%"))).scalars()
        numbers = [int(m.group(1)) for i in ids if (m := re.fullmatch(rf"{prefix}-(\d+)", i))]
        return f"{prefix}-{max(numbers, default=0) + 1:06d}"

    def exists(self, incident_id: str) -> bool:
        q = sa.select(inc.c.id).where(inc.c.id == incident_id)
        return self.c.execute(q).first() is not None

    def insert(self, i: Incident, now: datetime) -> None:
        self.c.execute(sa.insert(inc).values(**_row(i), updated_at=now))
        self.add_events(i.id, i.events)
        for impact in i.impacts:
            self._insert_impact(i.id, impact)

    def replace(self, i: Incident, now: datetime) -> None:
        """Overwrite an incident (import): fields, events and impacts."""
        current = self.get(i.id)
        if current.root_cause is not None and current.root_cause.signed_off:
            raise SignedOffError(f"incident {i.id}: root cause signed off; import refused")
        self.c.execute(sa.update(inc).where(inc.c.id == i.id).values(**_row(i), updated_at=now))
        self.c.execute(sa.delete(ev).where(ev.c.incident_id == i.id))
        self.c.execute(sa.delete(im).where(im.c.incident_id == i.id))
        self.add_events(i.id, i.events)
        for impact in i.impacts:
            self._insert_impact(i.id, impact)

    def lock(self, incident_id: str) -> None:
        """Hold the incident until the transaction ends, so that concurrent changes of it
        take turns (call first in the unit of work, before reading it);
        ``NotFoundError`` when there is no such incident."""
        if self.c.dialect.name == "postgresql":
            q = sa.select(inc.c.id).where(inc.c.id == incident_id).with_for_update()
            found = self.c.execute(q).first() is not None
        else:  # SQLite: one writer at a time; this write starts the transaction as one
            touch = sa.update(inc).where(inc.c.id == incident_id).values(id=inc.c.id)
            found = self.c.execute(touch).rowcount == 1
        if not found:
            raise NotFoundError(f"no incident {incident_id!r}")

    def update(self, incident_id: str, now: datetime, **values: Any) -> None:
        self.get(incident_id)
        self.c.execute(
            sa.update(inc).where(inc.c.id == incident_id).values(**values, updated_at=now)
        )

    def get(self, incident_id: str) -> Incident:
        found = self.find(ids=[incident_id])
        if not found:
            raise NotFoundError(f"no incident {incident_id!r}")
        return found[0]

    def find(
        self,
        *,
        ids: Sequence[str] | None = None,
        kind: str | None = None,
        status: str | None = None,
        service: str | None = None,
        since: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[Incident]:
        """Incidents by ``(opened_at, id)``; ``after`` one of them and at most ``limit``
        of them, when given (a page)."""
        q = sa.select(inc).order_by(inc.c.opened_at, inc.c.id)
        if after is not None:
            at, iid = after
            q = q.where(
                sa.or_(inc.c.opened_at > at, sa.and_(inc.c.opened_at == at, inc.c.id > iid))
            )
        if limit is not None:
            q = q.limit(limit)
        if ids is not None:
            q = q.where(inc.c.id.in_(list(ids)))
        if kind is not None:
            q = q.where(inc.c.kind == kind)
        if status is not None:
            q = q.where(inc.c.status == status)
        if service is not None:
            q = q.where(inc.c.service == service)
        if since is not None:
            q = q.where(sa.or_(inc.c.resolved_at.is_(None), inc.c.resolved_at >= since))
        rows = self.c.execute(q).all()
        if not rows:
            return []
        keys = [r.id for r in rows]
        events: dict[str, list[TimelineEvent]] = {}
        for e in self.c.execute(
            sa.select(ev).where(ev.c.incident_id.in_(keys)).order_by(ev.c.at, ev.c.id)
        ):
            events.setdefault(e.incident_id, []).append(
                TimelineEvent(e.at, e.kind, e.text, e.team, e.source)
            )
        impacts: dict[str, list[ImpactInterval]] = {}
        for r in self.c.execute(
            sa.select(im).where(im.c.incident_id.in_(keys)).order_by(im.c.start, im.c.id)
        ):
            impacts.setdefault(r.incident_id, []).append(ImpactInterval(r.service, r.start, r.end))
        return [_incident(r, events.get(r.id, []), impacts.get(r.id, [])) for r in rows]

    def open_for_group(self, group: str) -> str | None:
        q = (
            sa.select(inc.c.id)
            .where(inc.c.alert_group == group, inc.c.status == "open")
            .order_by(inc.c.opened_at.desc())
        )
        return self.c.execute(q).scalars().first()

    # --- timeline and impact --------------------------------------------------------------

    def add_events(self, incident_id: str, events: Sequence[TimelineEvent]) -> None:
        if events:
            self.c.execute(
                sa.insert(ev),
                [
                    {
                        "incident_id": incident_id,
                        "at": e.at,
                        "kind": e.kind,
                        "team": e.team,
                        "text": e.text,
                        "source": e.source,
                    }
                    for e in events
                ],
            )

    def set_impact(self, incident_id: str, impact: ImpactInterval) -> ImpactInterval:
        """Add an impact interval, or close the open interval of the service when only the
        end is new (``impact.start`` equal to the open interval's start)."""
        self._refuse_if_signed_off(incident_id, "impact", "impacts")
        q = sa.select(im).where(
            im.c.incident_id == incident_id,
            im.c.service == impact.service,
            im.c.start == impact.start,
        )
        row = self.c.execute(q).first()
        if row is not None:
            self.c.execute(sa.update(im).where(im.c.id == row.id).values(end=impact.end))
        else:
            self._insert_impact(incident_id, impact)
        return impact

    def open_impact(self, incident_id: str, service: str) -> ImpactInterval | None:
        q = sa.select(im).where(
            im.c.incident_id == incident_id, im.c.service == service, im.c.end.is_(None)
        )
        row = self.c.execute(q).first()
        return None if row is None else ImpactInterval(row.service, row.start, None)

    def _insert_impact(self, incident_id: str, i: ImpactInterval) -> None:
        self.c.execute(
            sa.insert(im).values(
                incident_id=incident_id, service=i.service, start=i.start, end=i.end
            )
        )

    # --- root cause ------------------------------------------------------------------------

    def set_root_cause(self, incident_id: str, rc: RootCause, now: datetime) -> None:
        self._refuse_if_signed_off(incident_id, "root cause")
        self._unsigned_update(
            incident_id, "root cause", root_cause=root_cause_json(rc), updated_at=now
        )

    def sign_off(self, incident_id: str, by: str, at: datetime) -> RootCause:
        current = self.get(incident_id)
        if current.root_cause is None:
            raise DataError(
                f"incident {incident_id}: no root-cause record to sign off", about="root_cause"
            )
        self._refuse_if_signed_off(incident_id, "root cause")
        self._unsigned_update(
            incident_id, "root cause", signed_off_by=by, signed_off_at=at, updated_at=at
        )
        return self.get(incident_id).root_cause  # type: ignore[return-value]

    def _unsigned_update(self, incident_id: str, what: str, **values: Any) -> None:
        """Update the incident only while its root cause is not signed off."""
        done = self.c.execute(
            sa.update(inc)
            .where(inc.c.id == incident_id, inc.c.signed_off_at.is_(None))
            .values(**values)
        )
        if done.rowcount != 1:
            self._refuse_if_signed_off(incident_id, what)
            raise NotFoundError(f"no incident {incident_id!r}")

    def _refuse_if_signed_off(self, incident_id: str, what: str, about: str = "root_cause") -> None:
        rc = self.get(incident_id).root_cause
        if rc is not None and rc.signed_off:
            assert rc.signed_off_at is not None
            raise SignedOffError(
                f"incident {incident_id}: the root cause was signed off by {rc.signed_off_by} "
                f"at {rc.signed_off_at.isoformat()}; its {what} can no longer change",
                about=about,
            )

    # --- alert links -----------------------------------------------------------------------

    def linked(self, alert_key: str, episode: int) -> str | None:
        q = sa.select(al.c.incident_id).where(al.c.alert_key == alert_key, al.c.episode == episode)
        return self.c.execute(q).scalars().first()

    def link(self, alert_key: str, episode: int, incident_id: str) -> None:
        self.c.execute(
            sa.insert(al).values(alert_key=alert_key, episode=episode, incident_id=incident_id)
        )

    # --- exclusion proposals -----------------------------------------------------------------

    def propose(self, incident_id: str, exclusion: Exclusion, now: datetime) -> None:
        self.c.execute(
            sa.insert(ex).values(
                incident_id=incident_id,
                state="proposed",
                exclusion=exclusion_json(exclusion),
                created_at=now,
            )
        )

    def proposals(self, incident_id: str | None = None) -> list[ExclusionProposal]:
        q = sa.select(ex).order_by(ex.c.id)
        if incident_id is not None:
            q = q.where(ex.c.incident_id == incident_id)
        return [
            ExclusionProposal(
                r.id,
                r.incident_id,
                r.state,
                exclusion_from_json(r.exclusion),
                r.decided_by or "",
                r.decided_at,
            )
            for r in self.c.execute(q)
        ]

    def decide(
        self, proposal_id: int, state: ProposalState, exclusion: Exclusion, by: str, at: datetime
    ) -> None:
        self.c.execute(
            sa.update(ex)
            .where(ex.c.id == proposal_id)
            .values(state=state, exclusion=exclusion_json(exclusion), decided_by=by, decided_at=at)
        )

    # --- major event -----------------------------------------------------------------------

    def set_major_event(self, event: MajorEvent) -> None:
        self.c.execute(
            sa.insert(me).values(
                active=event.on, set_by=event.by, set_at=event.at, reason=event.reason
            )
        )

    def major_event(self) -> MajorEvent | None:
        row = self.c.execute(sa.select(me).order_by(me.c.id.desc()).limit(1)).first()
        return None if row is None else MajorEvent(row.active, row.set_by, row.set_at, row.reason)


def _row(i: Incident) -> dict[str, Any]:
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
        "opened_at": i.opened_at,
        "resolved_at": i.resolved_at,
        "source": i.source,
        "external_id": i.external_id,
        "external_status": i.external_status,
        "alert_group": i.alert_group,
        "root_cause": None if rc is None else root_cause_json(rc),
        "signed_off_by": rc.signed_off_by if rc is not None and rc.signed_off else None,
        "signed_off_at": rc.signed_off_at if rc is not None else None,
    }


def _incident(r: Row[Any], events: list[TimelineEvent], impacts: list[ImpactInterval]) -> Incident:
    rc = None
    if r.root_cause is not None:
        d = r.root_cause
        rc = RootCause(
            d["category"],
            d["attribution"],
            d.get("summary", ""),
            tuple(d.get("evidence", ())),
            tuple(d.get("corrective_actions", ())),
            r.signed_off_by or "",
            r.signed_off_at,
        )
    return Incident(
        id=r.id,
        title=r.title,
        service=r.service,
        priority=r.priority,
        opened_at=r.opened_at,
        base_priority=r.base_priority,
        criticality=r.criticality,
        kind=r.kind,
        status=r.status,
        slo=r.slo,
        resolved_at=r.resolved_at,
        source=r.source,
        external_id=r.external_id,
        external_status=r.external_status,
        alert_group=r.alert_group,
        events=tuple(events),
        impacts=tuple(impacts),
        root_cause=rc,
    )


def root_cause_json(rc: RootCause) -> dict[str, Any]:
    return {
        "category": rc.category,
        "attribution": rc.attribution,
        "summary": rc.summary,
        "evidence": list(rc.evidence),
        "corrective_actions": list(rc.corrective_actions),
    }


def exclusion_json(e: Exclusion) -> dict[str, Any]:
    return {
        "name": e.name,
        "category": e.category,
        "start": e.start.isoformat(),
        "duration_seconds": e.duration.total_seconds(),
        "time_zone": e.time_zone,
        "services": list(e.services),
        "agreements": list(e.agreements),
        "evidence": list(e.evidence),
        "approval": e.approval,
        "approved_by": e.approved_by,
        "description": e.description,
    }


def exclusion_from_json(d: dict[str, Any]) -> Exclusion:
    return Exclusion(
        name=d["name"],
        category=d["category"],
        start=datetime.fromisoformat(d["start"]),
        duration=timedelta(seconds=d["duration_seconds"]),
        time_zone=d["time_zone"],
        services=tuple(d["services"]),
        agreements=tuple(d["agreements"]),
        evidence=tuple(d["evidence"]),
        approval=d["approval"],
        approved_by=d["approved_by"],
        description=d["description"],
    )
