"""The ``Probe`` metric source: SLIs over the checks of a synthetic probe.

An SLI names the probe and a field in its metric source spec::

    metricSource:
      type: Probe            # or metricSourceRef to a DataSource of type Probe
      spec: {probe: shop-home, field: good}   # good | total | latency; location optional

``good``/``total`` are check counts per bucket (summed over locations unless
``location`` is given); ``latency`` is the largest check latency in seconds of a bucket
(the largest over locations). The values come from the store, where ``slm probe run``
and the server's scheduler record checks; a probe without stored checks reads as gaps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from slm.domain.errors import SourceError
from slm.domain.model import MetricQuery
from slm.domain.probe import BUCKET, PROBE_FIELDS, probe_series
from slm.domain.series import Buckets
from slm.store.db import Store
from slm.store.probes import ProbeRepository


class ProbeSource:
    def __init__(self, store: Store):
        self.store = store

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        label = f"DataSource {query.source}" if query.source else "inline Probe source"
        probe, field, location = (query.spec.get(k) for k in ("probe", "field", "location"))
        if not isinstance(probe, str) or not probe:
            raise SourceError(f"{label}: spec.probe must name a Probe")
        if field not in PROBE_FIELDS:
            raise SourceError(
                f"{label}: spec.field must be one of {', '.join(PROBE_FIELDS)} (got {field!r})"
            )
        if location is not None and not isinstance(location, str):
            raise SourceError(f"{label}: spec.location must be a string")
        latency = field == "latency"
        read_step = BUCKET if latency else step
        if latency and step % BUCKET:
            raise SourceError(f"{label}: latency needs a step of whole minutes, not {step}")
        with self.store.transaction() as repos:
            names = (
                [probe_series(probe, field, location)]
                if location is not None
                else ProbeRepository(repos.connection).series(probe, field)
            )
            parts = [repos.measurements.read(n, start, end, read_step) for n in names]
        return combine(parts, start, end, step, largest=latency)


def combine(
    parts: list[Buckets], start: datetime, end: datetime, step: timedelta, *, largest: bool
) -> Buckets:
    """Sum (or, with ``largest``, take the maximum of) the parts, on the grid of ``step``."""
    out = Buckets.empty(start, end, step)
    if not parts or len(out) == 0:
        return out
    present = np.logical_or.reduce([p.present for p in parts])
    if largest:
        values = np.max([np.where(p.present, p.values, -np.inf) for p in parts], axis=0)
        per = len(present) // len(out)
        present = present.reshape(len(out), per).any(axis=1)
        values = values.reshape(len(out), per).max(axis=1)
        values = np.where(present, values, 0.0)
    else:
        values = np.sum([np.where(p.present, p.values, 0.0) for p in parts], axis=0)
    return Buckets(out.start, step, values.astype(np.float64), present)
