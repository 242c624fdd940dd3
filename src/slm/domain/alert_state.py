"""Alert states: inactive -> pending -> firing -> resolved, driven by successive evaluations.

An ``AlertRule`` is one alerting condition of one SLO objective: the burn rate over each of
its windows compared (``op``) with a threshold. A catalogue row (multi-window,
multi-burn-rate) is a rule over its long and short windows whose threshold is derived from
``budget_percent`` and the SLO period; an OpenSLO ``AlertCondition`` is a single-window rule
over its ``lookbackWindow`` with a fixed burn-rate ``threshold``, ``op`` and ``alertAfter``.

``advance(record, rule, observation, at, settings)`` is the whole state machine:

- inactive/resolved -> pending when the condition holds (a new *episode* starts); straight
  to firing when ``alert_after`` is zero.
- pending -> firing once the condition has held for ``alert_after`` (as Prometheus ``for``);
  pending -> inactive as soon as it does not hold.
- firing -> resolved only when the burn rate has fallen to ``resolve_ratio`` x threshold
  (hysteresis, 0.9 by default) *and* the alert has fired for at least ``min_firing``
  (default: the rule's shortest window, the short window of a catalogue row).
- No data (a window without events) neither fires nor resolves: the state is kept, unless
  the rule says ``no_data_fires`` (OpenSLO ``alertWhenNoData``), when it counts as met.

Why this hysteresis (SRE Workbook, "Alerting on SLOs", reset time): a burn-rate alert keeps
firing after an incident until the bad minutes leave its windows; the short window exists
so that this *reset time* is about the short window (5 minutes for the 1h page). Resolving
at 0.9 x threshold changes that reset time by ``short x 0.1 x threshold / burn`` (under
4 seconds for a 100% outage on the 1h/5m page) but stops an alert that hovers at the
threshold from resolving and re-firing on every evaluation. The minimum firing duration of
one short window never lengthens the reset time of an incident that outlasts its detection
(the short window has then cleared anyway); it only stops a blip from paging and resolving
within minutes.

Grouping: ``group_leaders`` puts every firing alert of one SLO under one leader: page
outranks ticket, then the earliest fired, so a page collects the ticket rows (and the other
page rows) of its SLO instead of each sending its own notification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from slm.domain.durations import format_duration
from slm.domain.model import AlertCatalogue, Operator

ZERO = timedelta(0)


class AlertStatus(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


# Lower ranks first: a page outranks a ticket. Unknown severities rank with tickets.
SEVERITY_RANK: Mapping[str, int] = {
    "page": 0,
    "critical": 0,
    "high": 1,
    "ticket": 2,
    "warning": 2,
    "low": 3,
    "info": 3,
}
_UNKNOWN_RANK = 2


def severity_rank(severity: str) -> int:
    return SEVERITY_RANK.get(severity.lower(), _UNKNOWN_RANK)


@dataclass(frozen=True)
class AlertRule:
    """One condition: ``burn(window) op threshold`` for every window, held ``alert_after``.

    Exactly one of ``threshold`` (a fixed burn rate, OpenSLO) and ``budget_percent`` (the
    percent of the period's budget spent within ``windows[0]``, catalogue rows) is set.
    """

    id: str
    severity: str
    windows: tuple[timedelta, ...]
    op: Operator = "gt"
    threshold: float | None = None
    budget_percent: float | None = None
    alert_after: timedelta = ZERO
    no_data_fires: bool = False
    policy: str = ""

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError(f"alert rule {self.id!r} has no window")
        if (self.threshold is None) == (self.budget_percent is None):
            raise ValueError(
                f"alert rule {self.id!r}: set exactly one of threshold, budget_percent"
            )
        if self.op not in ("gt", "gte", "lt", "lte"):
            raise ValueError(f"alert rule {self.id!r}: unknown op {self.op!r}")
        if self.alert_after < ZERO:
            raise ValueError(f"alert rule {self.id!r}: alert_after must not be negative")

    def factor(self, period: timedelta) -> float:
        """The burn-rate threshold for an SLO period of length ``period``."""
        if self.threshold is not None:
            return self.threshold
        assert self.budget_percent is not None
        return (self.budget_percent / 100.0) * (period / self.windows[0])

    @property
    def shortest_window(self) -> timedelta:
        return min(self.windows)


def catalogue_rules(catalogue: AlertCatalogue) -> tuple[AlertRule, ...]:
    """One rule per catalogue row, ids like ``page-1h-5m``."""
    return tuple(
        AlertRule(
            id=row_id(w.severity, w.long, w.short),
            severity=w.severity,
            windows=(w.long, w.short),
            budget_percent=w.budget_percent,
            policy=catalogue.name,
        )
        for w in catalogue.windows
    )


def row_id(severity: str, long: timedelta, short: timedelta) -> str:
    return f"{severity}-{format_duration(long)}-{format_duration(short)}"


@dataclass(frozen=True)
class AlertSettings:
    """Hysteresis: resolve below ``resolve_ratio`` x threshold after ``min_firing``.

    ``min_firing=None`` means the rule's shortest window. ``PROMETHEUS_SEMANTICS`` (ratio 1,
    no minimum) resolves as soon as the firing condition is false, like a Prometheus rule.
    """

    resolve_ratio: float = 0.9
    min_firing: timedelta | None = None

    def __post_init__(self) -> None:
        if not 0 < self.resolve_ratio <= 1:
            raise ValueError(f"resolve_ratio must be in (0, 1], got {self.resolve_ratio}")
        if self.min_firing is not None and self.min_firing < ZERO:
            raise ValueError("min_firing must not be negative")

    def min_firing_for(self, rule: AlertRule) -> timedelta:
        return rule.shortest_window if self.min_firing is None else self.min_firing

    def resolve_threshold(self, op: Operator, threshold: float) -> float:
        """The threshold the burn rate must cross back over to resolve."""
        return (
            threshold * self.resolve_ratio
            if op in ("gt", "gte")
            else threshold / self.resolve_ratio
        )


PROMETHEUS_SEMANTICS = AlertSettings(resolve_ratio=1.0, min_firing=ZERO)


def compare(op: Operator, value: float, threshold: float) -> bool:
    if op == "gt":
        return value > threshold
    if op == "gte":
        return value >= threshold
    if op == "lt":
        return value < threshold
    return value <= threshold


@dataclass(frozen=True)
class Observation:
    """One evaluation of a rule: ``met`` fires, ``holds`` keeps firing; ``None`` = no data."""

    met: bool | None
    holds: bool | None
    burn_rates: tuple[float | None, ...] = ()
    thresholds: tuple[float, ...] = ()


def observe(
    rule: AlertRule,
    burn_rates: Sequence[float | None],
    thresholds: Sequence[float],
    settings: AlertSettings,
) -> Observation:
    """Compare the burn rate of every window of ``rule`` with its threshold."""
    burns, limits = tuple(burn_rates), tuple(thresholds)
    if any(b is None for b in burns):
        flag = True if rule.no_data_fires else None
        return Observation(flag, flag, burns, limits)
    values = [b for b in burns if b is not None]
    met = all(compare(rule.op, v, t) for v, t in zip(values, limits, strict=True))
    holds = all(
        compare(rule.op, v, settings.resolve_threshold(rule.op, t))
        for v, t in zip(values, limits, strict=True)
    )
    return Observation(met, holds, burns, limits)


@dataclass(frozen=True)
class AlertRecord:
    """The state of one alert key. ``episode`` counts activations (pending or firing)."""

    status: AlertStatus = AlertStatus.INACTIVE
    episode: int = 0
    pending_since: datetime | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    evaluated_at: datetime | None = None


def advance(
    record: AlertRecord,
    rule: AlertRule,
    obs: Observation,
    at: datetime,
    settings: AlertSettings,
) -> AlertRecord:
    """The record after evaluating ``obs`` at ``at``; a stale ``at`` changes nothing."""
    if record.evaluated_at is not None and at <= record.evaluated_at:
        return record
    now = replace(record, evaluated_at=at)
    status = record.status
    if status in (AlertStatus.INACTIVE, AlertStatus.RESOLVED):
        if obs.met is not True:
            return now
        started = replace(
            now, episode=record.episode + 1, pending_since=at, fired_at=None, resolved_at=None
        )
        if rule.alert_after <= ZERO:
            return replace(started, status=AlertStatus.FIRING, fired_at=at)
        return replace(started, status=AlertStatus.PENDING)
    if status is AlertStatus.PENDING:
        if obs.met is False:
            return replace(now, status=AlertStatus.INACTIVE, pending_since=None)
        since = record.pending_since or at
        if obs.met is True and at - since >= rule.alert_after:
            return replace(now, status=AlertStatus.FIRING, fired_at=at)
        return now
    fired = record.fired_at or at
    if obs.holds is False and at - fired >= settings.min_firing_for(rule):
        return replace(now, status=AlertStatus.RESOLVED, resolved_at=at)
    return now


def next_timer(record: AlertRecord, rule: AlertRule, settings: AlertSettings) -> datetime | None:
    """When ``record`` may change although the observations do not (a timer runs out)."""
    if record.status is AlertStatus.PENDING and record.pending_since is not None:
        return record.pending_since + rule.alert_after
    if record.status is AlertStatus.FIRING and record.fired_at is not None:
        return record.fired_at + settings.min_firing_for(rule)
    return None


@dataclass(frozen=True)
class ActiveAlert:
    """What grouping needs to know of a firing alert."""

    key: str
    group: str
    severity: str
    fired_at: datetime


@dataclass(frozen=True)
class AlertGroup:
    """Firing alerts of one group (an SLO): the leader notifies, the members ride along."""

    key: str
    leader: str
    severity: str
    members: tuple[str, ...] = field(default_factory=tuple)


def group_alerts(alerts: Iterable[ActiveAlert]) -> list[AlertGroup]:
    """One group per group key, led by the most severe, then earliest fired, alert."""
    by_group: dict[str, list[ActiveAlert]] = {}
    for a in alerts:
        by_group.setdefault(a.group, []).append(a)
    groups = []
    for key in sorted(by_group):
        ranked = sorted(by_group[key], key=lambda a: (severity_rank(a.severity), a.fired_at, a.key))
        lead = ranked[0]
        groups.append(AlertGroup(key, lead.key, lead.severity, tuple(a.key for a in ranked)))
    return groups


def group_leaders(alerts: Iterable[ActiveAlert]) -> dict[str, str]:
    """Alert key -> the key of its group's leader (itself when it leads)."""
    return {m: g.leader for g in group_alerts(alerts) for m in g.members}


@dataclass(frozen=True)
class AlertTransition:
    """A change of state of one alert, as data for notifications and incidents.

    ``group`` is the alert's group (``service/slo``); ``leader`` the key of the alert that
    leads the group's firing alerts after this transition (``None`` when none fires). A
    transition whose ``leader`` is another key is *grouped*: it rides on that alert's
    notification instead of sending its own.
    """

    key: str
    slo: str
    service: str
    objective: str
    rule: str
    policy: str
    severity: str
    episode: int
    from_status: AlertStatus
    to_status: AlertStatus
    at: datetime
    group: str
    leader: str | None = None
    burn_rates: Mapping[str, float | None] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)

    @property
    def grouped(self) -> bool:
        return self.leader is not None and self.leader != self.key
