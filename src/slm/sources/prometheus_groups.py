"""Reads of the ``Prometheus`` source per group of label values (grouped SLOs).

A grouped SLO (Pyrra's ``grouping``, the ``slm.dev/grouping`` annotation) has one result
per value of its grouping labels. Its queries are read as ``PrometheusSource.read`` reads
them (one instant just before each bucket boundary, ``perSecond`` scaling, the same
bucket rule), but the series are added up per group instead of into one sum:

- ``counter: false``: the query is sent as ``sum by (<labels>) (<query>)``, so Prometheus
  returns one series per group;
- ``counter: true``: the series are read as the query returns them and each one's
  increases (restarts included) are added to its group here, since ``sum by`` of raw
  counters would hide one counter's restart in the sum (see ``slm.sources.prometheus``).

A series without one of the labels belongs to the group with the empty value for it, as
``sum by`` does. A query that returns series but none with any grouping label (e.g. it
sums them away with ``sum(...)``) is refused rather than taken as one group.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from slm.domain.errors import DataError
from slm.domain.model import Group, MetricQuery
from slm.domain.series import Buckets
from slm.sources.grid import step_seconds, unix_seconds

if TYPE_CHECKING:
    from slm.sources.prometheus import PrometheusSource


def grouped_promql(expr: str, labels: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(labels)}) ({expr})"


def read_groups(
    source: PrometheusSource,
    query: MetricQuery,
    labels: tuple[str, ...],
    start: datetime,
    end: datetime,
    step: timedelta,
) -> dict[Group, Buckets]:
    from slm.sources.prometheus import (
        EPSILON_MS,
        _increases,
        per_second,
        promql,
    )

    expr = promql(query, step)
    if not query.counter:
        expr = grouped_promql(expr, labels)
    scale = float(step_seconds(step)) if per_second(query) else 1.0
    start = start.astimezone(UTC)
    n = len(Buckets.empty(start, end, step))
    if n == 0:
        return {}
    step_ms = step_seconds(step) * 1000
    first = unix_seconds(start) * 1000 - EPSILON_MS + (0 if query.counter else step_ms)
    count = n + 1 if query.counter else n
    grids = source._evaluate(expr, first, count, step_ms)
    if query.counter:
        parts = {series: _increases(c) for series, c in grids.items()}
        source._refine_drops(expr, grids, parts, first, step_ms)
    else:
        parts = {series: (v, ~np.isnan(v)) for series, v in grids.items()}
    out: dict[Group, Buckets] = {}
    for series, (inc, present) in parts.items():
        names = dict(series)
        group = tuple((name, names.get(name, "")) for name in labels)
        b = out.get(group)
        if b is None:
            b = out[group] = Buckets.empty(start, end, step)
        b.values[present] += inc[present]
        b.present[:] |= present
    if out and all(v == "" for group in out for _, v in group):
        raise DataError(
            f"the query {query.spec.get('query')!r} returns no series with the grouping "
            f"label(s) {', '.join(labels)}: keep them in the query (e.g. sum by "
            f"({', '.join(labels)}) (...)) so that each group can be measured"
        )
    if scale != 1.0:
        for b in out.values():
            b.values[:] *= scale
    return dict(sorted(out.items()))
