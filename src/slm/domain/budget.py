"""Error budget of a window from its ``Tally``.

Budget total = (1 - target) x units counted (events for Occurrences, slices for the
time-slice methods); consumed = bad units (bad events, bad slices, or the sum of
``1 - ratio`` for RatioTimeslices); remaining = total - consumed (negative when overspent).

In minutes: Occurrences give the budget as a share of the full period,
``(1 - target) x period minutes``, and consume it in proportion (consumed / total budget);
the time-slice methods count ``slice minutes`` per slice.
"""

from __future__ import annotations

from datetime import timedelta

from slm.domain.results import ErrorBudget
from slm.domain.tally import Tally


def check_target(target: float) -> None:
    if not 0.0 < target < 1.0:
        raise ValueError(f"objective target must be in (0, 1), got {target}")


def occurrences_budget(tally: Tally, target: float, period: timedelta) -> ErrorBudget:
    total = (1.0 - target) * tally.total
    consumed = tally.bad
    remaining = total - consumed
    total_minutes = (1.0 - target) * period.total_seconds() / 60.0
    if total > 0:
        consumed_minutes: float | None = consumed / total * total_minutes
        remaining_minutes: float | None = total_minutes - consumed / total * total_minutes
        remaining_ratio: float | None = remaining / total
    else:
        consumed_minutes = remaining_minutes = remaining_ratio = None
    return ErrorBudget(
        total=total,
        consumed=consumed,
        remaining=remaining,
        remaining_ratio=remaining_ratio,
        unit="events",
        total_minutes=total_minutes,
        consumed_minutes=consumed_minutes,
        remaining_minutes=remaining_minutes,
    )


def slices_budget(tally: Tally, target: float, slice_window: timedelta) -> ErrorBudget:
    total = (1.0 - target) * tally.total
    consumed = tally.bad
    remaining = total - consumed
    minutes = slice_window.total_seconds() / 60.0
    return ErrorBudget(
        total=total,
        consumed=consumed,
        remaining=remaining,
        remaining_ratio=remaining / total if total > 0 else None,
        unit="slices",
        total_minutes=total * minutes,
        consumed_minutes=consumed * minutes,
        remaining_minutes=remaining * minutes,
    )
