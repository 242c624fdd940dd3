"""Half-open UTC intervals ``[start, end)`` and per-minute masks over a period.

Statements count minutes: a period of ``n`` minutes starting at ``start`` becomes boolean
arrays of length ``n`` (down, excluded, business, measured), so that overlaps are resolved by
set operations and nothing is ever subtracted twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np

from slm.domain.series import BoolArray

MINUTE = timedelta(minutes=1)
Span = tuple[datetime, datetime]


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping union of ``spans`` (touching spans are joined)."""
    out: list[Span] = []
    for s, e in sorted(x for x in spans if x[1] > x[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def clip(spans: Iterable[Span], start: datetime, end: datetime) -> list[Span]:
    return [(max(s, start), min(e, end)) for s, e in spans if e > start and s < end]


def minutes_in(start: datetime, end: datetime) -> int:
    return int((end - start) // MINUTE)


def mask(spans: Iterable[Span], start: datetime, n: int) -> BoolArray:
    """``True`` for each minute of ``[start, start + n min)`` whose start lies in a span."""
    out = np.zeros(n, dtype=np.bool_)
    for span in spans:
        i, j = minute_range(span, start, n)
        if j > i:
            out[i:j] = True
    return out


def minute_range(span: Span, start: datetime, n: int) -> tuple[int, int]:
    """Indices ``[i, j)`` of the minutes of ``[start, start + n min)`` whose start lies in
    ``span`` (``j <= i`` when none does)."""
    s, e = span
    i = max(0, -(-(s - start) // MINUTE))  # ceil: first minute starting at or after s
    j = min(n, -(-(e - start) // MINUTE))
    return int(i), int(j)


def runs(flags: BoolArray, start: datetime) -> list[Span]:
    """The maximal runs of ``True`` minutes as spans."""
    if not flags.any():
        return []
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [
        (start + int(a) * MINUTE, start + int(b) * MINUTE)
        for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]
