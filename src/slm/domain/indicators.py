"""Shape source ``Buckets`` into the ``EventSeries`` the engine evaluates.

Invariant of every series built here (the engine relies on it): ``good`` and ``total`` are
0 wherever ``present`` is False, and ``0 <= good <= total`` elsewhere. The missing-data
policy is *not* applied here: gaps stay ``present=False`` so that coverage shows them; the
engine applies ``Indicator.missing_data`` when it counts a window.

- ratio ``good``/``total`` or ``bad``/``total``: events per bucket; a bucket is present only
  if every needed series has it.
- raw ratio: one unit per present bucket, ``good`` = the success ratio.
- threshold: one data point per present bucket, good when ``value op threshold``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np

from slm.domain.model import Indicator, Objective, Operator
from slm.domain.series import BoolArray, Buckets, EventSeries, FloatArray

_COMPARE = {
    "lt": np.less,
    "lte": np.less_equal,
    "gt": np.greater,
    "gte": np.greater_equal,
}


def _check_same_grid(first: Buckets, *others: Buckets) -> None:
    for other in others:
        if (other.start, other.step, len(other)) != (first.start, first.step, len(first)):
            raise ValueError(
                "series are on different grids: "
                f"{first.start.isoformat()}+{len(first)}x{first.step} vs "
                f"{other.start.isoformat()}+{len(other)}x{other.step}"
            )


def _masked(values: FloatArray, present: BoolArray, role: str) -> FloatArray:
    """Values where present, 0 elsewhere; reject NaN/inf and negative counts."""
    out = np.where(present, values, 0.0).astype(np.float64, copy=False)
    if not np.isfinite(out).all():
        raise ValueError(f"{role}: non-finite value in a present bucket")
    if (out < 0).any():
        raise ValueError(f"{role}: negative count in a present bucket")
    return out


def ratio_events(
    *, total: Buckets, good: Buckets | None = None, bad: Buckets | None = None
) -> EventSeries:
    """Events from ``good``+``total`` or ``bad``+``total`` (good = total - bad)."""
    if (good is None) == (bad is None):
        raise ValueError("ratio_events needs exactly one of good= or bad=")
    part = good if good is not None else bad
    assert part is not None
    _check_same_grid(total, part)
    present = total.present & part.present
    tot = _masked(total.values, present, "total")
    num = _masked(part.values, present, "good" if good is not None else "bad")
    if (num > tot).any():
        i = int(np.argmax(num > tot))
        role = "good" if good is not None else "bad"
        raise ValueError(f"{role} > total in bucket {i} ({num[i]} > {tot[i]})")
    good_values = num if good is not None else tot - num
    return EventSeries(total.start, total.step, good_values, tot, present)


def raw_events(raw: Buckets, raw_type: Literal["success", "failure"]) -> EventSeries:
    """Per-bucket ratios: each present bucket is one unit, ``good`` its success ratio."""
    if raw_type not in ("success", "failure"):
        raise ValueError(f"raw_type must be 'success' or 'failure', got {raw_type!r}")
    present = raw.present.copy()
    ratio = _masked(raw.values, present, "raw")
    if (ratio > 1).any():
        raise ValueError("raw: ratio above 1 in a present bucket")
    good = ratio if raw_type == "success" else np.where(present, 1.0 - ratio, 0.0)
    return EventSeries(raw.start, raw.step, good, present.astype(np.float64), present)


def threshold_events(values: Buckets, op: Operator, value: float) -> EventSeries:
    """One data point per present bucket, good when ``values[i] op value``."""
    if op not in _COMPARE:
        raise ValueError(f"unknown operator {op!r} (expected one of lt, lte, gt, gte)")
    present = values.present.copy()
    with np.errstate(invalid="ignore"):
        ok = _COMPARE[op](values.values, value) & present
    if np.isnan(values.values[present]).any():
        raise ValueError("threshold metric: NaN in a present bucket")
    return EventSeries(
        values.start, values.step, ok.astype(np.float64), present.astype(np.float64), present
    )


def events_for(
    indicator: Indicator, objective: Objective, buckets: Mapping[str, Buckets]
) -> EventSeries:
    """The ``EventSeries`` of one objective from the buckets of its indicator's queries.

    ``buckets`` is keyed by role: ``good``/``bad`` and ``total`` or ``raw`` for a ratio
    metric, ``metric`` for a threshold metric. Threshold objectives bring their own
    ``op``/``value``, so the same buckets give a different series per objective; call this
    once per objective and pass the result to ``evaluate_objective``.
    """
    if indicator.threshold is not None:
        if objective.op is None or objective.value is None:
            raise ValueError(
                f"objective {objective.name!r}: a threshold indicator needs op and value"
            )
        return threshold_events(_role(buckets, "metric"), objective.op, objective.value)
    ratio = indicator.ratio
    if ratio is None:
        raise ValueError(f"indicator {indicator.name!r} has neither ratio nor threshold")
    if ratio.raw is not None:
        return raw_events(_role(buckets, "raw"), ratio.raw_type or "success")
    if ratio.good is not None:
        return ratio_events(total=_role(buckets, "total"), good=_role(buckets, "good"))
    return ratio_events(total=_role(buckets, "total"), bad=_role(buckets, "bad"))


def _role(buckets: Mapping[str, Buckets], role: str) -> Buckets:
    try:
        return buckets[role]
    except KeyError:
        raise ValueError(
            f"missing buckets for role {role!r} (have: {', '.join(sorted(buckets)) or 'none'})"
        ) from None
