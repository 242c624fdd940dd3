"""Counting good and total units over windows of bucket indices.

A window is a half-open range ``(lo, hi)`` of bucket indices of an ``EventSeries``; it may
reach beyond the series (negative ``lo``, ``hi > len``): those buckets are expected but
missing. A ``Tally`` is what a window holds, in the budgeting method's *unit* (events for
Occurrences, slices for the time-slice methods), so SLI, budget and burn rate have one
formula each whatever the method.

Two ways to count event windows, with equal results (tested):

- ``segment_counts``: the direct path for one instant. The windows of one evaluation are
  nested (they share their end), so the union is cut at every window edge and each array
  is reduced once with ``np.add.reduceat``: one pass over the longest window in total.
- ``PrefixSums``: for many instants (backtests, charts): cumulative sums built once, then
  every window is O(1).

Both sum *bad* and total units, never good ones: a window with no bad unit then has a bad
count of exactly 0 (adding zeros changes no float, and a difference of two equal prefix
sums is 0), so its SLI is exactly 1 and its burn rate exactly 0, whatever came before it.
Whole event counts are summed exactly: float64 holds every integer up to 2**53 (about
9e15, far beyond the events of any window), so their sums carry no rounding at all.
``good`` is ``total - bad``; ratios are formed only from the summed counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise

import numpy as np
import numpy.typing as npt

from slm.domain.model import MissingData
from slm.domain.series import EventSeries, FloatArray

IntArray = npt.NDArray[np.int64]
Range = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Tally:
    """Units in one window: ``good`` of ``total`` counted, and bucket coverage."""

    good: float
    total: float
    expected: int  # buckets in the window, by time
    present: int  # buckets in the window that have data

    @property
    def bad(self) -> float:
        return self.total - self.good

    @property
    def ratio(self) -> float | None:
        """Good ratio (the SLI over this window); ``None`` without units."""
        return self.good / self.total if self.total > 0 else None


@dataclass(frozen=True, slots=True)
class Counting:
    """How gaps count: ``per_point`` says each bucket is one data point (threshold
    metrics), so the policy ``GOOD``/``BAD`` turns a missing bucket into a good/bad point.
    For event counts (``per_point=False``) gaps never add events."""

    missing: MissingData = MissingData.IGNORE
    per_point: bool = False

    def fill(self, good: float, total: float, missing: int) -> tuple[float, float]:
        if not self.per_point or missing <= 0 or self.missing is MissingData.IGNORE:
            return good, total
        if self.missing is MissingData.GOOD:
            return good + missing, total + missing
        return good, total + missing


def _clip(i: int, n: int) -> int:
    return 0 if i < 0 else (n if i > n else i)


def tally_of(bad: float, total: float, expected: int, seen: int, counting: Counting) -> Tally:
    """The ``Tally`` of a window from its summed bad and total units (gaps filled per
    ``counting``); ``bad`` is kept within ``[0, total]`` against rounding of fractional
    counts."""
    bad = min(max(bad, 0.0), total)
    good, total = counting.fill(total - bad, total, expected - seen)
    return Tally(good, total, expected, seen)


def segment_counts(events: EventSeries, ranges: Sequence[Range], counting: Counting) -> list[Tally]:
    """Tallies of event windows, reducing each array once over the union of the windows.

    Sums keep the arrays' dtype (integer counts stay exact integers). ``present`` is
    counted with one pass when every bucket of the union has data (the usual case)."""
    n = len(events.good)
    bounds = [
        (0 if lo < 0 else n if lo > n else lo, 0 if hi < 0 else n if hi > n else hi)
        for lo, hi in ranges
    ]
    points = sorted({x for bound in bounds for x in bound})
    a, b = points[0], points[-1]
    cum_bad: list[float] = [0]
    cum_total: list[float] = [0]
    cum_present = [0]
    if a < b:
        cuts = np.array([x - a for x in points[:-1]], dtype=np.intp)
        segment_total = np.add.reduceat(events.total[a:b], cuts)
        # a segment whose buckets are all good sums the same values in the same order for
        # good and total: its bad count is exactly 0
        segment_bad = segment_total - np.add.reduceat(events.good[a:b], cuts)
        cum_bad += accumulate(segment_bad.tolist())
        cum_total += accumulate(segment_total.tolist())
        present = events.present[a:b]
        if np.count_nonzero(present) == b - a:
            cum_present = [x - a for x in points]
        else:
            cum_present += accumulate(
                int(np.count_nonzero(present[x - a : y - a])) for x, y in pairwise(points)
            )
    where = {p: i for i, p in enumerate(points)}
    out = []
    for (lo, hi), (x, y) in zip(ranges, bounds, strict=True):
        i = where[x]
        j = where[y] if y > x else i
        expected = hi - lo if hi > lo else 0
        seen = cum_present[j] - cum_present[i]
        bad, total = cum_bad[j] - cum_bad[i], cum_total[j] - cum_total[i]
        out.append(tally_of(bad, total, expected, seen, counting))
    return out


class PrefixSums:
    """Cumulative bad, total and present counts of a series: any window in O(1)."""

    def __init__(self, events: EventSeries, counting: Counting):
        self.n = len(events)
        self.counting = counting
        self.bad = _cumulative(events.total - events.good)
        self.total = _cumulative(events.total)
        self.present = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(events.present, out=self.present[1:])

    def counts(self, ranges: Sequence[Range]) -> list[Tally]:
        out = []
        for lo, hi in ranges:
            i, j = _clip(lo, self.n), _clip(hi, self.n)
            if j < i:
                j = i
            expected = max(0, hi - lo)
            seen = int(self.present[j] - self.present[i])
            bad = float(self.bad[j] - self.bad[i])
            total = float(self.total[j] - self.total[i])
            out.append(tally_of(bad, total, expected, seen, self.counting))
        return out

    def arrays(self, lo: IntArray, hi: IntArray) -> tuple[FloatArray, FloatArray]:
        """Vectorised good and total units of the windows ``[lo[i], hi[i])``."""
        i = np.clip(lo, 0, self.n)
        j = np.maximum(np.clip(hi, 0, self.n), i)
        total = self.total[j] - self.total[i]
        good = total - np.clip(self.bad[j] - self.bad[i], 0.0, total)
        c = self.counting
        if c.per_point and c.missing is not MissingData.IGNORE:
            missing = np.maximum(hi - lo, 0) - (self.present[j] - self.present[i])
            total = total + missing
            if c.missing is MissingData.GOOD:
                good = good + missing
        return good, total


def _cumulative(values: FloatArray) -> FloatArray:
    out = np.zeros(len(values) + 1, dtype=np.float64)
    np.cumsum(values, out=out[1:])
    return out
