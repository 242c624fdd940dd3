"""Incidents: timelines, impact intervals, priority rules and root-cause records (pure).

An incident has a merged *timeline* of events contributed by several teams (each event
keeps its team), explicit *impact intervals* per service (start and end; an open end means
still impacted) and, once analysed, a *root-cause record*. Downtime per service is the
length of the union of the impact intervals of every incident, clipped to a period, so an
interval that overlaps another (of the same or another incident) is never counted twice.

Priorities are ``P1`` (highest) .. ``P4``. A ``PriorityPolicy`` is an ordered list of rules
over the SLO's ``criticality`` label and its error-budget state; the first rule that matches
gives the priority. While a *major event* is on, services whose criticality is SLA-critical
are raised to ``raise_to`` and every other incident is held below them.

A root-cause record attributed to the customer or to force majeure proposes an
``Exclusion`` (state ``proposed``) for each merged impact interval; it only counts once it
is approved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from slm.domain.exclusions import Category, Exclusion
from slm.domain.intervals import Span, clip, merge

Priority = Literal["P1", "P2", "P3", "P4"]
PRIORITIES: tuple[Priority, ...] = ("P1", "P2", "P3", "P4")
IncidentKind = Literal["incident", "problem", "change"]
KINDS: tuple[IncidentKind, ...] = ("incident", "problem", "change")
Status = Literal["open", "resolved", "closed"]
STATUSES: tuple[Status, ...] = ("open", "resolved", "closed")
Attribution = Literal["provider", "customer", "third-party", "force-majeure"]
ATTRIBUTIONS: tuple[Attribution, ...] = ("provider", "customer", "third-party", "force-majeure")
BudgetState = Literal["ok", "low", "exhausted", "unknown"]
BUDGET_STATES: tuple[BudgetState, ...] = ("ok", "low", "exhausted", "unknown")
ProposalState = Literal["proposed", "approved", "rejected"]

# Attributions that propose an exclusion, and the exclusion category they propose.
EXCLUDING: Mapping[str, Category] = {
    "customer": "customer-caused",
    "force-majeure": "force-majeure",
}


def priority_rank(p: str) -> int:
    """0 for P1 .. 3 for P4."""
    return ("P1", "P2", "P3", "P4").index(p)


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str  # e.g. opened, alert, note, mitigated, resolved, priority
    text: str = ""
    team: str = ""
    source: str = "manual"  # manual, alert, import

    @property
    def sort_key(self) -> tuple[datetime, str, str, str]:
        return (self.at, self.team, self.kind, self.text)


@dataclass(frozen=True)
class ImpactInterval:
    service: str
    start: datetime
    end: datetime | None = None  # None: still impacted

    def __post_init__(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValueError(
                f"impact on {self.service!r}: end {self.end.isoformat()} is not after "
                f"start {self.start.isoformat()}"
            )

    def span(self, until: datetime) -> Span:
        return (self.start, self.end if self.end is not None else until)


@dataclass(frozen=True)
class RootCause:
    category: str
    attribution: Attribution
    summary: str = ""
    evidence: tuple[str, ...] = ()
    corrective_actions: tuple[str, ...] = ()
    signed_off_by: str = ""
    signed_off_at: datetime | None = None

    @property
    def signed_off(self) -> bool:
        return self.signed_off_at is not None

    def __post_init__(self) -> None:
        if self.attribution not in ATTRIBUTIONS:
            raise ValueError(
                f"attribution {self.attribution!r} is not one of {', '.join(ATTRIBUTIONS)}"
            )
        if not self.category.strip():
            raise ValueError("root cause category must not be empty")


@dataclass(frozen=True)
class Incident:
    id: str
    title: str
    service: str
    priority: Priority
    opened_at: datetime
    kind: IncidentKind = "incident"
    status: Status = "open"
    slo: str = ""
    resolved_at: datetime | None = None
    source: str = "manual"  # manual, alert, servicenow, jira
    external_id: str = ""
    external_status: str = ""
    alert_group: str = ""
    criticality: str = ""
    base_priority: Priority | None = None  # the priority without a major event
    events: tuple[TimelineEvent, ...] = ()
    impacts: tuple[ImpactInterval, ...] = ()
    root_cause: RootCause | None = None

    @property
    def timeline(self) -> tuple[TimelineEvent, ...]:
        return merge_timelines(self.events)


def merge_timelines(*timelines: Iterable[TimelineEvent]) -> tuple[TimelineEvent, ...]:
    """One timeline from several teams' events, ordered by time (events at the same instant
    keep the order they were given in); exact duplicates appear once."""
    seen: dict[tuple[datetime, str, str, str, str], TimelineEvent] = {}
    for timeline in timelines:
        for e in timeline:
            seen.setdefault((*e.sort_key, e.source), e)
    return tuple(sorted(seen.values(), key=lambda e: e.at))


def impact_spans(incidents: Iterable[Incident], service: str, until: datetime) -> list[Span]:
    """The merged impact spans of ``service`` over ``incidents`` (open ends at ``until``)."""
    return merge(i.span(until) for inc in incidents for i in inc.impacts if i.service == service)


def downtime_by_service(incidents: Iterable[Incident], period: Span) -> dict[str, timedelta]:
    """Downtime of each impacted service within ``period``: the union of impact intervals.

    Overlapping intervals (within one incident or across incidents) count once; an interval
    still open counts until the end of the period.
    """
    start, end = period
    spans: dict[str, list[Span]] = {}
    for inc in incidents:
        for i in inc.impacts:
            spans.setdefault(i.service, []).append(i.span(end))
    out: dict[str, timedelta] = {}
    for service, ss in sorted(spans.items()):
        clipped = clip(merge(ss), start, end)
        out[service] = sum((e - s for s, e in clipped), timedelta(0))
    return out


# --- priority ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityRule:
    priority: Priority
    criticality: tuple[str, ...] = ()  # empty: any
    budget: tuple[BudgetState, ...] = ()  # empty: any

    def matches(self, criticality: str, budget: BudgetState) -> bool:
        if self.criticality and criticality not in self.criticality:
            return False
        return not self.budget or budget in self.budget


@dataclass(frozen=True)
class MajorEventRule:
    sla_critical: tuple[str, ...] = ("critical",)
    raise_to: Priority = "P1"
    others_at_most: Priority = "P2"  # the highest priority other incidents may have


@dataclass(frozen=True)
class PriorityPolicy:
    name: str = "default"
    rules: tuple[PriorityRule, ...] = (
        PriorityRule("P1", ("critical",), ("exhausted", "low")),
        PriorityRule("P2", ("critical",)),
        PriorityRule("P2", ("high",), ("exhausted",)),
        PriorityRule("P3", ("high",)),
    )
    default: Priority = "P4"
    low_budget: float = 0.25  # remaining fraction below which the budget is ``low``
    major_event: MajorEventRule = field(default_factory=MajorEventRule)
    notify: tuple[str, ...] = ()  # NotificationChannel names that get every change


@dataclass(frozen=True)
class MajorEvent:
    on: bool
    by: str
    at: datetime
    reason: str = ""


def budget_state(remaining: float | None, low: float) -> BudgetState:
    """``exhausted`` at or below 0 remaining, ``low`` below ``low``, else ``ok``."""
    if remaining is None:
        return "unknown"
    if remaining <= 0:
        return "exhausted"
    return "low" if remaining < low else "ok"


def decide_priority(
    policy: PriorityPolicy,
    criticality: str,
    budget: BudgetState,
    major_event: MajorEvent | None = None,
) -> Priority:
    """The first matching rule's priority, adjusted while a major event is on."""
    base = next(
        (r.priority for r in policy.rules if r.matches(criticality, budget)), policy.default
    )
    return with_major_event(policy, base, criticality, major_event)


def with_major_event(
    policy: PriorityPolicy, base: Priority, criticality: str, major_event: MajorEvent | None
) -> Priority:
    """``base`` while no major event is on; else SLA-critical raised, the rest held below."""
    if major_event is None or not major_event.on:
        return base
    rule = policy.major_event
    if criticality in rule.sla_critical:
        return min(base, rule.raise_to, key=priority_rank)
    return max(base, rule.others_at_most, key=priority_rank)


# --- root cause and exclusions ------------------------------------------------------------


@dataclass(frozen=True)
class ExclusionProposal:
    id: int
    incident_id: str
    state: ProposalState
    exclusion: Exclusion
    decided_by: str = ""
    decided_at: datetime | None = None


def proposed_exclusions(
    incident: Incident, cause: RootCause, until: datetime, agreements: Sequence[str] = ()
) -> list[Exclusion]:
    """Exclusions a customer or force-majeure attribution proposes: one per merged impact
    interval of each impacted service, in UTC, approval ``pending`` until approved."""
    category = EXCLUDING.get(cause.attribution)
    if category is None:
        return []
    out: list[Exclusion] = []
    services = sorted({i.service for i in incident.impacts})
    for service in services:
        for n, (s, e) in enumerate(impact_spans([incident], service, until), start=1):
            out.append(
                Exclusion(
                    name=f"{incident.id}-{service}-{n}",
                    category=category,
                    start=s.replace(tzinfo=None),
                    duration=e - s,
                    time_zone="UTC",
                    services=(service,),
                    agreements=tuple(agreements),
                    evidence=cause.evidence,
                    approval="pending",
                    description=f"{incident.id}: {cause.category} ({cause.attribution})",
                )
            )
    return out


def approve(exclusion: Exclusion, by: str) -> Exclusion:
    return replace(exclusion, approval="approved", approved_by=by)
