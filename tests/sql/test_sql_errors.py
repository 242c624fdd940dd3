"""The SQL metric source refuses bad input with a message naming the DataSource and the
problem: bad SQL, missing or ambiguous columns, wrong types, unreachable databases, bad URLs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from slm.domain.errors import DataError, SlmError, SourceError
from slm.domain.model import DataSource, MetricQuery
from slm.sources.sql import SqlConnections, SQLSource

T0 = datetime(2026, 10, 1, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
MIN = timedelta(minutes=1)
DUCK = {"url": "duckdb:///:memory:"}

# Five one-minute buckets: epoch seconds, 10 requests each, one failing in the third.
ROWS = (
    "SELECT * FROM (VALUES (1790812800, 10, 10), (1790812860, 10, 10), "
    "(1790812920, 9, 10), (1790812980, 10, 10), (1790813040, 10, 10)) AS t(bucket, good, total)"
)


def _read(spec: dict[str, Any], details: dict[str, Any] | None = None, name: str = "wh") -> Any:
    ds = DataSource(name, "SQL", details if details is not None else DUCK)
    source = SQLSource(ds, SqlConnections())
    try:
        return source.read(MetricQuery(name, "SQL", spec), T0, T1, MIN)
    finally:
        source.connections.close()


def test_epoch_buckets_and_a_chosen_column_are_read() -> None:
    assert int(T0.timestamp()) == 1790812800
    b = _read({"query": ROWS, "column": "good"})
    assert b.values.tolist() == [10, 10, 9, 10, 10]
    assert b.present.all()


def test_rows_in_one_grid_bucket_are_summed_and_null_is_no_data() -> None:
    query = (
        "SELECT * FROM (VALUES (TIMESTAMP '2026-10-01 00:00:10', 3), "
        "(TIMESTAMP '2026-10-01 00:00:50', 4), (TIMESTAMP '2026-10-01 00:02:00', NULL)) "
        "AS t(bucket, n)"
    )
    b = _read({"query": query})
    assert b.values.tolist() == [7, 0, 0, 0, 0]
    assert b.present.tolist() == [True, False, False, False, False]


@pytest.mark.parametrize(
    ("spec", "details", "error", "pattern"),
    [
        pytest.param(
            {"query": "SELEC 1"},
            DUCK,
            SourceError,
            r"DataSource wh: the query failed on duckdb:///:memory:: Parser Error: syntax error",
            id="bad-sql",
        ),
        pytest.param(
            {"query": "SELECT 1 AS start_time, 2 AS good"},
            DUCK,
            SourceError,
            r"DataSource wh: the query returned no column 'bucket' \(columns: start_time, good\)",
            id="no-bucket-column",
        ),
        pytest.param(
            {"query": ROWS},
            DUCK,
            SourceError,
            r"DataSource wh: the query returned the value columns good, total; set spec.column",
            id="ambiguous-value-column",
        ),
        pytest.param(
            {"query": ROWS, "column": "bad"},
            DUCK,
            SourceError,
            r"DataSource wh: the query returned no column 'bad' \(columns: bucket, good, total\)",
            id="unknown-value-column",
        ),
        pytest.param(
            {"query": "SELECT 'monday' AS bucket, 1 AS n"},
            DUCK,
            DataError,
            r"DataSource wh: row 1, column bucket: the bucket start must be a timestamp or "
            r"Unix seconds, not str 'monday'",
            id="bucket-not-a-time",
        ),
        pytest.param(
            {"query": "SELECT 1790812800 AS bucket, 'many' AS n"},
            DUCK,
            DataError,
            r"DataSource wh: row 1, column n: expected a number, not str 'many'",
            id="value-not-a-number",
        ),
        pytest.param(
            {"query": "SELECT NULL AS bucket, 1 AS n"},
            DUCK,
            DataError,
            r"row 1, column bucket: .* not NULL",
            id="null-bucket",
        ),
        pytest.param(
            {"column": "n"},
            DUCK,
            SourceError,
            r"DataSource wh: a SQL metric source needs spec.query",
            id="no-query",
        ),
        pytest.param(
            {"query": ROWS, "series": "x"},
            DUCK,
            SourceError,
            r"DataSource wh: unknown field spec.series of a SQL metric source",
            id="unknown-spec-field",
        ),
        pytest.param(
            {"query": ROWS, "column": "good"},
            {},
            SourceError,
            r"DataSource wh: a SQL source needs exactly one of connectionDetails.url or "
            r".urlFromEnv",
            id="no-url",
        ),
        pytest.param(
            {"query": ROWS, "column": "good"},
            {"urlFromEnv": "SLM_TEST_SURELY_UNSET_URL"},
            SourceError,
            r"environment variable SLM_TEST_SURELY_UNSET_URL \(connectionDetails.urlFromEnv\) "
            r"is unset",
            id="env-unset",
        ),
        pytest.param(
            {"query": ROWS, "column": "good"},
            {"url": "not a url"},
            SourceError,
            r"DataSource wh: connectionDetails.url is not a SQLAlchemy URL",
            id="not-a-url",
        ),
        pytest.param(
            {"query": ROWS, "column": "good"},
            {"url": "nosuchdialect://h/db"},
            SourceError,
            r"no SQLAlchemy dialect for 'nosuchdialect'",
            id="unknown-dialect",
        ),
        pytest.param(
            {"query": "SELECT 1 AS bucket", "column": "good"},
            {"url": "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2"},
            SourceError,
            r"DataSource wh: cannot connect to postgresql\+psycopg://nobody:\*\*\*@127.0.0.1:1/",
            id="unreachable",
        ),
    ],
)
def test_bad_input_is_a_clear_error(
    spec: dict[str, Any], details: dict[str, Any], error: type[SlmError], pattern: str
) -> None:
    with pytest.raises(error, match=pattern) as info:
        _read(spec, details)
    assert "secret" not in str(info.value)


def test_a_password_from_the_environment_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLM_TEST_WH_URL", "postgresql://u:hunter2@127.0.0.1:1/x?connect_timeout=2")
    with pytest.raises(SourceError, match="cannot connect") as info:
        _read({"query": ROWS, "column": "good"}, {"urlFromEnv": "SLM_TEST_WH_URL"})
    assert "hunter2" not in str(info.value)


def test_relative_database_paths_resolve_against_the_spec_directory(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "wh.db") as conn:
        conn.execute("CREATE TABLE c (bucket INTEGER, n INTEGER)")
        conn.execute("INSERT INTO c VALUES (1790812860, 5)")
    conn.close()
    ds = DataSource("wh", "SQL", {"url": "sqlite:///wh.db"}, base_dir=str(tmp_path))
    source = SQLSource(ds)
    b = source.read(MetricQuery("wh", "SQL", {"query": "SELECT bucket, n FROM c"}), T0, T1, MIN)
    source.connections.close()
    assert b.values.tolist() == [0, 5, 0, 0, 0]


def test_the_query_cannot_write(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "wh.db") as conn:
        conn.execute("CREATE TABLE c (bucket INTEGER, n INTEGER)")
    conn.close()
    ds = DataSource("wh", "SQL", {"url": "sqlite:///wh.db"}, base_dir=str(tmp_path))
    source = SQLSource(ds)
    query = "INSERT INTO c VALUES (1790812860, 5) RETURNING bucket, n"
    b = source.read(MetricQuery("wh", "SQL", {"query": query}), T0, T1, MIN)
    source.connections.close()
    assert b.values.tolist() == [0, 5, 0, 0, 0]  # returned, then rolled back
    with sqlite3.connect(tmp_path / "wh.db") as conn:
        assert conn.execute("SELECT count(*) FROM c").fetchone() == (0,)
    conn.close()


SPEC = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {name: warehouse}
spec:
  type: SQL
  connectionDetails: {url: 'duckdb:///:memory:'}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: broken}
spec:
  service: shop
  indicator:
    metadata: {name: broken-sli}
    spec:
      ratioMetric:
        counter: false
        good:
          metricSource: {metricSourceRef: warehouse, spec: {query: SELEC 1, column: good}}
        total:
          metricSource: {metricSourceRef: warehouse, spec: {query: SELEC 1, column: total}}
  timeWindow: [{duration: 1d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: Service
metadata: {name: shop}
spec: {}
"""


def test_slm_evaluate_reports_bad_sql_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "slo.yaml").write_text(SPEC)
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "slm"),
            "evaluate",
            str(tmp_path),
            "--at",
            "2026-10-02T00:00Z",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert run.returncode == 3
    assert "Traceback" not in run.stderr
    assert re.search(
        r"error: SLO broken: DataSource warehouse: the query failed on duckdb:///:memory:: "
        r"Parser Error: syntax error",
        run.stderr,
    ), run.stderr
