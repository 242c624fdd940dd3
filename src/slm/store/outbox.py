"""The notification outbox, its delivery log, and the states of budget escalation levels.

Outbox rows move ``pending -> sending -> delivered``, or back to ``pending`` with a later
``next_attempt_at`` after a failed attempt, or to ``dead`` when attempts are exhausted or
the receiver refused for good. ``claim`` takes due rows (and rows whose lease expired: a
dispatcher died while sending) with a conditional update, so two dispatchers never hold
the same row at once; each finished attempt writes one row to ``notification_attempts``
in the same transaction as the status change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from slm.domain.escalation import LevelState, StateKey
from slm.store.schema import escalation_states as es
from slm.store.schema import notification_attempts as at
from slm.store.schema import notification_outbox as ob

PENDING, SENDING, DELIVERED, DEAD = "pending", "sending", "delivered", "dead"
STATUSES = (PENDING, SENDING, DELIVERED, DEAD)


@dataclass(frozen=True)
class NewMessage:
    message_id: str
    dedup_key: str
    policy: str
    level: int
    level_name: str
    trigger: str
    slo: str
    objective: str
    service: str
    recipient: str
    channel: str
    channel_config: Mapping[str, Any]
    to: tuple[str, ...]
    subject: str
    body: str
    payload: Mapping[str, Any]
    max_attempts: int


@dataclass(frozen=True)
class StoredMessage(NewMessage):
    """A message in the outbox: what was enqueued, and its delivery state."""

    id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class Attempt:
    """One line of the delivery log. ``outcome``: delivered, retry, dead or lost (the
    dispatcher holding the message died or overran its lease; the result is unknown)."""

    outbox_id: int
    message_id: str
    attempt: int
    worker: str
    started_at: datetime
    duration_ms: float
    outcome: str
    status: str
    error: str | None = None
    id: int | None = field(default=None, compare=False)


def _message(r: Row[Any]) -> StoredMessage:
    m = r._mapping
    return StoredMessage(
        id=m["id"],
        message_id=m["message_id"],
        dedup_key=m["dedup_key"],
        policy=m["policy"],
        level=m["level"],
        level_name=m["level_name"],
        trigger=m["trigger"],
        slo=m["slo"],
        objective=m["objective"],
        service=m["service"],
        recipient=m["recipient"],
        channel=m["channel"],
        channel_config=m["channel_config"],
        to=tuple(m["recipients_to"]),
        subject=m["subject"],
        body=m["body"],
        payload=m["payload"],
        status=m["status"],
        attempts=m["attempts"],
        max_attempts=m["max_attempts"],
        next_attempt_at=m["next_attempt_at"],
        lease_owner=m["lease_owner"],
        lease_until=m["lease_until"],
        created_at=m["created_at"],
        delivered_at=m["delivered_at"],
        last_error=m["last_error"],
    )


def _attempt(r: Row[Any]) -> Attempt:
    m = r._mapping
    return Attempt(
        outbox_id=m["outbox_id"],
        message_id=m["message_id"],
        attempt=m["attempt"],
        worker=m["worker"],
        started_at=m["started_at"],
        duration_ms=m["duration_ms"],
        outcome=m["outcome"],
        status=m["status"],
        error=m["error"],
        id=m["id"],
    )


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


class OutboxRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    # --- enqueue -------------------------------------------------------------------------

    def add(self, m: NewMessage, now: datetime) -> bool:
        """Insert ``m`` unless a message with its dedup key exists; True when inserted."""
        values = {
            "message_id": m.message_id,
            "dedup_key": m.dedup_key,
            "policy": m.policy,
            "level": m.level,
            "level_name": m.level_name,
            "trigger": m.trigger,
            "slo": m.slo,
            "objective": m.objective,
            "service": m.service,
            "recipient": m.recipient,
            "channel": m.channel,
            "channel_config": dict(m.channel_config),
            "recipients_to": list(m.to),
            "subject": m.subject,
            "body": m.body,
            "payload": dict(m.payload),
            "status": PENDING,
            "attempts": 0,
            "max_attempts": m.max_attempts,
            "next_attempt_at": now,
            "created_at": now,
        }
        stmt = (
            _insert(self._conn, ob)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(ob.c.id)
        )
        return self._conn.execute(stmt).first() is not None

    # --- dispatching ---------------------------------------------------------------------

    def claim(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> tuple[list[StoredMessage], list[StoredMessage]]:
        """Take up to ``limit`` due messages for ``worker`` until ``lease_until``.

        Returns (claimed, expired): ``expired`` are messages whose earlier lease ran out
        (they are claimed too, and the lost attempt is logged by the caller).
        """
        due = sa.or_(
            sa.and_(ob.c.status == PENDING, ob.c.next_attempt_at <= now),
            sa.and_(ob.c.status == SENDING, ob.c.lease_until < now),
        )
        q = sa.select(ob).where(due).order_by(ob.c.next_attempt_at, ob.c.id).limit(limit)
        if self._conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        claimed: list[StoredMessage] = []
        expired: list[StoredMessage] = []
        for row in list(self._conn.execute(q)):
            m = _message(row)
            guard = [ob.c.id == m.id, ob.c.status == m.status]
            guard.append(
                ob.c.lease_until.is_(None)
                if m.lease_until is None
                else ob.c.lease_until == m.lease_until
            )
            done = self._conn.execute(
                ob.update()
                .where(*guard)
                .values(status=SENDING, lease_owner=worker, lease_until=lease_until)
            )
            if done.rowcount != 1:
                continue  # another dispatcher took it first
            (expired if m.status == SENDING else claimed).append(m)
        return claimed, expired

    def finish(
        self,
        m: StoredMessage,
        attempt: Attempt,
        *,
        status: str,
        next_attempt_at: datetime | None = None,
        now: datetime,
    ) -> bool:
        """Record ``attempt`` and move ``m`` to ``status`` (delivered, pending or dead).

        A delivery is recorded whoever holds the lease now; a failure only by the
        lease holder (if the lease was taken over, the new holder decides). Returns
        whether the status changed.
        """
        self._conn.execute(
            at.insert().values(
                outbox_id=attempt.outbox_id,
                message_id=attempt.message_id,
                attempt=attempt.attempt,
                worker=attempt.worker,
                started_at=attempt.started_at,
                duration_ms=attempt.duration_ms,
                outcome=attempt.outcome,
                status=attempt.status,
                error=attempt.error,
            )
        )
        values: dict[str, Any] = {
            "status": status,
            "attempts": sa.func.max(ob.c.attempts, attempt.attempt)
            if self._conn.dialect.name == "sqlite"
            else sa.func.greatest(ob.c.attempts, attempt.attempt),
            "lease_owner": None,
            "lease_until": None,
            "last_error": attempt.error,
        }
        if status == DELIVERED:
            values["delivered_at"] = now
            where = [ob.c.id == m.id, ob.c.status != DELIVERED]
        else:
            where = [ob.c.id == m.id, ob.c.status == SENDING, ob.c.lease_owner == attempt.worker]
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        return bool(self._conn.execute(ob.update().where(*where).values(**values)).rowcount == 1)

    def log_lost(self, m: StoredMessage, attempt: Attempt) -> None:
        """A lost attempt (expired lease): logged and counted, the row stays claimed."""
        self._conn.execute(
            at.insert().values(
                outbox_id=attempt.outbox_id,
                message_id=attempt.message_id,
                attempt=attempt.attempt,
                worker=attempt.worker,
                started_at=attempt.started_at,
                duration_ms=attempt.duration_ms,
                outcome=attempt.outcome,
                status=attempt.status,
                error=attempt.error,
            )
        )
        self._conn.execute(ob.update().where(ob.c.id == m.id).values(attempts=attempt.attempt))

    def requeue(self, message_ids: Iterable[str], now: datetime) -> int:
        """Dead messages back to pending with a fresh attempt budget."""
        ids = list(message_ids)
        if not ids:
            return 0
        done = self._conn.execute(
            ob.update()
            .where(ob.c.message_id.in_(ids), ob.c.status == DEAD)
            .values(status=PENDING, attempts=0, next_attempt_at=now, last_error=None)
        )
        return int(done.rowcount)

    # --- reading -------------------------------------------------------------------------

    def messages(
        self,
        *,
        statuses: Sequence[str] | None = None,
        message_id: str | None = None,
        limit: int | None = None,
    ) -> list[StoredMessage]:
        """Messages, newest first."""
        q = sa.select(ob)
        if statuses:
            q = q.where(ob.c.status.in_(list(statuses)))
        if message_id is not None:
            q = q.where(ob.c.message_id.startswith(message_id, autoescape=True))
        q = q.order_by(ob.c.created_at.desc(), ob.c.id.desc())
        if limit is not None:
            q = q.limit(limit)
        return [_message(r) for r in self._conn.execute(q)]

    def attempts(self, outbox_ids: Iterable[int] | None = None) -> list[Attempt]:
        """Attempts in the order they were logged."""
        q = sa.select(at)
        if outbox_ids is not None:
            ids = sorted(set(outbox_ids))
            if not ids:
                return []
            q = q.where(at.c.outbox_id.in_(ids))
        return [_attempt(r) for r in self._conn.execute(q.order_by(at.c.id))]

    def counts(self) -> dict[str, int]:
        q = sa.select(ob.c.status, sa.func.count()).group_by(ob.c.status)
        found = {str(s): int(n) for s, n in self._conn.execute(q)}
        return {s: found.get(s, 0) for s in STATUSES}


class EscalationStateRepository:
    """Budget level states, one row per (policy, SLO, objective, level)."""

    def __init__(self, connection: Connection):
        self._conn = connection

    def get(self, pairs: Iterable[tuple[str, str]]) -> dict[StateKey, LevelState]:
        """States of every level of the given (slo, objective) pairs; locks them on
        PostgreSQL until the transaction ends (two evaluators never fire one level twice)."""
        wanted = sorted(set(pairs))
        out: dict[StateKey, LevelState] = {}
        for i in range(0, len(wanted), 200):
            chunk = wanted[i : i + 200]
            cond = sa.or_(*(sa.and_(es.c.slo == s, es.c.objective == o) for s, o in chunk))
            q = sa.select(es).where(cond)
            if self._conn.dialect.name == "postgresql":
                q = q.with_for_update()
            for r in self._conn.execute(q):
                m = r._mapping
                out[(m["policy"], m["slo"], m["objective"], m["level"])] = LevelState(
                    m["period"], m["episode"], bool(m["armed"])
                )
        return out

    def save(self, states: Mapping[StateKey, LevelState], now: datetime) -> None:
        for (policy, slo, objective, level), st in sorted(states.items()):
            values = {"period": st.period, "episode": st.episode, "armed": st.armed}
            stmt = (
                _insert(self._conn, es)
                .values(
                    policy=policy,
                    slo=slo,
                    objective=objective,
                    level=level,
                    updated_at=now,
                    **values,
                )
                .on_conflict_do_update(
                    index_elements=["policy", "slo", "objective", "level"],
                    set_={**values, "updated_at": now},
                )
            )
            self._conn.execute(stmt)
