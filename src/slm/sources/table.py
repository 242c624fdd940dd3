"""A parsed measurement file: rows of (series, timestamp, value), grouped by series.

Timestamps are Unix seconds UTC (``int64``), values ``float64``. Rows are sorted by series
then timestamp, so one series is a contiguous slice and duplicates are neighbours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from slm.domain.errors import DataError
from slm.domain.instants import MAX_VALUE, iso
from slm.domain.series import Buckets
from slm.sources.grid import FloatArray, IntArray, to_buckets

MeasurementRow = tuple[str, int, float]
LabelColumn = tuple[Sequence[str], npt.NDArray[np.integer]]
"""A label column as its distinct values and each row's index into them."""


@dataclass(frozen=True, eq=False)
class MeasurementTable:
    path: str
    series: tuple[str, ...]
    offsets: IntArray  # rows of series[i] are [offsets[i], offsets[i + 1])
    timestamps: IntArray
    values: FloatArray
    # the file's other columns (grouping labels), in row order: values and codes
    labels: dict[str, LabelColumn] = field(default_factory=dict)
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {name: i for i, name in enumerate(self.series)})

    @classmethod
    def from_columns(
        cls,
        path: str,
        names: Sequence[str],
        codes: npt.NDArray[np.integer],
        timestamps: IntArray,
        values: FloatArray,
        labels: Mapping[str, LabelColumn] | None = None,
    ) -> MeasurementTable:
        """Group rows whose series is ``names[codes[i]]``; unused names are dropped.
        ``labels``: the other columns, kept in the same row order (grouped SLOs)."""
        order_of_names = np.argsort(np.asarray(names, dtype=object), kind="stable")
        rank = np.empty(len(names), dtype=np.int64)
        rank[order_of_names] = np.arange(len(names))
        ranked = rank[codes] if len(names) else np.zeros(0, dtype=np.int64)
        order = np.lexsort((timestamps, ranked))
        ranked = ranked[order]
        counts = np.bincount(ranked, minlength=len(names))
        used = counts > 0
        sorted_names = [names[i] for i in order_of_names]
        offsets = np.concatenate(([0], np.cumsum(counts[used]))).astype(np.int64)
        return cls(
            path=path,
            series=tuple(n for n, u in zip(sorted_names, used, strict=True) if u),
            offsets=offsets,
            timestamps=timestamps[order].astype(np.int64, copy=False),
            values=values[order].astype(np.float64, copy=False),
            labels={k: (names_, c[order]) for k, (names_, c) in (labels or {}).items()},
        )

    def __len__(self) -> int:
        return len(self.timestamps)

    def __contains__(self, series: object) -> bool:
        return series in self._index

    def rows_of(self, series: str) -> tuple[IntArray, FloatArray]:
        """Timestamps and values of one series (empty arrays when it is not in the file)."""
        i = self._index.get(series)
        if i is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.timestamps[lo:hi], self.values[lo:hi]

    def buckets(self, series: str, start: datetime, end: datetime, step: timedelta) -> Buckets:
        ts, values = self.rows_of(series)
        return to_buckets(ts, values, start, end, step)

    def group_buckets(
        self, series: str, labels: tuple[str, ...], start: datetime, end: datetime, step: timedelta
    ) -> dict[tuple[tuple[str, str], ...], Buckets]:
        """``series`` per group of the values of the ``labels`` columns (grouped SLOs)."""
        missing = [name for name in labels if name not in self.labels]
        if missing:
            have = ", ".join(sorted(self.labels)) or "none besides timestamp, series, value"
            raise DataError(
                f"{self.path}: no column {', '.join(map(repr, missing))} to group by (a grouped "
                f"SLO needs a column per grouping label; the file's other columns: {have})"
            )
        i = self._index.get(series)
        if i is None:
            return {}
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        ts, values = self.timestamps[lo:hi], self.values[lo:hi]
        codes = np.stack([self.labels[name][1][lo:hi] for name in labels], axis=1)
        keys, inverse = np.unique(codes, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        out = {}
        for k, key in enumerate(keys.tolist()):
            group = tuple(
                (name, str(self.labels[name][0][c])) for name, c in zip(labels, key, strict=True)
            )
            mask = inverse == k
            out[group] = to_buckets(ts[mask], values[mask], start, end, step)
        return out

    def aggregated_rows(self) -> Iterator[MeasurementRow]:
        """One row per (series, timestamp), duplicates summed, in series/time order."""
        if len(self) == 0:
            return
        codes = np.repeat(np.arange(len(self.series)), np.diff(self.offsets))
        first = np.ones(len(self), dtype=np.bool_)
        first[1:] = (codes[1:] != codes[:-1]) | (self.timestamps[1:] != self.timestamps[:-1])
        starts = np.flatnonzero(first)
        sums = np.add.reduceat(self.values, starts)
        names = [self.series[c] for c in codes[starts].tolist()]
        yield from zip(names, self.timestamps[starts].tolist(), sums.tolist(), strict=True)

    def check_sums(self) -> None:
        """Refuse (``DataError``) a bucket whose rows sum above the largest storable value."""
        if len(self) == 0:
            return
        codes = np.repeat(np.arange(len(self.series)), np.diff(self.offsets))
        first = np.ones(len(self), dtype=np.bool_)
        first[1:] = (codes[1:] != codes[:-1]) | (self.timestamps[1:] != self.timestamps[:-1])
        starts = np.flatnonzero(first)
        with np.errstate(over="ignore"):
            sums = np.add.reduceat(self.values, starts)
        bad = ~np.isfinite(sums) | (sums > MAX_VALUE)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            row = int(starts[k])
            raise DataError(
                f"{self.path}: series {self.series[int(codes[row])]!r}, bucket "
                f"{iso(int(self.timestamps[row]))}: its rows sum to {float(sums[k])!r}, above "
                f"the largest storable value 2**53 ({MAX_VALUE:.0f})"
            )

    def count_aggregated(self) -> int:
        if len(self) == 0:
            return 0
        codes = np.repeat(np.arange(len(self.series)), np.diff(self.offsets))
        same = (codes[1:] == codes[:-1]) & (self.timestamps[1:] == self.timestamps[:-1])
        return len(self) - int(same.sum())
