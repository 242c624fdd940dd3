"""The Alertmanager webhook receiver of ``slm serve`` (POST /api/v1/alertmanager), against a
real server on the example workspace, and the label mapping against the generated rules."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import AT, ServerProcess, copy_examples, problem

from slm.rules.target import TargetOptions, select
from slm.services.alertmanager import SloIndex, Target
from slm.spec.loader import load_workspace

STARTS = "2026-10-31T23:50:00.123456789Z"


def sloth_alert(
    fingerprint: str = "f00dfeed01", status: str = "firing", starts: str = STARTS
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": "PaymentsAvailabilityErrorBudgetBurn",
            "sloth_id": "payments-payments-availability-0",
            "sloth_service": "payments",
            "sloth_slo": "payments-availability-0",
            "sloth_severity": "page",
        },
        "annotations": {"title": "(page) payments burn rate is too fast."},
        "startsAt": starts,
        "endsAt": "2026-11-01T00:10:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "status": alerts[0]["status"] if alerts else "firing",
        "receiver": "slm",
        "groupKey": '{}:{alertname="PaymentsAvailabilityErrorBudgetBurn"}',
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "truncatedAlerts": 0,
        "alerts": list(alerts),
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("am")
    examples = copy_examples(root)
    # a frozen clock after the data ends: slm's own loop fires nothing here
    proc = ServerProcess([examples / "shop"], root, "--at", AT, "--no-probes", "--no-notify")
    proc.start()
    yield proc
    proc.kill()


def incidents_of(server: ServerProcess, slo: str) -> list[dict[str, Any]]:
    body = server.get("/api/v1/incidents").json()
    assert body["schema"] == "slm.incidents/v1"
    return [i for i in body["items"] if i["slo"] == slo]


def test_a_retried_webhook_creates_one_incident(server: ServerProcess) -> None:
    first = server.post("/api/v1/alertmanager", json=payload(sloth_alert()))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["schema"] == "slm.alertmanager-receipt/v1"
    assert body["accepted"] == 1 and body["duplicates"] == 0 and body["ignored"] == []
    [t] = body["transitions"]
    assert (t["slo"], t["service"], t["severity"]) == ("payments-availability", "payments", "page")
    assert (t["from"], t["to"], t["at"]) == ("inactive", "firing", "2026-10-31T23:50:00.123456Z")
    [iid] = body["incidents"]

    again = server.post("/api/v1/alertmanager", json=payload(sloth_alert()))
    assert again.status_code == 200
    assert again.json()["duplicates"] == 1
    assert again.json()["transitions"] == [] and again.json()["incidents"] == []
    [incident] = incidents_of(server, "payments-availability")
    assert incident["id"] == iid and incident["source"] == "alert"
    assert incident["opened_at"].startswith("2026-10-31T23:50:00")

    # the alert shows as firing, grouped under its SLO
    groups = server.get("/api/v1/alerts").json()["items"]
    [group] = [g for g in groups if g["group"] == "payments/payments-availability"]
    assert group["severity"] == "page" and group["firing"] == 1
    assert group["leader"].endswith("/f00dfeed01")

    # resolved (twice): one timeline event, the alert leaves the current view
    for _ in range(2):
        done = server.post("/api/v1/alertmanager", json=payload(sloth_alert(status="resolved")))
        assert done.status_code == 200
    assert done.json()["duplicates"] == 1
    [incident] = incidents_of(server, "payments-availability")
    alert_events = [e for e in incident["timeline"] if e["kind"] == "alert"]
    assert [e["text"].split(") ")[1] for e in alert_events] == [
        "inactive -> firing",
        "firing -> resolved",
    ]
    groups = server.get("/api/v1/alerts").json()["items"]
    assert not [g for g in groups if g["group"] == "payments/payments-availability"]


def test_slm_labels_and_unknown_slos(server: ServerProcess) -> None:
    own = sloth_alert(fingerprint="c0ffee0002")
    own["labels"] = {
        "alertname": "SloBurn",
        "slo": "checkout-latency",
        "objective": "p99 under 400 ms",
        "severity": "page",
    }
    unknown = sloth_alert(fingerprint="c0ffee0003")
    unknown["labels"] = {**unknown["labels"], "sloth_slo": "nope-0"}
    other = sloth_alert(fingerprint="c0ffee0004")
    other["labels"] = {"alertname": "HostDown", "instance": "db1"}
    answer = server.post("/api/v1/alertmanager", json=payload(own, unknown, other))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["received"] == 3 and body["accepted"] == 1
    assert [t["slo"] for t in body["transitions"]] == ["checkout-latency"]
    assert [(i["index"], i["fingerprint"]) for i in body["ignored"]] == [
        (1, "c0ffee0003"),
        (2, "c0ffee0004"),
    ]
    assert "sloth_slo='nope-0'" in body["ignored"][0]["reason"]
    assert "not an alert of an slm SLO" in body["ignored"][1]["reason"]
    assert len(incidents_of(server, "checkout-latency")) == 1


def _broken(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = payload(sloth_alert())
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            _broken(("alerts", 0, "startsAt"), "yesterday"),
            "alerts[0].startsAt: not an RFC 3339 time",
            id="bad-startsAt",
        ),
        pytest.param(
            _broken(("alerts", 0, "startsAt"), "2026-10-31T23:50:00"),
            "alerts[0].startsAt: not an RFC 3339 time",
            id="no-time-zone",
        ),
        pytest.param(
            _broken(("alerts", 0, "status"), "burning"),
            "alerts[0].status: Input should be 'firing' or 'resolved'",
            id="bad-status",
        ),
        pytest.param(
            _broken(("alerts", 0, "fingerprint"), KeyError),
            "alerts[0].fingerprint: Field required",
            id="no-fingerprint",
        ),
        pytest.param(_broken(("version",), "3"), "version: Input should be '4'", id="version"),
        pytest.param(_broken(("alerts",), KeyError), "alerts: Field required", id="no-alerts"),
    ],
)
def test_malformed_payloads_get_a_422_naming_the_field(
    server: ServerProcess, body: dict[str, Any], message: str
) -> None:
    before = copy.deepcopy(server.get("/api/v1/incidents").json()["items"])
    answer = server.post("/api/v1/alertmanager", json=body)
    assert message in problem(answer, 422)["detail"]
    assert server.get("/api/v1/incidents").json()["items"] == before


def test_invalid_json_is_a_422(server: ServerProcess) -> None:
    answer = server.post(
        "/api/v1/alertmanager", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert problem(answer, 422)["detail"].startswith("body: invalid JSON")


RULE_SPECS = Path(__file__).resolve().parents[1] / "rules" / "specs"


@pytest.mark.parametrize("spec", ["openslo-prometheus.yaml", "sloth-k8s.yaml"])
def test_every_generated_rule_label_set_maps_to_its_slo(spec: str) -> None:
    """The labels ``slm rules`` puts on the alerts are the ones the receiver understands
    (OpenSLO SLOs with several objectives, and Sloth specs)."""
    ws = load_workspace([RULE_SPECS / spec])
    selection = select(ws, TargetOptions())
    assert selection.slos and not selection.problems
    index = SloIndex(ws)
    for prom in selection.slos:
        target = index.resolve(prom.id_labels)
        assert isinstance(target, Target), target
        slo = ws.slos[target.slo]
        assert slo.service == prom.service
        assert target.objective in [o.name for o in slo.objectives]
