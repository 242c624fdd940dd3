"""Delivery through the outbox to real receivers on loopback, on SQLite and PostgreSQL:
signatures, idempotency keys, retries with backoff, dead letters, crashes, two dispatchers."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from email import policy as email_policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from notify_helpers import (
    SECRET,
    SECRET_ENV,
    Mailbox,
    Receiver,
    StepClock,
    result,
    transition,
    write_workspace,
)

from slm.domain.alert_state import AlertStatus
from slm.notify.webhook import verify
from slm.services.notifications import Dispatcher, NotificationService, delivery_log, requeue
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.outbox import OutboxRepository
from slm.store.schema import escalation_states, notification_outbox

pytestmark = pytest.mark.usefixtures("notify_env")


def setup(store: Store, ws: Workspace) -> tuple[NotificationService, Dispatcher, StepClock]:
    clock = StepClock()
    service = NotificationService(store, ws, clock=clock)
    dispatcher = Dispatcher(store, clock=clock, rand=lambda: 0.5, worker="test-worker")
    return service, dispatcher, clock


def only_log(store: Store) -> dict[str, Any]:
    (msg,) = delivery_log(store)
    return msg


def test_webhook_is_signed_and_carries_the_idempotency_key(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    service, dispatcher, _ = setup(store, notify_ws)
    (queued,) = service.on_evaluation([result(0.6)], [], result(0.6).at)
    assert (queued.policy, queued.level, queued.recipient, queued.inserted) == (
        "checkout",
        1,
        "oncall",
        True,
    )
    report = dispatcher.deliver_due()
    assert (report.claimed, report.delivered) == (1, 1)

    (req,) = receiver.requests
    assert req.signed is True
    assert req.headers["idempotency-key"] == queued.message_id
    assert not verify(
        SECRET, req.headers["x-slm-timestamp"], req.body + b" ", req.headers["x-slm-signature"]
    )
    doc = req.json
    assert doc["id"] == queued.message_id
    assert doc["subject"] == (
        "[half] checkout/checkout-availability: 60.0% of the error budget consumed"
    )
    assert doc["policy"] == "checkout" and doc["level"]["number"] == 1
    assert doc["budget"]["consumed"] == pytest.approx(0.6)
    assert doc["budget"]["threshold"] == 0.5
    assert doc["at"] == "2026-11-03T14:05:00Z"
    assert "Budget:    60.0% consumed, 40.0% remaining" in doc["text"]

    log = only_log(store)
    assert log["status"] == "delivered" and log["attempts"] == 1
    (attempt,) = log["log"]
    assert (attempt["outcome"], attempt["status"], attempt["error"]) == (
        "delivered",
        "HTTP 200",
        None,
    )


def test_a_repeated_or_later_evaluation_enqueues_nothing_new(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    service, _, _ = setup(store, notify_ws)
    first = service.on_evaluation([result(0.6)], [], result(0.6).at)
    again = service.on_evaluation([result(0.6)], [], result(0.6).at)
    later = service.on_evaluation(
        [result(0.65, at=result(0.6).at + timedelta(minutes=1))], [], result(0.6).at
    )
    assert [e.inserted for e in first] == [True] and again == [] and later == []
    with store.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(notification_outbox)).scalar() == 1
        )


def test_replayed_alert_transitions_are_enqueued_once(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    service, dispatcher, _ = setup(store, notify_ws)
    fire = transition(AlertStatus.FIRING)
    a = service.on_evaluation([], [fire], fire.at)
    b = service.on_evaluation([], [fire], fire.at)  # e.g. an evaluator restarted and replayed
    assert [e.inserted for e in a] == [True] and [e.inserted for e in b] == [False]
    assert a[0].message_id == b[0].message_id
    service.on_evaluation([], [transition(AlertStatus.RESOLVED)], fire.at)
    dispatcher.deliver_due()
    subjects = sorted(r.json["subject"] for r in receiver.requests)
    assert subjects == [
        "[page] checkout/checkout-availability: page burn-rate alert firing",
        "[page] checkout/checkout-availability: page burn-rate alert resolved",
    ]


def test_slack_and_email_channels(
    store: Store, receiver: Receiver, smtp_server: Mailbox, notify_ws: Workspace
) -> None:
    service, dispatcher, _ = setup(store, notify_ws)
    queued = service.on_evaluation([result(1.2)], [], result(1.2).at)
    assert sorted((e.level, e.recipient) for e in queued) == [
        (1, "oncall"),
        (2, "oncall"),
        (2, "team"),
        (4, "stakeholders"),
    ]
    assert dispatcher.deliver_due().delivered == 4

    slack = [r for r in receiver.requests if r.path == "/slack"]
    assert len(slack) == 1 and slack[0].signed is None
    first_line = slack[0].json["text"].split("\n")[0]
    assert first_line == (
        "*[three-quarters] checkout/checkout-availability: 120.0% of the error budget consumed*"
    )
    (env,) = smtp_server.handler.envelopes
    assert env.rcpt_tos == ["cto@example.com"] and env.mail_from == "slm@example.com"
    raw = env.original_content
    assert isinstance(raw, bytes)
    mail = email.message_from_bytes(raw, policy=email_policy.default)
    mid = next(e.message_id for e in queued if e.recipient == "stakeholders")
    assert mail["Message-ID"] == f"<{mid}@slm>"
    assert mail["Subject"] == "Service update: checkout"
    body = mail.get_body()
    assert body is not None and "Our engineers are looking into the cause" in body.get_content()


def test_a_failing_receiver_gets_retries_with_backoff(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    service, dispatcher, clock = setup(store, notify_ws)
    receiver.plan = ["500", "500"]
    service.on_evaluation([result(0.6)], [], result(0.6).at)
    assert dispatcher.deliver_due().retried == 1
    # initial backoff 10s, jitter 20% x rand 0.5 -> 9s; then 18s
    clock.advance(seconds=8.9)
    assert dispatcher.deliver_due().claimed == 0
    clock.advance(seconds=0.1)
    assert dispatcher.deliver_due().retried == 1
    clock.advance(seconds=17.9)
    assert dispatcher.deliver_due().claimed == 0
    clock.advance(seconds=0.1)
    assert dispatcher.deliver_due().delivered == 1

    log = only_log(store)
    assert [(a["attempt"], a["outcome"], a["status"]) for a in log["log"]] == [
        (1, "retry", "HTTP 500"),
        (2, "retry", "HTTP 500"),
        (3, "delivered", "HTTP 200"),
    ]
    assert "answered HTTP 500: receiver says no" in log["log"][0]["error"]
    assert len(set(receiver.idempotency_keys)) == 1 and len(receiver.requests) == 3


def test_timeouts_and_closed_connections_are_retried(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    service, dispatcher, clock = setup(store, notify_ws)
    receiver.plan, receiver.hang_s = ["hang", "close"], 3.0  # the channel times out after 1s
    service.on_evaluation([result(0.6)], [], result(0.6).at)
    for _ in range(3):
        dispatcher.deliver_due()
        clock.advance(minutes=1)
    log = only_log(store)
    assert log["status"] == "delivered"
    got = [(a["outcome"], a["status"]) for a in log["log"]]
    assert got == [("retry", "timeout"), ("retry", "connection"), ("delivered", "HTTP 200")]
    assert "within 1s" in log["log"][0]["error"]
    assert "RemoteProtocolError" in log["log"][1]["error"]
    assert all(a["duration_ms"] > 0 for a in log["log"])


def test_dead_letter_after_max_attempts_then_requeue(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    service, dispatcher, clock = setup(store, notify_ws)
    receiver.plan = ["500"] * 3  # maxAttempts: 3
    (queued,) = service.on_evaluation([result(0.6)], [], result(0.6).at)
    for _ in range(5):
        dispatcher.deliver_due()
        clock.advance(hours=1)
    log = only_log(store)
    assert log["status"] == "dead" and log["attempts"] == 3
    assert [a["outcome"] for a in log["log"]] == ["retry", "retry", "dead"]
    assert log["last_error"].endswith("(gave up after 3 attempts)")
    assert len(receiver.requests) == 3

    assert requeue(store, [queued.message_id], clock.now()) == 1
    assert dispatcher.deliver_due().delivered == 1
    assert only_log(store)["status"] == "delivered"


def test_a_refusal_is_dead_at_once(store: Store, receiver: Receiver, notify_ws: Workspace) -> None:
    service, dispatcher, _ = setup(store, notify_ws)
    receiver.plan = ["400"]
    service.on_evaluation([result(0.6)], [], result(0.6).at)
    assert dispatcher.deliver_due().dead == 1
    log = only_log(store)
    assert [(a["outcome"], a["status"]) for a in log["log"]] == [("dead", "HTTP 400")]


def test_a_missing_secret_is_reported_not_sent(
    store: Store, receiver: Receiver, notify_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    service, dispatcher, _ = setup(store, notify_ws)
    service.on_evaluation([result(0.6)], [], result(0.6).at)
    dispatcher.deliver_due()
    log = only_log(store)
    assert log["status"] == "dead" and receiver.requests == []
    assert log["last_error"] == (
        f"environment variable {SECRET_ENV} (webhook signing secret) is not set"
    )


def test_smtp_temporary_failure_is_retried_and_refusal_is_not(
    store: Store, receiver: Receiver, smtp_server: Mailbox, notify_ws: Workspace
) -> None:
    service, dispatcher, clock = setup(store, notify_ws)
    smtp_server.handler.plan = ["451"]
    service.on_evaluation([result(1.0, slo="a")], [], result(1.0).at)
    for _ in range(2):
        dispatcher.deliver_due()
        clock.advance(minutes=5)
    mails = [m for m in delivery_log(store) if m["channel"] == "mail"]
    assert [(a["outcome"], a["status"]) for a in mails[0]["log"]] == [
        ("retry", "SMTP 451"),
        ("delivered", "SMTP 250"),
    ]
    smtp_server.handler.plan = ["550"]
    service.on_evaluation([result(1.0, slo="b")], [], result(1.0).at)
    dispatcher.deliver_due()
    mails = [m for m in delivery_log(store) if m["channel"] == "mail" and m["slo"] == "b"]
    assert [(a["outcome"], a["status"]) for a in mails[0]["log"]] == [("dead", "SMTP 550")]


def test_an_abandoned_lease_is_taken_over_and_delivered_once(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    service, dispatcher, clock = setup(store, notify_ws)
    service.on_evaluation([result(0.6)], [], result(0.6).at)
    with store.transaction() as repos:  # a dispatcher claims, then dies before sending
        claimed, _ = OutboxRepository(repos.connection).claim(
            "dead-worker", clock.now(), clock.now() + timedelta(minutes=5), 10
        )
    assert len(claimed) == 1
    assert dispatcher.deliver_due().claimed == 0  # the lease still holds
    clock.advance(minutes=5, seconds=1)
    report = dispatcher.deliver_due()
    assert (report.lost, report.delivered) == (1, 1)
    assert len(receiver.requests) == 1
    log = only_log(store)
    assert [(a["attempt"], a["outcome"], a["worker"]) for a in log["log"]] == [
        (1, "lost", "dead-worker"),
        (2, "delivered", "test-worker"),
    ]


def test_a_dispatcher_killed_between_send_and_mark_resends_with_the_same_key(
    store: Store, store_url: str, receiver: Receiver, smtp_server: Mailbox, tmp_path: Path
) -> None:
    ws = load_workspace([write_workspace(tmp_path, receiver.url, smtp_server.port, timeout="60s")])
    service, dispatcher, clock = setup(store, ws)
    (queued,) = service.on_evaluation([result(0.6)], [], result(0.6).at)
    receiver.plan, receiver.hang_s = ["hang"], 30.0  # got it, but never answers in time
    proc = subprocess.Popen(
        [sys.executable, "-m", "slm", "notify", "deliver", "--db", store_url, "--lease", "2m"],
        env={**os.environ, SECRET_ENV: SECRET},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert receiver.got_request.wait(60), "the dispatcher never sent"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(notification_outbox)).one()._mapping
    assert row["status"] == "sending" and row["lease_owner"] != "test-worker"

    clock.t = row["lease_until"] + timedelta(seconds=1)
    report = dispatcher.deliver_due()
    assert (report.lost, report.delivered) == (1, 1)
    assert receiver.idempotency_keys == [queued.message_id, queued.message_id]
    assert list(receiver.processed) == [queued.message_id]  # a deduplicating receiver: once
    log = only_log(store)
    assert log["status"] == "delivered"
    assert [a["outcome"] for a in log["log"]] == ["lost", "delivered"]


def test_two_dispatchers_never_send_the_same_message_twice(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    service, _, clock = setup(store, notify_ws)
    results = [result(0.6, slo=f"slo-{i}") for i in range(12)]
    assert len(service.on_evaluation(results, [], results[0].at)) == 12
    workers = [Dispatcher(store, clock=clock, batch=3, worker=f"w{i}") for i in range(2)]
    errors: list[BaseException] = []

    def drain(d: Dispatcher) -> None:
        try:
            while d.deliver_due().claimed:
                pass
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=drain, args=(d,)) for d in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(receiver.requests) == 12
    assert len(set(receiver.idempotency_keys)) == 12
    assert {m["status"] for m in delivery_log(store)} == {"delivered"}


def test_states_and_outbox_are_one_transaction(
    store: Store, receiver: Receiver, notify_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, dispatcher, _ = setup(store, notify_ws)

    def broken(self: OutboxRepository, *_: Any) -> bool:
        raise RuntimeError("disk full")

    with monkeypatch.context() as m:
        m.setattr(OutboxRepository, "add", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            service.on_evaluation([result(0.6)], [], result(0.6).at)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(escalation_states)).all() == []  # not consumed
    # the next evaluation fires the level that the failed one could not record
    assert len(service.on_evaluation([result(0.6)], [], result(0.6).at)) == 1
    assert dispatcher.deliver_due().delivered == 1


def test_recover_enqueues_logged_transitions_that_missed_their_notification(
    store: Store, receiver: Receiver, notify_ws: Workspace
) -> None:
    from slm.store.alerts import AlertRepository

    service, dispatcher, _ = setup(store, notify_ws)
    fire = transition(AlertStatus.FIRING)
    with store.transaction() as repos:  # the alert service committed; then the process died
        AlertRepository(repos.connection).add_event(fire, fire.at)
    since = fire.at - timedelta(hours=1)
    recovered = service.recover(since)
    assert [(e.level, e.recipient) for e in recovered] == [(3, "oncall")]
    assert service.recover(since) == []  # already there
    assert service.on_evaluation([], [fire], fire.at)[0].inserted is False
    assert dispatcher.deliver_due().delivered == 1
    assert receiver.requests[0].json["alert"]["status"] == "firing"
