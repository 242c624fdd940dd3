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

Every figure is one rational ``n / d`` of Python integers (counts and durations as
``as_integer_ratio()``, the target's share as its reduced fraction), and ``n / d`` of two
``int`` is correctly rounded, so each figure is the float nearest to the exact value, equal
to what ``fractions.Fraction`` gives, at a fraction of its cost (no ``gcd`` per operation;
tested against ``Fraction`` in ``tests/domain/test_exact.py``).
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


@lru_cache(maxsize=256)
def share_terms(target: float) -> tuple[int, int]:
    """``error_share(target)`` as ``(numerator, denominator)``, denominator positive."""
    share = error_share(target)
    return share.numerator, share.denominator


def minutes(duration: timedelta) -> Fraction:
    """A duration in minutes, exactly."""
    return Fraction(duration // timedelta(microseconds=1), _MICROSECONDS_PER_MINUTE)


@lru_cache(maxsize=256)
def _minutes_terms(duration: timedelta) -> tuple[int, int]:
    return duration // timedelta(microseconds=1), _MICROSECONDS_PER_MINUTE


def terms(x: float) -> tuple[int, int]:
    """A finite count as ``(numerator, denominator)`` of integers, denominator positive."""
    if isinstance(x, float):  # also numpy's float64
        return x.as_integer_ratio()
    if isinstance(x, int):
        return int(x), 1
    exact = Fraction(x)
    return exact.numerator, exact.denominator


def _finite(*xs: float) -> bool:
    return all(math.isfinite(x) for x in xs)


@lru_cache(maxsize=256)
def _period_minutes(target: float, period: timedelta) -> float:
    p, q = share_terms(target)
    mn, md = _minutes_terms(period)
    return (p * mn) / (q * md)


def occurrences_budget(tally: Tally, target: float, period: timedelta) -> ErrorBudget:
    # with share = p/q, total units T = tn/td, bad units B = bn/bd, period minutes mn/md:
    # total = p T / q, remaining = total - B, minutes in proportion to total's share
    total_minutes = _period_minutes(target, period)
    if not _finite(tally.total, tally.bad):
        return _unbounded(tally, error_share(target), "events", total_minutes=total_minutes)
    p, q = share_terms(target)
    mn, md = _minutes_terms(period)
    tn, td = terms(tally.total)
    bn, bd = terms(tally.bad)
    left = p * tn * bd - q * td * bn  # remaining x q td bd
    if p * tn <= 0:
        return ErrorBudget(
            total=(p * tn) / (q * td),
            consumed=bn / bd,
            remaining=left / (q * td * bd),
            remaining_ratio=None,
            unit="events",
            total_minutes=total_minutes,
        )
    return ErrorBudget(
        total=(p * tn) / (q * td),
        consumed=bn / bd,
        remaining=left / (q * td * bd),
        remaining_ratio=left / (p * tn * bd),
        unit="events",
        total_minutes=total_minutes,
        consumed_minutes=(bn * td * mn) / (bd * tn * md),
        remaining_minutes=(mn * left) / (q * md * bd * tn),
    )


def slices_budget(tally: Tally, target: float, slice_window: timedelta) -> ErrorBudget:
    if not _finite(tally.total, tally.bad):
        return _unbounded(tally, error_share(target), "slices")
    p, q = share_terms(target)
    sn, sd = _minutes_terms(slice_window)
    tn, td = terms(tally.total)
    bn, bd = terms(tally.bad)
    left = p * tn * bd - q * td * bn  # remaining x q td bd
    return ErrorBudget(
        total=(p * tn) / (q * td),
        consumed=bn / bd,
        remaining=left / (q * td * bd),
        remaining_ratio=left / (p * tn * bd) if p * tn > 0 else None,
        unit="slices",
        total_minutes=(p * tn * sn) / (q * td * sd),
        consumed_minutes=(bn * sn) / (bd * sd),
        remaining_minutes=(left * sn) / (q * td * bd * sd),
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
