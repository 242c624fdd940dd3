"""Error budget of a window from its ``Tally``.

Budget total = (1 - target) x units counted (events for Occurrences, slices for the
time-slice methods); consumed = bad units (bad events, bad slices, or the sum of
``1 - ratio`` for RatioTimeslices); remaining = total - consumed (negative when overspent).

In minutes: Occurrences give the budget as a share of the full period,
``(1 - target) x period minutes``, and consume it in proportion (consumed / total budget);
the time-slice methods count ``slice minutes`` per slice.

The arithmetic is exact: the target is the decimal it was written as (``0.999``, not the
binary float nearest to it), counts and durations enter as exact rationals, and every
figure is rounded once, to the nearest float, at the end. So 0.1 % of 30 days is 43.2
minutes, not 43.20000000000004, and a window without a bad unit keeps exactly all of its
budget. Counts that are not finite have no finite budget (no ratio, no minutes consumed).
"""

from __future__ import annotations

import math
from datetime import timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Literal

from slm.domain.results import ErrorBudget
from slm.domain.tally import Tally

_MICROSECONDS_PER_MINUTE = 60_000_000


def check_target(target: float) -> None:
    if not 0.0 < target < 1.0:
        raise ValueError(f"objective target must be in (0, 1), got {target}")


@lru_cache(maxsize=256)
def error_share(target: float) -> Fraction:
    """``1 - target`` exactly, reading the target as the shortest decimal that gives it
    (``repr``): targets are written as decimals (``99.9`` %, ``0.999``)."""
    return 1 - Fraction(repr(target))


def minutes(duration: timedelta) -> Fraction:
    """A duration in minutes, exactly."""
    return Fraction(duration // timedelta(microseconds=1), _MICROSECONDS_PER_MINUTE)


def _finite(*xs: float) -> bool:
    return all(math.isfinite(x) for x in xs)


def occurrences_budget(tally: Tally, target: float, period: timedelta) -> ErrorBudget:
    share = error_share(target)
    total_minutes = share * minutes(period)
    if not _finite(tally.total, tally.bad):
        return _unbounded(tally, share, "events", total_minutes=float(total_minutes))
    total = share * Fraction(tally.total)
    consumed = Fraction(tally.bad)
    remaining = total - consumed
    if total <= 0:
        return ErrorBudget(
            total=float(total),
            consumed=float(consumed),
            remaining=float(remaining),
            remaining_ratio=None,
            unit="events",
            total_minutes=float(total_minutes),
        )
    consumed_minutes = consumed / total * total_minutes
    return ErrorBudget(
        total=float(total),
        consumed=float(consumed),
        remaining=float(remaining),
        remaining_ratio=float(remaining / total),
        unit="events",
        total_minutes=float(total_minutes),
        consumed_minutes=float(consumed_minutes),
        remaining_minutes=float(total_minutes - consumed_minutes),
    )


def slices_budget(tally: Tally, target: float, slice_window: timedelta) -> ErrorBudget:
    share = error_share(target)
    if not _finite(tally.total, tally.bad):
        return _unbounded(tally, share, "slices")
    per_slice = minutes(slice_window)
    total = share * Fraction(tally.total)
    consumed = Fraction(tally.bad)
    remaining = total - consumed
    return ErrorBudget(
        total=float(total),
        consumed=float(consumed),
        remaining=float(remaining),
        remaining_ratio=float(remaining / total) if total > 0 else None,
        unit="slices",
        total_minutes=float(total * per_slice),
        consumed_minutes=float(consumed * per_slice),
        remaining_minutes=float(remaining * per_slice),
    )


def _unbounded(
    tally: Tally,
    share: Fraction,
    unit: Literal["events", "slices"],
    total_minutes: float | None = None,
) -> ErrorBudget:
    """Counts that are not finite have no finite budget: no ratio, no minutes consumed."""
    total = float(share) * tally.total
    return ErrorBudget(
        total=total,
        consumed=tally.bad,
        remaining=total - tally.bad,
        remaining_ratio=None,
        unit=unit,
        total_minutes=total_minutes,
    )
