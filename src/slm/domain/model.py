"""The domain model: what an SLO *is*, independent of the format it was written in.

Every spec format (OpenSLO v1/v1alpha/v2alpha, Sloth, slm/v1) maps to these frozen
dataclasses through ``slm.spec.mapper``; every later layer reads only these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

from slm.domain.durations import parse_duration


@dataclass(frozen=True)
class Origin:
    """Where an object was defined: file, line and the format it came in."""

    path: str
    line: int | None = None
    api_version: str = ""
    kind: str = ""


class BudgetingMethod(str, Enum):  # noqa: UP042 (str() stays "Name.MEMBER")
    OCCURRENCES = "Occurrences"
    TIMESLICES = "Timeslices"
    RATIO_TIMESLICES = "RatioTimeslices"


class MissingData(str, Enum):  # noqa: UP042
    """How a bucket or time slice without data counts.

    ``IGNORE`` (the default) leaves it out of both numerator and denominator and lowers the
    coverage; ``GOOD`` and ``BAD`` count a missing *slice* (Timeslices, RatioTimeslices and
    threshold metrics) as good or bad. Event counts are never invented: for ratio
    Occurrences a gap contributes no events whatever the policy, and shows in coverage.
    """

    IGNORE = "ignore"
    GOOD = "good"
    BAD = "bad"


Operator = Literal["lt", "lte", "gt", "gte"]


@dataclass(frozen=True)
class Service:
    name: str
    display_name: str = ""
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    origin: Origin | None = None


@dataclass(frozen=True)
class DataSource:
    """A named backend (OpenSLO ``DataSource``): ``type`` picks the adapter."""

    name: str
    type: str
    connection_details: Mapping[str, Any] = field(default_factory=dict)
    base_dir: str = "."  # directory of the spec file, for relative paths
    origin: Origin | None = None


@dataclass(frozen=True)
class MetricQuery:
    """One metric source as an SLI refers to it.

    ``source`` is the DataSource name (``None`` when the type is given inline),
    ``source_type`` the adapter type (``File``, ``Prometheus`` ...), ``spec`` the adapter
    specific part (``{"series": "checkout_good"}`` for files, ``{"query": "..."}`` for
    Prometheus). ``base_dir`` resolves relative paths of inline file sources.
    ``counter`` is copied from the ratio metric: the query returns a cumulative counter
    that the source turns into increases per bucket.
    """

    source: str | None
    source_type: str
    spec: Mapping[str, Any]
    base_dir: str = "."
    counter: bool = False

    @cached_property
    def key(self) -> str:
        """Identity for caches and memos: equal keys read equal buckets (computed once:
        a query, like its spec, does not change)."""
        return json.dumps(
            [self.source, self.source_type, dict(self.spec), self.base_dir, self.counter],
            sort_keys=True,
            default=str,
        )


@dataclass(frozen=True)
class RatioMetric:
    """good/total, bad/total or a raw ratio.

    Exactly one of ``good``, ``bad`` or ``raw`` is set. With ``raw`` the source already
    returns a ratio per bucket; ``raw_type`` says whether it is the success or failure
    ratio. ``counter`` says the query returns a cumulative counter rather than counts per
    bucket (sources turn counters into increases).
    """

    total: MetricQuery | None
    good: MetricQuery | None = None
    bad: MetricQuery | None = None
    raw: MetricQuery | None = None
    raw_type: Literal["success", "failure"] | None = None
    counter: bool = False


@dataclass(frozen=True)
class ThresholdMetric:
    """A metric whose value per bucket is compared with an objective's ``op``/``value``."""

    metric: MetricQuery


@dataclass(frozen=True)
class Indicator:
    name: str
    ratio: RatioMetric | None = None
    threshold: ThresholdMetric | None = None
    display_name: str = ""
    description: str = ""
    missing_data: MissingData = MissingData.IGNORE
    origin: Origin | None = None

    def queries(self) -> dict[str, MetricQuery]:
        """The queries this indicator reads, by role: ``metric`` for a threshold SLI;
        ``good``, ``bad``, ``total`` and ``raw`` (those that are set) for a ratio."""
        if self.threshold is not None:
            return {"metric": self.threshold.metric}
        if self.ratio is None:
            return {}
        r = self.ratio
        roles = {"good": r.good, "bad": r.bad, "total": r.total, "raw": r.raw}
        return {role: q for role, q in roles.items() if q is not None}


@dataclass(frozen=True)
class RollingWindow:
    duration: timedelta

    kind: Literal["rolling"] = "rolling"


CalendarUnit = Literal["minute", "hour", "day", "week", "month", "quarter", "year"]


@dataclass(frozen=True)
class CalendarWindow:
    """``count`` calendar ``unit``s aligned to ``start`` in the IANA zone ``time_zone``."""

    unit: CalendarUnit
    count: int
    start: datetime  # timezone-aware, in ``time_zone``
    time_zone: str

    kind: Literal["calendar"] = "calendar"


Window = RollingWindow | CalendarWindow


@dataclass(frozen=True)
class Objective:
    """One objective of an SLO. ``target`` is a ratio in (0, 1)."""

    name: str
    target: float
    display_name: str = ""
    op: Operator | None = None
    value: float | None = None
    time_slice_target: float | None = None
    time_slice_window: timedelta | None = None
    composite_weight: float | None = None
    indicator: Indicator | None = None  # v2alpha/Sloth: per-objective indicator override


@dataclass(frozen=True)
class AlertWindow:
    """One row of an alert-window catalogue (multi-window, multi-burn-rate).

    The burn factor is derived, never stored: ``budget_percent`` of the budget consumed
    over ``long`` means a burn rate of ``budget_percent/100 * period / long``.
    """

    severity: str  # "page" | "ticket" | user defined
    long: timedelta
    short: timedelta
    budget_percent: float

    def factor(self, period: timedelta) -> float:
        """Exact, rounded once (``budget_percent`` read as the decimal it was written as):
        5 % of 30 days over 6h is 6.0, 2 % over 1h 14.4."""
        us = timedelta(microseconds=1)
        exact = Fraction(repr(self.budget_percent)) / 100 * Fraction(period // us, self.long // us)
        return float(exact)


@dataclass(frozen=True)
class AlertCatalogue:
    name: str
    period: timedelta
    windows: tuple[AlertWindow, ...]


@dataclass(frozen=True)
class AlertPolicyRef:
    name: str


EVALUATION_INTERVAL = "slm.dev/evaluation-interval"
"""The SLO annotation giving how often ``slm serve`` evaluates it (a duration, >= 1s)."""
MIN_EVALUATION_INTERVAL = timedelta(seconds=1)


@dataclass(frozen=True)
class SLO:
    name: str
    service: str
    indicator: Indicator
    window: Window
    budgeting_method: BudgetingMethod
    objectives: tuple[Objective, ...]
    display_name: str = ""
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    alert_policies: tuple[str, ...] = ()
    # Format-specific details later layers may need (e.g. Sloth's ``alerting`` block for
    # rule generation), keyed by format: {"sloth": {...}}.
    extras: Mapping[str, Any] = field(default_factory=dict)
    origin: Origin | None = None

    def indicator_for(self, objective: Objective) -> Indicator:
        return objective.indicator or self.indicator

    def evaluation_interval(self, default: timedelta) -> timedelta:
        """Its ``slm.dev/evaluation-interval``, else ``default``; ``ValueError`` when the
        annotation is not a duration of at least 1s (and at most 100 years)."""
        text = self.annotations.get(EVALUATION_INTERVAL)
        if text is None:
            return default
        return parse_duration(text, minimum=MIN_EVALUATION_INTERVAL)

    @property
    def grouping(self) -> tuple[str, ...]:
        """The labels a grouped SLO is measured by: one result per value of them (Pyrra's
        ``grouping``, the ``slm.dev/grouping`` annotation); empty for other SLOs."""
        return tuple(self.extras.get(GROUPING_EXTRA, ()))


GROUPING_EXTRA = "grouping"
"""The key of ``SLO.extras`` holding a grouped SLO's label names."""

Group = tuple[tuple[str, str], ...]
"""One group of a grouped SLO: its label values, in the SLO's grouping order."""


def group_text(group: Group) -> str:
    """``{region="eu", tier="gold"}`` (empty for an ungrouped result)."""
    if not group:
        return ""
    return "{" + ", ".join(f'{k}="{v}"' for k, v in group) + "}"
