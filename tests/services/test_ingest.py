"""Ingest: idempotent, atomic loading of CSV, Parquet and exposition files (both stores)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm.domain.errors import DataError
from slm.domain.model import MetricQuery
from slm.services.ingest import IngestFormat, IngestReport, detect_format, ingest_file
from slm.services.ports import FixedClock
from slm.sources.store import StoreSource
from slm.store.db import Store

T0 = datetime(2026, 10, 1, tzinfo=UTC)
S0 = int(T0.timestamp())
MIN = timedelta(minutes=1)
CLOCK = FixedClock(datetime(2026, 11, 1, tzinfo=UTC))

CSV = (
    "timestamp,series,value\n"
    "2026-10-01T02:00:00+02:00,checkout_good,9\n"  # 00:00Z
    "2026-09-30T20:01:00-04:00,checkout_good,8\n"  # 00:01Z
    f"{S0 + 60},checkout_good,1\n"  # 00:01Z again: summed with the row above
    "2026-10-01T00:00:00Z,checkout_total,10\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _read(store: Store, series: str, minutes: int = 3) -> tuple[list[float], list[bool]]:
    got = StoreSource(store).read(
        MetricQuery("s", "Store", {"series": series}), T0, T0 + minutes * MIN, MIN
    )
    return got.values.tolist(), got.present.tolist()


def test_csv_with_mixed_offsets_is_stored_in_utc(store: Store, tmp_path: Path) -> None:
    report = ingest_file(store, _write(tmp_path, "m.csv", CSV), clock=CLOCK)
    assert report == IngestReport(
        rows=3,
        series=("checkout_good", "checkout_total"),
        new_rows=3,
        skipped_as_duplicate_file=False,
        path=str(tmp_path / "m.csv"),
        format="csv",
        sha256=report.sha256,
    )
    assert _read(store, "checkout_good") == ([9.0, 9.0, 0.0], [True, True, False])
    with store.transaction() as repos:
        record = repos.ingests.find(report.sha256)
    assert record is not None and record.loaded_at == CLOCK.now() and record.rows == 3


def test_loading_the_same_file_twice_changes_nothing(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "m.csv", CSV)
    first = ingest_file(store, path)
    second = ingest_file(store, path)
    assert second.skipped_as_duplicate_file and second.new_rows == 0
    assert (second.rows, second.series) == (first.rows, first.series)
    assert _read(store, "checkout_good") == ([9.0, 9.0, 0.0], [True, True, False])
    with store.transaction() as repos:
        assert repos.measurements.count() == 3
        assert len(repos.ingests.all()) == 1


def test_overlapping_file_replaces_values_and_counts_new_rows(store: Store, tmp_path: Path) -> None:
    ingest_file(store, _write(tmp_path, "a.csv", CSV))
    later = f"timestamp,series,value\n{S0},checkout_good,5\n{S0 + 120},checkout_good,2\n"
    report = ingest_file(store, _write(tmp_path, "b.csv", later))
    assert (report.rows, report.new_rows, report.skipped_as_duplicate_file) == (2, 1, False)
    assert _read(store, "checkout_good") == ([5.0, 9.0, 2.0], [True, True, True])


BAD_FILES = [
    pytest.param(
        "bad.csv",
        CSV + f"{S0},checkout_good,-4\n",
        r"bad\.csv:6: column 'value'",
        id="csv-negative-value",
    ),
    pytest.param(
        "bad.csv",
        CSV.replace("checkout_total,10", ",10"),
        r"bad\.csv:5: column 'series'",
        id="csv-empty-series",
    ),
    pytest.param(
        "bad.prom",
        f"a_total 1 {S0 * 1000}\na_total 2\n",
        r"bad\.prom:2: sample has no",
        id="exposition-no-timestamp",
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES)
def test_a_bad_row_rejects_the_whole_file(
    store: Store, tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(DataError, match=message):
        ingest_file(store, _write(tmp_path, name, text))
    with store.transaction() as repos:
        assert repos.measurements.count() == 0
        assert repos.ingests.all() == []


def test_openmetrics_counters_with_a_reset(store: Store, tmp_path: Path) -> None:
    samples = [(0, 100), (30, 110), (60, 130), (90, 5), (150, 15)]
    text = (
        "# TYPE http_requests counter\n"
        + "".join(
            f'http_requests_total{{method="GET",code="200"}} {v} {S0 + s}.0\n' for s, v in samples
        )
        + "# EOF\n"
    )
    report = ingest_file(store, _write(tmp_path, "export.txt", text))
    series = 'http_requests_total{code="200",method="GET"}'
    assert (report.format, report.series, report.rows) == ("openmetrics", (series,), 3)
    assert _read(store, series) == ([10.0, 25.0, 10.0], [True, True, True])


def test_parquet(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    table = pa.table(
        {
            "timestamp": pa.array([S0 * 1000, (S0 + 60) * 1000], pa.timestamp("ms", tz="UTC")),
            "series": pa.array(["s", "s"]).dictionary_encode(),
            "value": pa.array([1.5, 2.5]),
        }
    )
    pq.write_table(table, path)
    report = ingest_file(store, path)
    assert (report.format, report.rows, report.new_rows) == ("parquet", 2, 2)
    assert _read(store, "s", 2) == ([1.5, 2.5], [True, True])


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        pytest.param("m.csv", "whatever", "csv", id="csv-suffix"),
        pytest.param("m.data", "timestamp,series,value\n", "csv", id="csv-header"),
        pytest.param("m.prom", "a_total 1 1\n", "prometheus", id="prometheus-text"),
        pytest.param("m.txt", "a_total 1 1\n# EOF\n", "openmetrics", id="openmetrics-eof"),
        pytest.param("m.bin", "PAR1", "parquet", id="parquet-magic"),
    ],
)
def test_format_detection(tmp_path: Path, name: str, text: str, fmt: IngestFormat) -> None:
    assert detect_format(_write(tmp_path, name, text)) == fmt


def test_explicit_format_overrides_detection(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, "export.log", f"a_total 1 {S0}\na_total 3 {S0 + 60}\n# EOF\n")
    report = ingest_file(store, path, "openmetrics")
    assert report.series == ("a_total",)


def test_missing_file_is_a_data_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "nope.csv"))):
        ingest_file(store, tmp_path / "nope.csv")
