"""The Alertmanager webhook receiver: Prometheus alerts in, slm alert transitions out.

Prometheus evaluates the rules ``slm rules`` generates (Sloth's conventions) and
Alertmanager posts what fires to ``POST /api/v1/alertmanager`` (webhook payload version 4).
``AlertmanagerReceiver.receive(payload)`` maps each alert to the SLO and objective it is
about, keeps its state under its own alert key and turns each change into the same
``AlertTransition`` the evaluation loop produces, so notifications and incidents treat both
paths alike (a page from Alertmanager joins the incident slm's own page opened, and the
other way round).

Which SLO an alert is about, from its labels:

- Sloth labels (the generated rules): ``sloth_service`` and ``sloth_slo`` (``SLO-INDEX`` for
  an OpenSLO SLO's objective INDEX, Sloth's own ``slo`` name for a Sloth spec); severity from
  ``sloth_severity``;
- slm's own labels (the ``slm_slo_alert_firing`` metric of ``slm serve``): ``slo`` and
  optionally ``objective``; severity from ``severity``.

Idempotency: an alert's key is ``SLO/OBJECTIVE/alertmanager/ALERTNAME/FINGERPRINT``; its
stored state remembers the ``startsAt`` of its episode, so a retried webhook (same
fingerprint, same ``startsAt``, same status) changes nothing, and a new ``startsAt`` starts
a new episode. An alert that is not about a known SLO is accepted and reported as ignored,
with the reason.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from slm.domain.alert_state import AlertRecord, AlertStatus, AlertTransition
from slm.rules import conventions as cv
from slm.services.ports import Clock, SystemClock
from slm.spec.workspace import Workspace
from slm.store.alerts import AlertRepository, StoredAlert
from slm.store.db import Store

if TYPE_CHECKING:
    from slm.services.incidents import IncidentService
    from slm.services.notifications import NotificationService

log = logging.getLogger("slm.alertmanager")

RULE_PREFIX = "alertmanager"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_ZERO_YEAR = 1  # Go's zero time, 0001-01-01T00:00:00Z: "no end yet"


def parse_time(value: object) -> datetime:
    """An RFC 3339 time (any number of fraction digits) as an aware UTC datetime."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("not an RFC 3339 time")
    text = value
    m = re.search(r"\.(\d+)", text)
    if m and len(m.group(1)) > 6:  # nanoseconds (Go): keep microseconds
        text = text[: m.start(1)] + m.group(1)[:6] + text[m.end(1) :]
    try:
        return datetime.fromisoformat(text.replace("z", "Z")).astimezone(UTC)
    except ValueError:
        raise ValueError("not an RFC 3339 time") from None


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    fingerprint: str = Field(min_length=1)
    generator_url: str = Field(default="", alias="generatorURL")

    @field_validator("starts_at", mode="before")
    @classmethod
    def _starts(cls, v: object) -> datetime:
        return parse_time(v)

    @field_validator("ends_at", mode="before")
    @classmethod
    def _ends(cls, v: object) -> datetime | None:
        if v is None or v == "":
            return None
        t = parse_time(v)
        return None if t.year == _ZERO_YEAR else t


class WebhookPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_key: str = Field(default="", alias="groupKey")
    alerts: list[WebhookAlert]


@dataclass(frozen=True)
class Target:
    slo: str
    service: str
    objective: str


@dataclass(frozen=True)
class Ignored:
    index: int
    fingerprint: str
    alertname: str
    reason: str

    def view(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "fingerprint": self.fingerprint,
            "alertname": self.alertname,
            "reason": self.reason,
        }


@dataclass
class Receipt:
    """What one webhook did."""

    received: int = 0
    transitions: list[AlertTransition] = field(default_factory=list)
    duplicates: int = 0
    ignored: list[Ignored] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)


class SloIndex:
    """Label values of the generated rules -> the workspace's SLO and objective."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self._sloth: dict[tuple[str, str], Target] = {}
        for slo in ws.slos.values():
            sloth = slo.extras.get("sloth")
            if isinstance(sloth, Mapping):
                name = slo.objectives[0].name if slo.objectives else ""
                key = (str(sloth["service"]), str(sloth["slo"]))
                self._sloth[key] = Target(slo.name, slo.service, name)
                continue
            for i, objective in enumerate(slo.objectives):
                target = Target(slo.name, slo.service, objective.name)
                self._sloth[(slo.service, f"{slo.name}-{i}")] = target

    def resolve(self, labels: Mapping[str, str]) -> Target | str:
        """The alert's target, or why it has none."""
        if cv.SLO_LABEL in labels:
            service, name = labels.get(cv.SERVICE_LABEL, ""), labels[cv.SLO_LABEL]
            found = self._sloth.get((service, name))
            if found is None:
                return (
                    f"no SLO in the workspace generates {cv.SERVICE_LABEL}={service!r}, "
                    f"{cv.SLO_LABEL}={name!r}"
                )
            return found
        if "slo" in labels:
            slo = self.ws.slos.get(labels["slo"])
            if slo is None:
                return f"no SLO named {labels['slo']!r} in the workspace"
            names = [o.name for o in slo.objectives]
            objective = labels.get("objective") or (names[0] if names else "")
            if objective not in names:
                return f"SLO {slo.name} has no objective {objective!r} (it has {names})"
            return Target(slo.name, slo.service, objective)
        return (
            f"no {cv.SLO_LABEL}/{cv.SERVICE_LABEL} (Sloth) or slo (slm) label: "
            "not an alert of an slm SLO"
        )


def _severity(labels: Mapping[str, str]) -> str:
    return labels.get(cv.SEVERITY_LABEL) or labels.get("severity") or "page"


class AlertmanagerReceiver:
    """Alertmanager alerts -> stored alert states and transitions (one transaction)."""

    def __init__(
        self,
        store: Store,
        ws: Workspace,
        *,
        clock: Clock | None = None,
        notifications: NotificationService | None = None,
        incidents: IncidentService | None = None,
    ):
        self.store = store
        self.index = SloIndex(ws)
        self.clock = clock or SystemClock()
        self.notifications, self.incidents = notifications, incidents

    def handle(self, payload: WebhookPayload) -> Receipt:
        """``receive``, then hand the transitions to notifications and incidents (each in
        its own transaction, as after an evaluation). A failure there is logged: the alert
        states are stored, and ``NotificationService.recover`` picks up what was missed."""
        receipt = self.receive(payload)
        if not receipt.transitions:
            return receipt
        at = max(t.at for t in receipt.transitions)
        if self.notifications is not None:
            try:
                self.notifications.on_evaluation([], receipt.transitions, at)
            except Exception:
                log.exception("alertmanager webhook: enqueueing notifications failed")
        if self.incidents is not None:
            try:
                receipt.incidents = self.incidents.on_alert_transitions(receipt.transitions)
            except Exception:
                log.exception("alertmanager webhook: updating incidents failed")
        return receipt

    def receive(self, payload: WebhookPayload) -> Receipt:
        receipt = Receipt(received=len(payload.alerts))
        now = self.clock.now()
        mapped: list[tuple[str, WebhookAlert, Target]] = []
        for i, a in enumerate(payload.alerts):
            name = a.labels.get("alertname", "")
            target = self.index.resolve(a.labels)
            if isinstance(target, str):
                receipt.ignored.append(Ignored(i, a.fingerprint, name, target))
                continue
            key = f"{target.slo}/{target.objective}/{RULE_PREFIX}/{name or '-'}/{a.fingerprint}"
            mapped.append((key, a, target))
        if not mapped:
            return receipt
        with self.store.transaction() as repos:
            alerts = AlertRepository(repos.connection)
            stored = alerts.get((k for k, _, _ in mapped), lock=True)
            for key, a, target in mapped:
                old = stored.get(key)
                new = _advance(old, a)
                if new is None:
                    receipt.duplicates += 1
                    continue
                record, starts = new
                before = old.record if old is not None else AlertRecord()
                saved = StoredAlert(
                    key=key,
                    slo=target.slo,
                    objective=target.objective,
                    rule=f"{RULE_PREFIX}/{a.labels.get('alertname', '-')}",
                    policy=RULE_PREFIX,
                    severity=_severity(a.labels),
                    service=target.service,
                    record=record,
                    details={
                        "fingerprint": a.fingerprint,
                        "starts_at": starts,
                        "labels": dict(a.labels),
                        "annotations": dict(a.annotations),
                        "generator_url": a.generator_url,
                        "receiver": payload.receiver,
                        "group_key": payload.group_key,
                    },
                )
                alerts.save(saved, now)
                stored[key] = saved
                t = _transition(saved, before.status, record)
                alerts.add_event(t, now)
                receipt.transitions.append(t)
        return receipt


def _advance(old: StoredAlert | None, a: WebhookAlert) -> tuple[AlertRecord, str] | None:
    """The alert's new record and episode start, or ``None`` when nothing changes."""
    starts = a.starts_at.isoformat()
    record = old.record if old is not None else AlertRecord()
    same_episode = old is not None and old.details.get("starts_at") == starts
    if same_episode:
        if a.status == "firing" or record.status is AlertStatus.RESOLVED:
            return None  # a retried webhook, or a repeat of a firing alert
        end = a.ends_at or a.starts_at
        return AlertRecord(
            AlertStatus.RESOLVED,
            record.episode,
            record.pending_since,
            record.fired_at,
            end,
            end,
        ), starts
    known = old.details.get("starts_at") if old is not None else None
    if isinstance(known, str) and datetime.fromisoformat(known) > a.starts_at:
        return None  # an older episode, delivered late
    episode = record.episode + 1
    if a.status == "firing":
        return AlertRecord(
            AlertStatus.FIRING, episode, a.starts_at, a.starts_at, None, a.starts_at
        ), starts
    end = a.ends_at or a.starts_at
    return AlertRecord(AlertStatus.RESOLVED, episode, a.starts_at, a.starts_at, end, end), starts


def _transition(a: StoredAlert, before: AlertStatus, record: AlertRecord) -> AlertTransition:
    at = record.resolved_at if record.status is AlertStatus.RESOLVED else record.fired_at
    assert at is not None
    return AlertTransition(
        key=a.key,
        slo=a.slo,
        service=a.service,
        objective=a.objective,
        rule=a.rule,
        policy=a.policy,
        severity=a.severity,
        episode=record.episode,
        from_status=before,
        to_status=record.status,
        at=at,
        group=f"{a.service}/{a.slo}",
        leader=a.key if record.status is AlertStatus.FIRING else None,
    )
