"""Escalation and notification delivery: evaluation results in, messages out, exactly-once-ish.

``NotificationService(store, ws).on_evaluation(results, transitions, at)`` is what the
evaluation loop calls after each evaluation (``transitions`` from ``AlertService.process``).
In one transaction it loads the budget level states, works out which escalation levels
fire (``slm.domain.escalation``), saves the new states, renders each level's template and
inserts one outbox row per recipient. ``enqueue(connection, ...)`` does the same inside a
caller's transaction.

``Dispatcher(store).deliver_due()`` claims due outbox rows (status + lease, in a
transaction), sends each through its channel, then marks it delivered, or schedules a
retry with exponential backoff and jitter, or dead-letters it after the channel's maximum
attempts (or at once when the receiver refuses for good, e.g. HTTP 400). Every attempt
is one row of the delivery log (``slm notify log``). ``run(stop)`` loops until ``stop``.

The guarantee is **at-least-once delivery with an idempotency key**: a message is never
lost (it stays in the outbox until delivered or dead-lettered, both visible), and a
dispatcher that dies between sending and marking leaves a lease that expires; the next
dispatcher sends again with the same ``Idempotency-Key`` header (email ``Message-ID``), so
a receiver that remembers the keys it has seen processes it once. Enqueueing is
idempotent too: a firing has a deduplication key, and the outbox keeps one row per key
and recipient.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from slm.domain.errors import DeliveryError, NotFoundError, SlmError
from slm.domain.escalation import Firing, TransitionLike, firings
from slm.domain.model import SLO
from slm.domain.results import ObjectiveResult
from slm.notify.channels import Channel, from_json, to_json
from slm.notify.message import OutgoingMessage, message_id
from slm.notify.rendering import message_context, sample_firing, sample_result
from slm.services.ports import Clock, SystemClock
from slm.spec.escalation import CHANNEL_KEY, POLICY_KEY, PolicyDefinition
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.outbox import (
    DEAD,
    DELIVERED,
    PENDING,
    Attempt,
    EscalationStateRepository,
    NewMessage,
    OutboxRepository,
    StoredMessage,
)


class Notifier(Protocol):
    """The port channels implement: send one message or raise ``DeliveryError``."""

    def send(self, channel: Channel, message: OutgoingMessage) -> str: ...


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _jsonable(context: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in context.items():
        if isinstance(v, datetime):
            out[k] = _iso(v)
        elif isinstance(v, Mapping):
            out[k] = _jsonable(v)
        else:
            out[k] = v
    return out


@dataclass(frozen=True)
class Enqueued:
    message_id: str
    dedup_key: str
    policy: str
    level: int
    slo: str
    objective: str
    recipient: str
    channel: str
    inserted: bool  # False: the same notification was enqueued before


class NotificationService:
    """Escalation policies and channels of a workspace, applied to evaluations."""

    def __init__(self, store: Store | None, ws: Workspace, *, clock: Clock | None = None):
        self.store = store  # None: render and test only
        self.clock = clock or SystemClock()
        self.ws = ws
        self.policies: dict[str, PolicyDefinition] = dict(ws.objects.get(POLICY_KEY, {}))
        self.channels: dict[str, Channel] = dict(ws.objects.get(CHANNEL_KEY, {}))

    # --- enqueueing ----------------------------------------------------------------------

    def on_evaluation(
        self,
        results: Sequence[ObjectiveResult],
        transitions: Sequence[TransitionLike],
        at: datetime,
    ) -> list[Enqueued]:
        """Enqueue what one evaluation (at ``at``) triggers, in one transaction."""
        if not self.policies or (not results and not transitions):
            return []
        if self.store is None:
            raise SlmError("NotificationService needs a store to enqueue notifications")
        with self.store.transaction() as repos:
            return self.enqueue(repos.connection, results, transitions, at)

    def enqueue(
        self,
        connection: Connection,
        results: Sequence[ObjectiveResult],
        transitions: Sequence[TransitionLike],
        at: datetime,
    ) -> list[Enqueued]:
        """``on_evaluation`` inside the caller's transaction on ``connection``."""
        if not self.policies:
            return []
        now = self.clock.now()
        states_repo = EscalationStateRepository(connection)
        outbox = OutboxRepository(connection)
        pairs = {(r.slo, r.objective) for r in results}
        states = states_repo.get(pairs) if pairs else {}
        fired, changed = firings(
            (d.policy for d in self.policies.values()), results, transitions, states
        )
        states_repo.save(changed, now)
        done: list[Enqueued] = []
        for f in fired:
            for msg in self.messages(f):
                inserted = outbox.add(msg, now)
                done.append(
                    Enqueued(
                        msg.message_id,
                        msg.dedup_key,
                        msg.policy,
                        msg.level,
                        msg.slo,
                        msg.objective,
                        msg.recipient,
                        msg.channel,
                        inserted,
                    )
                )
        return done

    def recover(self, since: datetime) -> list[Enqueued]:
        """Enqueue the alert transitions logged since ``since`` that have no notification.

        ``AlertService.process`` commits transitions before ``on_evaluation`` runs; an
        evaluator that crashed between the two would lose those notifications. Call this
        at start-up (e.g. with the last hour): deduplication keys make it a no-op for
        every transition that was enqueued already.
        """
        if self.store is None:
            raise SlmError("NotificationService needs a store to enqueue notifications")
        if not self.policies:
            return []
        from slm.store.alerts import AlertRepository

        with self.store.transaction() as repos:
            events = AlertRepository(repos.connection).events(since=since)
            done = self.enqueue(repos.connection, [], events, since)
        return [e for e in done if e.inserted]

    def messages(self, firing: Firing, *, test: bool = False) -> list[NewMessage]:
        """One rendered message per recipient of the firing level."""
        definition = self.policies[firing.policy]
        context = message_context(firing, test=test)
        template = definition.templates[firing.level.number]
        try:
            subject, body = template.render(context)
        except Exception as e:  # validated at load; never lose a page over a template
            subject, body = _fallback(firing, e)
        payload = _jsonable(context)
        payload["dedup_key"] = firing.dedup_key
        out = []
        for r in firing.level.recipients:
            channel = self.channels[r.channel]
            key = f"{firing.dedup_key}/{r.name}"
            out.append(
                NewMessage(
                    message_id=message_id(key),
                    dedup_key=key,
                    policy=firing.policy,
                    level=firing.level.number,
                    level_name=firing.level.name,
                    trigger=firing.trigger,
                    slo=firing.slo,
                    objective=firing.objective,
                    service=firing.service,
                    recipient=r.name,
                    channel=r.channel,
                    channel_config=to_json(channel),
                    to=r.to,
                    subject=subject,
                    body=body,
                    payload={**payload, "recipient": r.name, "channel": r.channel},
                    max_attempts=channel.retry.max_attempts,
                )
            )
        return out

    # --- slm notify test -----------------------------------------------------------------

    def test_messages(
        self, policy: str, level: int, *, slo: str | None = None, resolved: bool = False
    ) -> list[tuple[Channel, OutgoingMessage]]:
        """What level ``level`` of ``policy`` sends, for a sample evaluation of ``slo`` (by
        default the first SLO the policy selects), marked as a test."""
        definition = self.policies.get(policy)
        if definition is None:
            known = ", ".join(sorted(self.policies)) or "none"
            raise NotFoundError(f"no EscalationPolicy {policy!r} (known: {known})")
        try:
            lv = definition.policy.level(level)
        except KeyError:
            raise NotFoundError(
                f"EscalationPolicy {policy!r} has levels 1..{len(definition.policy.levels)}, "
                f"not {level}"
            ) from None
        result = sample_result(at=self.clock.now())
        target = self._sample_slo(definition, slo)
        if target is not None:
            obj = target.objectives[0]
            result = sample_result(
                slo=target.name,
                service=target.service,
                objective=obj.name or "default",
                target=obj.target,
                window=target.window,
                at=self.clock.now(),
            )
        firing = sample_firing(
            lv, policy, result, alert_status="resolved" if resolved else "firing"
        )
        run = uuid.uuid4().hex
        firing = Firing(
            firing.policy,
            firing.level,
            f"test/{run}/{firing.dedup_key}",
            firing.at,
            firing.slo,
            firing.service,
            firing.objective,
            firing.trigger,
            firing.result,
            firing.budget_threshold,
            firing.alert,
        )
        return [
            (from_json(m.channel_config), _outgoing(m)) for m in self.messages(firing, test=True)
        ]

    def _sample_slo(self, definition: PolicyDefinition, name: str | None) -> SLO | None:
        if name is not None:
            slo = self.ws.slos.get(name)
            if slo is None:
                raise NotFoundError(f"no SLO {name!r} in the workspace")
            return slo
        pol = definition.policy
        return next((s for s in self.ws.slos.values() if pol.applies_to(s.name, s.service)), None)


def _fallback(firing: Firing, error: Exception) -> tuple[str, str]:
    subject = f"[{firing.level.name}] {firing.service}/{firing.slo}: {firing.trigger} escalation"
    body = (
        f"Escalation policy {firing.policy}, level {firing.level.number} ({firing.level.name}) "
        f"fired for {firing.service}/{firing.slo} objective {firing.objective} at "
        f"{_iso(firing.at)}.\n\nThe level's template failed to render "
        f"({type(error).__name__}: {error}); this is the plain fallback message.\n"
    )
    return subject, body


def _outgoing(m: NewMessage | StoredMessage) -> OutgoingMessage:
    return OutgoingMessage(m.message_id, m.subject, m.body, tuple(m.to), dict(m.payload))


# --- delivery ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.claimed + other.claimed,
            self.delivered + other.delivered,
            self.retried + other.retried,
            self.dead + other.dead,
            self.lost + other.lost,
        )


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    """Delivers due outbox messages; see the module docstring for the guarantee.

    ``lease`` must be longer than the slowest channel's timeout: a message whose lease
    runs out while it is being sent is claimed again by another dispatcher (and sent again,
    with the same idempotency key).
    """

    def __init__(
        self,
        store: Store,
        notifier: Notifier | None = None,
        *,
        clock: Clock | None = None,
        worker: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 20,
        rand: Callable[[], float] = random.random,
    ):
        if notifier is None:
            from slm.notify.sender import ChannelNotifier

            notifier = ChannelNotifier()
        self.store = store
        self.notifier = notifier
        self.clock = clock or SystemClock()
        self.worker = worker or default_worker()
        self.lease = lease
        self.batch = batch
        self.rand = rand

    def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """Claim and send one batch of due messages; what happened to them."""
        t = now or self.clock.now()
        report = DeliveryReport()
        with self.store.transaction() as repos:
            outbox = OutboxRepository(repos.connection)
            claimed, expired = outbox.claim(self.worker, t, t + self.lease, self.batch)
            work = [(m, m.attempts + 1) for m in claimed]
            for m in expired:
                lost = m.attempts + 1
                report += DeliveryReport(lost=1)
                attempt = Attempt(
                    m.id,
                    m.message_id,
                    lost,
                    m.lease_owner or "?",
                    t,
                    0.0,
                    "lost",
                    "lease expired",
                    f"dispatcher {m.lease_owner} did not finish before its lease ran out "
                    f"({_iso(m.lease_until) if m.lease_until else '?'}); the receiver may "
                    "have got it: re-sent with the same idempotency key",
                )
                if lost >= m.max_attempts:
                    dead = replace(attempt, outcome="dead", worker=self.worker)
                    outbox.finish(m, dead, status=DEAD, now=t)
                    report += DeliveryReport(dead=1)
                    continue
                outbox.log_lost(m, attempt)
                work.append((m, lost + 1))
        report += DeliveryReport(claimed=len(claimed) + len(expired))
        for m, n in work:
            report += self._deliver(m, n)
        return report

    def _deliver(self, m: StoredMessage, n: int) -> DeliveryReport:
        started = self.clock.now()
        t0 = time.monotonic()
        try:
            channel = from_json(m.channel_config)
            status = self.notifier.send(channel, _outgoing(m))
            error: str | None = None
            retryable = False
        except DeliveryError as e:
            status, error, retryable = e.status, str(e), e.retryable
        except (KeyError, ValueError, TypeError) as e:
            status, error, retryable = "config", f"bad channel configuration: {e}", False
        except Exception as e:  # a channel bug must not stop the dispatcher
            status, error, retryable = "error", f"{type(e).__name__}: {e}", True
        ms = (time.monotonic() - t0) * 1000.0
        now = self.clock.now()
        with self.store.transaction() as repos:
            outbox = OutboxRepository(repos.connection)
            if error is None:
                a = Attempt(m.id, m.message_id, n, self.worker, started, ms, "delivered", status)
                outbox.finish(m, a, status=DELIVERED, now=now)
                return DeliveryReport(delivered=1)
            if retryable and n < m.max_attempts:
                retry = from_json(m.channel_config).retry
                when = now + retry.backoff(n, self.rand())
                a = Attempt(m.id, m.message_id, n, self.worker, started, ms, "retry", status, error)
                outbox.finish(m, a, status=PENDING, next_attempt_at=when, now=now)
                return DeliveryReport(retried=1)
            if retryable:
                error = f"{error} (gave up after {n} attempts)"
            a = Attempt(m.id, m.message_id, n, self.worker, started, ms, "dead", status, error)
            outbox.finish(m, a, status=DEAD, now=now)
            return DeliveryReport(dead=1)

    def run(
        self,
        stop: threading.Event,
        *,
        poll: float = 1.0,
        on_error: Callable[[SlmError], None] | None = None,
    ) -> DeliveryReport:
        """Deliver until ``stop`` is set; a store error is reported and retried."""
        total = DeliveryReport()
        while not stop.is_set():
            try:
                report = self.deliver_due()
            except SlmError as e:
                if on_error is not None:
                    on_error(e)
                stop.wait(poll)
                continue
            total += report
            if report.claimed == 0:
                stop.wait(poll)
        return total


# --- the delivery log --------------------------------------------------------------------


def delivery_log(
    store: Store,
    *,
    statuses: Iterable[str] | None = None,
    message: str | None = None,
    limit: int | None = 50,
) -> list[dict[str, Any]]:
    """Messages (newest first) with every attempt, as plain JSON."""
    with store.transaction() as repos:
        outbox = OutboxRepository(repos.connection)
        msgs = outbox.messages(
            statuses=list(statuses) if statuses else None, message_id=message, limit=limit
        )
        attempts = outbox.attempts(m.id for m in msgs)
    by_id: dict[int, list[Attempt]] = {}
    for a in attempts:
        by_id.setdefault(a.outbox_id, []).append(a)
    return [_message_view(m, by_id.get(m.id, [])) for m in msgs]


def requeue(store: Store, message_ids: Iterable[str], now: datetime | None = None) -> int:
    """Dead-lettered messages back into the outbox (after fixing the receiver)."""
    with store.transaction() as repos:
        return OutboxRepository(repos.connection).requeue(message_ids, now or datetime.now(UTC))


def _message_view(m: StoredMessage, attempts: list[Attempt]) -> dict[str, Any]:
    return {
        "id": m.message_id,
        "status": m.status,
        "policy": m.policy,
        "level": m.level,
        "level_name": m.level_name,
        "trigger": m.trigger,
        "service": m.service,
        "slo": m.slo,
        "objective": m.objective,
        "recipient": m.recipient,
        "channel": m.channel,
        "channel_type": m.channel_config.get("type"),
        "to": list(m.to),
        "subject": m.subject,
        "attempts": m.attempts,
        "max_attempts": m.max_attempts,
        "created_at": _iso(m.created_at),
        "next_attempt_at": _iso(m.next_attempt_at) if m.status == PENDING else None,
        "delivered_at": _iso(m.delivered_at) if m.delivered_at else None,
        "last_error": m.last_error,
        "dedup_key": m.dedup_key,
        "log": [
            {
                "attempt": a.attempt,
                "at": _iso(a.started_at),
                "worker": a.worker,
                "outcome": a.outcome,
                "status": a.status,
                "duration_ms": round(a.duration_ms, 1),
                "error": a.error,
            }
            for a in attempts
        ],
    }
