"""The optional ``slm/v1`` kind ``IncidentPriorityPolicy`` (see docs/incidents.md).

```yaml
apiVersion: slm/v1
kind: IncidentPriorityPolicy
metadata: {name: default}
spec:
  lowBudget: 0.25              # remaining budget fraction below which the budget is "low"
  rules:                       # first match wins
    - {priority: P1, criticality: [critical], budget: [exhausted, low]}
    - {priority: P2, criticality: [critical]}
    - {priority: P3, criticality: [high]}
  default: P4
  majorEvent: {slaCritical: [critical], raiseTo: P1, othersAtMost: P2}
  notify: [ops-webhook]        # NotificationChannel names told about every change
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from slm.domain.incident import (
    BudgetState,
    MajorEventRule,
    Priority,
    PriorityPolicy,
    PriorityRule,
)
from slm.spec.common import SpecModel
from slm.spec.context import MapContext
from slm.spec.problems import SpecObject
from slm.spec.slm_v1 import API_VERSION, Envelope

KIND = "IncidentPriorityPolicy"
POLICY_KEY = (API_VERSION, KIND)

PriorityName = Literal["P1", "P2", "P3", "P4"]
BudgetName = Literal["ok", "low", "exhausted", "unknown"]


class RuleSpec(SpecModel):
    priority: PriorityName
    criticality: list[str] = Field(default_factory=list)
    budget: list[BudgetName] = Field(default_factory=list)


class MajorEventSpec(SpecModel):
    sla_critical: list[str] = Field(default_factory=lambda: ["critical"], min_length=1)
    raise_to: PriorityName = "P1"
    others_at_most: PriorityName = "P2"


class IncidentPriorityPolicySpec(SpecModel):
    low_budget: float = Field(default=0.25, gt=0, le=1)
    rules: list[RuleSpec] = Field(min_length=1)
    default: PriorityName = "P4"
    major_event: MajorEventSpec = Field(default_factory=MajorEventSpec)
    notify: list[str] = Field(default_factory=list)
    description: str | None = None


class IncidentPriorityPolicyModel(Envelope):
    kind: Literal["IncidentPriorityPolicy"]
    spec: IncidentPriorityPolicySpec


def map_policy(obj: SpecObject, m: IncidentPriorityPolicyModel, ctx: MapContext) -> list[Any]:
    s = m.spec
    me = s.major_event
    if PRIORITY_ORDER.index(me.others_at_most) < PRIORITY_ORDER.index(me.raise_to):
        ctx.problems.at(
            obj,
            ("spec", "majorEvent", "othersAtMost"),
            f"{me.others_at_most} is above raiseTo {me.raise_to}: SLA-critical services "
            "would not rank above the rest",
        )
        return []
    return [
        PriorityPolicy(
            name=m.metadata.name,
            rules=tuple(
                PriorityRule(
                    _p(r.priority),
                    tuple(r.criticality),
                    tuple(_b(b) for b in r.budget),
                )
                for r in s.rules
            ),
            default=_p(s.default),
            low_budget=s.low_budget,
            major_event=MajorEventRule(
                tuple(me.sla_critical), _p(me.raise_to), _p(me.others_at_most)
            ),
            notify=tuple(s.notify),
        )
    ]


PRIORITY_ORDER = ("P1", "P2", "P3", "P4")


def _p(name: str) -> Priority:
    assert name in PRIORITY_ORDER
    return name  # type: ignore[return-value]


def _b(name: str) -> BudgetState:
    return name  # type: ignore[return-value]
