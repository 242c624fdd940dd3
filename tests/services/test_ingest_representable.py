"""Ingest stores only what it can give back: instants in the representable range, in the
epoch unit the file is written in, and values (and bucket sums) that stay exact counts.
A file with one bad row is refused whole, the row named (both stores)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm.domain.errors import DataError
from slm.domain.instants import MAX_VALUE
from slm.services.ingest import ingest_file
from slm.store.db import Store, open_store
from slm.store.push import PushRepository

T0 = datetime(2026, 10, 1, tzinfo=UTC)
S0 = int(T0.timestamp())  # 1790812800
SLM = Path(sys.executable).parent / "slm"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(store: Store) -> list[tuple[str, int, float]]:
    from sqlalchemy import select

    from slm.store.schema import measurements as m

    with store.transaction() as repos:
        q = select(m.c.series, m.c.bucket_start, m.c.value).order_by(m.c.series, m.c.bucket_start)
        return [(r[0], int(r[1]), float(r[2])) for r in repos.connection.execute(q)]


def _nothing_written(store: Store) -> None:
    with store.transaction() as repos:
        assert repos.measurements.count() == 0
        assert repos.ingests.all() == []
        assert PushRepository(repos.connection).since(0) == []


GOOD = f"{S0},S,1\n"

REFUSED = [
    pytest.param("1e300,S,1\n", 3, "'1e300' is not a plausible Unix time", id="1e300"),
    pytest.param("-1e300,S,1\n", 3, "'-1e300' is not a plausible Unix time", id="-1e300"),
    pytest.param("1e19,S,1\n", 3, "'1e19' is not a plausible Unix time", id="1e19"),
    pytest.param("-1e12,S,1\n", 3, "'-1e12' is not a plausible Unix time", id="-1e12"),
    pytest.param("20000000000,S,1\n", 3, "any epoch unit", id="ambiguous-s-or-ms"),
    pytest.param(
        "0001-01-01T00:00:00+14:00,S,1\n",
        3,
        "'0001-01-01T00:00:00+14:00' is outside the representable range "
        "1970-01-01T00:00:00Z to 9999-01-01T00:00:00Z",
        id="year-0-in-utc",
    ),
    pytest.param(
        "1969-12-31T23:59:59Z,S,1\n", 3, "outside the representable range", id="before-1970"
    ),
    pytest.param(
        f"{S0 * 1000},S,1\n",
        3,
        f"'{S0 * 1000}' is Unix time in milliseconds but the first numeric timestamp, "
        f"'{S0}', is in seconds",
        id="mixed-units",
    ),
    pytest.param(
        f"{S0},S,1e308\n", 3, "column 'value': '1e308' is above the largest storable", id="1e308"
    ),
    pytest.param(f"{S0},S,inf\n", 3, "column 'value': 'inf' is not a count", id="inf"),
]


@pytest.mark.parametrize(("row", "line", "message"), REFUSED)
def test_an_unrepresentable_row_refuses_the_whole_file(
    store: Store, tmp_path: Path, row: str, line: int, message: str
) -> None:
    path = _write(tmp_path, "m.csv", "timestamp,series,value\n" + GOOD + row)
    with pytest.raises(DataError) as e:
        ingest_file(store, path)
    assert str(e.value).startswith(f"{path}:{line}: column ")
    assert message in str(e.value)
    _nothing_written(store)


def test_two_rows_summing_above_the_largest_value_are_refused(store: Store, tmp_path: Path) -> None:
    big = f"{MAX_VALUE:.0f}"
    path = _write(tmp_path, "m.csv", f"timestamp,series,value\n{S0},S,{big}\n{S0},S,{big}\n")
    with pytest.raises(DataError) as e:
        ingest_file(store, path)
    assert str(e.value) == (
        f"{path}: series 'S', bucket 2026-10-01T00:00:00Z: its rows sum to "
        f"{2 * MAX_VALUE!r}, above the largest storable value 2**53 ({big})"
    )
    _nothing_written(store)


@pytest.mark.parametrize(
    ("stamp", "unit"),
    [
        pytest.param(f"{S0}", "s", id="seconds"),
        pytest.param(f"{S0}.999", "s", id="fractional-seconds"),
        pytest.param(f"{S0 * 1000 + 999}", "ms", id="milliseconds"),
        pytest.param(f"{S0 * 10**6 + 999_999}", "us", id="microseconds"),
        pytest.param(f"{S0 * 10**9 + 999_999_999}", "ns", id="nanoseconds"),
        pytest.param(f"{S0 * 10**9}", "ns", id="nanoseconds-on-the-second"),
    ],
)
def test_the_epoch_unit_is_told_from_the_magnitude(
    store: Store, tmp_path: Path, stamp: str, unit: str
) -> None:
    later = (
        f"{int(stamp.split('.')[0]) + 60 * int(10 ** (3 * ['s', 'ms', 'us', 'ns'].index(unit)))}"
    )
    path = _write(tmp_path, "m.csv", f"timestamp,series,value\n{stamp},S,1\n{later},S,2\n")
    ingest_file(store, path)
    assert _rows(store) == [("S", S0, 1.0), ("S", S0 + 60, 2.0)]


def test_a_declared_epoch_unit_reads_what_detection_refuses(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "m.csv", "timestamp,series,value\n20000000000,S,1\n")
    with pytest.raises(DataError, match="declare the unit with --epoch-unit"):
        ingest_file(store, path)
    ingest_file(store, path, epoch_unit="ms")
    assert _rows(store) == [("S", 20_000_000, 1.0)]


def test_a_declared_unit_still_checks_the_range(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "m.csv", f"timestamp,series,value\n{S0 * 1000},S,1\n")
    with pytest.raises(DataError) as e:
        ingest_file(store, path, epoch_unit="s")
    assert f"'{S0 * 1000}' as Unix time in seconds is outside the representable range" in str(
        e.value
    )
    _nothing_written(store)


def test_parquet_integer_epochs_are_detected_and_checked(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    ns = [S0 * 10**9, (S0 + 60) * 10**9 + 1]
    pq.write_table(pa.table({"timestamp": ns, "series": ["S", "S"], "value": [1.0, 2.0]}), path)
    ingest_file(store, path)
    assert _rows(store) == [("S", S0, 1.0), ("S", S0 + 60, 2.0)]

    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"timestamp": [S0, -5], "series": ["S", "S"], "value": [1, 1]}), bad)
    with pytest.raises(DataError, match=re.escape(f"{bad}: row 2: column 'timestamp': -5 is")):
        ingest_file(store, bad)


def test_parquet_timestamp_columns_outside_the_range_are_refused(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "m.parquet"
    stamps = [T0, datetime(1960, 1, 1, tzinfo=UTC)]
    table = pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("s", tz="UTC")),
            "series": ["S", "S"],
            "value": [1.0, 1.0],
        }
    )
    pq.write_table(table, path)
    with pytest.raises(DataError, match=re.escape(f"{path}: row 2: column 'timestamp': ")):
        ingest_file(store, path)
    _nothing_written(store)


OPENMETRICS = [
    pytest.param(
        f"a_total 1 {S0 * 1000}\na_total 2 {(S0 + 60) * 1000}\n",
        2,
        "outside the representable range 1970-01-01T00:00:00Z to 9999-01-01T00:00:00Z "
        "(exclusive) (it looks like milliseconds; OpenMetrics timestamps are seconds)",
        id="milliseconds",
    ),
    pytest.param(
        "a_total 1 1e300\n", 2, "timestamp 1e+300 (seconds in OpenMetrics) is outside", id="1e300"
    ),
    pytest.param(
        f"a_total 1e308 {S0}\n",
        2,
        "counter value 1e+308 is above the largest storable value",
        id="value-1e308",
    ),
]


@pytest.mark.parametrize(("samples", "line", "message"), OPENMETRICS)
def test_openmetrics_instants_and_values_are_checked(
    store: Store, tmp_path: Path, samples: str, line: int, message: str
) -> None:
    path = _write(tmp_path, "m.om", f"# TYPE a counter\n{samples}# EOF\n")
    with pytest.raises(DataError) as e:
        ingest_file(store, path)
    assert str(e.value).startswith(f"{path}:{line}: ")
    assert message in str(e.value)
    _nothing_written(store)


def test_cli_refuses_the_file_with_the_row_and_takes_an_epoch_unit(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SLM), "ingest", "--workspace", str(tmp_path), *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    bad = _write(tmp_path, "bad.csv", f"timestamp,series,value\n{S0},S,1\n1e300,S,1\n")
    refused = run(str(bad))
    assert refused.returncode != 0
    assert f"{bad}:3: column 'timestamp': '1e300' is not a plausible Unix time" in refused.stderr
    assert "Traceback" not in refused.stderr

    ms = _write(tmp_path, "ms.csv", "timestamp,series,value\n20000000000,S,1\n")
    ok = run("--epoch-unit", "ms", str(ms))
    assert ok.returncode == 0, ok.stderr
    wrong = run("--epoch-unit", "minutes", str(ms))
    assert wrong.returncode == 2 and "--epoch-unit" in wrong.stderr
    assert "'minutes' is not one of auto, s, ms, us, ns" in " ".join(wrong.stderr.split())

    store = open_store(None, tmp_path)
    try:
        assert _rows(store) == [("S", 20_000_000, 1.0)]  # nothing of bad.csv
    finally:
        store.close()


def test_nanosecond_epochs_keep_their_second(store: Store, tmp_path: Path) -> None:
    """1790812800000000000 is not exact in a float64: the second must not slip back."""
    first = T0 + timedelta(minutes=5)
    ns = int(first.timestamp()) * 10**9
    path = _write(tmp_path, "m.csv", f"timestamp,series,value\n{ns},S,3\n")
    ingest_file(store, path)
    assert _rows(store) == [("S", int(first.timestamp()), 3.0)]
