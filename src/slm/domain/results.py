"""What an evaluation returns: one ``ObjectiveResult`` per SLO objective at an instant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from slm.domain.model import BudgetingMethod, Group, Window

Status = Literal["ok", "no_data"]


@dataclass(frozen=True)
class ErrorBudget:
    """Budget of the SLO window at ``at``.

    ``unit`` is ``events`` for Occurrences and ``slices`` for the time-slice methods;
    ``*_minutes`` give the same budget in minutes of time (time-slice methods and, for
    Occurrences, the window length times the budget fraction).
    """

    total: float
    consumed: float
    remaining: float
    remaining_ratio: float | None
    unit: Literal["events", "slices"]
    total_minutes: float | None = None
    consumed_minutes: float | None = None
    remaining_minutes: float | None = None


@dataclass(frozen=True)
class Coverage:
    """How much of the window had data: ``present`` of ``expected`` buckets."""

    expected: int
    present: int

    @property
    def ratio(self) -> float:
        return self.present / self.expected if self.expected else 0.0


@dataclass(frozen=True)
class AlertState:
    severity: str
    long_window: timedelta
    short_window: timedelta
    factor: float
    long_burn_rate: float | None
    short_burn_rate: float | None
    firing: bool

    @property
    def decided(self) -> bool:
        """Whether the data decide the alert: it fires, or a known burn rate is at or under
        the factor (which settles it whatever the other). Not decided: not firing only for
        want of data, which is never "ok"."""
        return self.firing or any(
            rate is not None and rate <= self.factor
            for rate in (self.long_burn_rate, self.short_burn_rate)
        )


@dataclass(frozen=True)
class ObjectiveResult:
    slo: str
    service: str
    objective: str
    target: float
    window: Window
    window_start: datetime
    at: datetime
    budgeting_method: BudgetingMethod
    good: float
    total: float
    sli: float | None
    error_budget: ErrorBudget
    burn_rates: Mapping[str, float | None]
    alerts: tuple[AlertState, ...]
    coverage: Coverage
    time_to_exhaustion: timedelta | None
    status: Status
    # End (exclusive) of what was evaluated: ``at`` floored to the bucket grid (and, for
    # the time-slice methods, to the last complete slice).
    window_end: datetime | None = None
    # Caveats about the data behind the numbers, e.g. that roll-ups stood in for buckets
    # retention removed. Empty when the numbers come from the finest data.
    notes: tuple[str, ...] = ()
    # The group a result of a grouped SLO is for (its label values); () otherwise.
    group: Group = ()
