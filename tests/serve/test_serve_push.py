"""Push ingest: a batch is counted once per idempotency key, over HTTP, the CLI and the store."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import AT, SLM, ServerProcess, problem, store_workspace

from slm.domain.series import DEFAULT_STEP
from slm.services.errors import IdempotencyConflict, InvalidBatch, MissingIdempotencyKey
from slm.services.ports import FixedClock
from slm.services.push import (
    PushBatch,
    parse_batch,
    push_batch,
    resolve_key,
)
from slm.store.db import Store, open_store
from slm.store.history import HistoryRepository
from slm.store.push import PushRepository

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CLOCK = FixedClock(NOW)


def batch(*items: tuple[str, Any, float], key: str | None = None) -> PushBatch:
    return PushBatch.model_validate(
        {
            "idempotency_key": key,
            "items": [{"series": s, "timestamp": t, "value": v} for s, t, v in items],
        }
    )


def stored(store: Store, series: str, start: datetime, end: datetime) -> list[float]:
    with store.transaction() as repos:
        b = repos.measurements.read(series, start, end, DEFAULT_STEP)
    return [float(v) if p else float("nan") for v, p in zip(b.values, b.present, strict=True)]


def total(store: Store, series: str) -> float:
    with store.transaction() as repos:
        b = repos.measurements.read(series, NOW - timedelta(days=1), NOW, DEFAULT_STEP)
    return float(b.values.sum())


# -- the service on SQLite and PostgreSQL ---------------------------------------------------


def test_a_retried_batch_is_counted_once(store: Store) -> None:
    b = batch(("s", "2026-10-31T23:00:00Z", 5), ("s", "2026-10-31T23:01:00Z", 7))
    first = push_batch(store, b, key="k1", clock=CLOCK)
    again = push_batch(store, b, key="k1", clock=CLOCK)
    assert not first.duplicate and again.duplicate
    assert again.batch_id == first.batch_id and again.items == 2
    assert total(store, "s") == 12


def test_push_adds_to_a_bucket_where_file_ingest_would_replace(store: Store) -> None:
    push_batch(store, batch(("s", "2026-10-31T23:00:00Z", 5)), key="a", clock=CLOCK)
    push_batch(store, batch(("s", "2026-10-31T23:00:00Z", 3)), key="b", clock=CLOCK)
    t = datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert stored(store, "s", t, t + timedelta(minutes=1)) == [8.0]


def test_same_key_with_other_items_is_a_conflict_and_adds_nothing(store: Store) -> None:
    push_batch(store, batch(("s", "2026-10-31T23:00:00Z", 5)), key="k", clock=CLOCK)
    with pytest.raises(IdempotencyConflict, match="'k' was used"):
        push_batch(store, batch(("s", "2026-10-31T23:00:00Z", 6)), key="k", clock=CLOCK)
    assert total(store, "s") == 5


def test_the_batch_hash_ignores_item_order_and_time_zone_spelling(store: Store) -> None:
    a = batch(("s", "2026-10-31T23:00:00Z", 1), ("t", "2026-10-31T23:05:00Z", 2))
    b = batch(("t", "2026-11-01T00:05:00+01:00", 2), ("s", 1793487600, 1))
    assert not push_batch(store, a, key="k", clock=CLOCK).duplicate
    assert push_batch(store, b, key="k", clock=CLOCK).duplicate


def test_timestamps_in_other_zones_land_in_their_utc_bucket(store: Store) -> None:
    push_batch(
        store,
        batch(("s", "2026-10-31T21:30:00-02:00", 4), ("s", "2026-11-01T00:31:00+01:00", 6)),
        key="tz",
        clock=CLOCK,
    )
    t = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert stored(store, "s", t, t + timedelta(minutes=2)) == [4.0, 6.0]


def test_late_and_out_of_order_items_are_counted(store: Store) -> None:
    push_batch(store, batch(("s", "2026-10-31T23:10:00Z", 1)), key="a", clock=CLOCK)
    r = push_batch(
        store,
        batch(
            ("s", "2026-10-31T23:20:00Z", 1),
            ("s", "2026-10-31T23:05:00Z", 1),  # late and out of order
            ("u", "2026-10-31T23:00:00Z", 1),
        ),
        key="b",
        clock=CLOCK,
    )
    assert (r.late_items, r.out_of_order_items) == (1, 1)
    assert r.series == ("s", "u")


def test_future_items_beyond_the_tolerance_are_refused_whole(store: Store) -> None:
    b = batch(("s", "2026-10-31T23:00:00Z", 1), ("s", "2026-11-01T00:04:00Z", 1),
              ("s", "2026-11-01T01:00:00Z", 1))  # fmt: skip
    with pytest.raises(InvalidBatch) as e:
        push_batch(store, b, key="f", clock=CLOCK)
    assert [p.field for p in e.value.problems] == ["items[2].timestamp"]
    assert "ahead of the server clock" in str(e.value)
    assert total(store, "s") == 0
    with store.transaction() as repos:
        assert repos.connection.exec_driver_sql("SELECT count(*) FROM push_batches").scalar() == 0


def test_racing_retries_are_counted_once(store: Store) -> None:
    b = batch(*((f"s{i}", "2026-10-31T23:00:00Z", 1.0) for i in range(50)))
    receipts = []

    def send() -> None:
        receipts.append(push_batch(store, b, key="race", clock=CLOCK))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.duplicate for r in receipts) == [False] + [True] * 5
    assert all(total(store, f"s{i}") == 1 for i in range(50))


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        pytest.param({"items": []}, "items", "at least 1 item", id="empty"),
        pytest.param(
            {"items": [{"series": "s", "timestamp": "2026-10-31T23:00:00", "value": 1}]},
            "items[0].timestamp",
            "no UTC offset",
            id="naive-timestamp",
        ),
        pytest.param(
            {
                "items": [{"series": "s", "timestamp": 0, "value": 1}] * 3
                + [{"series": "s", "timestamp": "yesterday", "value": 1}]
            },
            "items[3].timestamp",
            "not an RFC 3339 instant",
            id="bad-timestamp-at-index-3",
        ),
        pytest.param(
            {"items": [{"series": "s", "timestamp": 0, "value": -1}]},
            "items[0].value",
            "greater than or equal to 0",
            id="negative-count",
        ),
        pytest.param(
            {"items": [{"series": "", "timestamp": 0, "value": 1}]},
            "items[0].series",
            "at least 1 character",
            id="empty-series",
        ),
        pytest.param(
            {"items": [{"series": "s", "timestamp": 0, "value": 1, "extra": 1}]},
            "items[0].extra",
            "Extra inputs are not permitted",
            id="unknown-field",
        ),
    ],
)
def test_malformed_batches_name_the_field_and_item(
    body: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidBatch) as e:
        parse_batch(json.dumps(body), "b.json")
    assert e.value.problems[0].field == field
    assert message in str(e.value)
    assert str(e.value).startswith(f"b.json: {field}: ")


def test_the_key_comes_from_the_header_or_the_body() -> None:
    b = batch(("s", 0, 1), key="body")
    assert resolve_key(b, None) == "body"
    assert resolve_key(b, "body") == "body"
    with pytest.raises(InvalidBatch, match="differs from the Idempotency-Key header"):
        resolve_key(b, "other")
    with pytest.raises(MissingIdempotencyKey):
        resolve_key(batch(("s", 0, 1)), None)


# -- over HTTP, with the evaluation loop --------------------------------------------------


def items(minutes: range, series: str, value: float) -> list[dict[str, Any]]:
    base = datetime.fromisoformat(AT.replace("Z", "+00:00"))
    return [
        {"series": series, "timestamp": (base - timedelta(minutes=m)).isoformat(), "value": value}
        for m in sorted(minutes, reverse=True)  # oldest first
    ]


@pytest.fixture
def push_server(tmp_path: Path, serve: type[ServerProcess]) -> ServerProcess:
    ws = store_workspace(tmp_path)
    return serve([ws], tmp_path, "--at", AT).start()


def test_http_push_retry_conflict_and_malformed(push_server: ServerProcess) -> None:
    body = {
        "items": items(range(1, 11), "api_availability_total", 10)
        + items(range(1, 11), "api_availability_good", 9)
    }
    r1 = push_server.post("/api/v1/measurements", json=body, headers={"Idempotency-Key": "b1"})
    r2 = push_server.post("/api/v1/measurements", json=body, headers={"Idempotency-Key": "b1"})
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["duplicate"] is False and r2.json()["duplicate"] is True
    assert r2.json()["batch_id"] == r1.json()["batch_id"]

    other = {"items": items(range(1, 11), "api_availability_total", 11)}
    r3 = push_server.post("/api/v1/measurements", json=other, headers={"Idempotency-Key": "b1"})
    assert "used on" in problem(r3, 409)["detail"]

    bad = {"idempotency_key": "b2", "items": [*items(range(1, 3), "x", 1), {"series": "x"}]}
    r4 = push_server.post("/api/v1/measurements", json=bad)
    located = {(d["field"], d["pointer"]) for d in problem(r4, 422)["errors"]}
    assert located == {
        ("items[2].timestamp", "/items/2/timestamp"),
        ("items[2].value", "/items/2/value"),
    }

    r5 = push_server.post("/api/v1/measurements", json=body)
    assert "Idempotency-Key" in problem(r5, 400)["detail"]

    r6 = push_server.post(
        "/api/v1/measurements",
        content=b"{not json",
        headers={"Idempotency-Key": "b3", "Content-Type": "application/json"},
    )
    assert "invalid JSON" in problem(r6, 422)["detail"]

    status = push_server.wait_for(
        "/api/v1/slos/api-availability/status",
        lambda b: b["results"] and b["results"][0]["total"] == 100,
    )
    assert status["results"][0]["total"] == 100  # 10 buckets x 10, the retry not added
    assert status["results"][0]["good"] == 90
    assert status["data_quality"]["out_of_order_items"] == 0

    from prometheus_client.parser import text_string_to_metric_families

    fams = {f.name: f for f in text_string_to_metric_families(push_server.get("/metrics").text)}
    outcomes = {s.labels["outcome"]: s.value for s in fams["slm_push_batches"].samples}
    assert outcomes == {"accepted": 1, "duplicate": 1, "conflict": 1, "rejected": 2}


def test_late_data_supersedes_history_and_is_re_evaluated(
    push_server: ServerProcess, tmp_path: Path
) -> None:
    def push(key: str, its: list[dict[str, Any]]) -> dict[str, Any]:
        r = push_server.post("/api/v1/measurements", json={"idempotency_key": key, "items": its})
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    push("on-time", items(range(1, 31), "api_availability_total", 10)
         + items(range(1, 31), "api_availability_good", 10))  # fmt: skip
    push_server.wait_for(
        "/api/v1/slos/api-availability/status",
        lambda b: b["results"] and b["results"][0]["sli"] == 1.0,
    )
    late = push("late", items(range(40, 50), "api_availability_total", 10)
                + items(range(40, 50), "api_availability_good", 0))  # fmt: skip
    assert late["late_items"] == 20
    status = push_server.wait_for(
        "/api/v1/slos/api-availability/status",
        lambda b: b["results"] and b["results"][0]["total"] == 400,
    )
    assert status["results"][0]["sli"] == pytest.approx(300 / 400)
    assert status["data_quality"]["late_items"] == 20
    assert status["data_quality"]["superseded_evaluations"] >= 1

    store = open_store(None, tmp_path)
    try:
        with store.transaction() as repos:
            rows = HistoryRepository(repos.connection).rows("api-availability")
    finally:
        store.close()
    by_late = [r for r in rows if r.superseded_by == late["batch_id"]]
    assert by_late and all(r.sli == 1.0 for r in by_late)  # computed before the late data
    assert all(r.superseded_at is not None for r in rows if r.sli == 1.0)
    assert rows[-1].superseded_at is None and rows[-1].sli == pytest.approx(0.75)
    assert "landed in evaluated windows of SLO api-availability" in push_server.output()


def test_late_rows_in_an_ingested_file_supersede_history(
    push_server: ServerProcess, tmp_path: Path
) -> None:
    """``slm ingest FILE`` (not a push) with rows for already evaluated minutes: the running
    server supersedes the evaluations they invalidate and re-evaluates, as for a push."""
    r = push_server.post(
        "/api/v1/measurements",
        json={
            "idempotency_key": "on-time",
            "items": items(range(1, 31), "api_availability_total", 10)
            + items(range(1, 31), "api_availability_good", 10),
        },
    )
    assert r.status_code == 201, r.text
    push_server.wait_for(
        "/api/v1/slos/api-availability/status",
        lambda b: b["results"] and b["results"][0]["sli"] == 1.0,
    )
    late = tmp_path / "late.csv"
    rows = [
        f"{i['timestamp']},{i['series']},{i['value']:g}"
        for i in items(range(40, 50), "api_availability_total", 10)
        + items(range(40, 50), "api_availability_good", 0)
    ]
    late.write_text("timestamp,series,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    run = subprocess.run(
        [str(SLM), "ingest", "--workspace", str(tmp_path), str(late)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    status = push_server.wait_for(
        "/api/v1/slos/api-availability/status",
        lambda b: b["results"] and b["results"][0]["total"] == 400,
    )
    assert status["results"][0]["sli"] == pytest.approx(300 / 400)
    assert status["data_quality"]["late_items"] == 20
    assert status["data_quality"]["superseded_evaluations"] >= 1

    store = open_store(None, tmp_path)
    try:
        with store.transaction() as repos:
            history = HistoryRepository(repos.connection).rows("api-availability")
            digest = hashlib.sha256(late.read_bytes()).hexdigest()
            batch = PushRepository(repos.connection).find(f"ingest:{digest}")
    finally:
        store.close()
    assert batch is not None and batch.late_items == 20 and batch.origin == "ingest"
    by_file = [h for h in history if h.superseded_by == batch.id]
    assert any(h.sli == 1.0 for h in by_file)  # computed before the late rows
    assert all(h.superseded_at is not None for h in history if h.sli == 1.0)
    assert history[-1].superseded_at is None and history[-1].sli == pytest.approx(0.75)
    assert "landed in evaluated windows of SLO api-availability" in push_server.output()


# -- slm ingest --batch ----------------------------------------------------------------------


def test_cli_batch_ingest_counts_a_retry_once(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"idempotency_key": "cli-1", "items": items(range(1, 4), "c", 2)}))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SLM), "ingest", "--workspace", str(tmp_path), *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    first, again = run("--batch", str(path)), run("--batch", str(path))
    assert first.returncode == 0, first.stderr
    assert "3 items added to 1 series" in first.stdout
    assert again.returncode == 0 and "loaded before, nothing added" in again.stdout
    store = open_store(None, tmp_path)
    try:
        assert total(store, "c") == 6
    finally:
        store.close()

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"items": [{"series": "c", "timestamp": "noon", "value": 1}]}))
    r = run("--batch", str(bad), "--idempotency-key", "cli-2")
    assert r.returncode == 1
    assert f"{bad}: items[0].timestamp:" in r.stderr
    assert "Traceback" not in r.stderr
