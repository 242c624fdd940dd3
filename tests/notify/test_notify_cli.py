"""``slm notify deliver|log|test|requeue`` and ``slm validate`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from notify_helpers import SECRET, SECRET_ENV, SLACK_ENV, Mailbox, Receiver, result, write_workspace

from slm.services.notifications import NotificationService
from slm.spec.loader import load_workspace
from slm.store.db import open_store, upgrade


def slm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture
def specs(tmp_path: Path, receiver: Receiver, smtp_server: Mailbox) -> Path:
    return write_workspace(tmp_path, receiver.url, smtp_server.port)


@pytest.fixture
def env(receiver: Receiver) -> dict[str, str]:
    return {SECRET_ENV: SECRET, SLACK_ENV: receiver.url.replace("/hook", "/slack")}


def test_deliver_once_then_log(
    tmp_path: Path, specs: Path, receiver: Receiver, env: dict[str, str]
) -> None:
    url = f"sqlite:///{tmp_path / 'slm.db'}"
    store = open_store(url, tmp_path)
    upgrade(store)
    receiver.plan = ["500"]
    NotificationService(store, load_workspace([specs])).on_evaluation(
        [result(0.8)], [], result(0.8).at
    )
    store.close()

    r = slm("notify", "deliver", "--once", "--db", url, env=env)
    assert r.returncode == 0, r.stderr
    assert "claimed 3, delivered 2, retry scheduled 1, dead-lettered 0" in r.stdout

    r = slm("notify", "log", "--db", url, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "slm.notifications/v1"
    view = doc["items"]
    assert sorted((m["level"], m["recipient"]) for m in view) == [
        (1, "oncall"),
        (2, "oncall"),
        (2, "team"),
    ]
    assert sorted(m["status"] for m in view) == ["delivered", "delivered", "pending"]
    failed = next(m for m in view if m["status"] == "pending")
    assert failed["log"][0]["status"] == "HTTP 500" and failed["next_attempt_at"]

    r = slm("notify", "log", "--db", url, "--status", "pending")
    assert r.returncode == 0, r.stderr
    assert "Delivery log" in r.stdout and "HTTP 500" in r.stdout
    assert failed["id"][:8] in r.stdout

    r = slm("notify", "log", "--db", url, "--status", "lost-in-space")
    assert r.returncode == 2 and "unknown status lost-in-space" in r.stderr


def test_notify_test_renders_and_sends_a_marked_sample(
    specs: Path, receiver: Receiver, env: dict[str, str]
) -> None:
    r = slm("notify", "test", str(specs), "--policy", "checkout", "--level", "2", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("sent: HTTP 200") == 2
    assert sorted(q.path for q in receiver.requests) == ["/hook", "/slack"]
    hook = next(q for q in receiver.requests if q.path == "/hook")
    assert hook.signed is True
    assert hook.json["test"] is True
    assert hook.json["subject"].startswith("[TEST] [three-quarters] checkout/")


def test_notify_test_dry_run_sends_nothing(specs: Path, receiver: Receiver) -> None:
    r = slm("notify", "test", str(specs), "--policy", "checkout", "--level", "4", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "--- email channel mail to cto@example.com" in r.stdout
    assert "Subject: [TEST] Service update: checkout" in r.stdout
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(
            ["--policy", "checkout", "--level", "9"],
            4,
            "EscalationPolicy 'checkout' has levels 1..4, not 9",
            id="no-such-level",
        ),
        pytest.param(
            ["--policy", "nope", "--level", "1"],
            4,
            "no EscalationPolicy 'nope' (known: checkout)",
            id="no-such-policy",
        ),
    ],
)
def test_notify_test_bad_arguments(specs: Path, args: list[str], code: int, message: str) -> None:
    r = slm("notify", "test", str(specs), *args)
    assert r.returncode == code and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_notify_test_reports_a_failing_receiver(
    specs: Path, receiver: Receiver, env: dict[str, str]
) -> None:
    receiver.plan = ["500"]
    r = slm("notify", "test", str(specs), "--policy", "checkout", "--level", "1", env=env)
    assert r.returncode == 3
    assert "error: ops-webhook: http://127.0.0.1:" in r.stderr
    assert "answered HTTP 500" in r.stderr and "Traceback" not in r.stderr


def test_validate_reports_a_template_error_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "apiVersion: slm/v1\nkind: NotificationChannel\nmetadata: {name: hook}\n"
        "spec: {webhook: {url: 'https://example.com/h'}}\n"
    )
    (tmp_path / "p.yaml").write_text(
        "apiVersion: slm/v1\nkind: EscalationPolicy\nmetadata: {name: p}\nspec:\n"
        "  recipients: {team: {channel: hook}}\n  levels:\n"
        "    - when: {alert: page}\n      notify: [team]\n      template:\n"
        "        subject: '{{ alert.severity }}'\n        body: |\n          Paging.\n"
        "          {% for w, r in alert.burn_rates|dictsort %}{{ w }}{% endfor %}\n"
        "          {{ alert.sevrity }}\n"
    )
    r = slm("validate", str(tmp_path))
    assert r.returncode == 1
    assert (
        f"{tmp_path / 'p.yaml'}:14: EscalationPolicy/p: spec.levels[0].template.body: "
        "template error: 'dict object' has no attribute 'sevrity'"
    ) in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
