"""Alert states (one row per alert key) and the append-only log of their transitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from slm.domain.alert_state import AlertRecord, AlertStatus, AlertTransition
from slm.store.schema import alert_events as ev
from slm.store.schema import alert_states as st

_CHUNK = 500


@dataclass(frozen=True)
class StoredAlert:
    """One alert key: what it belongs to, its state-machine record and last observation."""

    key: str
    slo: str
    objective: str
    rule: str
    policy: str
    severity: str
    service: str
    record: AlertRecord
    details: Mapping[str, Any] = field(default_factory=dict)


class AlertRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    def get(self, keys: Iterable[str], *, lock: bool = False) -> dict[str, StoredAlert]:
        """The stored alerts among ``keys``; ``lock`` holds their rows (PostgreSQL) until
        the transaction ends, so two evaluators never advance the same alert at once."""
        wanted = sorted(set(keys))
        out: dict[str, StoredAlert] = {}
        for i in range(0, len(wanted), _CHUNK):
            q = sa.select(st).where(st.c.key.in_(wanted[i : i + _CHUNK])).order_by(st.c.key)
            if lock:
                q = q.with_for_update()
            for row in self._conn.execute(q):
                alert = _alert(row)
                out[alert.key] = alert
        return out

    def all(
        self, *, statuses: Iterable[AlertStatus] | None = None, slo: str | None = None
    ) -> list[StoredAlert]:
        q = sa.select(st)
        if statuses is not None:
            q = q.where(st.c.status.in_([s.value for s in statuses]))
        if slo is not None:
            q = q.where(st.c.slo == slo)
        return [_alert(r) for r in self._conn.execute(q.order_by(st.c.key))]

    def save(self, alert: StoredAlert, now: datetime) -> None:
        """Insert or update the alert's row (by key)."""
        r = alert.record
        values = {
            "slo": alert.slo,
            "objective": alert.objective,
            "rule": alert.rule,
            "policy": alert.policy,
            "severity": alert.severity,
            "service": alert.service,
            "status": r.status.value,
            "episode": r.episode,
            "pending_since": r.pending_since,
            "fired_at": r.fired_at,
            "resolved_at": r.resolved_at,
            "evaluated_at": r.evaluated_at,
            "details": dict(alert.details),
            "updated_at": now,
        }
        done = self._conn.execute(st.update().where(st.c.key == alert.key).values(**values))
        if done.rowcount == 0:
            self._conn.execute(st.insert().values(key=alert.key, **values))

    def add_event(self, t: AlertTransition, now: datetime) -> None:
        self._conn.execute(
            ev.insert().values(
                key=t.key,
                slo=t.slo,
                objective=t.objective,
                rule=t.rule,
                severity=t.severity,
                service=t.service,
                episode=t.episode,
                from_status=t.from_status.value,
                to_status=t.to_status.value,
                at=t.at,
                group_key=t.group,
                leader=t.leader,
                details={
                    "policy": t.policy,
                    "burn_rates": dict(t.burn_rates),
                    "thresholds": dict(t.thresholds),
                },
                created_at=now,
            )
        )

    def events(
        self, *, slo: str | None = None, since: datetime | None = None, limit: int | None = None
    ) -> list[AlertTransition]:
        """Transitions in the order they happened (oldest first)."""
        q = sa.select(ev)
        if slo is not None:
            q = q.where(ev.c.slo == slo)
        if since is not None:
            q = q.where(ev.c.at >= since)
        q = q.order_by(ev.c.at, ev.c.id)
        rows = list(self._conn.execute(q))
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return [_transition(r) for r in rows]


def _alert(row: sa.Row[tuple[object, ...]]) -> StoredAlert:
    m = row._mapping
    return StoredAlert(
        key=m["key"],
        slo=m["slo"],
        objective=m["objective"],
        rule=m["rule"],
        policy=m["policy"],
        severity=m["severity"],
        service=m["service"],
        record=AlertRecord(
            status=AlertStatus(m["status"]),
            episode=m["episode"],
            pending_since=m["pending_since"],
            fired_at=m["fired_at"],
            resolved_at=m["resolved_at"],
            evaluated_at=m["evaluated_at"],
        ),
        details=m["details"],
    )


def _transition(row: sa.Row[tuple[object, ...]]) -> AlertTransition:
    m = row._mapping
    details = m["details"] or {}
    return AlertTransition(
        key=m["key"],
        slo=m["slo"],
        service=m["service"],
        objective=m["objective"],
        rule=m["rule"],
        policy=str(details.get("policy", "")),
        severity=m["severity"],
        episode=m["episode"],
        from_status=AlertStatus(m["from_status"]),
        to_status=AlertStatus(m["to_status"]),
        at=m["at"],
        group=m["group_key"],
        leader=m["leader"],
        burn_rates=details.get("burn_rates", {}),
        thresholds=details.get("thresholds", {}),
    )
