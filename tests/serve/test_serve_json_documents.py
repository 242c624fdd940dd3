"""Every ``GET`` route of a running ``slm serve`` that answers JSON (found in the server's
own OpenAPI description, so a new route is covered without editing this file), and the
success answers of its ``POST`` routes, are documents of docs/json.md: an object whose
first field ``schema`` names a listed type, with exactly its documented fields."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import AT, ServerProcess, copy_examples

# Routes that are not slm documents: Prometheus text, OpenAPI and its viewers.
NOT_DOCUMENTS = {"/metrics"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("json-docs")
    examples = copy_examples(root)
    proc = ServerProcess([examples / "shop"], root, "--at", AT, "--no-probes", "--no-notify")
    proc.start()
    proc.wait_for("/api/v1/slos", lambda b: all(s["state"] == "ok" for s in b["items"]))
    yield proc
    proc.kill()


def _get_routes(server: ServerProcess) -> list[str]:
    spec = server.get("/openapi.json").json()
    return sorted(p for p, ops in spec["paths"].items() if "get" in ops and p not in NOT_DOCUMENTS)


def _alert() -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {
            "alertname": "PaymentsAvailabilityErrorBudgetBurn",
            "sloth_service": "payments",
            "sloth_slo": "payments-availability-0",
            "sloth_severity": "page",
        },
        "annotations": {},
        "startsAt": "2026-10-31T23:50:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "0123456789abcdef",
    }


def test_every_answer_is_a_documented_document(
    server: ServerProcess, check_document: Any, tmp_path: Path
) -> None:
    # the POST routes first, so the GET routes have incidents and alerts to show
    opened = server.post(
        "/api/v1/incidents", json={"title": "checkout errors", "service": "checkout"}
    )
    assert opened.status_code == 201, opened.text
    incident = opened.json()
    check_document(incident, "slm.incident/v1")
    event = server.post(f"/api/v1/incidents/{incident['id']}/events", json={"text": "engaged"})
    assert event.status_code == 201, event.text
    check_document(event.json(), "slm.incident/v1")
    am = server.post(
        "/api/v1/alertmanager",
        json={"version": "4", "status": "firing", "receiver": "slm", "alerts": [_alert()]},
    )
    assert am.status_code == 200, am.text
    check_document(am.json(), "slm.alertmanager-receipt/v1")
    fields = {
        "summary": "search index stale",
        "priority": {"name": "High"},
        "status": {"name": "In Progress"},
        "created": "2026-10-30T10:00:00.000+0000",
        "resolutiondate": None,
        "issuetype": {"name": "Incident"},
        "components": [{"name": "checkout"}],
    }
    imported = server.post(
        "/api/v1/incidents/import?format=jira",
        json={"issues": [{"key": "OPS-9", "fields": fields}]},
    )
    assert imported.status_code == 200, imported.text
    check_document(imported.json(), "slm.incident-import/v1")
    item = {"series": "json_docs_total", "timestamp": "2026-10-31T12:00:00Z", "value": 1}
    pushed = server.post("/api/v1/measurements", json={"idempotency_key": "k1", "items": [item]})
    assert pushed.status_code == 201, pushed.text
    receipt = pushed.json()
    check_document(receipt, "slm.push-receipt/v1")
    assert receipt["item_count"] == 1

    routes = _get_routes(server)
    assert {"/healthz", "/api/v1/slos", "/api/v1/incidents", "/api/v1/alerts"} <= set(routes)
    values = {"name": "payments-availability", "incident_id": incident["id"]}
    seen: dict[str, str] = {}
    for route in routes:
        if route.startswith(("/docs", "/redoc", "/openapi", "/static")):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route)
        r = server.get(path)
        assert r.status_code == 200, (route, r.text)
        assert r.headers["content-type"].startswith("application/json"), route
        doc = r.json()
        assert isinstance(doc, dict) and "schema" in doc, (route, doc)
        check_document(doc, doc["schema"])
        if "items" in doc:
            assert doc["items"], f"{route}: an empty list proves little"
        seen[route] = doc["schema"]
    assert seen == {
        "/healthz": "slm.health/v1",
        "/api/v1/slos": "slm.slos/v1",
        "/api/v1/slos/{name}/status": "slm.slo-status/v1",
        "/api/v1/alerts": "slm.alert-groups/v1",
        "/api/v1/incidents": "slm.incidents/v1",
        "/api/v1/incidents/{incident_id}": "slm.incident/v1",
    }
