"""The SQL metric source: aggregation pushed down to PostgreSQL, DuckDB (over Parquet) and
SQLite gives exactly what the File source gives for the same events.

One set of raw request events (about 17 000, with an outage and a gap) is written to a
PostgreSQL table, a Parquet file read by DuckDB with ``read_parquet``, a SQLite table, and,
pre-aggregated per minute, a CSV file for a ``type: File`` DataSource. The same three SLOs
(ratio, time slices, threshold) are declared once per source; every evaluate result must
be identical whatever the source.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from slm.services.evaluate import evaluate_workspace
from slm.services.views import result_view
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace

START = datetime(2026, 10, 1, tzinfo=UTC)
HOURS = 36
AT = START + timedelta(hours=HOURS)
OUTAGE = (START + timedelta(hours=26), START + timedelta(hours=26, minutes=30))
GAP = (START + timedelta(hours=20), START + timedelta(hours=20, minutes=20))

PG_QUERY = """\
SELECT date_bin(make_interval(secs => :bucket), ts, TIMESTAMPTZ '1970-01-01 00:00:00+00')
         AS bucket,
       count(*) FILTER (WHERE status < 500) AS good,
       count(*) AS total,
       max(latency_ms) AS latency
FROM events
WHERE ts >= :start AND ts < :end
GROUP BY 1"""

# The same aggregation returning the bucket start as a naive timestamp (read as UTC) and as
# Unix seconds (a numeric).
PG_QUERY_NAIVE = PG_QUERY.replace(
    "ts, TIMESTAMPTZ '1970-01-01 00:00:00+00')", "ts AT TIME ZONE 'UTC', TIMESTAMP '1970-01-01')"
)
PG_QUERY_EPOCH = PG_QUERY.replace(
    "date_bin(make_interval(secs => :bucket), ts, TIMESTAMPTZ '1970-01-01 00:00:00+00')",
    "floor(extract(epoch FROM ts) / :bucket) * :bucket",
)

assert PG_QUERY_NAIVE != PG_QUERY != PG_QUERY_EPOCH

# Epoch seconds (a double) as the bucket start.
DUCKDB_QUERY = """\
SELECT floor(epoch(ts) / :bucket) * :bucket AS bucket,
       count(*) FILTER (WHERE status < 500) AS good,
       count(*) AS total,
       max(latency_ms) AS latency
FROM read_parquet('data/events.parquet')
WHERE ts >= :start AND ts < :end
GROUP BY 1"""

# Naive 'YYYY-MM-DD HH:MM:SS' strings (UTC) as the bucket start, epoch parameters.
SQLITE_QUERY = """\
SELECT datetime((ts_us / 1000000 / :bucket) * :bucket, 'unixepoch') AS bucket,
       sum(status < 500) AS good,
       count(*) AS total,
       max(latency_ms) AS latency
FROM events
WHERE ts_us >= :start_epoch * 1000000 AND ts_us < :end_epoch * 1000000
GROUP BY 1"""


def _events() -> dict[str, Any]:
    """Deterministic raw events: microsecond timestamps, status codes, latencies."""
    rng = np.random.default_rng(20261001)
    minutes = HOURS * 60
    per_minute = rng.poisson(8, minutes)
    minute = np.repeat(np.arange(minutes, dtype=np.int64), per_minute)
    ts_us = (int(START.timestamp()) + minute * 60) * 1_000_000 + rng.integers(
        0, 60_000_000, len(minute)
    )
    t = ts_us // 1_000_000
    o0, o1 = int(OUTAGE[0].timestamp()), int(OUTAGE[1].timestamp())
    g0, g1 = int(GAP[0].timestamp()), int(GAP[1].timestamp())
    in_outage = (t >= o0) & (t < o1)
    fail = rng.random(len(t)) < np.where(in_outage, 0.4, 0.002)
    status = np.where(fail, 503, 200).astype(np.int64)
    latency = np.round(rng.lognormal(5.0, 0.5, len(t)) * np.where(in_outage, 4, 1), 3)
    keep = ~((t >= g0) & (t < g1))
    order = np.argsort(ts_us[keep], kind="stable")
    return {
        "ts_us": ts_us[keep][order],
        "status": status[keep][order],
        "latency_ms": latency[keep][order],
    }


EVENTS = _events()


def _write_parquet(path: Path) -> None:
    ts = pa.array(EVENTS["ts_us"], type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    table = pa.table({"ts": ts, "status": EVENTS["status"], "latency_ms": EVENTS["latency_ms"]})
    pq.write_table(table, path)


def _write_minute_csv(path: Path) -> None:
    """The same events aggregated per minute in numpy, as a File source reads them."""
    minute = (EVENTS["ts_us"] // 60_000_000) * 60
    starts, index = np.unique(minute, return_inverse=True)
    total = np.bincount(index)
    good = np.bincount(index, weights=(EVENTS["status"] < 500).astype(float))
    worst = np.full(len(starts), -np.inf)
    np.maximum.at(worst, index, EVENTS["latency_ms"])
    lines = ["timestamp,series,value"]
    columns = (starts.tolist(), good.tolist(), total.tolist(), worst.tolist())
    for s, g, n, w in zip(*columns, strict=True):
        lines += [f"{s},good,{g:g}", f"{s},total,{n}", f"{s},latency,{w!r}"]
    path.write_text("\n".join(lines) + "\n")


def _write_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (ts_us INTEGER, status INTEGER, latency_ms REAL)")
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?)",
            zip(
                EVENTS["ts_us"].tolist(),
                EVENTS["status"].tolist(),
                EVENTS["latency_ms"].tolist(),
                strict=True,
            ),
        )
    conn.close()


def _load_postgresql(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE events (ts timestamptz NOT NULL, status integer NOT NULL, "
                "latency_ms double precision NOT NULL)"
            )
        )
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor().copy("COPY events (ts, status, latency_ms) FROM STDIN") as copy:
            for us, status, latency in zip(
                EVENTS["ts_us"].tolist(),
                EVENTS["status"].tolist(),
                EVENTS["latency_ms"].tolist(),
                strict=True,
            ):
                ts = datetime.fromtimestamp(us // 1_000_000, UTC).replace(
                    microsecond=us % 1_000_000
                )
                copy.write_row((ts, status, latency))
    engine.dispose()


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def _sql_slos(name: str, query: str) -> str:
    """Three SLOs reading one SQL DataSource; good and total share the query (an anchor)."""
    return f"""---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: {name}-success
spec:
  ratioMetric:
    counter: false
    good:
      metricSource:
        metricSourceRef: {name}
        type: SQL
        spec:
          column: good
          query: &{name}-query |
{_indent(query, 12)}
    total:
      metricSource:
        metricSourceRef: {name}
        type: SQL
        spec:
          column: total
          query: *{name}-query
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: {name}-latency
spec:
  thresholdMetric:
    metricSource:
      metricSourceRef: {name}
      spec:
        column: latency
        query: |
{_indent(query, 10)}
""" + _slos(name)


def _file_slos(name: str) -> str:
    def source(series: str) -> str:
        return f"metricSource: {{metricSourceRef: {name}, spec: {{series: {series}}}}}"

    return f"""---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: {name}-success
spec:
  ratioMetric:
    counter: false
    good:
      {source("good")}
    total:
      {source("total")}
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: {name}-latency
spec:
  thresholdMetric:
    {source("latency")}
""" + _slos(name)


def _slos(name: str) -> str:
    common = "  service: shop\n  timeWindow: [{duration: 1d, isRolling: true}]\n"
    return f"""---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}-availability}}
spec:
{common}  indicatorRef: {name}-success
  budgetingMethod: Occurrences
  objectives: [{{target: 0.99}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}-uptime}}
spec:
{common}  indicatorRef: {name}-success
  budgetingMethod: Timeslices
  objectives: [{{target: 0.95, timeSliceTarget: 0.99, timeSliceWindow: 5m}}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}-latency}}
spec:
{common}  indicatorRef: {name}-latency
  budgetingMethod: Occurrences
  objectives: [{{target: 0.9, op: lte, value: 300}}]
"""


def _datasource(name: str, type_: str, details: str) -> str:
    return f"""---
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: {name}}}
spec:
  type: {type_}
  connectionDetails: {details}
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Spec files for the DuckDB, SQLite and File sources (PostgreSQL is added per test)."""
    (tmp_path / "service.yaml").write_text(
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: shop}\nspec: {}\n"
    )
    (tmp_path / "data").mkdir()
    _write_parquet(tmp_path / "data" / "events.parquet")
    _write_minute_csv(tmp_path / "data" / "minutes.csv")
    _write_sqlite(tmp_path / "data" / "events.sqlite")
    (tmp_path / "file.yaml").write_text(
        _datasource("file", "File", "{path: data/minutes.csv}") + _file_slos("file")
    )
    (tmp_path / "duck.yaml").write_text(
        _datasource("duck", "SQL", "{url: 'duckdb:///:memory:'}") + _sql_slos("duck", DUCKDB_QUERY)
    )
    (tmp_path / "lite.yaml").write_text(
        _datasource("lite", "SQL", "{url: 'sqlite:///data/events.sqlite'}")
        + _sql_slos("lite", SQLITE_QUERY)
    )
    return tmp_path


@pytest.fixture
def factory() -> Iterator[SourceFactory]:
    f = SourceFactory()
    yield f
    f.sql.close()


def _by_source(results: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Results keyed by source prefix then SLO kind, with the names taken out."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        source, kind = r["slo"].split("-", 1)
        view = {k: v for k, v in r.items() if k not in ("slo", "objective")}
        out.setdefault(source, {})[kind] = view
    return out


def test_duckdb_sqlite_and_file_sources_give_identical_results(
    workspace: Path, factory: SourceFactory
) -> None:
    ws = load_workspace([workspace])
    report = evaluate_workspace(ws, AT, factory)
    assert report.failures == []
    results = _by_source([result_view(r) for r in report.results])
    assert sorted(results) == ["duck", "file", "lite"]
    assert results["duck"] == results["file"]
    assert results["lite"] == results["file"]
    # The data really has what the SLOs should see: errors, an outage, a gap.
    availability = results["file"]["availability"]
    assert 0.98 < availability["sli"] < 0.995
    assert availability["coverage"]["ratio"] == pytest.approx(1 - 20 / 1440)
    assert results["file"]["latency"]["sli"] < 1.0


def test_one_query_serves_good_and_total(workspace: Path, factory: SourceFactory) -> None:
    ws = load_workspace([workspace / "service.yaml", workspace / "duck.yaml"])
    report = evaluate_workspace(ws, AT, factory)
    assert report.failures == []
    # Three SLOs, one query text and one evaluation span: one round trip to DuckDB.
    assert factory.sql.queries == 1


@pytest.mark.postgres
@pytest.mark.parametrize(
    "query",
    [
        pytest.param(PG_QUERY, id="date_bin-timestamptz"),
        pytest.param(PG_QUERY_NAIVE, id="date_bin-naive-utc"),
        pytest.param(PG_QUERY_EPOCH, id="floor-extract-epoch"),
    ],
)
def test_postgresql_source_matches_the_file_source(
    workspace: Path,
    factory: SourceFactory,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
) -> None:
    _load_postgresql(pg_url)
    monkeypatch.setenv("SLM_TEST_EVENTS_URL", pg_url)
    (workspace / "pg.yaml").write_text(
        _datasource("pg", "SQL", "{urlFromEnv: SLM_TEST_EVENTS_URL}") + _sql_slos("pg", query)
    )
    ws = load_workspace([workspace / n for n in ("service.yaml", "pg.yaml", "file.yaml")])
    report = evaluate_workspace(ws, AT, factory)
    assert report.failures == []
    results = _by_source([result_view(r) for r in report.results])
    assert results["pg"] == results["file"]
