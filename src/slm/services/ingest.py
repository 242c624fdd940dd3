"""Loading measurement files into the store (``slm ingest``).

Formats: CSV and Parquet (columns ``timestamp,series,value``, see ``slm.sources.tabular``)
and Prometheus text exposition / OpenMetrics exported from counters (see
``slm.sources.exposition``: counters become increases per one-minute bucket, resets
handled, series named like ``http_requests_total{code="200"}``).

Guarantees:
- idempotent: a file whose bytes (SHA-256) were loaded before is skipped; loading
  overlapping data from another file replaces the values of the buckets it contains;
- atomic: the whole file is parsed and checked before anything is written, then written
  in one transaction; a bad row rejects the file with a ``DataError`` naming the row.
  Checked: every instant lies in the representable range and every value is a count
  from 0 to 2**53, as is each bucket's sum (``slm.domain.instants``); numeric CSV/Parquet
  timestamps are Unix time in the declared epoch unit or the one their magnitude tells;
- rows of one file that share (series, timestamp) are summed; timestamps are stored as Unix
  seconds UTC (CSV/Parquet keep their own resolution, exposition files one minute).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np

from slm.domain.errors import DataError
from slm.domain.instants import EpochOption
from slm.services.ports import Clock, SystemClock
from slm.sources.exposition import is_openmetrics, read_exposition
from slm.sources.table import MeasurementTable
from slm.sources.tabular import read_tabular, tabular_format
from slm.store.db import Store
from slm.store.ingests import IngestRecord
from slm.store.push import PushRepository

IngestFormat = Literal["auto", "csv", "parquet", "openmetrics", "prometheus"]
FORMATS: tuple[IngestFormat, ...] = ("auto", "csv", "parquet", "openmetrics", "prometheus")

_EXPOSITION_SUFFIXES = (".om", ".openmetrics", ".prom", ".metrics", ".txt")


@dataclass(frozen=True)
class IngestReport:
    """``rows``: (series, bucket) values the file holds; ``new_rows``: of those, how many
    were not in the store before; ``series``: the series the file holds, sorted."""

    rows: int
    series: tuple[str, ...]
    new_rows: int
    skipped_as_duplicate_file: bool
    path: str = ""
    format: str = ""
    sha256: str = ""


def ingest_file(
    store: Store,
    path: Path,
    fmt: IngestFormat = "auto",
    *,
    clock: Clock | None = None,
    epoch_unit: EpochOption = "auto",
) -> IngestReport:
    """Load one file into the store; see the module docstring for the guarantees.

    ``epoch_unit``: the unit of numeric timestamps in CSV and Parquet files (``auto``:
    told from their magnitude); exposition formats define their own."""
    digest = file_sha256(path)
    with store.transaction() as repos:
        seen = repos.ingests.find(digest)
    if seen is not None:
        return _skipped(seen, str(path))

    kind = detect_format(path) if fmt == "auto" else fmt
    table = parse_file(path, kind, epoch_unit)  # DataError before anything is written
    series = table.series
    loaded_at = (clock or SystemClock()).now()
    with store.transaction() as repos:
        seen = repos.ingests.find(digest)  # loaded meanwhile by someone else
        if seen is not None:
            return _skipped(seen, str(path))
        before = repos.measurements.count(series)
        push = PushRepository(repos.connection)
        late = _late_buckets(table, push.latest_buckets(series))
        rows = repos.measurements.upsert(table.aggregated_rows())
        new_rows = repos.measurements.count(series) - before
        repos.ingests.add(IngestRecord(digest, str(path), kind, rows, series, loaded_at))
        _announce(push, table, digest, rows, late, loaded_at)
    return IngestReport(rows, series, new_rows, False, str(path), kind, digest)


def _late_buckets(table: MeasurementTable, latest: dict[str, int]) -> int:
    """Buckets of the file before the newest stored bucket of their series."""
    late = 0
    for i, name in enumerate(table.series):
        newest = latest.get(name)
        if newest is not None:
            stamps = np.unique(table.timestamps[table.offsets[i] : table.offsets[i + 1]])
            late += int(np.count_nonzero(stamps < newest))
    return late


def _announce(
    push: PushRepository,
    table: MeasurementTable,
    digest: str,
    rows: int,
    late: int,
    at: datetime,
) -> None:
    """Record the file's buckets as a batch (key ``ingest:<sha256>``) in the same
    transaction, so that a running ``slm serve`` treats late rows in it as it treats a
    late push batch: stored evaluations whose span holds them are superseded and the SLOs
    that read them are re-evaluated."""
    if len(table.timestamps) == 0:
        return
    batch_id = push.claim(f"ingest:{digest}", digest, "ingest", at)  # the path is in ingests
    if batch_id is None:
        return
    push.complete(
        batch_id,
        items=rows,
        series=table.series,
        min_bucket=int(table.timestamps.min()),
        max_bucket=int(table.timestamps.max()),
        late_items=late,
        out_of_order_items=0,
    )


def parse_file(path: Path, fmt: IngestFormat, epoch_unit: EpochOption = "auto") -> MeasurementTable:
    """The measurements of a file in the given format (``auto`` detects it)."""
    kind = detect_format(path) if fmt == "auto" else fmt
    if kind in ("csv", "parquet"):
        return read_tabular(path, kind, epoch_unit)
    return read_exposition(path, openmetrics=kind == "openmetrics")


def detect_format(path: Path) -> IngestFormat:
    """From the suffix, the Parquet magic bytes, a CSV header or an ``# EOF`` line."""
    tabular = tabular_format(path)
    if tabular is not None:
        return tabular
    head = _head(path)
    first = next((line.strip() for line in head.splitlines() if line.strip()), "")
    if path.suffix.lower() not in _EXPOSITION_SUFFIXES and first.startswith("timestamp,"):
        return "csv"
    text = path.read_text(encoding="utf-8", errors="replace")
    return "openmetrics" if is_openmetrics(text) else "prometheus"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as e:
        raise DataError(f"{path}: cannot read: {e.strerror}") from e
    return digest.hexdigest()


def _head(path: Path, size: int = 4096) -> str:
    with path.open("rb") as f:
        return f.read(size).decode("utf-8", errors="replace")


def _skipped(seen: IngestRecord, path: str) -> IngestReport:
    return IngestReport(seen.rows, seen.series, 0, True, path, seen.format, seen.sha256)
