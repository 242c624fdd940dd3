"""The latest status of every SLO that ``slm serve`` evaluates, shared by loop and API.

``StatusBoard`` is written by the evaluation loop and read by the API and the /metrics
collector; every read returns immutable ``SloState`` snapshots. An SLO is *stale* when it
has no successful evaluation yet, when its last attempt failed, or when its last success
is older than ``max(3 * interval, interval + source timeout)``. A stale SLO keeps its last
good results (shown with ``stale: true``, the error and ``last_success``) but /metrics no
longer exports its numbers as current.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from slm.domain.durations import format_duration
from slm.domain.model import SLO
from slm.domain.results import ObjectiveResult
from slm.services.provenance import DataQuality
from slm.services.views import iso, result_view

State = Literal["pending", "ok", "stale"]


@dataclass(frozen=True)
class SloState:
    name: str
    service: str
    display_name: str
    interval: timedelta
    stale_after: timedelta
    results: tuple[ObjectiveResult, ...] = ()
    provenance: tuple[Mapping[str, Any], ...] = ()
    evaluated_at: datetime | None = None  # the instant the results are for
    last_attempt: datetime | None = None  # wall clock
    last_success: datetime | None = None  # wall clock
    error: str | None = None
    consecutive_failures: int = 0
    attempts: int = 0
    successes: int = 0
    failures: int = 0
    next_attempt: datetime | None = None  # wall clock
    quality: DataQuality = field(default_factory=DataQuality)
    hook_failures: Mapping[str, int] = field(default_factory=dict)  # by hook (or step)

    def state(self, now: datetime) -> State:
        if self.last_success is None and self.error is None:
            return "pending"
        return "stale" if self.is_stale(now) else "ok"

    def is_stale(self, now: datetime) -> bool:
        if self.last_success is None or self.error is not None:
            return True
        return now - self.last_success > self.stale_after

    def staleness_seconds(self, now: datetime) -> float | None:
        return None if self.last_success is None else (now - self.last_success).total_seconds()


@dataclass
class PushStats:
    batches: dict[str, int] = field(default_factory=dict)  # by outcome
    items: int = 0


class StatusBoard:
    """Thread-safe map of SLO name → ``SloState``; plus counters of pushed batches."""

    def __init__(self, states: Iterable[SloState]):
        self._lock = threading.Lock()
        self._states = {s.name: s for s in states}
        self._push = PushStats()

    @classmethod
    def of(
        cls, slos: Mapping[str, SLO], intervals: Mapping[str, timedelta], timeout: timedelta
    ) -> StatusBoard:
        return cls(
            SloState(
                name=slo.name,
                service=slo.service,
                display_name=slo.display_name,
                interval=intervals[slo.name],
                stale_after=max(3 * intervals[slo.name], intervals[slo.name] + timeout),
            )
            for slo in slos.values()
        )

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._states)

    def get(self, name: str) -> SloState | None:
        with self._lock:
            return self._states.get(name)

    def snapshot(self) -> list[SloState]:
        with self._lock:
            return [self._states[n] for n in sorted(self._states)]

    def update(self, name: str, **changes: Any) -> SloState:
        with self._lock:
            state = replace(self._states[name], **changes)
            self._states[name] = state
            return state

    def note_late(self, name: str, late: int, out_of_order: int, superseded: int) -> None:
        with self._lock:
            s = self._states[name]
            q = replace(
                s.quality,
                late_items=s.quality.late_items + late,
                out_of_order_items=s.quality.out_of_order_items + out_of_order,
                superseded=s.quality.superseded + superseded,
            )
            self._states[name] = replace(s, quality=q)

    def count_hook_failure(self, name: str, hook: str) -> None:
        """One more failure of the post-evaluation ``hook`` after an evaluation of ``name``."""
        with self._lock:
            s = self._states[name]
            counts = dict(s.hook_failures)
            counts[hook] = counts.get(hook, 0) + 1
            self._states[name] = replace(s, hook_failures=counts)

    def count_push(self, outcome: str, items: int = 0) -> None:
        with self._lock:
            self._push.batches[outcome] = self._push.batches.get(outcome, 0) + 1
            self._push.items += items

    def push_stats(self) -> PushStats:
        with self._lock:
            return PushStats(dict(self._push.batches), self._push.items)


def _when(t: datetime | None) -> str | None:
    return None if t is None else iso(t)


def _objective_summary(r: ObjectiveResult) -> dict[str, Any]:
    view = result_view(r)
    return {
        "objective": r.objective,
        "target": r.target,
        "status": r.status,
        "sli": view["sli"],
        "error_budget_remaining_ratio": view["error_budget"]["remaining_ratio"],
        "coverage": view["coverage"]["ratio"],
        "alerts_firing": sorted({a.severity for a in r.alerts if a.firing}),
    }


def summary_view(s: SloState, now: datetime) -> dict[str, Any]:
    """One entry of ``GET /api/v1/slos``."""
    return {
        "name": s.name,
        "service": s.service,
        "display_name": s.display_name,
        "state": s.state(now),
        "stale": s.is_stale(now),
        "error": s.error,
        "evaluated_at": _when(s.evaluated_at),
        "last_success": _when(s.last_success),
        "interval": format_duration(s.interval),
        "objectives": [_objective_summary(r) for r in s.results],
    }


def status_view(s: SloState, now: datetime) -> dict[str, Any]:
    """``GET /api/v1/slos/{name}/status``: the latest results with provenance."""
    staleness = s.staleness_seconds(now)
    return {
        "slo": s.name,
        "service": s.service,
        "display_name": s.display_name,
        "state": s.state(now),
        "stale": s.is_stale(now),
        "error": s.error,
        "evaluated_at": _when(s.evaluated_at),
        "last_attempt": _when(s.last_attempt),
        "last_success": _when(s.last_success),
        "staleness_seconds": staleness,
        "next_attempt": _when(s.next_attempt),
        "interval": format_duration(s.interval),
        "stale_after": format_duration(s.stale_after),
        "consecutive_failures": s.consecutive_failures,
        "attempts": s.attempts,
        "successes": s.successes,
        "failures": s.failures,
        "data_quality": s.quality.view(),
        "results": [
            {**result_view(r), "provenance": dict(p)}
            for r, p in zip(s.results, s.provenance, strict=True)
        ],
    }
