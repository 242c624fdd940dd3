"""What loading specs produces: domain objects by name plus the raw documents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slm.domain.errors import Problem
from slm.domain.model import SLO, DataSource, Indicator, Origin, Service


@dataclass(frozen=True)
class RawDocument:
    """One object as written: where, what, and the exact text of its YAML document."""

    path: str
    line: int
    api_version: str
    kind: str
    name: str
    text: str
    sha256: str


@dataclass(frozen=True)
class AlertCondition:
    """OpenSLO AlertCondition (burn-rate kind)."""

    name: str
    severity: str
    op: str | None
    threshold: float
    lookback_window: timedelta
    alert_after: timedelta
    display_name: str = ""
    description: str = ""
    origin: Origin | None = None


@dataclass(frozen=True)
class NotificationTarget:
    name: str
    target: str
    display_name: str = ""
    description: str = ""
    origin: Origin | None = None


@dataclass(frozen=True)
class AlertPolicy:
    """OpenSLO AlertPolicy with inline conditions/targets resolved to names."""

    name: str
    conditions: tuple[str, ...]
    notification_targets: tuple[str, ...]
    alert_when_no_data: bool = False
    alert_when_resolved: bool = False
    alert_when_breaching: bool = False
    display_name: str = ""
    description: str = ""
    origin: Origin | None = None


ObjectKey = tuple[str, str]  # (apiVersion, kind)


@dataclass
class Workspace:
    services: dict[str, Service] = field(default_factory=dict)
    slis: dict[str, Indicator] = field(default_factory=dict)
    slos: dict[str, SLO] = field(default_factory=dict)
    datasources: dict[str, DataSource] = field(default_factory=dict)
    alert_policies: dict[str, AlertPolicy] = field(default_factory=dict)
    alert_conditions: dict[str, AlertCondition] = field(default_factory=dict)
    notification_targets: dict[str, NotificationTarget] = field(default_factory=dict)
    documents: list[RawDocument] = field(default_factory=list)
    objects: dict[ObjectKey, dict[str, Any]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)  # accepted, but worth a look
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why): not specs

    def source_types(self) -> set[str]:
        """The metric source types (``File``, ``Prometheus`` ...) the SLOs read."""
        types: set[str] = set()
        for slo in self.slos.values():
            for q in slo.indicator.queries().values():
                ds = self.datasources.get(q.source) if q.source is not None else None
                types.add(ds.type if ds is not None else q.source_type)
        return types

    def summary(self) -> str:
        """``3 services, 4 SLOs, ...`` for ``slm validate``."""
        counts: Mapping[str, int] = {
            "services": len(self.services),
            "SLIs": len(self.slis),
            "SLOs": len(self.slos),
            "data sources": len(self.datasources),
            "alert policies": len(self.alert_policies),
            "alert conditions": len(self.alert_conditions),
            "notification targets": len(self.notification_targets),
        }
        parts = [f"{n} {label}" for label, n in counts.items() if n]
        for (_, kind), objs in sorted(self.objects.items()):
            parts.append(f"{len(objs)} {kind}")
        return ", ".join(parts) or "nothing"
