"""A pushed instant or count the store cannot hold is refused whole (422, the item named)
before anything is written; a bad batch stored by an older slm is skipped by the serve
loop with one warning and never stops late data handling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from serve_helpers import AT, ServerProcess, problem, store_workspace

from slm.domain.instants import MAX_VALUE
from slm.services.errors import InvalidBatch
from slm.services.ports import FixedClock
from slm.services.push import PushBatch, parse_batch, push_batch
from slm.store.db import Store, open_store
from slm.store.push import PushRepository
from slm.store.schema import measurements, push_batches

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CLOCK = FixedClock(NOW)
GOOD = {"series": "s", "timestamp": "2026-10-31T23:00:00Z", "value": 1}


def nothing_stored(store: Store) -> None:
    with store.transaction() as repos:
        assert repos.measurements.count() == 0
        assert PushRepository(repos.connection).since(0) == []


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        pytest.param(
            "0001-01-01T00:00:00+14:00",
            "'0001-01-01T00:00:00+14:00' is outside the representable range "
            "1970-01-01T00:00:00Z to 9999-01-01T00:00:00Z (exclusive)",
            id="year-0-in-utc",
        ),
        pytest.param(
            -1e12,
            "-1000000000000.0 as Unix seconds is outside the representable range",
            id="-1e12",
        ),
        pytest.param(1e300, "1e+300 as Unix seconds is outside", id="1e300"),
        pytest.param(
            1790812800000,
            "1790812800000 as Unix seconds is outside the representable range "
            "1970-01-01T00:00:00Z to 9999-01-01T00:00:00Z (exclusive) (it looks like "
            "milliseconds; send seconds)",
            id="milliseconds",
        ),
        pytest.param("9999-12-31T23:59:59Z", "is outside the representable range", id="year-9999"),
    ],
)
def test_an_unrepresentable_instant_refuses_the_batch_naming_the_item(
    timestamp: Any, message: str
) -> None:
    body = {"items": [GOOD, GOOD, {"series": "s", "timestamp": timestamp, "value": 1}]}
    with pytest.raises(InvalidBatch) as e:
        parse_batch(json.dumps(body), "b.json")
    assert [p.field for p in e.value.problems] == ["items[2].timestamp"]
    assert message in e.value.problems[0].message


def test_a_count_above_the_largest_value_is_refused() -> None:
    body = {"items": [GOOD, {"series": "s", "timestamp": 0, "value": 1e308}]}
    with pytest.raises(InvalidBatch) as e:
        parse_batch(json.dumps(body))
    assert [p.field for p in e.value.problems] == ["items[1].value"]
    assert "less than or equal to 9007199254740992" in str(e.value)


def test_a_sum_with_the_stored_bucket_above_the_largest_value_adds_nothing(
    store: Store,
) -> None:
    def batch(key: str, value: float) -> PushBatch:
        return PushBatch.model_validate(
            {"idempotency_key": key, "items": [GOOD, {**GOOD, "series": "t", "value": value}]}
        )

    push_batch(store, batch("first", MAX_VALUE), key="first", clock=CLOCK)
    with pytest.raises(InvalidBatch) as e:
        push_batch(store, batch("second", MAX_VALUE), key="second", clock=CLOCK)
    assert [p.field for p in e.value.problems] == ["items[1].value"]
    assert "the bucket 2026-10-31T23:00:00Z of 't' would hold 1.8014398509481984e+16" in str(
        e.value
    )
    with store.transaction() as repos:
        push = PushRepository(repos.connection)
        assert [b.idempotency_key for b in push.since(0)] == ["first"]  # the key is free
        rows = repos.connection.execute(
            sa.select(measurements.c.series, measurements.c.value).order_by(measurements.c.series)
        ).all()
    assert [(r[0], float(r[1])) for r in rows] == [("s", 1.0), ("t", MAX_VALUE)]


def test_http_push_of_an_unrepresentable_instant_is_422_and_writes_nothing(
    tmp_path: Path, serve: type[ServerProcess]
) -> None:
    server = serve([store_workspace(tmp_path)], tmp_path, "--at", AT).start()
    for i, stamp in enumerate(["0001-01-01T00:00:00+14:00", -1e12]):
        body = {"items": [GOOD, {"series": "s", "timestamp": stamp, "value": 1}]}
        r = server.post("/api/v1/measurements", json=body, headers={"Idempotency-Key": f"k{i}"})
        got = problem(r, 422)
        assert [d["pointer"] for d in got["errors"]] == ["/items/1/timestamp"]
        assert "outside the representable range" in got["detail"]
    assert server.stop() == 0
    store = open_store(None, tmp_path)
    try:
        nothing_stored(store)
    finally:
        store.close()


def test_a_bad_batch_stored_by_an_older_slm_does_not_stop_late_data(
    tmp_path: Path, serve: type[ServerProcess]
) -> None:
    """Before instants were checked, ``0001-01-01T00:00:00+14:00`` was stored at bucket
    -62135647200: every serve loop then failed on it for good, also after a restart."""
    ws = store_workspace(tmp_path)
    store = open_store(None, tmp_path)
    try:
        with store.transaction() as repos:
            repos.connection.execute(
                sa.insert(measurements).values(
                    series="api_availability_total", bucket_start=-62135647200, value=1.0
                )
            )
            repos.connection.execute(
                sa.insert(push_batches).values(
                    idempotency_key="from-an-older-slm",
                    sha256="0" * 64,
                    items=1,
                    series=["api_availability_total"],
                    min_bucket=-62135647200,
                    max_bucket=-62135647200,
                    late_items=0,
                    out_of_order_items=0,
                    origin="api",
                    received_at=NOW - timedelta(days=1),
                )
            )
    finally:
        store.close()

    server = serve([ws], tmp_path, "--at", AT).start()
    base = datetime.fromisoformat(AT.replace("Z", "+00:00"))

    def items(minutes: range, series: str, value: float) -> list[dict[str, Any]]:
        return [
            {
                "series": series,
                "timestamp": (base - timedelta(minutes=m)).isoformat(),
                "value": value,
            }
            for m in minutes
        ]

    def push(key: str, minutes: range, good: float) -> None:
        its = items(minutes, "api_availability_total", 10)
        its += items(minutes, "api_availability_good", good)
        r = server.post("/api/v1/measurements", json={"idempotency_key": key, "items": its})
        assert r.status_code == 201, r.text

    push("on-time", range(1, 31), 10)
    server.wait_for(
        "/api/v1/slos/api-availability/status",
        lambda b: b["results"] and b["results"][0]["total"] == 300,
    )
    push("late", range(40, 50), 0)
    status = server.wait_for(
        "/api/v1/slos/api-availability/status",
        lambda b: b["results"] and b["results"][0]["total"] == 400,
    )
    assert status["results"][0]["sli"] == pytest.approx(300 / 400)
    assert status["data_quality"]["superseded_evaluations"] >= 1
    log = server.output()
    assert log.count("push batch 1 (key from-an-older-slm) skipped") == 1
    assert "outside the representable range" in log
    assert "could not read push batches" not in log
    assert "landed in evaluated windows of SLO api-availability" in log
    assert server.stop() == 0
