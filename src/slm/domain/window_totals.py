"""Window totals a metrics engine computed itself (pushdown), and why some could not be."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class WindowTotal:
    """A query's events over one window, summed by the metrics engine.

    ``present`` is False when no series had data in the window (``value`` is then 0);
    ``coverage`` is the share of the window's buckets with data when the engine can tell.
    """

    value: float
    present: bool
    coverage: float | None = None


@dataclass(frozen=True)
class WindowPush:
    """What a pushdown gave for one query: a total per window it could compute exactly
    enough, and why the others must be read as buckets (``fallback``); ``error`` when the
    query failed altogether."""

    totals: Mapping[timedelta, WindowTotal] = field(default_factory=dict)
    fallback: Mapping[timedelta, str] = field(default_factory=dict)
    error: str | None = None
