"""Burn-rate alerts inside slm: evaluation results in, alert transitions out.

``AlertService(store, ws).process(results, at)`` advances the state machine of every alert
of the evaluated objectives (``slm.domain.alert_state``) and returns the transitions it made
(inactive -> pending -> firing -> resolved), persisting states and transitions in one
transaction. Because the states live in the store, a restarted evaluator neither re-fires an
alert that is already firing nor forgets one; an evaluation at or before the last one seen
for an alert (a replay, a late duplicate) changes nothing.

Which alerts an objective has:

- an SLO that names OpenSLO alert policies (``alertPolicies``) gets one alert per policy
  condition: key ``SLO/OBJECTIVE/POLICY/CONDITION``, the burn rate over the condition's
  ``lookbackWindow`` compared (``op``) with its ``threshold``, pending for ``alertAfter``;
  ``alertWhenNoData`` makes a window without data count as burning;
- any other SLO gets one alert per row of the alert-window catalogue it was evaluated with
  (``ObjectiveResult.alerts``): key ``SLO/OBJECTIVE/SEVERITY-LONG-SHORT``.

Nothing is sent from here: notifications and incidents consume the returned transitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from slm.domain.alert_state import (
    ActiveAlert,
    AlertGroup,
    AlertRecord,
    AlertRule,
    AlertSettings,
    AlertStatus,
    AlertTransition,
    Observation,
    advance,
    group_alerts,
    group_leaders,
    observe,
    row_id,
)
from slm.domain.alerting import alert_windows, exhaustion_window
from slm.domain.durations import format_duration
from slm.domain.errors import Problem, SpecError
from slm.domain.model import SLO, AlertCatalogue, Operator, RollingWindow, group_text
from slm.domain.results import ObjectiveResult
from slm.services.ports import Clock, SystemClock
from slm.spec.catalogues import default_catalogue
from slm.spec.workspace import AlertCondition, AlertPolicy, Workspace
from slm.store.alerts import AlertRepository, StoredAlert
from slm.store.db import Store

CATALOGUE_POLICY = "catalogue"
_OPS = ("gt", "gte", "lt", "lte")


def condition_rule(policy: AlertPolicy, condition: AlertCondition) -> AlertRule:
    """An OpenSLO AlertCondition as a single-window burn-rate rule."""
    op = condition.op or "gt"
    if op not in _OPS:
        raise SpecError([_problem(condition, "spec.condition.op", f"unknown op {op!r}")])
    return AlertRule(
        id=f"{policy.name}/{condition.name}",
        severity=condition.severity,
        windows=(condition.lookback_window,),
        op=cast(Operator, op),
        threshold=condition.threshold,
        alert_after=condition.alert_after,
        no_data_fires=policy.alert_when_no_data,
        policy=policy.name,
    )


def policy_rules(ws: Workspace, policies: Iterable[str]) -> tuple[AlertRule, ...]:
    """The rules of the named OpenSLO alert policies, in policy then condition order."""
    rules = []
    for name in policies:
        policy = ws.alert_policies[name]
        for cname in policy.conditions:
            rules.append(condition_rule(policy, ws.alert_conditions[cname]))
    return tuple(rules)


def _problem(condition: AlertCondition, field: str, message: str) -> Problem:
    origin = condition.origin
    return Problem(
        origin.path if origin else "",
        origin.line if origin else None,
        "AlertCondition",
        condition.name,
        field,
        message,
    )


def evaluated_windows(slo: SLO, catalogue: AlertCatalogue) -> set[timedelta]:
    """Windows whose burn rate an evaluation of ``slo`` with ``catalogue`` reports."""
    windows = set(alert_windows(catalogue)) | {exhaustion_window(catalogue)}
    if isinstance(slo.window, RollingWindow):
        windows.add(slo.window.duration)
    return windows


@dataclass(frozen=True)
class _Check:
    """One alert of one result: its rule, observation and what to record."""

    key: str
    result: ObjectiveResult
    rule: AlertRule
    obs: Observation
    burn_rates: Mapping[str, float | None]
    thresholds: Mapping[str, float]

    @property
    def group(self) -> str:
        return f"{self.result.service}/{self.result.slo}"


class AlertService:
    """Drives alert states from evaluation results; see the module docstring.

    ``catalogue`` is the alert-window catalogue the results are evaluated with (``None``:
    the shipped default); it is used to check, when the service is built, that every
    OpenSLO condition's ``lookbackWindow`` is a window the evaluation reports.
    """

    def __init__(
        self,
        store: Store,
        ws: Workspace,
        *,
        catalogue: AlertCatalogue | None = None,
        settings: AlertSettings | None = None,
        clock: Clock | None = None,
    ):
        self.store, self.ws = store, ws
        self.settings = settings or AlertSettings()
        self.clock = clock or SystemClock()
        self._rules: dict[str, tuple[AlertRule, ...]] = {}
        problems: list[Problem] = []
        cat = catalogue or default_catalogue(timedelta(days=30))
        for slo in ws.slos.values():
            if not slo.alert_policies:
                continue
            self._rules[slo.name] = policy_rules(ws, slo.alert_policies)
            known = evaluated_windows(slo, cat)
            for pname in slo.alert_policies:
                for cname in ws.alert_policies[pname].conditions:
                    c = ws.alert_conditions[cname]
                    if c.lookback_window not in known:
                        shown = ", ".join(format_duration(w) for w in sorted(known))
                        problems.append(
                            _problem(
                                c,
                                "spec.condition.lookbackWindow",
                                f"lookbackWindow {format_duration(c.lookback_window)} "
                                f"(used by SLO {slo.name}) is not a window slm evaluates "
                                f"({shown}); use one of them or add a catalogue row with it",
                            )
                        )
        if problems:
            raise SpecError(problems)

    def rules_for(self, result: ObjectiveResult) -> list[tuple[AlertRule, Observation]]:
        """The alert rules of one result and what they observe in it."""
        if result.slo in self._rules:
            out = []
            for rule in self._rules[result.slo]:
                burns = [result.burn_rates.get(format_duration(w)) for w in rule.windows]
                limits = [rule.threshold or 0.0] * len(burns)  # conditions have a fixed one
                obs = observe(rule, burns, limits, self.settings)
                out.append((rule, obs))
            return out
        rows: list[tuple[AlertRule, Observation]] = []
        for a in result.alerts:
            rule = AlertRule(
                id=row_id(a.severity, a.long_window, a.short_window),
                severity=a.severity,
                windows=(a.long_window, a.short_window),
                threshold=a.factor,
                policy=CATALOGUE_POLICY,
            )
            pair = (a.long_burn_rate, a.short_burn_rate)
            rows.append((rule, observe(rule, pair, (a.factor, a.factor), self.settings)))
        return rows

    def _checks(self, results: Sequence[ObjectiveResult]) -> list[_Check]:
        checks = []
        for r in results:
            for rule, obs in self.rules_for(r):
                labels = [format_duration(w) for w in rule.windows]
                checks.append(
                    _Check(
                        key=f"{r.slo}/{r.objective}{group_text(r.group)}/{rule.id}",
                        result=r,
                        rule=rule,
                        obs=obs,
                        burn_rates=dict(zip(labels, obs.burn_rates, strict=True)),
                        thresholds=dict(zip(labels, obs.thresholds, strict=True)),
                    )
                )
        return checks

    def process(self, results: Sequence[ObjectiveResult], at: datetime) -> list[AlertTransition]:
        """Advance every alert of ``results`` (evaluated at ``at``); return what changed."""
        checks = self._checks(results)
        if not checks:
            return []
        now = self.clock.now()
        changed: list[tuple[_Check, AlertRecord, AlertRecord]] = []
        with self.store.transaction() as repos:
            alerts = AlertRepository(repos.connection)
            stored = alerts.get((c.key for c in checks), lock=True)
            updated: dict[str, StoredAlert] = {}
            for c in checks:
                old = stored[c.key].record if c.key in stored else AlertRecord()
                new = advance(old, c.rule, c.obs, at, self.settings)
                if new == old:
                    continue
                updated[c.key] = _stored(c, new)
                alerts.save(updated[c.key], now)
                if new.status is not old.status:
                    changed.append((c, old, new))
            if not changed:
                return []
            slos = {c.result.slo for c, _, _ in changed}
            firing = {
                a.key: a
                for slo in sorted(slos)
                for a in alerts.all(statuses=[AlertStatus.FIRING], slo=slo)
            }
            leaders = _leaders(firing.values())
            transitions = [_transition(c, old, new, at, leaders) for c, old, new in changed]
            for t in transitions:
                alerts.add_event(t, now)
        return transitions

    def alerts(self, *, statuses: Iterable[AlertStatus] | None = None) -> list[StoredAlert]:
        with self.store.transaction() as repos:
            return AlertRepository(repos.connection).all(statuses=statuses)

    def groups(self) -> list[AlertGroup]:
        """The firing alerts, one group per SLO, each led by its most severe alert."""
        return group_alerts(_active(a) for a in self.alerts(statuses=[AlertStatus.FIRING]))


def _stored(c: _Check, record: AlertRecord) -> StoredAlert:
    return StoredAlert(
        key=c.key,
        slo=c.result.slo,
        objective=c.result.objective,
        rule=c.rule.id,
        policy=c.rule.policy,
        severity=c.rule.severity,
        service=c.result.service,
        record=record,
        details={
            "burn_rates": dict(c.burn_rates),
            "thresholds": dict(c.thresholds),
            **({"group": dict(c.result.group)} if c.result.group else {}),
        },
    )


def _active(a: StoredAlert) -> ActiveAlert:
    assert a.record.fired_at is not None
    return ActiveAlert(a.key, f"{a.service}/{a.slo}", a.severity, a.record.fired_at)


def _leaders(firing: Iterable[StoredAlert]) -> dict[str, str]:
    """Group key -> leading alert key, over the alerts firing after this evaluation."""
    by_key = group_leaders(_active(a) for a in firing)
    groups = {f"{a.service}/{a.slo}": a.key for a in firing}
    return {group: by_key[key] for group, key in groups.items()}


def _transition(
    c: _Check, old: AlertRecord, new: AlertRecord, at: datetime, leaders: Mapping[str, str]
) -> AlertTransition:
    return AlertTransition(
        key=c.key,
        slo=c.result.slo,
        service=c.result.service,
        objective=c.result.objective,
        rule=c.rule.id,
        policy=c.rule.policy,
        severity=c.rule.severity,
        episode=new.episode,
        from_status=old.status,
        to_status=new.status,
        at=at,
        group=c.group,
        leader=leaders.get(c.group),
        burn_rates=c.burn_rates,
        thresholds=c.thresholds,
    )


def transition_view(t: AlertTransition) -> dict[str, Any]:
    """Plain JSON of a transition (for the CLI, the API and notification payloads)."""
    return {
        "key": t.key,
        "slo": t.slo,
        "service": t.service,
        "objective": t.objective,
        "rule": t.rule,
        "policy": t.policy,
        "severity": t.severity,
        "episode": t.episode,
        "from": t.from_status.value,
        "to": t.to_status.value,
        "at": _iso(t.at),
        "group": t.group,
        "leader": t.leader,
        "grouped": t.grouped,
        "burn_rates": dict(t.burn_rates),
        "thresholds": dict(t.thresholds),
    }


def alert_view(a: StoredAlert) -> dict[str, Any]:
    r = a.record
    return {
        "key": a.key,
        "slo": a.slo,
        "service": a.service,
        "objective": a.objective,
        "rule": a.rule,
        "policy": a.policy,
        "severity": a.severity,
        "status": r.status.value,
        "episode": r.episode,
        "pending_since": _iso(r.pending_since),
        "fired_at": _iso(r.fired_at),
        "resolved_at": _iso(r.resolved_at),
        "evaluated_at": _iso(r.evaluated_at),
        **dict(a.details),
    }


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")
