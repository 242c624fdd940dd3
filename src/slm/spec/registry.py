"""The registry of accepted kinds: ``(apiVersion, kind) -> (pydantic model, mapper)``.

The loader knows nothing about formats: it looks each document up here, validates it
with the model and hands the valid model to the mapper. New ``slm/v1`` kinds (Agreement,
Calendar, Probe ...) register here and need no loader change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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


@dataclass(frozen=True)
class KindEntry:
    api_version: str
    kind: str
    model: type[BaseModel]
    mapper: Mapper
    role: str = "object"

    @property
    def key(self) -> tuple[str, str]:
        return (self.api_version, self.kind)

    @property
    def order(self) -> int:
        return ROLES.index(self.role)


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
