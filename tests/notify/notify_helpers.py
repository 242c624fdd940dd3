"""Real receivers on loopback: an HTTP server that records, verifies HMAC signatures and
misbehaves on cue (500, 400, hang, close the connection), and an aiosmtpd SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from slm.domain.alert_state import AlertStatus, AlertTransition
from slm.domain.model import CalendarWindow
from slm.domain.results import ObjectiveResult
from slm.notify.rendering import sample_result
from slm.notify.webhook import verify
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace

SECRET = "s3cret-for-tests"
SECRET_ENV = "SLM_TEST_WEBHOOK_SECRET"
SLACK_ENV = "SLM_TEST_SLACK_URL"
AT = datetime(2026, 11, 3, 14, 5, tzinfo=UTC)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool | None  # None: no signature header

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``plan``: what to do with the next requests, in order (then ``ok``):
    ``ok``, ``500``, ``400``, ``hang`` (answer after ``hang_s``), ``close`` (drop the
    connection without an answer)."""

    url: str = ""
    plan: list[str] = field(default_factory=list)
    hang_s: float = 5.0
    requests: list[Received] = field(default_factory=list)
    got_request: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_action(self) -> str:
        with self.lock:
            return self.plan.pop(0) if self.plan else "ok"

    @property
    def idempotency_keys(self) -> list[str]:
        return [r.headers.get("idempotency-key", "") for r in self.requests]

    @property
    def processed(self) -> dict[str, Received]:
        """What a receiver that deduplicates by ``Idempotency-Key`` keeps."""
        out: dict[str, Received] = {}
        for r in self.requests:
            out.setdefault(r.headers.get("idempotency-key", ""), r)
        return out


def _handler(rx: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            sig = headers.get("x-slm-signature")
            signed = (
                None
                if sig is None
                else verify(SECRET, headers.get("x-slm-timestamp", ""), body, sig)
            )
            with rx.lock:
                rx.requests.append(Received(self.path, headers, body, signed))
            rx.got_request.set()
            action = rx.next_action()
            if action == "close":
                self.close_connection = True
                return
            if action == "hang":
                rx.stopping.wait(rx.hang_s)
            code = {"ok": 200, "hang": 200, "500": 500, "400": 400}[action]
            if signed is False:
                code = 401
            text = b"ok" if code == 200 else b"receiver says no"
            self.send_response(code)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rx))
    server.daemon_threads = True
    rx.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rx
    rx.stopping.set()
    server.shutdown()
    server.server_close()


class MailHandler:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.plan: list[str] = []  # "451" (try later) or "550" (refused), then accept

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.plan:
            code = self.plan.pop(0)
            return f"{code} {'try again later' if code.startswith('4') else 'rejected'}"
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    port: int
    handler: MailHandler


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    handler = MailHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield Mailbox(port, handler)
    controller.stop()


def channels_yaml(
    receiver_url: str, smtp_port: int, *, attempts: int = 3, timeout: str = "1s"
) -> str:
    return f"""
apiVersion: slm/v1
kind: NotificationChannel
metadata: {{name: ops-webhook}}
spec:
  webhook:
    url: {receiver_url}
    secretEnv: {SECRET_ENV}
    timeout: {timeout}
  retry: {{maxAttempts: {attempts}, initialBackoff: 10s, maxBackoff: 1m}}
---
apiVersion: slm/v1
kind: NotificationChannel
metadata: {{name: team-slack}}
spec:
  slack: {{urlEnv: {SLACK_ENV}, timeout: 1s}}
  retry: {{maxAttempts: {attempts}, initialBackoff: 10s}}
---
apiVersion: slm/v1
kind: NotificationChannel
metadata: {{name: mail}}
spec:
  email: {{host: 127.0.0.1, port: {smtp_port}, security: none, from: slm@example.com,
          timeout: 2s}}
  retry: {{maxAttempts: {attempts}, initialBackoff: 10s}}
"""


POLICY = """
apiVersion: slm/v1
kind: EscalationPolicy
metadata: {name: checkout}
spec:
  selector: {services: [checkout]}
  recipients:
    team: {channel: team-slack}
    oncall: {channel: ops-webhook}
    stakeholders: {channel: mail, to: [cto@example.com]}
  levels:
    - name: half
      when: {budgetConsumed: 50}
      notify: [oncall]
    - name: three-quarters
      when: {budgetConsumed: 75}
      notify: [oncall, team]
    - name: page
      when: {alert: {severity: page, resolved: true}}
      notify: [oncall]
    - name: exhausted
      when: {budgetConsumed: 100}
      notify: [stakeholders]
      template: customer-update
"""


def write_workspace(
    tmp_path: Path,
    receiver_url: str,
    smtp_port: int,
    *,
    attempts: int = 3,
    timeout: str = "1s",
    policy: str = POLICY,
) -> Path:
    d = tmp_path / "specs"
    d.mkdir(exist_ok=True)
    (d / "channels.yaml").write_text(
        channels_yaml(receiver_url, smtp_port, attempts=attempts, timeout=timeout)
    )
    (d / "policy.yaml").write_text(policy)
    return d


@pytest.fixture
def notify_env(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv(SLACK_ENV, receiver.url.replace("/hook", "/slack"))


@pytest.fixture
def notify_ws(tmp_path: Path, receiver: Receiver, smtp_server: Mailbox) -> Workspace:
    return load_workspace([write_workspace(tmp_path, receiver.url, smtp_server.port)])


def result(
    consumed: float,
    *,
    slo: str = "checkout-availability",
    service: str = "checkout",
    at: datetime = AT,
    calendar_start: datetime | None = None,
    no_data: bool = False,
) -> ObjectiveResult:
    """A result whose budget is ``consumed`` (a ratio) spent."""
    from dataclasses import replace

    r = sample_result(slo=slo, service=service, consumed=consumed, at=at)
    if calendar_start is not None:
        r = replace(
            r,
            window=CalendarWindow("month", 1, calendar_start, "UTC"),
            window_start=calendar_start,
        )
    if no_data:
        r = replace(r, status="no_data")
    return r


def transition(
    to: AlertStatus,
    *,
    severity: str = "page",
    episode: int = 1,
    slo: str = "checkout-availability",
    service: str = "checkout",
    at: datetime = AT,
    leader: str | None = None,
) -> AlertTransition:
    key = f"{slo}/default/{severity}-1h-5m"
    frm = AlertStatus.FIRING if to is AlertStatus.RESOLVED else AlertStatus.INACTIVE
    return AlertTransition(
        key=key,
        slo=slo,
        service=service,
        objective="default",
        rule=f"{severity}-1h-5m",
        policy="catalogue",
        severity=severity,
        episode=episode,
        from_status=frm,
        to_status=to,
        at=at,
        group=f"{service}/{slo}",
        leader=leader if leader is not None else (key if to is AlertStatus.FIRING else None),
        burn_rates={"1h": 15.0, "5m": 16.0},
        thresholds={"1h": 14.4, "5m": 14.4},
    )


class StepClock:
    """A clock the test moves: retries become due without sleeping. It starts at the
    evaluation instant ``AT`` (a fixed instant: no test reads the wall clock)."""

    def __init__(self, t: datetime | None = None):
        self.t = t or AT

    def now(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)
