"""Measurements: idempotent upsert and reads aggregated onto the requested grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from slm.store.db import Store

T0 = datetime(2026, 10, 1, tzinfo=UTC)
S0 = int(T0.timestamp())
MIN = timedelta(minutes=1)


def _minutes(*pairs: tuple[int, float]) -> list[tuple[str, int, float]]:
    return [("checkout_total", S0 + 60 * m, v) for m, v in pairs]


def test_upsert_is_idempotent(store: Store) -> None:
    rows = _minutes((0, 10.0), (1, 20.0))
    for _ in range(2):
        with store.transaction() as repos:
            assert repos.measurements.upsert(rows) == 2
    with store.transaction() as repos:
        assert repos.measurements.count() == 2
        got = repos.measurements.read("checkout_total", T0, T0 + 2 * MIN, MIN)
    assert got.values.tolist() == [10.0, 20.0]


def test_upsert_replaces_the_value_of_a_bucket(store: Store) -> None:
    with store.transaction() as repos:
        repos.measurements.upsert(_minutes((0, 10.0)))
        repos.measurements.upsert(_minutes((0, 12.5)))
        got = repos.measurements.read("checkout_total", T0, T0 + MIN, MIN)
    assert got.values.tolist() == [12.5]


def test_upsert_in_chunks(store: Store) -> None:
    rows = [("s", S0 + i, float(i)) for i in range(120_000)]  # more than one chunk
    with store.transaction() as repos:
        assert repos.measurements.upsert(iter(rows)) == len(rows)
        assert repos.measurements.count(["s"]) == len(rows)


# stored minutes -> (step, buckets) -> expected values and present flags
READS = [
    pytest.param([(0, 1.0), (1, 2.0), (2, 3.0)], MIN, 3, [1, 2, 3], [1, 1, 1], id="same-step"),
    pytest.param([(0, 1.0), (1, 2.0), (5, 4.0)], 5 * MIN, 2, [3, 4], [1, 1], id="summed-into-5m"),
    pytest.param([(0, 1.0), (2, 3.0)], MIN, 4, [1, 0, 3, 0], [1, 0, 1, 0], id="gaps-absent"),
    pytest.param([(1, 0.0)], MIN, 2, [0, 0], [0, 1], id="zero-is-present"),
    pytest.param([(-1, 9.0), (3, 9.0)], MIN, 3, [0, 0, 0], [0, 0, 0], id="outside-range"),
    pytest.param([], MIN, 2, [0, 0], [0, 0], id="no-data"),
]


@pytest.mark.parametrize(("stored", "step", "n", "values", "present"), READS)
def test_read_aggregates_onto_the_grid(
    store: Store,
    stored: list[tuple[int, float]],
    step: timedelta,
    n: int,
    values: list[float],
    present: list[int],
) -> None:
    with store.transaction() as repos:
        repos.measurements.upsert(_minutes(*stored))
        repos.measurements.upsert([("other", S0, 100.0)])
        got = repos.measurements.read("checkout_total", T0, T0 + n * step, step)
    assert got.start == T0 and got.step == step
    assert got.values.tolist() == values
    assert got.present.tolist() == [bool(p) for p in present]


def test_read_accepts_any_time_zone(store: Store) -> None:
    berlin = T0.astimezone(ZoneInfo("Europe/Berlin"))  # not the machine's zone: fixed
    with store.transaction() as repos:
        repos.measurements.upsert(_minutes((0, 1.0)))
        got = repos.measurements.read("checkout_total", berlin, berlin + MIN, MIN)
    assert got.start.tzinfo == UTC and np.array_equal(got.values, [1.0])


def test_series_names_are_sorted_and_distinct(store: Store) -> None:
    with store.transaction() as repos:
        repos.measurements.upsert([("b", S0, 1.0), ("a", S0, 1.0), ("a", S0 + 60, 1.0)])
        assert repos.measurements.series_names() == ["a", "b"]
        assert repos.measurements.count(["a"]) == 2
        assert repos.measurements.count([]) == 0


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as repos:
        repos.measurements.upsert(_minutes((0, 1.0)))
        raise RuntimeError("boom")
    with store.transaction() as repos:
        assert repos.measurements.count() == 0
