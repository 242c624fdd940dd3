"""The incident routes of ``slm serve`` (/api/v1/incidents) on the real app factory and a
real store (SQLite and PostgreSQL), through FastAPI's TestClient: list, get, open, events,
impact, root cause, sign-off, import; 4xx bodies naming the field, 409 after sign-off, and
an outbound webhook enqueued for every change. One test runs a real ``slm serve`` on
loopback and receives the webhooks on a real HTTP endpoint."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from serve_helpers import ServerProcess, problem, store_workspace

from slm.api.app import create_app
from slm.api.deps import Services
from slm.services.incidents import IncidentService
from slm.services.ports import FixedClock
from slm.services.status import StatusBoard
from slm.spec.loader import load_workspace
from slm.store.db import Store
from slm.store.outbox import OutboxRepository

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # the server's evaluation clock
BASE = "/api/v1/incidents"

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
    - {priority: P2, criticality: [critical]}
    - {priority: P3, criticality: [high]}
  default: P4
  notify: [itsm]
---
apiVersion: slm/v1
kind: NotificationChannel
metadata: {name: itsm}
spec:
  webhook: {url: "http://127.0.0.1:9/itsm"}
"""

SERVICENOW = {
    "result": [
        {
            "number": "INC0010001",
            "short_description": "Payments gateway timeouts",
            "priority": "1",
            "state": "6",
            "opened_at": "2026-10-30 08:00:00",
            "resolved_at": "2026-10-30 09:30:00",
            "cmdb_ci": {"display_value": "checkout", "value": "a1b2"},
            "u_slm_impacts": [
                {
                    "service": "checkout",
                    "start": "2026-10-30T08:05:00+00:00",
                    "end": "2026-10-30T09:05:00+00:00",
                }
            ],
        },
        {
            "number": "PRB0000042",
            "short_description": "Connection pool too small",
            "priority": "3",
            "state": "102",
            "opened_at": "2026-10-30 10:00:00",
            "cmdb_ci": "checkout",
        },
    ]
}

JIRA = {
    "issues": [
        {
            "key": "OPS-7",
            "fields": {
                "summary": "Search index stale",
                "priority": {"name": "High"},
                "status": {"name": "In Progress"},
                "created": "2026-11-01T07:00:00.000+0000",
                "resolutiondate": None,
                "issuetype": {"name": "Incident"},
                "components": [{"name": "search"}],
            },
        }
    ]
}


@pytest.fixture
def service(store: Store, tmp_path: Path) -> IncidentService:
    (tmp_path / "specs.yaml").write_text(SPECS)
    ws = load_workspace([tmp_path / "specs.yaml"])
    return IncidentService(store, ws, clock=FixedClock(NOW))


@pytest.fixture
def client(service: IncidentService, store: Store) -> Iterator[TestClient]:
    clock = FixedClock(NOW)
    app = create_app(StatusBoard([]), store, clock=clock, services=Services(incidents=service))
    with TestClient(app) as c:
        yield c


def webhooks(store: Store) -> list[tuple[str, str]]:
    """(action, incident) of every incident webhook in the outbox, oldest first."""
    with store.transaction() as repos:
        msgs = OutboxRepository(repos.connection).messages()
    assert {m.channel for m in msgs} <= {"itsm"}
    return [(m.payload["action"], m.payload["incident"]) for m in reversed(msgs)]


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def open_checkout(client: TestClient, **extra: Any) -> dict[str, Any]:
    body = {"title": "checkout errors", "service": "checkout", "team": "sre", **extra}
    return ok(client.post(BASE, json=body), 201)


def test_an_incident_is_opened_by_hand_with_the_policy_priority(
    client: TestClient, store: Store
) -> None:
    inc = open_checkout(client)
    assert (inc["id"], inc["priority"], inc["status"], inc["source"]) == (
        "INC-000001",
        "P2",
        "open",
        "manual",
    )
    assert inc["opened_at"] == NOW.isoformat()  # untimed: the evaluation clock
    [opened] = inc["timeline"]
    assert (opened["kind"], opened["team"]) == ("opened", "sre")
    assert inc["downtime_seconds"] == {} and inc["exclusions"] == []
    given = open_checkout(client, priority="P1", at="2026-11-02T13:30:00+01:00", kind="problem")
    assert (given["id"], given["priority"]) == ("PRB-000001", "P1")
    assert given["opened_at"] == "2026-11-02T12:30:00+00:00"
    assert webhooks(store) == [("opened", "INC-000001"), ("opened", "PRB-000001")]


def test_timelines_of_several_teams_merge_in_time_order(client: TestClient, store: Store) -> None:
    iid = open_checkout(client, at="2026-11-02T10:00:00Z")["id"]
    for team, at, text in [
        ("payments", "2026-11-02T10:20:00Z", "gateway returns 504"),
        ("sre", "2026-11-02T10:05:00Z", "error rate at 12%"),
        ("network", "2026-11-02T10:12:00+02:00", "BGP flap in fra1"),  # 08:12 UTC
    ]:
        ok(client.post(f"{BASE}/{iid}/events", json={"text": text, "team": team, "at": at}), 201)
    timeline = ok(client.get(f"{BASE}/{iid}"))["timeline"]
    assert [(e["at"][11:16], e["team"], e["kind"]) for e in timeline] == [
        ("08:12", "network", "note"),
        ("10:00", "sre", "opened"),
        ("10:05", "sre", "note"),
        ("10:20", "payments", "note"),
    ]
    resolved = ok(
        client.post(f"{BASE}/{iid}/events", json={"text": "fixed", "kind": "resolved"}), 201
    )
    assert resolved["status"] == "resolved" and resolved["resolved_at"] == NOW.isoformat()
    assert [a for a, _ in webhooks(store)] == ["opened", "event", "event", "event", "event"]


def test_impact_start_and_end_give_the_downtime(client: TestClient, store: Store) -> None:
    iid = open_checkout(client, at="2026-11-02T10:00:00Z")["id"]
    url = f"{BASE}/{iid}/impacts"
    started = ok(client.post(url, json={"service": "checkout", "start": "2026-11-02T10:00:00Z"}))
    assert started["impacts"] == [
        {"service": "checkout", "start": "2026-11-02T10:00:00+00:00", "end": None}
    ]
    assert started["downtime_seconds"] == {"checkout": 7200.0}  # open: until the clock (12:00)
    ended = ok(client.post(url, json={"service": "checkout", "end": "2026-11-02T10:45:00Z"}))
    assert ended["impacts"][0]["end"] == "2026-11-02T10:45:00+00:00"
    both = {"service": "checkout", "start": "2026-11-02T10:30:00Z", "end": "2026-11-02T11:00:00Z"}
    overlapping = ok(client.post(url, json=both))
    assert overlapping["downtime_seconds"] == {"checkout": 3600.0}  # 10:00-11:00, once
    search = {"service": "search", "start": "2026-11-02T10:10:00Z", "end": "2026-11-02T10:20:00Z"}
    assert ok(client.post(url, json=search))["downtime_seconds"] == {
        "checkout": 3600.0,
        "search": 600.0,
    }
    assert [a for a, _ in webhooks(store)] == ["opened", "impact", "impact", "impact", "impact"]


def test_a_signed_off_root_cause_is_immutable(client: TestClient, store: Store) -> None:
    iid = open_checkout(client, at="2026-11-02T10:00:00Z")["id"]
    impact = {"service": "checkout", "start": "2026-11-02T10:00:00Z"}
    ok(client.post(f"{BASE}/{iid}/impacts", json=impact))
    rca = {
        "category": "config-change",
        "attribution": "customer",
        "summary": "the customer rotated its API keys without notice",
        "evidence": ["https://tickets.example/CUST-1"],
        "corrective_actions": ["alert on key rotation"],
    }
    recorded = ok(client.put(f"{BASE}/{iid}/root-cause", json=rca))
    assert recorded["root_cause"]["attribution"] == "customer"
    assert recorded["root_cause"]["signed_off_by"] is None

    # an open impact blocks the sign-off (422, naming the impacts)
    early = problem(client.post(f"{BASE}/{iid}/signoff", json={"by": "alice"}), 422)
    assert early["errors"][0]["field"] == "impacts"
    assert "end every impact interval" in early["detail"]
    ok(
        client.post(
            f"{BASE}/{iid}/impacts", json={"service": "checkout", "end": "2026-11-02T10:30:00Z"}
        )
    )

    signed = ok(client.post(f"{BASE}/{iid}/signoff", json={"by": "alice", "agreements": ["acme"]}))
    assert signed["root_cause"]["signed_off_by"] == "alice"
    assert signed["root_cause"]["signed_off_at"] == NOW.isoformat()
    [proposal] = signed["exclusions"]
    assert (proposal["state"], proposal["category"]) == ("proposed", "customer-caused")

    before = webhooks(store)
    for method, path, body, field in [
        ("PUT", "root-cause", {**rca, "attribution": "provider"}, "root_cause"),
        ("POST", "signoff", {"by": "mallory"}, "root_cause"),
        ("POST", "impacts", {"service": "checkout", "start": "2026-11-02T11:00:00Z"}, "impacts"),
    ]:
        got = problem(client.request(method, f"{BASE}/{iid}/{path}", json=body), 409)
        assert got["type"] == "tag:slm.dev,2026:problem:signed-off"
        assert got["errors"] == [{"field": field, "message": got["detail"]}]
        assert "signed off by alice" in got["detail"]
    after = ok(client.get(f"{BASE}/{iid}"))
    assert after["root_cause"]["attribution"] == "customer"
    assert after["root_cause"]["signed_off_by"] == "alice"
    assert len(after["impacts"]) == 1
    assert webhooks(store) == before  # a refused change is not told
    assert [a for a, _ in before] == ["opened", "impact", "root-cause", "impact", "signed-off"]


BAD_REQUESTS = [
    pytest.param("POST", "", {"service": "checkout"}, "title", "Field required", id="no-title"),
    pytest.param("POST", "", {"title": "  ", "service": "x"}, "title", "at least 1", id="blank"),
    pytest.param(
        "POST", "", {"title": "t", "service": "x", "priority": "P0"}, "priority", "P1",
        id="priority",
    ),
    pytest.param(
        "POST", "", {"title": "t", "service": "x", "at": "2026-11-02T10:00:00"}, "at",
        "timezone", id="naive-at",
    ),
    pytest.param(
        "POST", "", {"title": "t", "service": "x", "owner": "bob"}, "owner", "Extra inputs",
        id="unknown-field",
    ),
    pytest.param(
        "POST", "", {"title": "t", "service": "x", "kind": "outage"}, "kind", "incident",
        id="kind",
    ),
    pytest.param("POST", "/{id}/events", {"team": "sre"}, "text", "Field required", id="event"),
    pytest.param(
        "POST", "/{id}/impacts", {"service": "checkout"}, "end", "give start, end or both",
        id="impact-nothing",
    ),
    pytest.param(
        "POST", "/{id}/impacts",
        {"service": "checkout", "start": "2026-11-02T10:00:00Z", "end": "2026-11-02T09:00:00Z"},
        "end", "is not after start", id="impact-backwards",
    ),
    pytest.param(
        "POST", "/{id}/impacts", {"service": "checkout", "end": "2026-11-02T10:00:00Z"},
        "end", "no open impact on 'checkout'", id="impact-no-open-one",
    ),
    pytest.param(
        "PUT", "/{id}/root-cause", {"category": "x", "attribution": "aliens"}, "attribution",
        "'provider'", id="attribution",
    ),
    pytest.param("PUT", "/{id}/root-cause", {"attribution": "provider"}, "category",
                 "Field required", id="category"),
    pytest.param("POST", "/{id}/signoff", {"by": "alice"}, "root_cause",
                 "no root-cause record", id="signoff-without-rca"),
    pytest.param("POST", "/{id}/signoff", {}, "by", "Field required", id="signoff-by"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "field", "message"), BAD_REQUESTS)
def test_bad_requests_are_4xx_naming_the_field(
    client: TestClient,
    store: Store,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    iid = open_checkout(client)["id"]
    before = ok(client.get(f"{BASE}/{iid}"))
    got = problem(client.request(method, BASE + path.format(id=iid), json=body), 422)
    assert message in got["detail"]
    assert got["errors"][0]["field"] == field and message in got["errors"][0]["message"]
    assert got["errors"][0].get("pointer", f"/{field}") == f"/{field}"  # a body field's
    assert ok(client.get(f"{BASE}/{iid}")) == before  # nothing changed
    assert webhooks(store) == [("opened", iid)]


def test_invalid_json_and_unknown_incidents(client: TestClient) -> None:
    r = client.post(BASE, content=b'{"title": ', headers={"Content-Type": "application/json"})
    assert problem(r, 422)["detail"].startswith("body: invalid JSON")
    for method, path in [("GET", ""), ("POST", "/events"), ("PUT", "/root-cause")]:
        body = {"text": "x"} if path == "/events" else {"category": "x", "attribution": "provider"}
        r = client.request(method, f"{BASE}/INC-404{path}", json=None if method == "GET" else body)
        assert problem(r, 404)["detail"] == "no incident 'INC-404'"
    r = client.get(f"{BASE}?since=yesterday")
    [since] = problem(r, 422)["errors"]
    assert (since["in"], since["field"]) == ("query", "since") and "pointer" not in since


def test_the_list_filters_by_service_status_kind_and_since(client: TestClient) -> None:
    ok(client.post(f"{BASE}/import?format=servicenow", json=SERVICENOW))
    ok(client.post(f"{BASE}/import?format=jira", json=JIRA))
    mine = open_checkout(client, at="2026-11-02T09:00:00Z")["id"]

    def ids(query: str) -> list[str]:
        doc = ok(client.get(f"{BASE}{query}"))
        assert doc["schema"] == "slm.incidents/v1"
        return [i["id"] for i in doc["items"]]

    assert ids("") == ["PRB0000042", "OPS-7", mine]  # open ones, oldest first
    assert ids("?status=all") == ["INC0010001", "PRB0000042", "OPS-7", mine]
    assert ids("?status=resolved") == ["INC0010001"]
    assert ids("?service=checkout&status=all") == ["INC0010001", "PRB0000042", mine]
    assert ids("?status=all&kind=problem") == ["PRB0000042"]
    # since: still open, or resolved at or after the instant
    assert ids("?status=all&since=2026-10-30T09:30:00Z") == ids("?status=all")
    assert ids("?status=all&since=2026-10-30T10:30:00%2B01:00") == ids("?status=all")
    assert "INC0010001" not in ids("?status=all&since=2026-10-30T09:31:00Z")
    body = ok(client.get(BASE))
    assert body["at"] == "2026-11-02T12:00:00Z"
    r = client.get(f"{BASE}?status=gone")
    assert problem(r, 422)["errors"][0] == {
        "in": "query",
        "field": "status",
        "message": "Input should be 'open', 'resolved', 'closed' or 'all'",
    }


def test_import_is_all_or_nothing_and_names_each_problem(client: TestClient, store: Store) -> None:
    done = ok(client.post(f"{BASE}/import?format=servicenow", json=SERVICENOW))
    assert done == {
        "schema": "slm.incident-import/v1",
        "imported": 2,
        "inserted": 2,
        "updated": 0,
        "ids": ["INC0010001", "PRB0000042"],
    }
    inc = ok(client.get(f"{BASE}/INC0010001"))
    assert (inc["source"], inc["priority"], inc["status"]) == ("servicenow", "P1", "resolved")
    assert inc["downtime_seconds"] == {"checkout": 3600.0}  # from u_slm_impacts

    bad = copy.deepcopy(SERVICENOW)
    bad["result"][0]["short_description"] = "changed"
    bad["result"][1]["priority"] = "9"
    del bad["result"][1]["opened_at"]
    got = problem(client.post(f"{BASE}/import?format=servicenow", json=bad), 422)
    assert got["detail"] == (
        "result[1].priority: '9' is not a ServiceNow priority 1..5\nresult[1].opened_at: missing"
    )
    assert got["errors"] == [
        {
            "in": "body",
            "field": "result[1].priority",
            "pointer": "/result/1/priority",
            "message": "'9' is not a ServiceNow priority 1..5",
        },
        {
            "in": "body",
            "field": "result[1].opened_at",
            "pointer": "/result/1/opened_at",
            "message": "missing",
        },
    ]
    assert ok(client.get(f"{BASE}/INC0010001"))["title"] == "Payments gateway timeouts"

    r = client.post(f"{BASE}/import?format=jira", json=SERVICENOW)
    assert problem(r, 422)["errors"][0]["pointer"] == "/issues"
    for query in ("?format=csv", ""):
        r = client.post(f"{BASE}/import{query}", json=SERVICENOW)
        assert problem(r, 422)["errors"][0] | {"message": ""} == {
            "in": "query",
            "field": "format",
            "message": "",
        }

    # again: replaced (updated), until its root cause is signed off
    again = ok(client.post(f"{BASE}/import?format=servicenow", json=SERVICENOW))
    assert (again["schema"], again["inserted"], again["updated"]) == (
        "slm.incident-import/v1",
        0,
        2,
    )
    rca = {"category": "capacity", "attribution": "provider"}
    ok(client.put(f"{BASE}/INC0010001/root-cause", json=rca))
    ok(client.post(f"{BASE}/INC0010001/signoff", json={"by": "alice"}))
    r = client.post(f"{BASE}/import?format=servicenow", json=SERVICENOW)
    assert "import refused" in problem(r, 409)["detail"]
    prb = ok(client.get(f"{BASE}/PRB0000042"))
    assert prb["kind"] == "problem"  # the refused import changed nothing, not even PRB
    assert [a for a, _ in webhooks(store)] == [
        "imported",
        "imported",
        "imported",
        "imported",
        "root-cause",
        "signed-off",
    ]


class Receiver:
    """A real ITSM webhook endpoint on a free loopback port: records every POSTed JSON."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.payloads.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/itsm"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def actions(self, count: int, timeout: float = 30.0) -> list[tuple[str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.payloads) >= count:
                    return sorted((p["action"], p["incident"]) for p in self.payloads)
            time.sleep(0.1)
        raise AssertionError(f"got {len(self.payloads)} webhook(s), not {count}")


def test_a_real_server_takes_incidents_over_http_and_fires_the_webhooks(
    serve: type[ServerProcess], tmp_path: Path
) -> None:
    receiver = Receiver()
    try:
        ws = store_workspace(tmp_path)
        (ws / "incidents.yaml").write_text(SPECS.replace("http://127.0.0.1:9/itsm", receiver.url))
        server = serve([ws], tmp_path, "--at", "2026-11-02T12:00:00Z", "--no-probes").start()
        inc = server.post(BASE, json={"title": "checkout down", "service": "checkout"})
        assert inc.status_code == 201, inc.text
        iid = inc.json()["id"]
        assert inc.json()["opened_at"] == NOW.isoformat()  # the server's evaluation clock
        steps = [
            ("events", {"text": "gateway 504s", "team": "payments", "at": "2026-11-02T11:50:00Z"}),
            ("impacts", {"service": "checkout", "start": "2026-11-02T11:45:00Z",
                         "end": "2026-11-02T11:55:00Z"}),
        ]  # fmt: skip
        for path, body in steps:
            r = server.post(f"{BASE}/{iid}/{path}", json=body)
            assert r.status_code in (200, 201), r.text
        rca = {"category": "dependency", "attribution": "third-party"}
        assert httpx.put(f"{server.url}{BASE}/{iid}/root-cause", json=rca).status_code == 200
        assert server.post(f"{BASE}/{iid}/signoff", json={"by": "alice"}).status_code == 200
        refused = httpx.put(f"{server.url}{BASE}/{iid}/root-cause", json=rca)
        assert "signed off by alice" in problem(refused, 409)["detail"]
        bad = server.post(f"{BASE}/{iid}/impacts", json={"service": "checkout", "start": "soon"})
        assert problem(bad, 422)["errors"][0]["field"] == "start"

        shown = server.get(f"{BASE}/{iid}").json()
        assert [e["team"] for e in shown["timeline"]] == ["payments", ""]
        assert shown["downtime_seconds"] == {"checkout": 600.0}
        assert [i["id"] for i in server.get(BASE).json()["items"]] == [iid]

        # every change reached the real endpoint through the outbox and the dispatcher
        assert receiver.actions(5) == sorted(
            [(a, iid) for a in ("opened", "event", "impact", "root-cause", "signed-off")]
        )
        signed = next(p for p in receiver.payloads if p["action"] == "signed-off")
        assert signed["record"]["root_cause"]["signed_off_by"] == "alice"
        assert server.stop() == 0
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
