"""OpenSLO v1alpha: the SLO (queries inline, ratio metrics per objective, ``timeWindows``
counted in named units). Its Service shares the v1 mapper."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slm.domain.model import (
    BudgetingMethod,
    CalendarUnit,
    Indicator,
    MetricQuery,
    RatioMetric,
    RollingWindow,
    ThresholdMetric,
    Window,
)
from slm.spec.common import flatten_labels
from slm.spec.context import MapContext, origin_of, service_ref
from slm.spec.mapper.indicators import check_promql, spec_dir, with_slo_missing_data
from slm.spec.mapper.objectives import map_objective, openslo_slo
from slm.spec.mapper.sloth import openslo_extras
from slm.spec.mapper.windows import calendar_window, one_window
from slm.spec.problems import SpecObject

if TYPE_CHECKING:
    from slm.spec import openslo_v1alpha as v1a


V1ALPHA_SLICE = "1m"
"""v1alpha has no ``timeSliceWindow``: a Timeslices objective without one (slm reads it if
given) is counted in one-minute slices."""
_SECONDS = {"Second": 1, "Minute": 60, "Hour": 3600, "Day": 86400, "Week": 604800}
_CALENDAR: dict[str, CalendarUnit] = {
    "Day": "day",
    "Week": "week",
    "Month": "month",
    "Quarter": "quarter",
    "Year": "year",
}
_SOURCE_NAMES = {
    "prometheus": "Prometheus",
    "datadog": "Datadog",
    "newrelic": "NewRelic",
    "file": "File",
    "cloudwatch": "CloudWatch",
    "graphite": "Graphite",
}


def _query(obj: SpecObject, m: v1a.Metric) -> MetricQuery:
    spec: dict[str, Any] = {"query": m.query, "queryType": m.query_type}
    if m.metadata:
        spec["metadata"] = dict(m.metadata)
    source_type = _SOURCE_NAMES.get(m.source.lower(), m.source)
    return MetricQuery(source=None, source_type=source_type, spec=spec, base_dir=spec_dir(obj))


def _window(obj: SpecObject, tw: v1a.TimeWindow, ctx: MapContext) -> Window | None:
    f = ("spec", "timeWindows", 0)
    if tw.calendar is not None:
        if tw.is_rolling:
            ctx.problems.at(obj, (*f, "isRolling"), "a calendar window cannot be rolling")
            return None
        if tw.unit not in _CALENDAR:
            ctx.problems.at(
                obj,
                (*f, "unit"),
                "calendar windows are counted in Day, Week, Month, Quarter or Year",
            )
            return None
        return calendar_window(obj, f, _CALENDAR[tw.unit], tw.count, tw.calendar, ctx)
    if tw.unit not in _SECONDS:
        ctx.problems.at(
            obj,
            (*f, "unit"),
            "rolling windows need a fixed length: use Second, Minute, Hour, Day or Week",
        )
        return None
    return RollingWindow(timedelta(seconds=tw.count * _SECONDS[tw.unit]))


def _indicators(
    obj: SpecObject, m: v1a.SLO, ctx: MapContext
) -> tuple[Indicator | None, list[Indicator | None]]:
    """The SLO's threshold indicator, and each objective's own ratio indicator."""
    s, name = m.spec, m.metadata.name
    origin = origin_of(obj, m.api_version, "SLI")
    slo_ind = None
    if s.indicator is not None:
        q = _query(obj, s.indicator.threshold_metric)
        check_promql(obj, ("spec", "indicator", "thresholdMetric", "query"), q, ctx)
        slo_ind = Indicator(name=name, threshold=ThresholdMetric(q), origin=origin)
    own: list[Indicator | None] = []
    for i, o in enumerate(s.objectives):
        rm = o.ratio_metrics
        if rm is None:
            own.append(None)
            continue
        if slo_ind is not None:
            ctx.problems.at(
                obj,
                ("spec", "objectives", i, "ratioMetrics"),
                "not allowed when the indicator has a thresholdMetric",
            )
        counter = bool(rm.counter or rm.incremental)
        for key, metric in (("good", rm.good), ("total", rm.total)):
            f = ("spec", "objectives", i, "ratioMetrics", key, "query")
            check_promql(obj, f, _query(obj, metric), ctx)
        ratio = RatioMetric(
            total=replace(_query(obj, rm.total), counter=counter),
            good=replace(_query(obj, rm.good), counter=counter),
            counter=counter,
        )
        own.append(Indicator(name=f"{name}-{i + 1}", ratio=ratio, origin=origin))
    if slo_ind is None and None in own:
        i = own.index(None)
        ctx.problems.at(
            obj,
            ("spec", "objectives", i),
            "ratioMetrics is required when the SLO has no indicator.thresholdMetric",
        )
    return slo_ind, own


def map_v1alpha_slo(obj: SpecObject, m: v1a.SLO, ctx: MapContext) -> list[Any]:
    s, before = m.spec, len(ctx.problems.items)
    slo_ind, own = _indicators(obj, m, ctx)
    tw = one_window(obj, ("spec", "timeWindows"), s.time_windows, ctx)
    window = None if tw is None else _window(obj, tw, ctx)
    ind = slo_ind or next((x for x in own if x is not None), None)
    if ind is None or len(ctx.problems.items) != before:
        return []
    ind = with_slo_missing_data(obj, ind, m.metadata.annotations, ctx)
    method = BudgetingMethod(s.budgeting_method)
    objectives = [
        map_objective(
            obj,
            ("spec", "objectives", i),
            i,
            o,
            method,
            ind,
            ctx,
            own=own[i] if own[i] is not ind else None,
            default_slice=V1ALPHA_SLICE,
        )
        for i, o in enumerate(s.objectives)
    ]
    if window is None or None in objectives:
        return []
    origin = origin_of(obj, m.api_version, m.kind)
    out: list[Any] = service_ref(obj, ("spec", "service"), s.service, ctx, origin)
    labels = flatten_labels(m.metadata.labels)
    out.append(
        openslo_slo(
            obj,
            m,
            ind,
            window,
            objectives,
            labels=labels,
            extras=openslo_extras(obj, m.metadata.annotations, ctx),
        )
    )
    return out
