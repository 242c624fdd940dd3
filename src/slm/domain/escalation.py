"""Escalation: which levels of a policy fire for an evaluation result or an alert transition.

An ``EscalationPolicy`` has numbered levels. A level is triggered either

- by **budget consumed**: the share of the SLO window's error budget spent reaches the
  level's threshold (``consumed / total >= percent / 100``), or
- by **burn-rate alerts**: an alert of one of the level's severities starts firing (and,
  when the level asks for it, resolves).

Each level fires once per deduplication key, and the key says what "once" means:

- budget levels on a **calendar** window fire once per budget period (the key holds the
  period's start); within a period they never fire again, even if the consumed share dips
  and rises again (it does as the total grows);
- budget levels on a **rolling** window have no period boundary: a level fires when the
  share crosses its threshold and is re-armed only after the share has fallen below
  ``rearm_ratio`` x threshold (0.9 by default, the same hysteresis as the alert states), so a
  share hovering at the threshold does not page on every evaluation; the key counts these
  episodes;
- alert levels fire once per alert **episode** (``AlertTransition.episode``) and status;
  a grouped transition (one that rides on the notification of its group's leader) fires
  nothing of its own.

No data (``status == "no_data"`` or an empty budget) neither fires nor re-arms a level.

The arithmetic of delivery retries (exponential backoff with jitter, bounded attempts)
is here too: it is pure and the dispatcher only calls it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from slm.domain.model import CalendarWindow, Origin
from slm.domain.results import ObjectiveResult

TriggerKind = Literal["budget", "alert"]


@dataclass(frozen=True)
class Recipient:
    """A named recipient group of a policy (``team``, ``oncall``, ``stakeholders`` ...).

    ``channel`` names a ``NotificationChannel``; ``to`` holds the addresses for email
    channels (empty for webhooks and Slack, whose URL is the address).
    """

    name: str
    channel: str
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetTrigger:
    consumed_percent: float

    def __post_init__(self) -> None:
        if not 0 < self.consumed_percent <= 1000:
            raise ValueError(f"budget threshold must be in (0, 1000] %: {self.consumed_percent}")

    @property
    def ratio(self) -> float:
        return self.consumed_percent / 100.0


@dataclass(frozen=True)
class AlertTrigger:
    severities: tuple[str, ...]
    on_resolve: bool = False

    def matches(self, severity: str) -> bool:
        return severity.lower() in {s.lower() for s in self.severities}


@dataclass(frozen=True)
class EscalationLevel:
    """Level ``number`` (1-based, in policy order) with exactly one trigger."""

    number: int
    name: str
    recipients: tuple[Recipient, ...]
    template: str
    budget: BudgetTrigger | None = None
    alert: AlertTrigger | None = None

    def __post_init__(self) -> None:
        if (self.budget is None) == (self.alert is None):
            raise ValueError(f"level {self.number}: set exactly one of budget, alert")

    @property
    def trigger(self) -> TriggerKind:
        return "budget" if self.budget is not None else "alert"


@dataclass(frozen=True)
class EscalationPolicy:
    """Levels for the SLOs it selects (no ``services``/``slos`` selects every SLO)."""

    name: str
    levels: tuple[EscalationLevel, ...]
    services: tuple[str, ...] = ()
    slos: tuple[str, ...] = ()
    rearm_ratio: float = 0.9
    description: str = ""
    origin: Origin | None = None

    def __post_init__(self) -> None:
        if not 0 < self.rearm_ratio <= 1:
            raise ValueError(f"rearm_ratio must be in (0, 1], got {self.rearm_ratio}")

    def applies_to(self, slo: str, service: str) -> bool:
        if self.slos and slo not in self.slos:
            return False
        return not self.services or service in self.services

    def level(self, number: int) -> EscalationLevel:
        for lv in self.levels:
            if lv.number == number:
                return lv
        raise KeyError(number)


class TransitionLike(Protocol):
    """What escalation needs of an alert transition (``slm.domain.alert_state``)."""

    @property
    def key(self) -> str: ...
    @property
    def slo(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def objective(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def episode(self) -> int: ...
    @property
    def to_status(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def grouped(self) -> bool: ...
    @property
    def burn_rates(self) -> Mapping[str, float | None]: ...


@dataclass(frozen=True)
class AlertFacts:
    key: str
    severity: str
    status: str
    episode: int
    burn_rates: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Firing:
    """One level of one policy firing for one SLO objective: what the message is about."""

    policy: str
    level: EscalationLevel
    dedup_key: str
    at: datetime
    slo: str
    service: str
    objective: str
    trigger: TriggerKind
    result: ObjectiveResult | None = None
    budget_threshold: float | None = None  # ratio, budget levels
    alert: AlertFacts | None = None

    @property
    def budget_consumed(self) -> float | None:
        return consumed_ratio(self.result) if self.result is not None else None


# --- budget levels ---------------------------------------------------------------------


@dataclass(frozen=True)
class LevelState:
    """Memory of one budget level for one SLO objective: the period it belongs to, how
    many times it fired in it and whether it may fire again."""

    period: str
    episode: int = 0
    armed: bool = True


StateKey = tuple[str, str, str, int]  # (policy, slo, objective, level)


def consumed_ratio(result: ObjectiveResult) -> float | None:
    """Budget consumed / total budget of the window; ``None`` when there is no budget."""
    budget = result.error_budget
    if result.status == "no_data" or budget.total <= 0:
        return None
    return budget.consumed / budget.total


def period_key(result: ObjectiveResult) -> str:
    """The budget period a result belongs to: the calendar window's start, or ``rolling``."""
    if isinstance(result.window, CalendarWindow):
        return result.window_start.isoformat().replace("+00:00", "Z")
    return "rolling"


def budget_firings(
    policy: EscalationPolicy,
    result: ObjectiveResult,
    states: Mapping[StateKey, LevelState],
) -> tuple[list[Firing], dict[StateKey, LevelState]]:
    """Budget levels of ``policy`` that fire for ``result``, and the states that changed."""
    if not policy.applies_to(result.slo, result.service):
        return [], {}
    period = period_key(result)
    rolling = period == "rolling"
    ratio = consumed_ratio(result)
    fired: list[Firing] = []
    changed: dict[StateKey, LevelState] = {}
    for level in policy.levels:
        if level.budget is None:
            continue
        key = (policy.name, result.slo, result.objective, level.number)
        old = states.get(key)
        state = old if old is not None and old.period == period else LevelState(period)
        threshold = level.budget.ratio
        if ratio is not None and state.armed and ratio >= threshold:
            state = replace(state, episode=state.episode + 1, armed=False)
            fired.append(_budget_firing(policy, level, result, state, threshold))
        elif (
            ratio is not None
            and rolling
            and not state.armed
            and ratio < threshold * policy.rearm_ratio
        ):
            state = replace(state, armed=True)
        if state != old:
            changed[key] = state
    return fired, changed


def _budget_firing(
    policy: EscalationPolicy,
    level: EscalationLevel,
    result: ObjectiveResult,
    state: LevelState,
    threshold: float,
) -> Firing:
    dedup = (
        f"budget/{policy.name}/{result.slo}/{result.objective}/"
        f"L{level.number}/{state.period}/{state.episode}"
    )
    return Firing(
        policy=policy.name,
        level=level,
        dedup_key=dedup,
        at=result.at,
        slo=result.slo,
        service=result.service,
        objective=result.objective,
        trigger="budget",
        result=result,
        budget_threshold=threshold,
    )


# --- alert levels ----------------------------------------------------------------------


def alert_firings(
    policy: EscalationPolicy,
    transition: TransitionLike,
    result: ObjectiveResult | None = None,
) -> list[Firing]:
    """Alert levels of ``policy`` that fire for ``transition`` (once per episode, status)."""
    t = transition
    if t.grouped or not policy.applies_to(t.slo, t.service):
        return []
    status = str(getattr(t.to_status, "value", t.to_status))
    out = []
    for level in policy.levels:
        trig = level.alert
        if trig is None or not trig.matches(t.severity):
            continue
        if status != "firing" and not (status == "resolved" and trig.on_resolve):
            continue
        out.append(
            Firing(
                policy=policy.name,
                level=level,
                dedup_key=f"alert/{policy.name}/L{level.number}/{t.key}/{t.episode}/{status}",
                at=t.at,
                slo=t.slo,
                service=t.service,
                objective=t.objective,
                trigger="alert",
                result=result,
                alert=AlertFacts(t.key, t.severity, status, t.episode, dict(t.burn_rates)),
            )
        )
    return out


def firings(
    policies: Iterable[EscalationPolicy],
    results: Iterable[ObjectiveResult],
    transitions: Iterable[TransitionLike],
    states: Mapping[StateKey, LevelState],
) -> tuple[list[Firing], dict[StateKey, LevelState]]:
    """Every firing of ``policies`` for one evaluation, and the budget states to save."""
    pols = list(policies)
    by_objective = {(r.slo, r.objective): r for r in results}
    fired: list[Firing] = []
    changed: dict[StateKey, LevelState] = {}
    for r in by_objective.values():
        for p in pols:
            f, c = budget_firings(p, r, states)
            fired += f
            changed.update(c)
    for t in transitions:
        for p in pols:
            fired += alert_firings(p, t, by_objective.get((t.slo, t.objective)))
    return fired, changed


# --- delivery retries ------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` tries; the n-th retry waits ``initial x multiplier^(n-1)``
    capped at ``max_backoff``, shortened by up to ``jitter`` (a fraction) at random so
    that many failed messages do not retry in lockstep."""

    max_attempts: int = 8
    initial_backoff: timedelta = timedelta(seconds=30)
    max_backoff: timedelta = timedelta(hours=1)
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_backoff < timedelta(0) or self.max_backoff < self.initial_backoff:
            raise ValueError("need 0 <= initial_backoff <= max_backoff")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def backoff(self, failed_attempts: int, rand: float) -> timedelta:
        """Wait after the ``failed_attempts``-th failure; ``rand`` is uniform in [0, 1)."""
        if failed_attempts < 1:
            raise ValueError("failed_attempts starts at 1")
        base = self.initial_backoff.total_seconds() * self.multiplier ** min(
            failed_attempts - 1, 60
        )
        capped = min(base, self.max_backoff.total_seconds())
        return timedelta(seconds=capped * (1.0 - self.jitter * rand))

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
