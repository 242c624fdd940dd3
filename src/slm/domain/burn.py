"""Burn rate: how fast the error budget is spent, relative to spending it evenly.

``burn = error ratio over w / (1 - target)``: 1 spends exactly the budget over the period,
14.4 spends 2% of a 30-day budget in one hour. ``None`` when the window holds no units.

Time to exhaustion is ``remaining_ratio x period / burn``, at the burn rate over the
*shortest long alert window* of the catalogue (1h for the SRE Workbook catalogues; see
``evaluation.exhaustion_window``): long enough not to flap on a single bad minute, short
enough to be "the current rate". ``timedelta(0)`` when the budget is already spent,
``None`` ("never") when nothing is burning or the budget would last longer than
``EXHAUSTION_HORIZON`` (100 years) at that rate.

A single burn rate is exact: the error ratio of the summed counts over the exact
``1 - target`` (see ``budget.error_share``), rounded once, so 1 bad of 1000 events at a
99.9 % target burns at exactly 1.0 and a window without bad units at exactly 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from slm.domain.budget import error_share, share_terms, terms
from slm.domain.model import MissingData
from slm.domain.series import EventSeries, FloatArray
from slm.domain.tally import Counting, IntArray, PrefixSums, Tally

EXHAUSTION_HORIZON = timedelta(days=36525)


def burn_rate(tally: Tally, target: float) -> float | None:
    if tally.total <= 0:
        return None
    bad, total = tally.bad, tally.total
    if not (math.isfinite(bad) and math.isfinite(total)):
        return (bad / total) / float(error_share(target))
    # (bn/bd) / (tn/td) / (p/q) as one quotient of integers: correctly rounded, the same
    # float as with ``Fraction`` (see ``budget``)
    bn, bd = terms(bad)
    tn, td = terms(total)
    p, q = share_terms(target)
    return (bn * td * q) / (bd * tn * p)


def time_to_exhaustion(
    remaining_ratio: float | None, period: timedelta, burn: float | None
) -> timedelta | None:
    """``remaining_ratio x period / burn``; ``None`` for never (nothing burning, or beyond
    ``EXHAUSTION_HORIZON``), ``timedelta(0)`` when the budget is spent."""
    if remaining_ratio is None or math.isnan(remaining_ratio):
        return None
    if remaining_ratio <= 0:
        return timedelta(0)
    if burn is None or not burn > 0:
        return None
    seconds = period.total_seconds() * remaining_ratio / burn  # inf on overflow, never raises
    if not seconds <= EXHAUSTION_HORIZON.total_seconds():
        return None
    return timedelta(seconds=seconds)


def bucket_count(window: timedelta, step: timedelta) -> int:
    """Buckets in an alert window: ``window // step``, at least one."""
    return max(1, int(window // step))


def instant_indices(events: EventSeries, instants: Sequence[datetime]) -> IntArray:
    """Bucket boundary index of each instant (floored to the grid, not clipped)."""
    step = events.step
    return np.fromiter(
        ((t - events.start) // step for t in instants), dtype=np.int64, count=len(instants)
    )


def burn_rate_series(
    events: EventSeries,
    window: timedelta,
    target: float,
    instants: Sequence[datetime],
    *,
    missing: MissingData = MissingData.IGNORE,
    per_point: bool = False,
    sums: PrefixSums | None = None,
) -> FloatArray:
    """Event burn rate (Occurrences) over ``[t - window, t)`` for every instant ``t``.

    Vectorised over the instants with prefix sums; ``NaN`` where the window has no events
    (``burn_rate`` returns ``None`` there). Pass ``sums`` to reuse prefix sums across
    windows. ``per_point``/``missing`` apply a threshold metric's missing-data policy.
    """
    if sums is None:
        sums = PrefixSums(events, Counting(missing, per_point))
    hi = instant_indices(events, instants)
    lo = hi - bucket_count(window, events.step)
    good, total = sums.arrays(lo, hi)
    out = np.full(len(hi), np.nan)
    np.divide(total - good, total, out=out, where=total > 0)
    return out / float(error_share(target))
