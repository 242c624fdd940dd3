"""The ``Prometheus`` metric source (also Thanos, Mimir, VictoriaMetrics: same HTTP API).

A DataSource of ``type: Prometheus`` says how to reach the server (``connectionDetails``,
see ``slm.sources.prometheus_config``); a metric source carries PromQL in ``spec.query``.

Which samples belong to a bucket — the same rule as for measurement files: a bucket
``[b, b + step)`` holds what the samples with timestamps in ``[b, b + step)`` say. To get
exactly that from PromQL, slm evaluates queries (``query_range``) at the instants one
millisecond *before* bucket boundaries, ``e = b - 1ms``:

- ``counter: true`` — the query returns cumulative counters. The bucket ``[b, b + step)``
  gets ``C(b + step - 1ms) - C(b - 1ms)``, the increase of the counter's last sample
  before the bucket's end over its last sample before the bucket's start. A drop means
  the counter restarted from 0, and the increase is then the new value. A bucket is a gap
  when either end has no value (no sample within Prometheus's lookback delta, 5m by
  default), so a counter's first sample is its baseline, as in exposition files. A query
  that returns several series (``http_requests_total{code!~"5.."}``) has its increases
  computed per series and then summed, so a reset of one counter is never mistaken for a
  drop of the sum; prefer that to ``sum(...)`` of counters, which hides such resets.
- ``counter: false`` — the query's value at ``b + step - 1ms`` is the bucket's value (with
  ``[1m]`` range selectors it covers the bucket's samples). Several series are summed.
  ``NaN`` (e.g. ``0/0``) is a gap.
- ``perSecond: true`` in the metric source's spec (set for Sloth events queries, which are
  rates) multiplies each value by the step in seconds, giving events per bucket.
- Sloth's ``{{.window}}`` placeholder is replaced by the step (``1m``).

Ranges longer than ``maxPointsPerQuery`` instants are split into chunks that are queried
concurrently, at most ``maxConcurrentQueries`` requests in flight per server.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from slm.domain.durations import format_duration
from slm.domain.errors import SourceError
from slm.domain.model import DataSource, Group, MetricQuery
from slm.domain.series import DEFAULT_STEP, Buckets
from slm.domain.window_totals import WindowPush
from slm.sources.grid import FloatArray, step_seconds, unix_seconds
from slm.sources.prometheus_config import PrometheusConfig, config_for
from slm.sources.prometheus_http import PrometheusClient, Series

EPSILON_MS = 1
"""Queries are evaluated this long before each bucket boundary."""

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
FINE_STEP_MS = 1000
"""Resolution at which a bucket where a counter restarted is read again."""
MAX_REFINED_BUCKETS = 1000
"""At most this many such buckets are refined per read (restarts are rare)."""

_Labels = tuple[tuple[str, str], ...]
_Grids = dict[_Labels, FloatArray]
_Part = tuple[FloatArray, "np.ndarray[Any, np.dtype[np.bool_]]"]


def promql(query: MetricQuery, step: timedelta) -> str:
    """The PromQL text of ``query`` for buckets of ``step`` (Sloth placeholders filled)."""
    text = query.spec.get("query")
    if not isinstance(text, str) or not text.strip():
        where = f"DataSource {query.source}" if query.source else "inline Prometheus source"
        raise SourceError(f"{where}: a Prometheus metric source needs spec.query (PromQL)")
    return _WINDOW.sub(format_duration(step), text.strip())


def per_second(query: MetricQuery) -> bool:
    value = query.spec.get("perSecond", False)
    if not isinstance(value, bool):
        raise SourceError(f"spec.perSecond must be true or false, not {value!r}")
    return value


class PrometheusSource:
    """Reads PromQL queries from one server; see the module docstring for the semantics."""

    def __init__(self, client: PrometheusClient):
        self.client = client

    @property
    def pushdown_group(self) -> PrometheusClient:
        """Sources of one server answer each other's window totals (``WindowSource``)."""
        return self.client

    def read_groups(
        self,
        query: MetricQuery,
        labels: tuple[str, ...],
        start: datetime,
        end: datetime,
        step: timedelta,
    ) -> dict[Group, Buckets]:
        """Per group of ``labels`` (``GroupedSource``): ``slm.sources.prometheus_groups``."""
        from slm.sources.prometheus_groups import read_groups

        return read_groups(self, query, labels, start, end, step)

    def series_identity(self, query: MetricQuery) -> dict[str, object]:
        """What names the query's series when its reads are kept (``SeriesIdentity``)."""
        return {
            "url": self.client.config.url,
            "query": query.spec.get("query"),
            "counter": query.counter,
            "perSecond": per_second(query),
        }

    def window_totals(
        self, queries: Sequence[MetricQuery], end: datetime, windows: Sequence[timedelta]
    ) -> list[WindowPush]:
        """Window sums computed by Prometheus: see ``slm.sources.prometheus_pushdown``."""
        from slm.sources.prometheus_pushdown import Pushdown

        texts: list[tuple[str, MetricQuery]] = []
        bad: dict[int, str] = {}
        for i, q in enumerate(queries):
            try:
                per_second(q)
                texts.append((promql(q, DEFAULT_STEP), q))
            except SourceError as e:
                bad[i] = str(e)
        pushed = iter(Pushdown(self.client).window_totals(texts, end, windows))
        return [WindowPush(error=bad[i]) if i in bad else next(pushed) for i in range(len(queries))]

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        expr = promql(query, step)
        scale = float(step_seconds(step)) if per_second(query) else 1.0
        out = Buckets.empty(start.astimezone(UTC), end, step)
        n = len(out)
        if n == 0:
            return out
        step_ms = step_seconds(step) * 1000
        # counters need both ends of every bucket: n + 1 instants from the start;
        # other queries one instant per bucket, at its end.
        first = unix_seconds(start) * 1000 - EPSILON_MS + (0 if query.counter else step_ms)
        count = n + 1 if query.counter else n
        grids = self._evaluate(expr, first, count, step_ms)
        if query.counter:
            parts = {labels: _increases(c) for labels, c in grids.items()}
            self._refine_drops(expr, grids, parts, first, step_ms)
        else:
            parts = {labels: (v, ~np.isnan(v)) for labels, v in grids.items()}
        for inc, present in parts.values():
            out.values[present] += inc[present]
            out.present[:] |= present
        if scale != 1.0:
            out.values[:] *= scale
        return out

    def _evaluate(self, expr: str, first_ms: int, count: int, step_ms: int) -> _Grids:
        """Per series (by labels), the query's value at ``first_ms + k * step_ms``."""
        size = self.client.config.max_points
        chunks = [(k, min(count, k + size)) for k in range(0, count, size)]

        def run(chunk: tuple[int, int]) -> list[Series]:
            lo, hi = chunk
            start, end = first_ms + lo * step_ms, first_ms + (hi - 1) * step_ms
            return self.client.query_range(
                expr, start, end, step_ms, stats=self.client.collect_stats
            ).series

        if len(chunks) == 1:
            results = [run(chunks[0])]
        else:
            workers = min(len(chunks), self.client.config.max_in_flight)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, chunks))
        by_labels: _Grids = {}
        for part in results:
            for s in part:
                grid = by_labels.get(s.labels)
                if grid is None:
                    grid = by_labels[s.labels] = np.full(count, np.nan)
                self._place(grid, s, first_ms, step_ms)
        return by_labels

    def _refine_drops(
        self, expr: str, grids: _Grids, parts: dict[_Labels, _Part], first_ms: int, step_ms: int
    ) -> None:
        """Exact increases for the buckets where a counter restarted.

        Between two boundaries slm sees only the last value before each; where the counter
        dropped, the bucket is read again one second at a time (every sample's value) and
        its increase, restarts included, replaces the boundary difference in ``parts``.
        """
        if step_ms <= FINE_STEP_MS:
            return
        drops: dict[int, list[_Labels]] = {}
        for labels, c in grids.items():
            with np.errstate(invalid="ignore"):
                (where,) = np.nonzero(c[1:] < c[:-1])
            for i in where.tolist():
                drops.setdefault(i, []).append(labels)
        for i, labels_list in sorted(drops.items())[:MAX_REFINED_BUCKETS]:
            lo = first_ms + i * step_ms
            fine = self.client.query_range(
                expr, lo, lo + step_ms, FINE_STEP_MS, stats=self.client.collect_stats
            )
            found = {s.labels: s for s in fine.series}
            for labels in labels_list:
                s = found.get(labels)
                if s is None:
                    continue
                values = np.full(step_ms // FINE_STEP_MS + 1, np.nan)
                self._place(values, s, lo, FINE_STEP_MS)
                inc, present = _increases(values)
                if present.any():
                    parts[labels][0][i] = float(inc[present].sum())

    def _place(self, grid: FloatArray, s: Series, first_ms: int, step_ms: int) -> None:
        offset = s.timestamps_ms - first_ms
        idx = offset // step_ms
        if ((offset % step_ms) != 0).any() or (idx < 0).any() or (idx >= len(grid)).any():
            raise SourceError(
                f"{self.client.config.label}: Prometheus at {self.client.config.url} "
                "answered with timestamps off the requested grid"
            )
        grid[idx] = s.values


def _increases(c: FloatArray) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.bool_]]]:
    """Counter increases between consecutive instants; a drop is a restart from 0."""
    before, after = c[:-1], c[1:]
    present = ~np.isnan(before) & ~np.isnan(after)
    with np.errstate(invalid="ignore"):
        diff = after - before
        inc = np.where(diff < 0, after, diff)
    return np.where(present, inc, 0.0), present


# --- one client per server, shared by every source the factory builds -----------------

_clients: dict[PrometheusConfig, PrometheusClient] = {}
_clients_lock = threading.Lock()


def client_for(config: PrometheusConfig) -> PrometheusClient:
    """The shared client of a configuration (connections and the in-flight bound)."""
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = PrometheusClient(config)
        return client


def prometheus_source(datasource: DataSource | None, query: MetricQuery) -> PrometheusSource:
    """The source for a query of a ``Prometheus`` DataSource (or an inline one)."""
    spec: Mapping[str, Any] = query.spec
    config = config_for(datasource, spec, query.base_dir)
    return PrometheusSource(client_for(config))
