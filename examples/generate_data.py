"""Deterministic generator for the example workspace's measurements.

Writes ``examples/data/shop.parquet`` with columns ``timestamp`` (Unix seconds, bucket
start), ``series`` and ``value`` (events in the one-minute bucket, or the metric value for
the latency series). Traffic follows a daily and a weekly cycle; two outages are built in:

* 2026-10-14 13:00-13:45 UTC: checkout returns errors for 30% of requests;
* 2026-10-27 08:00-10:00 UTC: payments degrade (p99 latency ~900 ms, 4% errors).

Run: ``python examples/generate_data.py [--out PATH]``. Same output every run.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = datetime(2026, 8, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
SEED = 20261101

CHECKOUT_OUTAGE = (
    datetime(2026, 10, 14, 13, 0, tzinfo=UTC),
    datetime(2026, 10, 14, 13, 45, tzinfo=UTC),
)
PAYMENTS_DEGRADED = (
    datetime(2026, 10, 27, 8, 0, tzinfo=UTC),
    datetime(2026, 10, 27, 10, 0, tzinfo=UTC),
)

DEFAULT_OUT = Path(__file__).parent / "data" / "shop.parquet"


def _minutes() -> np.ndarray:
    start, end = int(START.timestamp()), int(END.timestamp())
    return np.arange(start, end, 60, dtype=np.int64)


def _mask(ts: np.ndarray, span: tuple[datetime, datetime]) -> np.ndarray:
    return (ts >= int(span[0].timestamp())) & (ts < int(span[1].timestamp()))


def _traffic(ts: np.ndarray, base: float, rng: np.random.Generator) -> np.ndarray:
    hours = (ts % 86400) / 3600.0
    weekday = ((ts // 86400) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    daily = 1.0 + 0.6 * np.sin((hours - 9.0) / 24.0 * 2 * np.pi)
    weekly = np.where(weekday >= 5, 0.7, 1.0)
    return rng.poisson(base * daily * weekly).astype(np.int64)


def generate() -> pa.Table:
    rng = np.random.default_rng(SEED)
    ts = _minutes()

    checkout_total = _traffic(ts, 600.0, rng)
    error_p = np.full(ts.shape, 0.0004)
    error_p[_mask(ts, CHECKOUT_OUTAGE)] = 0.30
    checkout_bad = rng.binomial(checkout_total, error_p)
    checkout_good = checkout_total - checkout_bad

    latency = rng.gamma(shape=9.0, scale=20.0, size=ts.shape)  # p99 per minute, ms
    latency[_mask(ts, PAYMENTS_DEGRADED)] = rng.normal(
        900.0, 50.0, _mask(ts, PAYMENTS_DEGRADED).sum()
    )

    payments_total = _traffic(ts, 120.0, rng)
    pay_p = np.full(ts.shape, 0.0008)
    pay_p[_mask(ts, PAYMENTS_DEGRADED)] = 0.04
    payments_bad = rng.binomial(payments_total, pay_p)

    series = {
        "checkout_requests_total": checkout_total,
        "checkout_requests_good": checkout_good,
        "checkout_latency_p99_ms": np.round(latency, 1),
        "payments_requests_total": payments_total,
        "payments_requests_failed": payments_bad,
    }
    names = list(series)
    return pa.table(
        {
            "timestamp": pa.array(np.tile(ts, len(names)), pa.int64()),
            "series": pa.array(np.repeat(names, len(ts))).dictionary_encode(),
            "value": pa.array(np.concatenate([series[n].astype(np.float64) for n in names])),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table = generate()
    tmp = args.out.with_name(f".{args.out.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, args.out)  # atomic: concurrent readers never see half a file
    print(f"wrote {table.num_rows} rows to {args.out}")


if __name__ == "__main__":
    main()
