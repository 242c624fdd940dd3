"""What a checker returns before the runner adds timing and identity.

``latency`` is the time the check itself took (HTTP: the requests, from sending to the
last body byte); ``None`` lets the runner use the elapsed time of the whole check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    success: bool
    reason: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    latency: float | None = None


def passed(latency: float | None = None, **details: Any) -> Outcome:
    return Outcome(True, "", details, latency)


def failed(reason: str, latency: float | None = None, **details: Any) -> Outcome:
    return Outcome(False, reason, details, latency)
