"""SIGKILL mid-push: nothing acknowledged is lost, nothing is doubled after a restart."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from serve_helpers import AT, ServerProcess, store_workspace

from slm.store.db import open_store

N = 300
T0 = int(datetime.fromisoformat(AT.replace("Z", "+00:00")).timestamp()) - N * 60


def batch(i: int) -> dict[str, Any]:
    """Batch ``i`` adds ``i + 1`` to its own bucket of ``kill_each`` and 1 to ``kill_count``."""
    return {
        "idempotency_key": f"kill-{i}",
        "items": [
            {"series": "kill_each", "timestamp": T0 + 60 * i, "value": i + 1},
            {"series": "kill_count", "timestamp": T0, "value": 1},
        ],
    }


def stored(workdir: Path) -> tuple[dict[int, float], float, int, str]:
    store = open_store(None, workdir)
    try:
        with store.transaction() as repos:
            conn = repos.connection
            each: dict[int, float] = dict(
                conn.exec_driver_sql(
                    "SELECT bucket_start, value FROM measurements WHERE series = 'kill_each'"
                ).all()
            )
            count = conn.exec_driver_sql(
                "SELECT coalesce(sum(value), 0) FROM measurements WHERE series = 'kill_count'"
            ).scalar_one()
            batches = conn.exec_driver_sql("SELECT count(*) FROM push_batches").scalar_one()
            check = conn.exec_driver_sql("PRAGMA integrity_check").scalar_one()
    finally:
        store.close()
    return {(int(k) - T0) // 60: float(v) for k, v in each.items()}, float(count), batches, check


def test_sigkill_mid_push_then_retry_everything(tmp_path: Path, serve: type[ServerProcess]) -> None:
    ws = store_workspace(tmp_path)
    server = serve([ws], tmp_path, "--at", AT).start()
    acked: list[int] = []
    ended: list[str] = []
    enough = threading.Event()

    def pusher() -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for i in range(N):
                    try:
                        r = client.post("/api/v1/measurements", json=batch(i))
                    except httpx.HTTPError as e:  # the server died: batch i is not acknowledged
                        ended.append(f"{type(e).__name__} at batch {i}")
                        return
                    assert r.status_code == 201, r.text
                    acked.append(i)
                    if len(acked) >= 40:
                        enough.set()
        finally:
            enough.set()

    thread = threading.Thread(target=pusher)
    thread.start()
    assert enough.wait(120)
    assert len(acked) >= 40, ended
    server.kill()  # SIGKILL while the pusher keeps sending (and the loop keeps evaluating)
    thread.join(90)
    assert 40 <= len(acked) < N, "the kill should land mid-stream"

    each, count, batches, check = stored(tmp_path)
    assert check == "ok"
    k = len(each)
    assert sorted(each) == list(range(k)), "batches are whole and in order"
    assert len(acked) <= k <= len(acked) + 1, "every acknowledged batch survived"
    assert all(each[i] == i + 1 for i in range(k)), "no bucket doubled or partial"
    assert count == k == batches

    restarted = serve([ws], tmp_path, "--at", AT).start()
    codes = []
    with httpx.Client(base_url=restarted.url, timeout=60) as client:
        for i in range(N):  # the client retries everything, acknowledged or not
            codes.append(client.post("/api/v1/measurements", json=batch(i)).status_code)
    assert codes.count(200) == k and codes.count(201) == N - k
    each, count, batches, check = stored(tmp_path)
    assert check == "ok"
    assert count == N == batches
    assert each == {i: float(i + 1) for i in range(N)}
    body = restarted.wait_for("/api/v1/slos/api-availability/status", lambda b: b["state"] == "ok")
    assert body["error"] is None
    assert timedelta(seconds=body["staleness_seconds"]) < timedelta(seconds=30)
