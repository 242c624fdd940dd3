"""CSV and Parquet measurement files: UTC normalisation and bad rows named precisely."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm.domain.errors import DataError
from slm.sources.tabular import read_csv, read_parquet, read_tabular

UTC_MIDNIGHT = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())


def _csv(tmp_path: Path, body: str, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


# timestamp as written -> Unix seconds UTC
TIMESTAMPS = [
    pytest.param("2026-10-01T00:00:00Z", UTC_MIDNIGHT, id="rfc3339-z"),
    pytest.param("2026-10-01T02:00:00+02:00", UTC_MIDNIGHT, id="rfc3339-plus-offset"),
    pytest.param("2026-09-30T19:30:00-04:30", UTC_MIDNIGHT, id="rfc3339-minus-offset"),
    pytest.param("2026-10-01 00:00:59.999+00:00", UTC_MIDNIGHT + 59, id="space-fraction-floored"),
    pytest.param(str(UTC_MIDNIGHT), UTC_MIDNIGHT, id="unix-seconds"),
    pytest.param(f"{UTC_MIDNIGHT}.75", UTC_MIDNIGHT, id="unix-seconds-float-floored"),
    pytest.param(f" {UTC_MIDNIGHT} ", UTC_MIDNIGHT, id="whitespace-trimmed"),
]


@pytest.mark.parametrize(("written", "seconds"), TIMESTAMPS)
def test_csv_timestamps_are_normalised_to_utc(tmp_path: Path, written: str, seconds: int) -> None:
    table = read_csv(_csv(tmp_path, f"timestamp,series,value\n{written},s,1\n"))
    assert table.timestamps.tolist() == [seconds]


def test_csv_with_mixed_offsets_and_unix_seconds(tmp_path: Path) -> None:
    body = (
        "timestamp,series,value\n"
        "2026-10-01T02:01:00+02:00,good,3\n"
        f"{UTC_MIDNIGHT},good,1\n"
        "2026-09-30T23:02:00-01:00,good,2.5\n"
        "2026-10-01T00:00:00Z,total,4\n"
    )
    table = read_csv(_csv(tmp_path, body))
    assert table.series == ("good", "total")
    ts, values = table.rows_of("good")
    assert (ts - UTC_MIDNIGHT).tolist() == [0, 60, 120]  # sorted by time
    assert values.tolist() == [1.0, 3.0, 2.5]


def test_extra_columns_are_ignored_and_duplicates_summed(tmp_path: Path) -> None:
    body = f"series,note,value,timestamp\ns,x,1,{UTC_MIDNIGHT}\ns,y,2,{UTC_MIDNIGHT}\n"
    table = read_csv(_csv(tmp_path, body))
    assert list(table.aggregated_rows()) == [("s", UTC_MIDNIGHT, 3.0)]
    assert table.count_aggregated() == 1


HEADER = "timestamp,series,value\n"
OK = f"{UTC_MIDNIGHT},s,1\n"

# CSV body -> the start of the DataError message (after the path)
BAD_CSV = [
    pytest.param(
        HEADER + OK + f"{UTC_MIDNIGHT},s,abc\n",
        ":3: column 'value': 'abc' is not a number",
        id="value-not-a-number",
    ),
    pytest.param(
        HEADER + OK + f"{UTC_MIDNIGHT},s,-1\n",
        ":3: column 'value': '-1' is not a count",
        id="value-negative",
    ),
    pytest.param(
        HEADER + OK + f"{UTC_MIDNIGHT},s,nan\n",
        ":3: column 'value': 'nan' is not a count",
        id="value-nan",
    ),
    pytest.param(
        HEADER + OK + f"{UTC_MIDNIGHT},s,\n",
        ":3: column 'value': '' is not a number",
        id="value-empty",
    ),
    pytest.param(
        HEADER + OK + OK + f"{UTC_MIDNIGHT}, ,1\n",
        ":4: column 'series': empty series",
        id="series-empty",
    ),
    pytest.param(
        HEADER + "yesterday,s,1\n",
        ":2: column 'timestamp': 'yesterday' is not an RFC 3339",
        id="timestamp-unparseable",
    ),
    pytest.param(
        HEADER + OK + "2026-10-01T00:00:00,s,1\n",
        ":3: column 'timestamp': '2026-10-01T00:00:00'",
        id="timestamp-without-offset",
    ),
    pytest.param(
        HEADER + OK + "\n\n" + "x,s,1\n", ":5: column 'timestamp'", id="blank-lines-counted"
    ),
    pytest.param(HEADER + "bad,s,abc\n", ":2: column 'timestamp'", id="first-column-wins"),
    pytest.param(
        HEADER + OK + "1,s\n", ":3: expected 3 fields like the header, found 2", id="short-row"
    ),
    pytest.param("time,series,value\n" + OK, ": missing column 'timestamp'", id="missing-column"),
]


@pytest.mark.parametrize(("body", "message"), BAD_CSV)
def test_bad_csv_rows_are_named(tmp_path: Path, body: str, message: str) -> None:
    path = _csv(tmp_path, body)
    with pytest.raises(DataError, match="^" + re.escape(f"{path}{message}")):
        read_csv(path)


def test_bad_row_found_in_a_large_file(tmp_path: Path) -> None:
    rows = [f"{UTC_MIDNIGHT + 60 * i},s,{i}\n" for i in range(50_000)]
    rows[31_337] = f"{UTC_MIDNIGHT},s,oops\n"
    path = _csv(tmp_path, HEADER + "".join(rows))
    with pytest.raises(DataError, match=re.escape(f"{path}:31339: column 'value': 'oops'")):
        read_csv(path)


def _parquet(tmp_path: Path, columns: dict[str, pa.Array[Any]]) -> Path:
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table(columns), path)
    return path


PARQUET_TIMESTAMPS = [
    pytest.param(pa.array([UTC_MIDNIGHT], pa.int64()), id="int-seconds"),
    pytest.param(pa.array([UTC_MIDNIGHT + 0.5], pa.float64()), id="float-seconds"),
    pytest.param(pa.array(["2026-10-01T02:00:00+02:00"]), id="rfc3339-text"),
    pytest.param(pa.array([UTC_MIDNIGHT * 1000], pa.timestamp("ms", tz="UTC")), id="timestamp-utc"),
    pytest.param(
        pa.array([UTC_MIDNIGHT * 1000], pa.timestamp("ms", tz="Europe/Berlin")),
        id="timestamp-berlin",
    ),
]


@pytest.mark.parametrize("timestamps", PARQUET_TIMESTAMPS)
def test_parquet_timestamps_are_normalised_to_utc(
    tmp_path: Path, timestamps: pa.Array[Any]
) -> None:
    path = _parquet(
        tmp_path,
        {
            "timestamp": timestamps,
            "series": pa.array(["s"]).dictionary_encode(),
            "value": pa.array([2], pa.int32()),
        },
    )
    table = read_tabular(path)
    assert table.timestamps.tolist() == [UTC_MIDNIGHT]
    assert table.values.tolist() == [2.0]


# columns -> message after the path
BAD_PARQUET = [
    pytest.param(
        {"value": pa.array([1.0, None])}, ": row 2: column 'value': missing value", id="value-null"
    ),
    pytest.param(
        {"value": pa.array([1.0, -3.0])},
        ": row 2: column 'value': -3.0 is not a count",
        id="value-negative",
    ),
    pytest.param(
        {"series": pa.array(["s", None])},
        ": row 2: column 'series': missing series",
        id="series-null",
    ),
    pytest.param(
        {"timestamp": pa.array([0, 0], pa.timestamp("s"))},
        ": row 1: column 'timestamp': timestamp column has no time zone",
        id="timestamp-naive",
    ),
    pytest.param(
        {"timestamp": pa.array([UTC_MIDNIGHT, float("inf")])},
        ": row 2: column 'timestamp': inf is not a finite number",
        id="timestamp-inf",
    ),
    pytest.param(
        {"value": pa.array([True, False])},
        ": row 1: column 'value': unsupported",
        id="value-boolean",
    ),
]


@pytest.mark.parametrize(("override", "message"), BAD_PARQUET)
def test_bad_parquet_rows_are_named(
    tmp_path: Path, override: dict[str, pa.Array[Any]], message: str
) -> None:
    columns: dict[str, pa.Array[Any]] = {
        "timestamp": pa.array([UTC_MIDNIGHT, UTC_MIDNIGHT + 60]),
        "series": pa.array(["s", "s"]),
        "value": pa.array([1.0, 2.0]),
    }
    columns.update(override)
    path = _parquet(tmp_path, columns)
    with pytest.raises(DataError, match="^" + re.escape(f"{path}{message}")):
        read_parquet(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("m.parquet", b"not parquet", "not a readable Parquet file", id="not-parquet"),
        pytest.param("gone.csv", None, "no such file", id="missing-file"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_tabular(path)
