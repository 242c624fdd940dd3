"""State shared while mapping: the workspace being built, known names, problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slm.domain.model import Origin, Service
from slm.spec.problems import Problems, SpecObject
from slm.spec.workspace import Workspace

ROLE_LABEL = {
    "datasource": "DataSource",
    "service": "Service",
    "alert_condition": "AlertCondition",
    "notification_target": "AlertNotificationTarget",
    "alert_policy": "AlertPolicy",
    "sli": "SLI",
    "slo": "SLO",
}


@dataclass
class MapContext:
    workspace: Workspace = field(default_factory=Workspace)
    problems: Problems = field(default_factory=Problems)
    # every name declared per role, valid or not (so a broken SLI is not also "unknown")
    declared: dict[str, set[str]] = field(default_factory=dict)
    # the object that first declared each (role, name)
    owners: dict[tuple[str, str], SpecObject] = field(default_factory=dict)

    def declare(self, role: str, name: str, obj: SpecObject) -> SpecObject | None:
        """Record ``name``; return the earlier owner if it was already declared."""
        self.declared.setdefault(role, set()).add(name)
        first = self.owners.setdefault((role, name), obj)
        return None if first is obj else first

    def owner(self, role: str, name: str) -> SpecObject | None:
        return self.owners.get((role, name))

    def is_declared(self, role: str, name: str) -> bool:
        return name in self.declared.get(role, set())

    def check_ref(
        self,
        obj: SpecObject,
        field: tuple[Any, ...],
        role: str,
        name: str,
        *,
        warn: str | None = None,
    ) -> bool:
        """True if ``name`` is a declared object of ``role``; else report it: as an error,
        or, when ``warn`` says what slm does without it, as a warning."""
        if self.is_declared(role, name):
            return True
        message = f"unknown {ROLE_LABEL[role]} {name!r}"
        if warn is None:
            self.problems.at(obj, field, message)
        else:
            self.problems.warn(obj, field, f"{message}: {warn}")
        return False


SERVICE_BY_NAME = "kept as a name (OpenSLO: service may refer to a Service object)"


def service_ref(
    obj: SpecObject, field: tuple[Any, ...], name: str, ctx: MapContext, origin: Origin
) -> list[Service]:
    """An SLO's ``service``: a declared Service, or (with a warning) a Service known by its
    name alone, which the caller adds to the workspace."""
    if ctx.check_ref(obj, field, "service", name, warn=SERVICE_BY_NAME):
        return []
    return [Service(name=name, origin=origin)]


def origin_of(obj: SpecObject, api_version: str, kind: str) -> Origin:
    return Origin(path=obj.path, line=obj.line, api_version=api_version, kind=kind)
