"""Where the numbers of an evaluation came from, and what the data looked like.

``Traced`` wraps a reader (``services/reading.py``; as ``evaluate_slo`` expects) and
remembers, per query: the DataSource name and type, the query, the span read, how many
buckets had data, the newest bucket with data, and how many buckets lie *in the future*
(more than the tolerance after the clock, read from a look-ahead span). The reader it wraps
labels a failing read with its DataSource.

From these traces, ``provenance`` gives the record stored with each evaluation (source,
type, query, method, coverage per query) and ``data_quality`` the per-SLO report of future
buckets and skew between the SLO's series (their newest buckets more than the tolerance
apart, e.g. sources with clocks that disagree).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from slm.domain.model import SLO, Group, MetricQuery, Objective
from slm.domain.results import ObjectiveResult
from slm.domain.series import Buckets, floor_to_step
from slm.services.ports import Reader
from slm.services.reading import ReaderDecorator
from slm.services.views import iso
from slm.spec.workspace import Workspace

log = logging.getLogger("slm.serve")


def source_type(ws: Workspace, q: MetricQuery) -> str:
    ds = ws.datasources.get(q.source) if q.source else None
    return ds.type if ds is not None else q.source_type


def store_series(ws: Workspace, slo: SLO) -> set[str]:
    """Series of the store (``type: Store``) that an SLO reads: late pushes affect it."""
    out = set()
    for objective in slo.objectives:
        for q in slo.indicator_for(objective).queries().values():
            series = q.spec.get("series")
            if source_type(ws, q).lower() == "store" and isinstance(series, str):
                out.add(series)
    return out


@dataclass
class QueryTrace:
    datasource: str | None
    type: str
    query: dict[str, Any]
    start: datetime
    end: datetime
    expected: int
    present: int
    last_bucket: datetime | None
    future_buckets: int = 0


@dataclass(frozen=True)
class DataQuality:
    """Per-SLO data checks of the latest evaluation (and late pushes since start)."""

    future_buckets: int = 0
    skew_seconds: float | None = None
    skewed: bool = False
    newest_bucket: datetime | None = None
    late_items: int = 0
    out_of_order_items: int = 0
    superseded: int = 0
    newest_by_series: dict[str, str | None] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {
            "future_buckets": self.future_buckets,
            "skew_seconds": self.skew_seconds,
            "skewed": self.skewed,
            "newest_bucket": None if self.newest_bucket is None else iso(self.newest_bucket),
            "newest_by_series": dict(self.newest_by_series),
            "late_items": self.late_items,
            "out_of_order_items": self.out_of_order_items,
            "superseded_evaluations": self.superseded,
        }


class Traced(ReaderDecorator):
    """A reader (for ``evaluate_slo``) that records a ``QueryTrace`` per query: the span
    read, and a look-ahead span after ``now`` plus the tolerance for future buckets."""

    def __init__(self, inner: Reader, now: datetime, tolerance: timedelta, lookahead: timedelta):
        super().__init__(inner)
        self.now, self.tolerance, self.lookahead = now, tolerance, lookahead
        self.traces: dict[str, QueryTrace] = {}

    def read(self, q: MetricQuery, start: datetime, end: datetime) -> Buckets:
        buckets = self.inner.read(q, start, end)
        if q.key not in self.traces:
            future_from = floor_to_step(self.now + self.tolerance, self.step) + self.step
            ahead = self.inner.read(q, future_from, future_from + self.lookahead)
            ds = self.datasource(q)
            name = ds.name if ds is not None else None
            self.traces[q.key] = _trace(q, name, self.source_type(q), buckets, ahead)
        return buckets

    def read_groups(
        self, q: MetricQuery, labels: tuple[str, ...], start: datetime, end: datetime
    ) -> dict[Group, Buckets]:
        groups = self.inner.read_groups(q, labels, start, end)
        if q.key not in self.traces:  # one trace per query: every group's buckets together
            future_from = floor_to_step(self.now + self.tolerance, self.step) + self.step
            ahead = self.inner.read_groups(q, labels, future_from, future_from + self.lookahead)
            ds = self.datasource(q)
            name = ds.name if ds is not None else None
            self.traces[q.key] = _trace(
                q,
                name,
                self.source_type(q),
                _together(groups.values(), start, end, self.step),
                _together(ahead.values(), future_from, future_from + self.lookahead, self.step),
            )
        return groups

    def provenance(self, slo: SLO, objective: Objective, result: ObjectiveResult) -> dict[str, Any]:
        queries = []
        for role, q in slo.indicator_for(objective).queries().items():
            t = self.traces.get(q.key)
            if t is None:
                continue
            queries.append(
                {
                    "role": role,
                    "datasource": t.datasource,
                    "type": t.type,
                    "query": t.query,
                    "span": {"start": iso(t.start), "end": iso(t.end)},
                    "coverage": {
                        "expected_buckets": t.expected,
                        "present_buckets": t.present,
                        "ratio": t.present / t.expected if t.expected else 0.0,
                    },
                    "newest_bucket": None if t.last_bucket is None else iso(t.last_bucket),
                }
            )
        return {
            "method": slo.budgeting_method.value,
            "step_seconds": int(self.step.total_seconds()),
            "evaluated_at": iso(result.at),
            "coverage": {
                "expected_buckets": result.coverage.expected,
                "present_buckets": result.coverage.present,
                "ratio": result.coverage.ratio,
            },
            "queries": queries,
        }

    def span_start(self) -> datetime | None:
        return min((t.start for t in self.traces.values()), default=None)

    def data_quality(self) -> DataQuality:
        traces = list(self.traces.values())
        lasts = [t.last_bucket for t in traces if t.last_bucket is not None]
        skew = (max(lasts) - min(lasts)).total_seconds() if len(lasts) > 1 else None
        return DataQuality(
            future_buckets=sum(t.future_buckets for t in traces),
            skew_seconds=skew,
            skewed=skew is not None and skew > self.tolerance.total_seconds(),
            newest_bucket=max(lasts, default=None),
            newest_by_series={
                f"{t.datasource or t.type}:{t.query.get('series', '')}": (
                    None if t.last_bucket is None else iso(t.last_bucket)
                )
                for t in traces
            },
        )


def _together(parts: Iterable[Buckets], start: datetime, end: datetime, step: timedelta) -> Buckets:
    """Buckets present where any part is (for the trace of a grouped read)."""
    out = Buckets.empty(start, end, step)
    for b in parts:
        out.present[:] |= b.present
    return out


def _trace(
    q: MetricQuery, datasource: str | None, kind: str, buckets: Buckets, ahead: Buckets
) -> QueryTrace:
    present = np.flatnonzero(buckets.present)
    future = np.flatnonzero(ahead.present)
    if len(future):
        last: datetime | None = ahead.start + ahead.step * int(future[-1])
    elif len(present):
        last = buckets.start + buckets.step * int(present[-1])
    else:
        last = None
    return QueryTrace(
        datasource=datasource,
        type=kind,
        query=json.loads(json.dumps(dict(q.spec), default=str)),
        start=buckets.start,
        end=buckets.end,
        expected=len(buckets),
        present=len(present),
        last_bucket=last,
        future_buckets=len(future),
    )
