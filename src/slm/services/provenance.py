"""Where the numbers of an evaluation came from, and what the data looked like.

``TracingReader`` reads metric queries through a ``SourceFactory`` (as ``evaluate_slo``
expects) and remembers, per query: the DataSource name and type, the query, the span read,
how many buckets had data, the newest bucket with data, and how many buckets lie *in the
future* (more than the tolerance after the clock, read from a look-ahead span). A failing
read is re-raised as ``SourceError`` naming the DataSource.

From these traces, ``provenance`` gives the record stored with each evaluation (source,
type, query, method, coverage per query) and ``data_quality`` the per-SLO report of future
buckets and skew between the SLO's series (their newest buckets more than the tolerance
apart, e.g. sources with clocks that disagree).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from slm.domain.errors import DataError, SlmError, SourceError
from slm.domain.model import SLO, MetricQuery, Objective
from slm.domain.results import ObjectiveResult
from slm.domain.series import Buckets, floor_to_step
from slm.services.ports import SourceFactory
from slm.services.views import iso
from slm.spec.workspace import Workspace

log = logging.getLogger("slm.serve")


def source_type(ws: Workspace, q: MetricQuery) -> str:
    ds = ws.datasources.get(q.source) if q.source else None
    return ds.type if ds is not None else q.source_type


def query_key(q: MetricQuery) -> str:
    return json.dumps(
        [q.source, q.source_type, dict(q.spec), q.base_dir], sort_keys=True, default=str
    )


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


class TracingReader:
    """A memoising reader for ``evaluate_slo`` that records a ``QueryTrace`` per query."""

    def __init__(
        self,
        ws: Workspace,
        factory: SourceFactory,
        step: timedelta,
        now: datetime,
        tolerance: timedelta,
        lookahead: timedelta,
    ):
        self.ws, self.factory, self.step = ws, factory, step
        self.now, self.tolerance, self.lookahead = now, tolerance, lookahead
        self.traces: dict[str, QueryTrace] = {}
        self._memo: dict[tuple[str, datetime, datetime], Buckets] = {}

    def read(self, q: MetricQuery, start: datetime, end: datetime) -> Buckets:
        key = query_key(q)
        if (key, start, end) in self._memo:
            return self._memo[(key, start, end)]
        ds = self.ws.datasources.get(q.source) if q.source else None
        kind = ds.type if ds is not None else q.source_type
        label = f"DataSource {ds.name} ({kind})" if ds else f"inline {kind} source"
        try:
            source = self.factory.for_query(q, ds)
            buckets = source.read(q, start, end, self.step)
            future_from = floor_to_step(self.now + self.tolerance, self.step) + self.step
            ahead = source.read(q, future_from, future_from + self.lookahead, self.step)
        except SlmError as e:
            message = str(e) if str(e).startswith("DataSource ") else f"{label}: {e}"
            raise (DataError if isinstance(e, DataError) else SourceError)(message) from e
        except Exception as e:  # an adapter bug or a library error: still only this SLO
            log.debug("read failed for %s", label, exc_info=True)
            raise SourceError(f"{label}: {type(e).__name__}: {e}") from e
        self._memo[(key, start, end)] = buckets
        self.traces[key] = _trace(q, ds.name if ds else None, kind, buckets, ahead)
        return buckets

    def provenance(self, slo: SLO, objective: Objective, result: ObjectiveResult) -> dict[str, Any]:
        queries = []
        for role, q in slo.indicator_for(objective).queries().items():
            t = self.traces.get(query_key(q))
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
