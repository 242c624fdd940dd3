"""Measured composite availability, minute by minute (pure arithmetic).

The design side of a composite (``slm.domain.composite``) combines availabilities over a
whole window as if the parts failed independently of each other. What happened is
different: two redundant parts that were each down 1 % of a month, but never in the same
minute, kept the pair up 100 % of the month, not 99.99 %; two parts in series that were
down in the same minutes cost those minutes once, not twice. So the measured side combines
the parts minute by minute:

- each measured part has an *up fraction* per one-minute bucket (``MinuteSeries``): the
  good / total events of the objectives that measure it in that minute, weighted as the
  component's objectives are weighted; a minute without events has no data;
- in each minute, the graph's arithmetic (series, redundant, k-of-n, fallback, shared
  parts conditioned on, exactly as ``slm.domain.composite.availability``) combines the
  parts' up fractions. Within one minute the parts are taken as independent; across
  minutes they are as they happened, so coinciding and disjoint outages count as such;
- a part that nothing measures counts with a constant (its design value) in every minute;
- the window figure is the mean over the minutes in which every measured part has data,
  and ``coverage`` is their share of the window's minutes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

from slm.domain.composite import (
    MAX_SHARED,
    AllOf,
    AnyOf,
    AtLeast,
    Expr,
    Fallback,
    Ref,
    refs,
)
from slm.domain.series import BoolArray, EventSeries, FloatArray


@dataclass(frozen=True, eq=False)
class MinuteSeries:
    """A part's up fraction per minute: ``up[i]`` in [0, 1] wherever ``present[i]``."""

    up: FloatArray
    present: BoolArray

    def __post_init__(self) -> None:
        if self.up.shape != self.present.shape:
            raise ValueError("up and present must have the same shape")
        known = self.up[self.present]
        if not np.isfinite(known).all() or (known < 0).any() or (known > 1).any():
            raise ValueError("an up fraction must be between 0 and 1 in a minute with data")

    def __len__(self) -> int:
        return len(self.up)

    @classmethod
    def of_events(cls, events: EventSeries) -> MinuteSeries:
        """good / total per bucket; a bucket without events (or without data) has no data."""
        present = events.present & (events.total > 0)
        up = np.divide(events.good, events.total, out=np.zeros(len(events)), where=present)
        return cls(up, present)

    @classmethod
    def of_up(cls, up: Sequence[float] | FloatArray) -> MinuteSeries:
        """Every minute has data (a convenience for fixed series)."""
        values = np.asarray(up, dtype=np.float64)
        return cls(values, np.ones(values.shape, dtype=np.bool_))


def weighted_minutes(parts: Sequence[tuple[float, MinuteSeries]]) -> MinuteSeries:
    """Per minute, the weighted mean up fraction of the parts that have data in it.

    Weights are renormalised minute by minute over the parts with data (a part without
    data in a minute is left out of that minute, as a weighted composite leaves out a part
    without data); a minute in which no part has data has no data.
    """
    if not parts:
        raise ValueError("a weighted roll-up needs at least one part")
    n = len(parts[0][1])
    num, den = np.zeros(n), np.zeros(n)
    for weight, series in parts:
        if len(series) != n:
            raise ValueError("every part must cover the same minutes")
        if not weight > 0:
            raise ValueError(f"weights must be positive, got {weight}")
        num += np.where(series.present, weight * series.up, 0.0)
        den += np.where(series.present, weight, 0.0)
    present = den > 0
    up = np.divide(num, den, out=np.zeros(n), where=present)
    return MinuteSeries(np.clip(up, 0.0, 1.0), present)


def _independent(expr: Expr, values: Mapping[str, FloatArray], n: int) -> FloatArray:
    if isinstance(expr, Ref):
        return values[expr.name]
    if isinstance(expr, AllOf):
        up = np.ones(n)
        for item in expr.items:
            up = up * _independent(item, values, n)
        return up
    if isinstance(expr, AnyOf):
        down = np.ones(n)
        for item in expr.items:
            down = down * (1.0 - _independent(item, values, n))
        return 1.0 - down
    if isinstance(expr, AtLeast):
        # dist[j]: probability that exactly j of the items seen so far are up (per minute)
        dist = [np.ones(n)] + [np.zeros(n) for _ in expr.items]
        for i, item in enumerate(expr.items, start=1):
            a = _independent(item, values, n)
            for j in range(i, 0, -1):
                dist[j] = dist[j] * (1.0 - a) + dist[j - 1] * a
            dist[0] = dist[0] * (1.0 - a)
        return np.asarray(np.sum(dist[expr.k :], axis=0), dtype=np.float64)
    assert isinstance(expr, Fallback)
    primary = _independent(expr.primary, values, n)
    fallback = _independent(expr.fallback, values, n)
    return primary + (1.0 - primary) * expr.switchover * fallback


def minute_availability(expr: Expr, values: Mapping[str, FloatArray]) -> FloatArray:
    """Per minute, the probability that ``expr`` is up given each part's up fraction then.

    Every array has one entry per minute. Parts that occur more than once are conditioned
    on, minute by minute, as ``slm.domain.composite.availability`` does over a window.
    """
    names = refs(expr)
    missing = sorted(set(names) - set(values))
    if missing:
        raise KeyError(f"no availability for {', '.join(missing)}")
    lengths = {len(values[name]) for name in names}
    if len(lengths) != 1:
        raise ValueError("every part must cover the same minutes")
    n = lengths.pop()
    shared = sorted(name for name, count in Counter(names).items() if count > 1)
    if len(shared) > MAX_SHARED:
        raise ValueError(
            f"{len(shared)} parts are shared by several dependencies (at most {MAX_SHARED})"
        )
    if not shared:
        return np.clip(_independent(expr, values, n), 0.0, 1.0)
    total = np.zeros(n)
    for states in product((True, False), repeat=len(shared)):
        weight = np.ones(n)
        fixed = dict(values)
        for name, up in zip(shared, states, strict=True):
            weight = weight * (values[name] if up else 1.0 - values[name])
            fixed[name] = np.ones(n) if up else np.zeros(n)
        if weight.any():
            total += weight * _independent(expr, fixed, n)
    return np.clip(total, 0.0, 1.0)


@dataclass(frozen=True)
class MeasuredComposite:
    """The mean per-minute availability of an expression over the minutes with data."""

    value: float | None  # None: no minute in which every measured part had data
    minutes: int  # minutes that counted
    window_minutes: int

    @property
    def coverage(self) -> float:
        return self.minutes / self.window_minutes if self.window_minutes else 0.0


def measured_composite(
    expr: Expr, parts: Mapping[str, MinuteSeries | float], window_minutes: int
) -> MeasuredComposite:
    """``expr`` minute by minute (see the module docstring).

    ``parts`` gives each part either its measured ``MinuteSeries`` (``window_minutes``
    long) or a constant availability (a part nothing measured). Without any measured part
    there is no measurement: ``value`` is ``None``.
    """
    names = set(refs(expr))
    missing = sorted(names - set(parts))
    if missing:
        raise KeyError(f"no availability for {', '.join(missing)}")
    series = {n: p for n, p in parts.items() if n in names and isinstance(p, MinuteSeries)}
    if not series:
        return MeasuredComposite(None, 0, window_minutes)
    keep = np.ones(window_minutes, dtype=np.bool_)
    for name, s in series.items():
        if len(s) != window_minutes:
            raise ValueError(f"{name}: {len(s)} minutes, expected {window_minutes}")
        keep &= s.present
    counted = int(keep.sum())
    if counted == 0:
        return MeasuredComposite(None, 0, window_minutes)
    values: dict[str, FloatArray] = {}
    for name in names:
        p = parts[name]
        if isinstance(p, MinuteSeries):
            values[name] = p.up[keep]
        else:
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"availability of {name!r} must be between 0 and 1, got {p}")
            values[name] = np.full(counted, float(p))
    per_minute = minute_availability(expr, values)
    return MeasuredComposite(float(np.mean(per_minute)), counted, window_minutes)
