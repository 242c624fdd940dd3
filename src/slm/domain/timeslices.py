"""Time slices: Timeslices and RatioTimeslices budgeting.

A slice is ``k = time_slice_window / step`` buckets, aligned to the epoch grid in UTC;
only complete slices count. Its ratio is good/total events in it (for threshold metrics the
fraction of its data points that meet the threshold; missing points count per policy). A
slice without any present bucket is *missing*: ``IGNORE`` drops it, ``GOOD``/``BAD`` count
it with ratio 1/0. A present slice with 0 events has ratio 1. A slice that is not wholly
inside the series (before its first or after its last bucket) is missing.

The unit of a slice is 1 good slice when ``ratio >= time_slice_target`` (Timeslices) or
its ratio (RatioTimeslices), so ``Tally.good`` is the number of good slices or the sum of
ratios and ``Tally.total`` the number of slices counted. Every array operation is a
reshape-reduce over the needed span; windows are then O(1) through prefix sums.

The prefix sums are of *bad* units (a bad slice, or ``(total - good) / total``), which are
exactly 0 for a perfect slice: a window of perfect slices has exactly no bad units, an SLI
of exactly 1 and a burn rate of exactly 0, whatever fractional ratios came before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from slm.domain.model import BudgetingMethod, MissingData
from slm.domain.series import EventSeries, FloatArray
from slm.domain.tally import Counting, IntArray, Range, Tally

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SliceGrid:
    """Slices of ``k`` buckets; bucket ``i`` of the series starts a slice when
    ``i % k == phase``."""

    k: int
    phase: int

    @classmethod
    def of(cls, events: EventSeries, slice_window: timedelta) -> SliceGrid:
        k, rest = divmod(slice_window, events.step)
        if k < 1 or rest:
            raise ValueError(
                f"time slice window {slice_window} is not a positive multiple of the "
                f"bucket step {events.step}"
            )
        offset = (events.start - _EPOCH) // events.step
        return cls(int(k), int(-offset % k))

    def floor(self, i: int) -> int:
        """Largest slice boundary <= i."""
        return i - (i - self.phase) % self.k

    def ceil(self, i: int) -> int:
        """Smallest slice boundary >= i."""
        return i + (self.phase - i) % self.k


@dataclass(frozen=True, slots=True)
class SliceRule:
    method: BudgetingMethod
    counting: Counting
    slice_target: float | None = None

    def __post_init__(self) -> None:
        if self.method is BudgetingMethod.TIMESLICES and self.slice_target is None:
            raise ValueError("Timeslices needs a time_slice_target")


class SliceCounter:
    """Per-slice units over a span of the series, and their prefix sums.

    ``span`` (bucket indices, may reach beyond the series) bounds the slices computed;
    pass the union of the windows to count (direct path) or ``None`` for the whole series
    (many instants).
    """

    def __init__(
        self, events: EventSeries, grid: SliceGrid, rule: SliceRule, span: Range | None = None
    ):
        n = len(events)
        lo, hi = span if span is not None else (0, n)
        a = grid.ceil(max(lo, 0))
        b = grid.floor(min(hi, n))
        m = max(0, (b - a) // grid.k)
        b = a + m * grid.k
        self.grid, self.rule, self.first, self.m = grid, rule, a, m
        good, total, present = _slice_sums(events, a, b, grid.k)
        bad, counted = _slice_bad_units(good, total, present, grid.k, rule)
        self.bad = _cumulative(bad)
        self.counted = _cumulative(counted)
        self.present = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(present, out=self.present[1:])

    def counts(self, ranges: Sequence[Range]) -> list[Tally]:
        """Tallies of slice-aligned bucket windows ``[lo, hi)``."""
        k, out = self.grid.k, []
        for lo, hi in ranges:
            slices = max(0, (hi - lo) // k)
            i = min(max((lo - self.first) // k, 0), self.m)
            j = min(max((hi - self.first) // k, i), self.m)
            bad = float(self.bad[j] - self.bad[i])
            total = float(self.counted[j] - self.counted[i])
            outside = slices - (j - i)
            missing = self.rule.counting.missing
            if outside > 0 and missing is not MissingData.IGNORE:
                total += outside
                bad += outside if missing is MissingData.BAD else 0
            bad = min(max(bad, 0.0), total)
            seen = int(self.present[j] - self.present[i])
            out.append(Tally(total - bad, total, max(0, hi - lo), seen))
        return out

    def arrays(self, lo: IntArray, hi: IntArray) -> tuple[FloatArray, FloatArray]:
        """Vectorised good and total units of slice-aligned windows ``[lo[i], hi[i])``."""
        k = self.grid.k
        slices = np.maximum(0, (hi - lo) // k)
        i = np.clip((lo - self.first) // k, 0, self.m)
        j = np.maximum(np.clip((hi - self.first) // k, 0, self.m), i)
        bad = self.bad[j] - self.bad[i]
        total = self.counted[j] - self.counted[i]
        outside = slices - (j - i)
        missing = self.rule.counting.missing
        if missing is not MissingData.IGNORE:
            total = total + outside
            if missing is MissingData.BAD:
                bad = bad + outside
        return total - np.clip(bad, 0.0, total), total


def _slice_sums(
    events: EventSeries, a: int, b: int, k: int
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
    good = _per_slice(events.good[a:b], k, np.float64)
    total = _per_slice(events.total[a:b], k, np.float64)
    flags = events.present[a:b]
    if np.count_nonzero(flags) == len(flags):  # no gap (the usual case): one fast pass
        return good, total, np.full(len(good), k, dtype=np.intp)
    return good, total, _per_slice(flags, k, np.intp)


_COLUMN_ADDS_UP_TO = 24  # measured: k column adds beat a reduction over a short inner axis


def _per_slice(values: npt.NDArray[Any], k: int, dtype: type[Any]) -> npt.NDArray[Any]:
    """Sum of every ``k`` consecutive values (``len(values)`` is a multiple of ``k``)."""
    table = values.reshape(-1, k)
    if k > _COLUMN_ADDS_UP_TO:
        summed: npt.NDArray[Any] = table.sum(axis=1, dtype=dtype)
        return summed
    if k == 1:
        return table[:, 0].astype(dtype)
    out: npt.NDArray[Any] = np.add(table[:, 0], table[:, 1], dtype=dtype)
    for column in range(2, k):  # one vector add per bucket of a slice, not per slice
        out += table[:, column]
    return out


def _slice_bad_units(
    good: FloatArray, total: FloatArray, present: npt.NDArray[np.intp], k: int, rule: SliceRule
) -> tuple[FloatArray, FloatArray]:
    """Bad units (bad slice 0/1, or ``1 - ratio`` as ``(total - good) / total``) and
    counted flags per slice."""
    missing = rule.counting.missing
    if rule.counting.per_point and missing is not MissingData.IGNORE:
        gap = k - present
        total = total + gap
        good = good + gap if missing is MissingData.GOOD else good
        present = np.full_like(present, k)
    has_data = present > 0
    if rule.method is BudgetingMethod.TIMESLICES:
        assert rule.slice_target is not None
        ratio = np.ones_like(good)
        np.divide(good, total, out=ratio, where=total > 0)
        bad = (ratio < rule.slice_target).astype(np.float64)
    else:
        bad = np.zeros_like(good)
        np.divide(total - good, total, out=bad, where=total > 0)
    if missing is MissingData.IGNORE:
        counted = has_data.astype(np.float64)
    else:
        counted = np.ones_like(good)
        bad[~has_data] = 0.0 if missing is MissingData.GOOD else 1.0
    return bad * counted, counted


def _cumulative(values: FloatArray) -> FloatArray:
    out = np.zeros(len(values) + 1, dtype=np.float64)
    np.cumsum(values, out=out[1:])
    return out
