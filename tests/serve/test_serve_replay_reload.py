"""SIGHUP in replay mode: the reloaded ``slm serve --replay-at`` replays on from where it
stopped, never from ``--replay-at`` again, so no notification is sent twice.

The example checkout outage (13:00-13:45 UTC on 2026-10-14) consumes the 30-day budget of
checkout-availability from 40 % (12:55) past 50 % (about 13:10). A rolling budget level
at 50 % re-arms below 45 %: a replay that went back to 12:55 would re-arm it and fire a
second episode, and the page alert would resolve and fire again."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from serve_helpers import ServerProcess, copy_examples

from slm.store.db import open_store
from slm.store.schema import notification_outbox

REPLAY_FROM = "2026-10-14T12:55:00Z"

POLICY = """\
apiVersion: slm/v1
kind: NotificationChannel
metadata: {name: oncall-hook}
spec:
  webhook:
    url: http://127.0.0.1:9/never-called
---
apiVersion: slm/v1
kind: EscalationPolicy
metadata: {name: checkout-budget}
spec:
  selector: {services: [checkout]}
  recipients:
    oncall: {channel: oncall-hook}
  levels:
    - name: half-budget
      when: {budgetConsumed: 50}
      notify: [oncall]
    - name: page
      when: {alert: {severity: page}}
      notify: [oncall]
"""


def outbox_keys(workdir: Path) -> list[str]:
    store = open_store(None, workdir)
    try:
        with store.transaction() as repos:
            q = sa.select(notification_outbox.c.dedup_key).order_by(notification_outbox.c.id)
            return [str(k) for k in repos.connection.execute(q).scalars()]
    finally:
        store.close()


def clock_text(server: ServerProcess, nth: int) -> str:
    banners = [line for line in server.output().splitlines() if "clock replaying" in line]
    assert len(banners) > nth, server.output()
    return banners[nth]


def test_sighup_in_replay_mode_resumes_and_sends_nothing_twice(
    serve: type[ServerProcess], tmp_path: Path
) -> None:
    examples = copy_examples(tmp_path)
    (examples / "shop" / "escalation.yaml").write_text(POLICY)
    server = serve(
        [examples / "shop"],
        tmp_path,
        "--replay-at", REPLAY_FROM,
        "--replay-speed", "120",
        "--interval", "1s",
        "--no-probes",
        "--no-notify",  # the messages stay in the outbox, where they are counted
    ).start()  # fmt: skip
    assert server.proc is not None

    def half_budget_sent(_: object) -> bool:
        return any("/checkout-availability/" in k and "/L1/" in k for k in outbox_keys(tmp_path))

    server.wait_for("/healthz", half_budget_sent, timeout=60)
    resumed: list[str] = []
    for reload in range(1, 4):
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while server.output().count("slm serve: reloading (SIGHUP)") < reload:
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        server.wait_for("/healthz", lambda _: True)
        resumed.append(clock_text(server, reload).split("resumed at ")[1].split(")")[0])
        # long enough for a replay restarted at 12:55 to cross 50 % again (~13:10)
        time.sleep(12)
    assert server.stop() == 0
    assert "resumed" not in clock_text(server, 0)
    # each reload replays on from where the one before stopped, past the budget crossing
    assert "2026-10-14T13:05:00Z" < resumed[0] < resumed[1] < resumed[2], resumed

    keys = outbox_keys(tmp_path)
    budget = [k for k in keys if k.startswith("budget/checkout-budget/checkout-availability/")]
    assert budget == [
        "budget/checkout-budget/checkout-availability/Requests succeed/L1/rolling/1/oncall"
    ]
    pages = Counter(k.rsplit("/", 3)[0] for k in keys if k.startswith("alert/"))
    assert pages and all(n == 1 for n in pages.values()), keys
    episodes = {k.split("/")[-3] for k in keys if k.startswith("alert/")}
    assert episodes == {"1"}, keys
