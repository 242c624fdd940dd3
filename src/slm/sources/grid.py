"""Putting timestamped values on a regular UTC grid (the one aggregation every source shares)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from slm.domain.series import Buckets

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def step_seconds(step: timedelta) -> int:
    """The step as whole seconds (grids are integer Unix seconds)."""
    secs = step.total_seconds()
    if secs < 1 or secs != int(secs):
        raise ValueError(f"step must be a positive whole number of seconds, not {step}")
    return int(secs)


def unix_seconds(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError("naive datetime: every instant must carry a time zone")
    return int(t.timestamp())


def to_buckets(
    timestamps: IntArray, values: FloatArray, start: datetime, end: datetime, step: timedelta
) -> Buckets:
    """Sum ``values`` into the buckets ``[start, end)`` of width ``step``.

    ``timestamps`` are Unix seconds; a bucket is present when any timestamp falls in it.
    """
    out = Buckets.empty(start.astimezone(UTC), end, step)
    n = len(out)
    if n == 0 or len(timestamps) == 0:
        return out
    idx = (timestamps - unix_seconds(start)) // step_seconds(step)
    keep = (idx >= 0) & (idx < n)
    idx = idx[keep]
    out.values[:] = np.bincount(idx, weights=values[keep], minlength=n)[:n]
    out.present[:] = np.bincount(idx, minlength=n)[:n] > 0
    return out
