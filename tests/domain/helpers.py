"""Builders for domain tests: small series and SLOs written inline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from slm.domain.model import (
    SLO,
    BudgetingMethod,
    Indicator,
    MetricQuery,
    MissingData,
    Objective,
    RatioMetric,
    ThresholdMetric,
    Window,
)
from slm.domain.series import Buckets, EventSeries

MIN = timedelta(minutes=1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUERY = MetricQuery(source=None, source_type="File", spec={"series": "x"})


def series(
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    present: npt.ArrayLike | None = None,
    start: datetime = T0,
    step: timedelta = MIN,
) -> EventSeries:
    g = np.asarray(good, dtype=np.float64)
    t = np.asarray(total, dtype=np.float64)
    p = np.ones(len(g), dtype=bool) if present is None else np.asarray(present, dtype=bool)
    return EventSeries(start, step, np.where(p, g, 0.0), np.where(p, t, 0.0), p)


def buckets(
    values: Sequence[float],
    present: Sequence[bool] | None = None,
    start: datetime = T0,
    step: timedelta = MIN,
) -> Buckets:
    v = np.asarray(values, dtype=np.float64)
    p = np.ones(len(v), dtype=bool) if present is None else np.asarray(present, dtype=bool)
    return Buckets(start, step, v, p)


def ratio_indicator(missing: MissingData = MissingData.IGNORE) -> Indicator:
    return Indicator("ratio", ratio=RatioMetric(total=QUERY, good=QUERY), missing_data=missing)


def threshold_indicator(missing: MissingData = MissingData.IGNORE) -> Indicator:
    return Indicator("latency", threshold=ThresholdMetric(QUERY), missing_data=missing)


def make_slo(
    window: Window,
    target: float = 0.99,
    method: BudgetingMethod = BudgetingMethod.OCCURRENCES,
    indicator: Indicator | None = None,
    slice_window: timedelta | None = None,
    slice_target: float | None = None,
) -> SLO:
    objective = Objective(
        "o", target, time_slice_window=slice_window, time_slice_target=slice_target
    )
    return SLO("slo", "svc", indicator or ratio_indicator(), window, method, (objective,))
