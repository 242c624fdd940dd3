"""The registry of accepted kinds: ``(apiVersion, kind) -> (pydantic model, mapper)``.

The loader knows nothing about formats: it looks each document up here, validates it
with the model and hands the valid model to the mapper. New ``slm/v1`` kinds (Agreement,
Calendar, Probe ...) register here and need no loader change.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel

if TYPE_CHECKING:
    from slm.spec.context import MapContext
    from slm.spec.problems import SpecObject

# A mapper turns one valid spec model into domain objects, reporting problems to ctx.
Mapper = Callable[["SpecObject", Any, "MapContext"], list[Any]]

# Roles tell the loader where mapped objects go and which names share a namespace.
ROLES = (
    "datasource",
    "service",
    "alert_condition",
    "notification_target",
    "alert_policy",
    "sli",
    "slo",
    "object",
)

SLOTH_KIND = "Sloth"  # Sloth files have ``version`` and no ``kind``
# slo-generator's shared config.yaml has neither: it is read as this kind of this version
SLO_GENERATOR_CONFIG = "SloGeneratorConfig"
SLO_GENERATOR_API = "sre.google.com/v2"


@dataclass(frozen=True)
class KindEntry:
    """One accepted kind. ``model_ref`` and ``mapper_ref`` are the objects, or
    ``"module:attribute"`` paths imported on first use, so that a workspace of SLOs does
    not pay for importing the models of agreements, probes or escalation policies."""

    api_version: str
    kind: str
    model_ref: type[BaseModel] | str
    mapper_ref: Mapper | str
    role: str = "object"

    @property
    def model(self) -> type[BaseModel]:
        found = _resolve(self.model_ref)
        if not (isinstance(found, type) and issubclass(found, BaseModel)):
            raise TypeError(f"{self.model_ref!r} is not a pydantic model")
        return found

    @property
    def mapper(self) -> Mapper:
        found = _resolve(self.mapper_ref)
        if not callable(found):
            raise TypeError(f"{self.mapper_ref!r} is not callable")
        return cast(Mapper, found)

    @property
    def key(self) -> tuple[str, str]:
        return (self.api_version, self.kind)

    @property
    def order(self) -> int:
        return ROLES.index(self.role)


def _resolve(ref: object) -> object:
    if not isinstance(ref, str):
        return ref
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Registry:
    def __init__(self, entries: Iterable[KindEntry] = ()) -> None:
        self._entries: dict[tuple[str, str], KindEntry] = {}
        for e in entries:
            self.register(e)

    def register(self, entry: KindEntry) -> None:
        if entry.role not in ROLES:
            raise ValueError(f"unknown role {entry.role!r}")
        self._entries[entry.key] = entry

    def get(self, api_version: str, kind: str) -> KindEntry | None:
        return self._entries.get((api_version, kind))

    def api_versions(self) -> list[str]:
        return sorted({v for v, _ in self._entries})

    def kinds(self, api_version: str) -> list[str]:
        return sorted(k for v, k in self._entries if v == api_version)


_default: Registry | None = None


def default_registry() -> Registry:
    """Every built-in kind (built on first use; the mappers import the models)."""
    global _default
    if _default is None:
        from slm.spec.kinds import builtin_entries

        _default = Registry(builtin_entries())
    return _default
