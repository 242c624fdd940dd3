"""Bucketed measurements: numpy arrays on a regular UTC grid.

A ``Buckets`` is what a metric source returns for one query: ``values[i]`` belongs to the
bucket that starts at ``start + i * step``; ``present[i]`` says whether the source had data
for it (a gap is never a silent zero). ``EventSeries`` is what the engine evaluates: good
and total events per bucket on one grid, whatever the indicator's shape was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_STEP = timedelta(minutes=1)


def floor_to_step(t: datetime, step: timedelta) -> datetime:
    """Largest grid point <= t (the grid is anchored at the Unix epoch, in UTC)."""
    if t.tzinfo is None:
        raise ValueError("naive datetime: every instant must carry a time zone")
    secs = int(step.total_seconds())
    ts = int(t.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(ts - ts % secs, tz=UTC)


@dataclass(frozen=True, eq=False)
class Buckets:
    start: datetime
    step: timedelta
    values: FloatArray
    present: BoolArray

    def __post_init__(self) -> None:
        if self.values.shape != self.present.shape:
            raise ValueError("values and present must have the same shape")
        if self.start.tzinfo is None:
            raise ValueError("Buckets.start must be timezone-aware")

    @property
    def end(self) -> datetime:
        return self.start + self.step * len(self.values)

    def __len__(self) -> int:
        return len(self.values)

    @classmethod
    def empty(cls, start: datetime, end: datetime, step: timedelta) -> Buckets:
        n = max(0, int((end - start) / step))
        return cls(start, step, np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.bool_))


@dataclass(frozen=True, eq=False)
class EventSeries:
    """Good and total events per bucket; ``present`` marks buckets that have data."""

    start: datetime
    step: timedelta
    good: FloatArray
    total: FloatArray
    present: BoolArray

    def __post_init__(self) -> None:
        if not (self.good.shape == self.total.shape == self.present.shape):
            raise ValueError("good, total and present must have the same shape")
        if self.start.tzinfo is None:
            raise ValueError("EventSeries.start must be timezone-aware")

    @property
    def end(self) -> datetime:
        return self.start + self.step * len(self.good)

    def __len__(self) -> int:
        return len(self.good)

    def index_of(self, t: datetime) -> int:
        """Index of the bucket boundary at ``t``, clipped to ``[0, len]``.

        ``t`` is rounded down to the grid: the bucket that contains ``t`` is not yet
        complete and does not count.
        """
        i = int((t - self.start) // self.step)
        return min(max(i, 0), len(self.good))
