"""Prometheus rule files as values: groups of recording and alerting rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertingRule:
    alert: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    for_: str | None = None  # Prometheus ``for``; Sloth's alerts have none


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class ResourceMeta:
    """Metadata of the ``PrometheusRule`` a set of groups goes into (operator format)."""

    name: str
    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """The groups generated from one spec resource, and where they came from."""

    resource: ResourceMeta
    groups: tuple[RuleGroup, ...]
