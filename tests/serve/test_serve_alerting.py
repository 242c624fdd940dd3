"""``slm serve`` end to end: the checkout outage of the example data (13:00-13:45 UTC on
2026-10-14), replayed at 60x, fires a page; the page opens an incident and the escalation
policy's webhook reaches a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import ServerProcess, copy_examples

REPLAY_FROM = "2026-10-14T12:55:00Z"
PAGE_GROUP = "checkout/checkout-availability"

POLICY = """\
apiVersion: slm/v1
kind: NotificationChannel
metadata: {{name: oncall-hook}}
spec:
  webhook:
    url: {url}
    timeout: 2s
  retry: {{maxAttempts: 3, initialBackoff: 1s, maxBackoff: 2s}}
---
apiVersion: slm/v1
kind: EscalationPolicy
metadata: {{name: checkout-pages}}
spec:
  selector: {{services: [checkout]}}
  recipients:
    oncall: {{channel: oncall-hook}}
  levels:
    - name: page
      when: {{alert: {{severity: page}}}}
      notify: [oncall]
"""


class Hook:
    """A real HTTP receiver on a free loopback port that records every POST."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with hook.lock:
                    hook.requests.append((dict(self.headers.items()), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int, timeout: float) -> list[tuple[dict[str, str], Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.1)
        raise AssertionError(f"the receiver got {len(self.requests)} request(s), not {count}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def _page_incident(body: dict[str, Any]) -> bool:
    return any(i["slo"] == "checkout-availability" for i in body["items"])


def test_replayed_outage_pages_opens_an_incident_and_notifies(
    serve: type[ServerProcess], tmp_path: Path, hook: Hook
) -> None:
    examples = copy_examples(tmp_path)
    (examples / "shop" / "escalation.yaml").write_text(POLICY.format(url=hook.url))
    server = serve(
        [examples / "shop"],
        tmp_path,
        "--replay-at",
        REPLAY_FROM,
        "--replay-speed",
        "60",
        "--interval",
        "1s",
        "--no-probes",
    ).start()

    # the page opens an incident, timed by the replayed evaluation clock (during the outage)
    body = server.wait_for("/api/v1/incidents", _page_incident, timeout=45)
    assert body["schema"] == "slm.incidents/v1"
    incident = next(i for i in body["items"] if i["slo"] == "checkout-availability")
    assert incident["source"] == "alert"
    assert incident["status"] == "open"
    assert "2026-10-14T13:00" <= incident["opened_at"] < "2026-10-14T13:45"
    assert any(e["kind"] == "alert" and "page" in e["text"] for e in incident["timeline"])

    # the firing page shows in the grouped alert view, leading its SLO's group
    alerts = server.get("/api/v1/alerts").json()
    assert alerts["schema"] == "slm.alert-groups/v1"
    group = next(g for g in alerts["items"] if g["group"] == PAGE_GROUP)
    assert group["severity"] == "page"
    assert group["leader"].startswith("checkout-availability/")
    assert any(a["status"] == "firing" and a["severity"] == "page" for a in group["alerts"])

    # the escalation level for pages reached the real receiver through the dispatcher
    got = hook.wait(1, timeout=30)
    headers, payload = got[0]
    assert headers.get("Idempotency-Key")
    assert "checkout" in json.dumps(payload)

    # an Alertmanager page for the same SLO (Sloth labels of the generated rules) joins
    # the incident slm's own loop opened: both paths end in the same incident
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "CheckoutAvailabilityErrorBudgetBurn",
            "sloth_id": "checkout-checkout-availability-0",
            "sloth_service": "checkout",
            "sloth_slo": "checkout-availability-0",
            "sloth_severity": "page",
        },
        "annotations": {"summary": "burning"},
        "startsAt": "2026-10-14T13:04:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "0a1b2c3d4e5f6071",
    }
    payload_am = {"version": "4", "status": "firing", "receiver": "slm", "alerts": [alert]}
    answer = server.post("/api/v1/alertmanager", json=payload_am)
    assert answer.status_code == 200, answer.text
    assert answer.json()["incidents"] == [incident["id"]]
    open_ids = [i["id"] for i in server.get("/api/v1/incidents").json()["items"]]
    assert open_ids.count(incident["id"]) == 1
    assert server.stop() == 0
