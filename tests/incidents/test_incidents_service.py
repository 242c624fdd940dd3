"""IncidentService on the real store (SQLite and PostgreSQL): alerts open incidents once,
timelines and impacts, immutable sign-off, exclusion approval, major events, ITSM import."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection

from slm.cli.errors import exit_code
from slm.domain.alert_state import AlertStatus, AlertTransition
from slm.domain.errors import DataError, NotFoundError, SignedOffError
from slm.domain.incident import RootCause, downtime_by_service
from slm.services import itsm
from slm.services.incidents import IncidentChange, IncidentService
from slm.services.ports import FixedClock
from slm.spec.loader import load_workspace
from slm.store.db import Store
from slm.store.outbox import OutboxRepository

NOW = datetime(2026, 11, 2, tzinfo=UTC)

SPECS = """\
apiVersion: openslo/v1
kind: Service
metadata: {name: checkout, labels: {criticality: critical}}
spec: {}
---
apiVersion: openslo/v1
kind: Service
metadata: {name: search, labels: {criticality: high}}
spec: {}
---
apiVersion: slm/v1
kind: IncidentPriorityPolicy
metadata: {name: default}
spec:
  rules:
    - {priority: P1, criticality: [critical], budget: [exhausted]}
    - {priority: P2, criticality: [critical]}
    - {priority: P3, criticality: [high]}
  default: P4
  majorEvent: {slaCritical: [critical], raiseTo: P1, othersAtMost: P2}
"""


def t(h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, 1, h, m, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.changes: list[IncidentChange] = []

    def incident_changed(self, connection: Connection, change: IncidentChange) -> None:
        self.changes.append(change)


def service(store: Store, tmp_path: Path, rec: Recorder | None = None) -> IncidentService:
    (tmp_path / "specs.yaml").write_text(SPECS)
    ws = load_workspace([tmp_path / "specs.yaml"])
    return IncidentService(store, ws, clock=FixedClock(NOW), listeners=[rec] if rec else [])


def tr(
    key: str, episode: int, to: AlertStatus, at: datetime, severity: str = "page"
) -> AlertTransition:
    return AlertTransition(
        key=key,
        slo="checkout-avail",
        service="checkout",
        objective="99.9",
        rule=key.split("/")[-1],
        policy="default",
        severity=severity,
        episode=episode,
        from_status=AlertStatus.INACTIVE,
        to_status=to,
        at=at,
        group="checkout/checkout-avail",
    )


def test_page_alert_episode_opens_one_incident(store: Store, tmp_path: Path) -> None:
    svc = service(store, tmp_path)
    fast, slow = "checkout/page-1h-5m", "checkout/page-6h-30m"
    first = svc.on_alert_transitions([tr(fast, 1, AlertStatus.FIRING, t(10))])
    again = svc.on_alert_transitions(
        [
            tr(slow, 1, AlertStatus.FIRING, t(10, 5)),  # same group: joins
            tr("checkout/ticket-1d-2h", 1, AlertStatus.FIRING, t(10, 6), "ticket"),
            tr(fast, 1, AlertStatus.RESOLVED, t(11)),
        ]
    )
    assert len(first) == 1 and again == first
    inc = svc.get(first[0])
    assert inc.source == "alert" and inc.priority == "P2"  # critical, budget unknown
    assert [e.kind for e in inc.timeline] == ["opened", "alert", "alert", "alert", "alert"]
    assert len(svc.find()) == 1
    svc.add_event(inc.id, "resolved", "fixed", team="payments", at=t(11, 30))
    # a new episode after the incident was resolved opens a new incident
    new = svc.on_alert_transitions([tr(fast, 2, AlertStatus.FIRING, t(15))])
    assert new != first and len(svc.find()) == 2
    # a ticket alone never opens one
    assert svc.on_alert_transitions(
        [tr("search/ticket", 1, AlertStatus.FIRING, t(16), "ticket")]
    ) in (
        [],
        new,
    )


def test_timeline_impact_and_downtime_across_incidents(store: Store, tmp_path: Path) -> None:
    svc = service(store, tmp_path)
    a = svc.open("db failover", "checkout", at=t(10), team="dba")
    b = svc.open("cdn errors", "checkout", at=t(10, 20), team="edge")
    svc.set_impact(a.id, "checkout", t(10), None)
    svc.set_impact(a.id, "checkout", None, t(11))  # close the open interval
    svc.set_impact(b.id, "checkout", t(10, 30), t(11, 30))
    svc.add_event(a.id, "note", "failover done", team="dba", at=t(10, 50))
    svc.add_event(a.id, "note", "traffic back", team="edge", at=t(10, 40))
    got = svc.get(a.id)
    assert [(e.kind, e.team) for e in got.timeline] == [
        ("opened", "dba"),
        ("note", "edge"),
        ("note", "dba"),
    ]
    assert downtime_by_service(svc.find(), (t(0), t(23))) == {"checkout": timedelta(minutes=90)}
    with pytest.raises(DataError, match="no open impact"):
        svc.set_impact(b.id, "search", None, t(12))
    with pytest.raises(DataError, match="not after"):
        svc.set_impact(b.id, "search", t(12), t(11))


def test_sign_off_freezes_root_cause_and_proposes_exclusion(store: Store, tmp_path: Path) -> None:
    rec = Recorder()
    svc = service(store, tmp_path, rec)
    a = svc.open("customer DDoS'd themselves", "checkout", at=t(10))
    svc.set_impact(a.id, "checkout", t(10), t(10, 45))
    with pytest.raises(DataError, match="no root-cause record"):
        svc.sign_off(a.id, "alice")
    svc.record_root_cause(a.id, RootCause("load", "provider"))
    svc.record_root_cause(
        a.id,
        RootCause(
            "load", "customer", evidence=("https://t/1",), corrective_actions=("rate limit",)
        ),
    )
    inc, proposals = svc.sign_off(a.id, "alice", ["acme"])
    assert inc.root_cause is not None and inc.root_cause.signed_off_by == "alice"
    assert inc.root_cause.signed_off_at == NOW
    assert [(p.state, p.exclusion.category, p.exclusion.duration) for p in proposals] == [
        ("proposed", "customer-caused", timedelta(minutes=45))
    ]
    assert svc.approved_exclusions() == []
    for change in (
        lambda: svc.record_root_cause(a.id, RootCause("x", "provider")),
        lambda: svc.sign_off(a.id, "bob"),
        lambda: svc.set_impact(a.id, "checkout", t(12), t(13)),
    ):
        with pytest.raises(SignedOffError, match="signed off by alice") as e:
            change()
        assert exit_code(e.value) == 1
    assert svc.get(a.id).root_cause == inc.root_cause
    approved = svc.decide_exclusion(proposals[0].id, "bob")
    assert approved.state == "approved" and approved.exclusion.counts
    assert [x.approved_by for x in svc.approved_exclusions()] == ["bob"]
    with pytest.raises(DataError, match="approved by bob"):
        svc.decide_exclusion(proposals[0].id, "carol", approved=False)
    with pytest.raises(NotFoundError):
        svc.decide_exclusion(999, "bob")
    assert [c.action for c in rec.changes] == [
        "opened",
        "impact",
        "root-cause",
        "root-cause",
        "signed-off",
        "exclusion-approved",
    ]


def test_major_event_reprioritises_open_incidents(store: Store, tmp_path: Path) -> None:
    svc = service(store, tmp_path)
    crit = svc.open("checkout slow", "checkout", at=t(10))
    other = svc.open("search slow", "search", at=t(10), priority="P1")
    low = svc.open("search typo", "search", at=t(10))
    assert (crit.priority, other.priority, low.priority) == ("P2", "P1", "P3")
    changed = svc.set_major_event(True, "ceo", "storm")
    assert {i.id: i.priority for i in changed} == {crit.id: "P1", other.id: "P2"}
    during = svc.open("checkout errors", "checkout", at=t(11))
    assert during.priority == "P1" and during.base_priority == "P2"
    assert svc.major_event() is not None and svc.major_event().reason == "storm"  # type: ignore[union-attr]
    svc.set_major_event(False, "ceo")
    assert {i.id: i.priority for i in svc.find()} == {
        crit.id: "P2",
        other.id: "P1",
        low.id: "P3",
        during.id: "P2",
    }


def test_itsm_round_trip_through_the_store(store: Store, tmp_path: Path) -> None:
    svc = service(store, tmp_path)
    a = svc.open("checkout down", "checkout", at=t(10))
    svc.set_impact(a.id, "checkout", t(10), t(10, 30))
    svc.add_event(a.id, "resolved", "ok", at=t(10, 30))
    for fmt in itsm.FORMATS:
        doc = itsm.export(svc.find(), fmt)
        back = itsm.parse(doc, fmt)
        assert [
            (i.id, i.title, i.service, i.priority, i.status, i.opened_at, i.resolved_at, i.impacts)
            for i in back
        ] == [
            (
                a.id,
                "checkout down",
                "checkout",
                "P2",
                "resolved",
                t(10),
                t(10, 30),
                svc.get(a.id).impacts,
            )
        ]
    doc = {
        "result": [
            {
                "number": "PRB0001",
                "short_description": "leak",
                "priority": "3",
                "state": "101",
                "opened_at": "2026-10-01 08:00:00",
                "cmdb_ci": {"display_value": "search", "value": "abc"},
            }
        ]
    }
    assert svc.import_records(itsm.parse(doc, "servicenow")) == (1, 0)
    assert svc.import_records(itsm.parse(doc, "servicenow")) == (0, 1)
    prb = svc.get("PRB0001")
    assert (prb.kind, prb.service, prb.priority) == ("problem", "search", "P3")


def test_outbox_listener_enqueues_webhooks_with_the_change(store: Store, tmp_path: Path) -> None:
    specs = (
        SPECS.replace("  default: P4\n", "  default: P4\n  notify: [hook]\n")
        + """\
---
apiVersion: slm/v1
kind: NotificationChannel
metadata: {name: hook}
spec:
  webhook: {url: "http://127.0.0.1:9/hook"}
"""
    )
    (tmp_path / "specs.yaml").write_text(specs)
    svc = IncidentService(store, load_workspace([tmp_path / "specs.yaml"]), clock=FixedClock(NOW))
    a = svc.open("checkout down", "checkout", at=t(10))
    svc.add_event(a.id, "note", "looking", at=t(10, 5))
    with store.transaction() as repos:
        msgs = OutboxRepository(repos.connection).messages()
    assert sorted((m.channel, m.payload["action"], m.payload["incident"]) for m in msgs) == [
        ("hook", "event", a.id),
        ("hook", "opened", a.id),
    ]
    opened = next(m for m in msgs if m.payload["action"] == "opened")
    assert opened.payload["record"]["service"] == "checkout"


def test_concurrent_opens_get_distinct_numbers(store: Store, tmp_path: Path) -> None:
    """Two writers (an API request and a page alert) opening incidents at the same moment
    read the same highest number; the loser's insert is refused and its whole unit of work
    runs again with the next number: no error, no gap, no duplicate."""
    from concurrent.futures import ThreadPoolExecutor

    svc = service(store, tmp_path)
    barrier = threading.Barrier(4)

    def open_some(worker: int) -> list[str]:
        barrier.wait()
        return [svc.open(f"w{worker} #{n}", "checkout", at=t(9, n)).id for n in range(8)]

    with ThreadPoolExecutor(4) as pool:
        ids = [i for chunk in pool.map(open_some, range(4)) for i in chunk]
    assert sorted(ids) == [f"INC-{n:06d}" for n in range(1, 33)]
    assert len(svc.find()) == 32


def test_recover_opens_the_incidents_of_page_alerts_logged_but_never_applied(
    store: Store, tmp_path: Path
) -> None:
    """A crash between the alert step (which logs transitions) and the incidents step: at
    start-up ``recover`` opens the lost page's incident with its timeline, once."""
    from slm.store.alerts import AlertRepository

    svc = service(store, tmp_path)
    [applied] = svc.on_alert_transitions([tr("checkout/page-6h-30m", 1, AlertStatus.FIRING, t(9))])
    svc.add_event(applied, "resolved", "fixed", at=t(9, 30))
    logged = [
        tr("checkout/page-6h-30m", 1, AlertStatus.FIRING, t(9)),  # applied above
        tr("checkout/page-1h-5m", 1, AlertStatus.FIRING, t(10)),  # lost
        tr("checkout/ticket-1d-2h", 1, AlertStatus.FIRING, t(10, 2), "ticket"),  # joins it
        tr("checkout/page-1h-5m", 1, AlertStatus.RESOLVED, t(11)),  # lost, after the firing
    ]
    with store.transaction() as repos:
        for x in logged:
            AlertRepository(repos.connection).add_event(x, NOW)
    [opened] = svc.recover(t(8))
    assert opened != applied
    inc = svc.get(opened)
    assert inc.source == "alert" and inc.opened_at == t(10)
    alerts = [e.text for e in inc.timeline if e.kind == "alert"]
    assert [(a.split(" ", 1)[0], a.rsplit(" -> ", 1)[-1]) for a in alerts] == [
        ("page-1h-5m", "firing"),
        ("ticket-1d-2h", "firing"),  # as live: a ticket of the group joins its incident
        ("page-1h-5m", "resolved"),
    ]
    assert svc.recover(t(8)) == []  # applied now: nothing more
    assert len(svc.find()) == 2
    assert [e.kind for e in svc.get(opened).timeline].count("alert") == 3
