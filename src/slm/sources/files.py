"""The ``File`` metric source: measurements from a CSV or Parquet file.

An OpenSLO DataSource of ``type: File`` names the file in ``connectionDetails.path``
(relative to the spec file's directory); an SLI picks a series with
``metricSource.spec.series``. An inline source may give ``spec.path`` itself. The file
format is described in ``slm.sources.tabular``. Each file is parsed once per
``FileCache`` (the factory shares one between all the SLOs it serves) and parsed again
only when its size or modification time changes.

Only a regular file of at most ``MAX_FILE_BYTES`` is read: a directory, a symlink loop, a
device (``/dev/zero`` never ends, ``/dev/urandom`` never parses) or a FIFO is refused
before it is opened, by ``slm validate`` as by evaluation.
"""

from __future__ import annotations

import os
import stat as stat_mode
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slm.domain.errors import SourceError
from slm.domain.model import DataSource, Group, MetricQuery
from slm.domain.series import Buckets
from slm.sources.table import MeasurementTable

_Key = tuple[int, int]  # (size, mtime_ns)

MAX_FILE_BYTES = 1024**3
"""The largest measurement file read: 1 GiB (a year of minutes for 1,000 series in
Parquet is far below)."""


def measurement_file(path: Path) -> tuple[Path, os.stat_result]:
    """``path`` resolved, with its status; ``SourceError`` unless it is a regular file of
    at most ``MAX_FILE_BYTES``."""
    try:
        resolved = path.resolve()
        st = resolved.stat()
    except (OSError, RuntimeError) as e:  # RuntimeError: a symlink loop (Python 3.11)
        why = e.strerror if isinstance(e, OSError) and e.strerror else "a symlink loop"
        raise SourceError(f"{path}: cannot read the measurement file: {why}") from e
    if stat_mode.S_ISDIR(st.st_mode):
        raise SourceError(f"{resolved}: cannot read the measurement file: it is a directory")
    if not stat_mode.S_ISREG(st.st_mode):
        raise SourceError(
            f"{resolved}: cannot read the measurement file: not a regular file "
            "(a device, FIFO or socket)"
        )
    if st.st_size > MAX_FILE_BYTES:
        raise SourceError(
            f"{resolved}: the measurement file is larger than the limit of "
            f"{MAX_FILE_BYTES // 1024**3} GiB"
        )
    return resolved, st


def _read_tabular(path: Path) -> MeasurementTable:
    from slm.sources.tabular import read_tabular  # pyarrow loads only when a file is read

    return read_tabular(path)


class FileCache:
    """Parsed measurement files by resolved path; safe to share between threads."""

    def __init__(self, parse: Callable[[Path], MeasurementTable] | None = None):
        self._parse = parse or _read_tabular
        self._tables: dict[Path, tuple[_Key, MeasurementTable]] = {}
        self._lock = threading.Lock()
        self.parses = 0  # how many times a file was actually parsed

    def table(self, path: Path) -> MeasurementTable:
        path, stat = measurement_file(path)
        key = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._tables.get(path)
            if cached is not None and cached[0] == key:
                return cached[1]
            table = self._parse(path)
            self.parses += 1
            self._tables[path] = (key, table)
            return table


class FileSource:
    """Reads ``query.spec["series"]`` from the file of a ``File`` DataSource."""

    def __init__(self, datasource: DataSource | None, cache: FileCache | None = None):
        self.datasource = datasource
        self.cache = cache or FileCache()

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        table, series = self._table(query)
        return table.buckets(series, start, end, step)

    def read_groups(
        self,
        query: MetricQuery,
        labels: tuple[str, ...],
        start: datetime,
        end: datetime,
        step: timedelta,
    ) -> dict[Group, Buckets]:
        """Per group of the values in the file's ``labels`` columns (``GroupedSource``)."""
        table, series = self._table(query)
        return table.group_buckets(series, labels, start, end, step)

    def data_end(self, query: MetricQuery, step: timedelta) -> datetime | None:
        """The end of the last ``step`` bucket the series has rows in (``RecordedEnd``)."""
        series = query.spec.get("series")
        if not isinstance(series, str):
            return None
        timestamps, _ = self.cache.table(self.path_for(query)).rows_of(series)
        if len(timestamps) == 0:
            return None
        seconds = int(step.total_seconds())
        last = int(timestamps.max()) // seconds * seconds + seconds
        return datetime.fromtimestamp(last, UTC)

    def _table(self, query: MetricQuery) -> tuple[MeasurementTable, str]:
        path = self.path_for(query)
        series = query.spec.get("series")
        if not isinstance(series, str) or not series:
            raise SourceError(f"{self._label(query)}: spec.series must name a series in {path}")
        table = self.cache.table(path)
        if series not in table:
            known = ", ".join(table.series[:10]) + (" ..." if len(table.series) > 10 else "")
            raise SourceError(f"{path}: no series {series!r} in the file (it has: {known})")
        return table, series

    def path_for(self, query: MetricQuery) -> Path:
        """``spec.path`` of the query, else ``connectionDetails.path`` of the DataSource."""
        inline = query.spec.get("path")
        if isinstance(inline, str) and inline:
            return Path(query.base_dir) / inline
        if self.datasource is not None:
            path = self.datasource.connection_details.get("path")
            if isinstance(path, str) and path:
                return Path(self.datasource.base_dir) / path
        raise SourceError(
            f"{self._label(query)}: a File source needs connectionDetails.path "
            "(or spec.path inline)"
        )

    def _label(self, query: MetricQuery) -> str:
        name = self.datasource.name if self.datasource else query.source
        return f"DataSource {name}" if name else "inline File source"
