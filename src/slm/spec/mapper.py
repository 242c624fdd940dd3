"""The one place where spec models become ``slm.domain.model`` objects.

Each ``map_*`` function takes the located object, its valid pydantic model and the
mapping context; it returns the domain objects it made and reports every problem it
finds (references, cross-field rules, windows, time zones) to ``ctx.problems``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slm.domain.durations import parse_duration
from slm.domain.model import (
    SLO,
    AlertCatalogue,
    AlertWindow,
    BudgetingMethod,
    CalendarUnit,
    CalendarWindow,
    DataSource,
    Indicator,
    MetricQuery,
    MissingData,
    Objective,
    RatioMetric,
    RollingWindow,
    Service,
    ThresholdMetric,
    Window,
)
from slm.spec import openslo_v1 as v1
from slm.spec import openslo_v1alpha as v1a
from slm.spec import openslo_v2alpha as v2
from slm.spec import slm_v1, sloth
from slm.spec.common import check_name, flatten_labels
from slm.spec.context import MapContext, origin_of
from slm.spec.problems import SpecObject
from slm.spec.workspace import AlertCondition, AlertPolicy, NotificationTarget
from slm.spec.yamlio import FieldPath

MISSING_DATA_ANNOTATION = "slm.dev/missing-data"
SLOTH_WINDOW = timedelta(days=30)  # Sloth prometheus/v1 has no per-SLO period
_CAL_UNITS: dict[str, CalendarUnit] = {
    "d": "day",
    "w": "week",
    "M": "month",
    "Q": "quarter",
    "Y": "year",
}
_FIXED = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_V1ALPHA_SECONDS = {"Second": 1, "Minute": 60, "Hour": 3600, "Day": 86400, "Week": 604800}
_V1ALPHA_CAL: dict[str, CalendarUnit] = {
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


class _Calendar(Protocol):
    @property
    def start_time(self) -> str | datetime: ...
    @property
    def time_zone(self) -> str: ...


class _Objective(Protocol):
    @property
    def display_name(self) -> str | None: ...
    @property
    def op(self) -> Any: ...
    @property
    def value(self) -> float | None: ...
    @property
    def target(self) -> float | None: ...
    @property
    def time_slice_target(self) -> float | None: ...
    @property
    def time_slice_window(self) -> str | None: ...


def _dir(obj: SpecObject) -> str:
    return os.path.dirname(obj.path) or "."


# --- windows --------------------------------------------------------------------------


def _zone(obj: SpecObject, field: FieldPath, name: str, ctx: MapContext) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        ctx.problems.at(
            obj, field, f"unknown time zone {name!r} (use an IANA name, e.g. Europe/Berlin)"
        )
        return None


def _start(
    obj: SpecObject, field: FieldPath, value: str | datetime, zone: ZoneInfo, ctx: MapContext
) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            ctx.problems.at(
                obj, field, f"invalid startTime {value!r} (expected e.g. 2024-01-01 00:00:00)"
            )
            return None
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _calendar(
    obj: SpecObject,
    field: FieldPath,
    unit: CalendarUnit,
    count: int,
    cal: _Calendar,
    ctx: MapContext,
) -> CalendarWindow | None:
    zone = _zone(obj, (*field, "calendar", "timeZone"), cal.time_zone, ctx)
    if zone is None:
        return None
    start = _start(obj, (*field, "calendar", "startTime"), cal.start_time, zone, ctx)
    if start is None:
        return None
    return CalendarWindow(unit=unit, count=count, start=start, time_zone=cal.time_zone)


def map_window(
    obj: SpecObject,
    field: FieldPath,
    duration: str,
    is_rolling: bool | None,
    cal: _Calendar | None,
    ctx: MapContext,
) -> Window | None:
    """An OpenSLO ``timeWindow`` item (v1 and v2alpha) -> rolling or calendar window."""
    count, unit = int(duration[:-1]), duration[-1]
    if cal is not None:
        if is_rolling:
            ctx.problems.at(obj, (*field, "isRolling"), "a calendar window cannot be rolling")
            return None
        if unit not in _CAL_UNITS:
            ctx.problems.at(
                obj, (*field, "duration"), "calendar windows are counted in d, w, M, Q or Y"
            )
            return None
        return _calendar(obj, field, _CAL_UNITS[unit], count, cal, ctx)
    if is_rolling is False:
        ctx.problems.at(
            obj, (*field, "calendar"), "required field missing (isRolling: false needs a calendar)"
        )
        return None
    if unit not in _FIXED:
        ctx.problems.at(
            obj,
            (*field, "duration"),
            f"rolling windows need a fixed length: use m, h, d or w, not {duration!r}",
        )
        return None
    return RollingWindow(timedelta(seconds=count * _FIXED[unit]))


def _one_window(
    obj: SpecObject, field: FieldPath, items: Sequence[Any] | None, ctx: MapContext
) -> Any | None:
    if items is None:
        ctx.problems.at(obj, field, "required field missing")
        return None
    if len(items) != 1:
        ctx.problems.at(obj, field, "must have exactly one item")
        return None
    return items[0]


def window_length(window: Window) -> timedelta:
    """The shortest the window can be (calendar months count 28 days)."""
    if isinstance(window, RollingWindow):
        return window.duration
    days = {"day": 1, "week": 7, "month": 28, "quarter": 89, "year": 365}[window.unit]
    return timedelta(days=days * window.count)


# --- metrics and indicators -----------------------------------------------------------


def _check_file_spec(obj: SpecObject, field: FieldPath, q: MetricQuery, ctx: MapContext) -> None:
    if q.source_type == "File" and not isinstance(q.spec.get("series"), str):
        ctx.problems.at(obj, field, "a File metric source needs spec.series (the series name)")


def _ref_query(
    obj: SpecObject,
    field: FieldPath,
    ref: str,
    type_: str | None,
    spec: Mapping[str, Any],
    ctx: MapContext,
) -> MetricQuery | None:
    if not ctx.check_ref(obj, field, "datasource", ref):
        return None
    ds = ctx.workspace.datasources.get(ref)
    if ds is None:
        return None  # declared but invalid: already reported
    if type_ and type_ != ds.type:
        ctx.problems.at(
            obj,
            (*field[:-1], "type"),
            f"type {type_!r} does not match DataSource {ref!r} (type {ds.type!r})",
        )
    return MetricQuery(source=ref, source_type=ds.type, spec=dict(spec), base_dir=ds.base_dir)


def _v1_query(
    obj: SpecObject, field: FieldPath, m: v1.MetricSpec, ctx: MapContext
) -> MetricQuery | None:
    ms, base = m.metric_source, (*field, "metricSource")
    if ms.metric_source_ref is not None:
        q = _ref_query(obj, (*base, "metricSourceRef"), ms.metric_source_ref, ms.type, ms.spec, ctx)
    elif ms.type is None:
        ctx.problems.at(obj, base, "metricSourceRef or type is required")
        return None
    else:
        q = MetricQuery(source=None, source_type=ms.type, spec=dict(ms.spec), base_dir=_dir(obj))
    if q is not None:
        _check_file_spec(obj, (*base, "spec"), q, ctx)
    return q


def _v2_query(
    obj: SpecObject, field: FieldPath, m: v2.MetricSpec, ctx: MapContext
) -> MetricQuery | None:
    if m.data_source_ref is not None and m.data_source_spec is not None:
        ctx.problems.at(obj, field, "use either dataSourceRef or dataSourceSpec, not both")
        return None
    if m.data_source_ref is not None:
        q = _ref_query(obj, (*field, "dataSourceRef"), m.data_source_ref, None, m.spec, ctx)
    elif m.data_source_spec is not None:
        dss = m.data_source_spec
        spec = {**dss.connection_details, **m.spec}
        q = MetricQuery(source=None, source_type=dss.type, spec=spec, base_dir=_dir(obj))
    else:
        ctx.problems.at(obj, field, "dataSourceRef or dataSourceSpec is required")
        return None
    if q is not None:
        _check_file_spec(obj, (*field, "spec"), q, ctx)
    return q


class _Ratio(Protocol):
    @property
    def counter(self) -> bool: ...
    @property
    def good(self) -> Any: ...
    @property
    def bad(self) -> Any: ...
    @property
    def total(self) -> Any: ...
    @property
    def raw(self) -> Any: ...
    @property
    def raw_type(self) -> Any: ...


def _ratio_shape_ok(obj: SpecObject, f: FieldPath, r: _Ratio, ctx: MapContext) -> bool:
    before = len(ctx.problems.items)
    if r.raw is not None:
        if r.good is not None or r.bad is not None or r.total is not None:
            ctx.problems.at(obj, f, "raw cannot be combined with good, bad or total")
        if r.raw_type is None:
            ctx.problems.at(obj, (*f, "rawType"), "required field missing (needed with raw)")
    else:
        if r.raw_type is not None:
            ctx.problems.at(obj, (*f, "rawType"), "only allowed with raw")
        if r.good is not None and r.bad is not None:
            ctx.problems.at(obj, f, "use either good or bad, not both")
        elif r.good is None and r.bad is None:
            ctx.problems.at(obj, f, "good or bad (with total), or raw, is required")
        if r.total is None:
            ctx.problems.at(obj, (*f, "total"), "required field missing")
    return len(ctx.problems.items) == before


def _ratio(
    obj: SpecObject, f: FieldPath, r: _Ratio, query: Any, ctx: MapContext
) -> RatioMetric | None:
    if not _ratio_shape_ok(obj, f, r, ctx):
        return None
    parts = {k: getattr(r, k) for k in ("good", "bad", "total", "raw")}
    qs = {k: query(obj, (*f, k), m, ctx) for k, m in parts.items() if m is not None}
    if any(q is None for q in qs.values()):
        return None
    qs = {k: replace(q, counter=r.counter) for k, q in qs.items()}
    return RatioMetric(
        total=qs.get("total"),
        good=qs.get("good"),
        bad=qs.get("bad"),
        raw=qs.get("raw"),
        raw_type=r.raw_type,
        counter=r.counter,
    )


def missing_data(
    obj: SpecObject, f: FieldPath, annotations: Mapping[str, str], ctx: MapContext
) -> MissingData | None:
    value = annotations.get(MISSING_DATA_ANNOTATION)
    if value is None:
        return None
    try:
        return MissingData(value)
    except ValueError:
        ctx.problems.at(
            obj,
            (*f, "annotations", MISSING_DATA_ANNOTATION),
            f"must be one of ignore, good, bad (not {value!r})",
        )
        return None


def _indicator(
    obj: SpecObject,
    f: FieldPath,
    spec: v1.SLISpec | v2.SLISpec,
    query: Any,
    meta: Any,
    ctx: MapContext,
) -> Indicator | None:
    """An SLI spec at ``f`` (the SLI's ``spec``) with its metadata ``meta``."""
    if (spec.threshold_metric is None) == (spec.ratio_metric is None):
        ctx.problems.at(obj, f, "exactly one of thresholdMetric or ratioMetric is required")
        return None
    md = missing_data(obj, (*f[:-1], "metadata"), meta.annotations, ctx)
    base = Indicator(
        name=meta.name,
        display_name=getattr(meta, "display_name", None) or "",
        description=spec.description or "",
        missing_data=md or MissingData.IGNORE,
        origin=origin_of(obj, str(obj.data.get("apiVersion", "")), "SLI"),
    )
    if spec.ratio_metric is not None:
        ratio = _ratio(obj, (*f, "ratioMetric"), spec.ratio_metric, query, ctx)
        return None if ratio is None else replace(base, ratio=ratio)
    assert spec.threshold_metric is not None
    q = query(obj, (*f, "thresholdMetric"), spec.threshold_metric, ctx)
    return None if q is None else replace(base, threshold=ThresholdMetric(q))


# --- objectives -----------------------------------------------------------------------


def _target(obj: SpecObject, f: FieldPath, o: Any, ctx: MapContext) -> float | None:
    pct: float | None = getattr(o, "target_percent", None)
    if o.target is not None and pct is not None:
        ctx.problems.at(obj, f, "use either target or targetPercent, not both")
        return None
    if o.target is None and pct is None:
        ctx.problems.at(obj, (*f, "target"), "required field missing (target or targetPercent)")
        return None
    if o.target is not None:
        return float(o.target)
    assert pct is not None
    return percent_to_ratio(pct)


def percent_to_ratio(pct: float) -> float:
    """99.9 -> 0.999 exactly as written (not 0.9990000000000001)."""
    return float(Decimal(repr(float(pct))) / 100)


def _objective_rules(
    obj: SpecObject,
    f: FieldPath,
    o: _Objective,
    method: BudgetingMethod,
    indicator: Indicator,
    ctx: MapContext,
) -> None:
    if indicator.ratio is not None:
        for key, val in (("op", o.op), ("value", o.value)):
            if val is not None:
                ctx.problems.at(obj, (*f, key), "only allowed with a thresholdMetric")
    else:
        for key, val in (("op", o.op), ("value", o.value)):
            if val is None:
                ctx.problems.at(
                    obj,
                    (*f, key),
                    "required field missing (a thresholdMetric "
                    "objective compares each value with op and value)",
                )
    if method is BudgetingMethod.TIMESLICES and o.time_slice_target is None:
        ctx.problems.at(
            obj, (*f, "timeSliceTarget"), "required field missing (budgetingMethod is Timeslices)"
        )
    if method is not BudgetingMethod.OCCURRENCES and o.time_slice_window is None:
        ctx.problems.at(
            obj,
            (*f, "timeSliceWindow"),
            f"required field missing (budgetingMethod is {method.value})",
        )


def map_objective(
    obj: SpecObject,
    f: FieldPath,
    i: int,
    o: _Objective,
    method: BudgetingMethod,
    indicator: Indicator,
    ctx: MapContext,
    *,
    own: Indicator | None = None,
    weight: float | None = None,
) -> Objective | None:
    before = len(ctx.problems.items)
    target = _target(obj, f, o, ctx)
    _objective_rules(obj, f, o, method, own or indicator, ctx)
    if target is None or len(ctx.problems.items) != before:
        return None
    tsw = o.time_slice_window
    return Objective(
        name=o.display_name or f"objective-{i + 1}",
        target=target,
        display_name=o.display_name or "",
        op=o.op,
        value=o.value,
        time_slice_target=o.time_slice_target,
        time_slice_window=parse_duration(tsw) if tsw else None,
        composite_weight=weight,
        indicator=own,
    )


# --- OpenSLO v1 -----------------------------------------------------------------------


def map_v1_service(
    obj: SpecObject, m: v1.Service | v1a.Service | v2.Service, ctx: MapContext
) -> list[Any]:
    md = m.metadata
    labels = md.labels if isinstance(md, v2.Metadata) else flatten_labels(md.labels)
    return [
        Service(
            name=md.name,
            display_name=getattr(md, "display_name", None) or "",
            description=m.spec.description or "",
            labels=labels,
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


def map_v1_datasource(
    obj: SpecObject, m: v1.DataSource | v2.DataSource, ctx: MapContext
) -> list[Any]:
    if m.spec.type == "File" and not isinstance(m.spec.connection_details.get("path"), str):
        ctx.problems.at(
            obj, ("spec", "connectionDetails"), "a File DataSource needs connectionDetails.path"
        )
        return []
    return [
        DataSource(
            name=m.metadata.name,
            type=m.spec.type,
            connection_details=dict(m.spec.connection_details),
            base_dir=_dir(obj),
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


def map_v1_sli(obj: SpecObject, m: v1.SLI, ctx: MapContext) -> list[Any]:
    ind = _indicator(obj, ("spec",), m.spec, _v1_query, m.metadata, ctx)
    return [] if ind is None else [ind]


def _duration_or_zero(text: str) -> timedelta:
    return timedelta(0) if text.strip("0msdhw") == "" else parse_duration(text)


def _condition(
    obj: SpecObject, name: str, display: str, spec: v1.AlertConditionSpec | v2.AlertConditionSpec
) -> AlertCondition:
    c = spec.condition
    return AlertCondition(
        name=name,
        severity=spec.severity,
        op=c.op,
        threshold=c.threshold,
        lookback_window=parse_duration(c.lookback_window),
        alert_after=_duration_or_zero(c.alert_after),
        display_name=display,
        description=spec.description or "",
        origin=origin_of(obj, str(obj.data.get("apiVersion", "")), "AlertCondition"),
    )


def map_v1_condition(
    obj: SpecObject, m: v1.AlertCondition | v2.AlertCondition, ctx: MapContext
) -> list[Any]:
    display = getattr(m.metadata, "display_name", None) or ""
    return [_condition(obj, m.metadata.name, display, m.spec)]


def map_v1_target(
    obj: SpecObject, m: v1.AlertNotificationTarget | v2.AlertNotificationTarget, ctx: MapContext
) -> list[Any]:
    return [
        NotificationTarget(
            name=m.metadata.name,
            target=m.spec.target,
            display_name=getattr(m.metadata, "display_name", None) or "",
            description=m.spec.description or "",
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


def _inline_or_ref(
    obj: SpecObject,
    f: FieldPath,
    ref: str | None,
    item: Any,
    ref_key: str,
    role: str,
    ctx: MapContext,
) -> str | None:
    if ref is not None:
        if item.kind or item.metadata or item.spec:
            ctx.problems.at(obj, f, f"use either {ref_key} or an inline object, not both")
            return None
        return ref if ctx.check_ref(obj, (*f, ref_key), role, ref) else None
    if item.metadata is None or item.spec is None:
        ctx.problems.at(obj, f, f"{ref_key} or an inline object (kind, metadata, spec) is required")
        return None
    return str(item.metadata.name)


def map_policy_spec(
    obj: SpecObject,
    f: FieldPath,
    name: str,
    display: str,
    spec: v1.AlertPolicySpec | v2.AlertPolicySpec,
    ctx: MapContext,
) -> AlertPolicy | None:
    conds: list[str | None] = []
    items: Sequence[Any] = spec.conditions
    for i, c in enumerate(items):
        cf = (*f, "conditions", i)
        cname = _inline_or_ref(obj, cf, c.condition_ref, c, "conditionRef", "alert_condition", ctx)
        if cname is not None and c.condition_ref is None and c.spec is not None:
            cdisp = getattr(c.metadata, "display_name", None) or ""
            ctx.workspace.alert_conditions.setdefault(cname, _condition(obj, cname, cdisp, c.spec))
        conds.append(cname)
    targets: list[str | None] = []
    target_items: Sequence[Any] = spec.notification_targets
    for i, t in enumerate(target_items):
        tf = (*f, "notificationTargets", i)
        if isinstance(t, v2.TargetItem):
            ok = ctx.check_ref(obj, (*tf, "targetRef"), "notification_target", t.target_ref)
            targets.append(t.target_ref if ok else None)
            continue
        tname = _inline_or_ref(obj, tf, t.target_ref, t, "targetRef", "notification_target", ctx)
        if tname is not None and t.target_ref is None and t.spec is not None:
            ctx.workspace.notification_targets.setdefault(
                tname,
                NotificationTarget(
                    name=tname, target=t.spec.target, description=t.spec.description or ""
                ),
            )
        targets.append(tname)
    if None in conds or None in targets:
        return None
    return AlertPolicy(
        name=name,
        conditions=tuple(c for c in conds if c),
        display_name=display,
        notification_targets=tuple(t for t in targets if t),
        description=spec.description or "",
        alert_when_no_data=spec.alert_when_no_data,
        alert_when_resolved=spec.alert_when_resolved,
        alert_when_breaching=spec.alert_when_breaching,
        origin=origin_of(obj, str(obj.data.get("apiVersion", "")), "AlertPolicy"),
    )


def map_v1_policy(
    obj: SpecObject, m: v1.AlertPolicy | v2.AlertPolicy, ctx: MapContext
) -> list[Any]:
    display = getattr(m.metadata, "display_name", None) or ""
    p = map_policy_spec(obj, ("spec",), m.metadata.name, display, m.spec, ctx)
    return [] if p is None else [p]


def _slo_policies(
    obj: SpecObject, items: Sequence[v1.AlertPolicyItem], ctx: MapContext
) -> list[str]:
    names: list[str] = []
    for i, item in enumerate(items):
        f = ("spec", "alertPolicies", i)
        ref = item.alert_policy_ref
        name = _inline_or_ref(obj, f, ref, item, "alertPolicyRef", "alert_policy", ctx)
        if name is None:
            continue
        if ref is None and item.spec is not None and item.metadata is not None:
            disp = item.metadata.display_name or ""
            p = map_policy_spec(obj, (*f, "spec"), name, disp, item.spec, ctx)
            if p is not None:
                ctx.workspace.alert_policies.setdefault(name, p)
        names.append(name)
    return names


def _slo_indicator(
    obj: SpecObject,
    inline: Any,
    ref: str | None,
    keys: tuple[str, str],
    query: Any,
    ctx: MapContext,
    *,
    required: bool = True,
) -> Indicator | None:
    if inline is not None and ref is not None:
        ctx.problems.at(obj, ("spec",), f"use either {keys[0]} or {keys[1]}, not both")
        return None
    if ref is not None:
        if ctx.check_ref(obj, ("spec", keys[1]), "sli", ref):
            return ctx.workspace.slis.get(ref)
        return None
    if inline is not None:
        f = ("spec", keys[0], "spec")
        return _indicator(obj, f, inline.spec, query, inline.metadata, ctx)
    if required:
        ctx.problems.at(obj, ("spec",), f"{keys[0]} or {keys[1]} is required")
    return None


def _with_slo_missing_data(
    obj: SpecObject, ind: Indicator, annotations: Mapping[str, str], ctx: MapContext
) -> Indicator:
    md = missing_data(obj, ("metadata",), annotations, ctx)
    return ind if md is None else replace(ind, missing_data=md)


def map_v1_slo(obj: SpecObject, m: v1.SLO, ctx: MapContext) -> list[Any]:
    s, before = m.spec, len(ctx.problems.items)
    ctx.check_ref(obj, ("spec", "service"), "service", s.service)
    ind = _slo_indicator(
        obj, s.indicator, s.indicator_ref, ("indicator", "indicatorRef"), _v1_query, ctx
    )
    tw = _one_window(obj, ("spec", "timeWindow"), s.time_window, ctx)
    window = (
        None
        if tw is None
        else map_window(
            obj, ("spec", "timeWindow", 0), tw.duration, tw.is_rolling, tw.calendar, ctx
        )
    )
    policies = _slo_policies(obj, s.alert_policies, ctx)
    if ind is None:
        return []
    ind = _with_slo_missing_data(obj, ind, m.metadata.annotations, ctx)
    method = BudgetingMethod(s.budgeting_method)
    if ind.threshold is not None and len(s.objectives) > 1:
        ctx.problems.at(
            obj, ("spec", "objectives"), "a thresholdMetric SLO takes exactly one objective"
        )
    objectives = [
        map_objective(obj, ("spec", "objectives", i), i, o, method, ind, ctx)
        for i, o in enumerate(s.objectives)
    ]
    if window is None or None in objectives or len(ctx.problems.items) != before:
        return []
    return [
        SLO(
            name=m.metadata.name,
            service=s.service,
            indicator=ind,
            window=window,
            budgeting_method=method,
            objectives=tuple(o for o in objectives if o),
            display_name=m.metadata.display_name or "",
            description=s.description or "",
            labels=flatten_labels(m.metadata.labels),
            annotations=dict(m.metadata.annotations),
            alert_policies=tuple(policies),
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


# --- OpenSLO v2alpha ------------------------------------------------------------------


def map_v2_sli(obj: SpecObject, m: v2.SLI, ctx: MapContext) -> list[Any]:
    ind = _indicator(obj, ("spec",), m.spec, _v2_query, m.metadata, ctx)
    return [] if ind is None else [ind]


def _v2_objective_indicator(
    obj: SpecObject, i: int, o: v2.Objective, ctx: MapContext
) -> Indicator | None:
    f = ("spec", "objectives", i)
    if o.sli is not None and o.sli_ref is not None:
        ctx.problems.at(obj, f, "use either sli or sliRef, not both")
        return None
    if o.sli_ref is not None:
        ok = ctx.check_ref(obj, (*f, "sliRef"), "sli", o.sli_ref)
        return ctx.workspace.slis.get(o.sli_ref) if ok else None
    if o.sli is not None:
        return _indicator(obj, (*f, "sli", "spec"), o.sli.spec, _v2_query, o.sli.metadata, ctx)
    return None


def map_v2_slo(obj: SpecObject, m: v2.SLO, ctx: MapContext) -> list[Any]:
    s, before = m.spec, len(ctx.problems.items)
    ctx.check_ref(obj, ("spec", "service"), "service", s.service)
    own = [_v2_objective_indicator(obj, i, o, ctx) for i, o in enumerate(s.objectives)]
    composite = any(o.sli is not None or o.sli_ref is not None for o in s.objectives)
    ind = _slo_indicator(
        obj, s.sli, s.sli_ref, ("sli", "sliRef"), _v2_query, ctx, required=not composite
    )
    ind = ind or next((x for x in own if x is not None), None)
    tw = _one_window(obj, ("spec", "timeWindow"), s.time_window, ctx)
    window = (
        None
        if tw is None
        else map_window(
            obj, ("spec", "timeWindow", 0), tw.duration, tw.is_rolling, tw.calendar, ctx
        )
    )
    for i, name in enumerate(s.alert_policies):
        ctx.check_ref(obj, ("spec", "alertPolicies", i), "alert_policy", name)
    if ind is None:
        return []
    ind = _with_slo_missing_data(obj, ind, m.metadata.annotations, ctx)
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
            own=own[i],
            weight=o.composite_weight,
        )
        for i, o in enumerate(s.objectives)
    ]
    if window is None or None in objectives or len(ctx.problems.items) != before:
        return []
    return [
        SLO(
            name=m.metadata.name,
            service=s.service,
            indicator=ind,
            window=window,
            budgeting_method=method,
            objectives=tuple(o for o in objectives if o),
            description=s.description or "",
            labels=dict(m.metadata.labels),
            annotations=dict(m.metadata.annotations),
            alert_policies=tuple(s.alert_policies),
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


# --- OpenSLO v1alpha ------------------------------------------------------------------


def _v1alpha_query(obj: SpecObject, m: v1a.Metric) -> MetricQuery:
    spec: dict[str, Any] = {"query": m.query, "queryType": m.query_type}
    if m.metadata:
        spec["metadata"] = dict(m.metadata)
    source_type = _SOURCE_NAMES.get(m.source.lower(), m.source)
    return MetricQuery(source=None, source_type=source_type, spec=spec, base_dir=_dir(obj))


def _v1alpha_window(obj: SpecObject, tw: v1a.TimeWindow, ctx: MapContext) -> Window | None:
    f = ("spec", "timeWindows", 0)
    if tw.calendar is not None:
        if tw.is_rolling:
            ctx.problems.at(obj, (*f, "isRolling"), "a calendar window cannot be rolling")
            return None
        if tw.unit not in _V1ALPHA_CAL:
            ctx.problems.at(
                obj,
                (*f, "unit"),
                "calendar windows are counted in Day, Week, Month, Quarter or Year",
            )
            return None
        return _calendar(obj, f, _V1ALPHA_CAL[tw.unit], tw.count, tw.calendar, ctx)
    if tw.unit not in _V1ALPHA_SECONDS:
        ctx.problems.at(
            obj,
            (*f, "unit"),
            "rolling windows need a fixed length: use Second, Minute, Hour, Day or Week",
        )
        return None
    return RollingWindow(timedelta(seconds=tw.count * _V1ALPHA_SECONDS[tw.unit]))


def _v1alpha_indicators(
    obj: SpecObject, m: v1a.SLO, ctx: MapContext
) -> tuple[Indicator | None, list[Indicator | None]]:
    s, name = m.spec, m.metadata.name
    origin = origin_of(obj, m.api_version, "SLI")
    slo_ind = None
    if s.indicator is not None:
        q = _v1alpha_query(obj, s.indicator.threshold_metric)
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
        ratio = RatioMetric(
            total=replace(_v1alpha_query(obj, rm.total), counter=counter),
            good=replace(_v1alpha_query(obj, rm.good), counter=counter),
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
    slo_ind, own = _v1alpha_indicators(obj, m, ctx)
    tw = _one_window(obj, ("spec", "timeWindows"), s.time_windows, ctx)
    window = None if tw is None else _v1alpha_window(obj, tw, ctx)
    ind = slo_ind or next((x for x in own if x is not None), None)
    if ind is None or len(ctx.problems.items) != before:
        return []
    ind = _with_slo_missing_data(obj, ind, m.metadata.annotations, ctx)
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
        )
        for i, o in enumerate(s.objectives)
    ]
    if window is None or None in objectives:
        return []
    out: list[Any] = []
    if not ctx.is_declared("service", s.service):
        out.append(Service(name=s.service, origin=origin_of(obj, m.api_version, m.kind)))
    out.append(
        SLO(
            name=m.metadata.name,
            service=s.service,
            indicator=ind,
            window=window,
            budgeting_method=method,
            objectives=tuple(o for o in objectives if o),
            display_name=m.metadata.display_name or "",
            description=s.description or "",
            labels=flatten_labels(m.metadata.labels),
            annotations=dict(m.metadata.annotations),
            origin=origin_of(obj, m.api_version, m.kind),
        )
    )
    return out


# --- Sloth ----------------------------------------------------------------------------


def sloth_id(service: str, slo: str) -> str:
    return f"{service}-{slo}"


def _sloth_indicator(
    obj: SpecObject, f: FieldPath, sid: str, sli: Any, ctx: MapContext
) -> Indicator | None:
    def q(text: str, per_second: bool = False) -> MetricQuery:
        spec: dict[str, Any] = {"query": text, "perSecond": True} if per_second else {"query": text}
        return MetricQuery(source=None, source_type="Prometheus", spec=spec, base_dir=_dir(obj))

    origin = origin_of(obj, str(obj.data.get("apiVersion") or obj.data.get("version")), "SLI")
    if sli.plugin is not None:
        ctx.problems.at(
            obj, (*f, "plugin"), f"Sloth SLI plugins are not supported (plugin {sli.plugin.id!r})"
        )
        return None
    if sli.events is not None:
        # Sloth events queries are per-second rates (``rate(...[{{.window}}])``).
        ev = sli.events
        ratio = RatioMetric(total=q(ev.total_query, True), bad=q(ev.error_query, True))
    else:
        ratio = RatioMetric(total=None, raw=q(sli.raw.error_ratio_query), raw_type="failure")
    return Indicator(name=sid, ratio=ratio, origin=origin)


def _sloth_extras(spec: Any, slo: Any) -> dict[str, Any]:
    a = slo.alerting

    def alert(x: Any) -> dict[str, Any]:
        return {"disable": x.disable, "labels": dict(x.labels), "annotations": dict(x.annotations)}

    sli_type = "events" if slo.sli.events is not None else "raw"
    return {
        "sloth": {
            "service": spec.service,
            "slo": slo.name,
            "objective": slo.objective,
            "description": slo.description or "",
            "sli_type": sli_type,
            "service_labels": dict(spec.labels),
            "slo_labels": dict(slo.labels),
            "alerting": {
                "name": a.name or "",
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "page_alert": alert(a.page_alert),
                "ticket_alert": alert(a.ticket_alert),
            },
        }
    }


def map_sloth(
    obj: SpecObject,
    spec: sloth.Spec | sloth.K8sSpec,
    base: FieldPath,
    api_version: str,
    kind: str,
    ctx: MapContext,
) -> list[Any]:
    out: list[Any] = []
    if not ctx.is_declared("service", spec.service):
        out.append(
            Service(
                name=spec.service,
                labels=dict(spec.labels),
                origin=origin_of(obj, api_version, kind),
            )
        )
    slos: Sequence[Any] = spec.slos
    for i, slo in enumerate(slos):
        f = (*base, "slos", i)
        sid = sloth_id(spec.service, slo.name)
        try:
            check_name(sid)
        except ValueError as e:
            ctx.problems.add(obj.problem((*f, "name"), f"SLO id: {e}", name=sid))
            continue
        if ctx.owner("slo", sid) is not obj:
            continue  # duplicate, reported by the loader
        ind = _sloth_indicator(obj, (*f, "sli"), sid, slo.sli, ctx)
        if ind is None:
            continue
        origin = replace(origin_of(obj, api_version, kind), line=obj.line_of(f))
        out.append(
            SLO(
                name=sid,
                service=spec.service,
                indicator=ind,
                window=RollingWindow(SLOTH_WINDOW),
                budgeting_method=BudgetingMethod.OCCURRENCES,
                objectives=(Objective(name=slo.name, target=percent_to_ratio(slo.objective)),),
                description=slo.description or "",
                labels={**spec.labels, **slo.labels},
                extras=_sloth_extras(spec, slo),
                origin=origin,
            )
        )
    return out


def map_sloth_file(obj: SpecObject, m: sloth.Spec, ctx: MapContext) -> list[Any]:
    return map_sloth(obj, m, (), sloth.VERSION, "Sloth", ctx)


def map_sloth_k8s(obj: SpecObject, m: sloth.PrometheusServiceLevel, ctx: MapContext) -> list[Any]:
    return map_sloth(obj, m.spec, ("spec",), m.api_version, m.kind, ctx)


# --- slm/v1 ---------------------------------------------------------------------------


def catalogue_from_spec(
    obj: SpecObject, name: str, spec: slm_v1.AlertWindowCatalogueSpec, ctx: MapContext
) -> AlertCatalogue | None:
    period = parse_duration(spec.period)
    windows: list[AlertWindow] = []
    for i, row in enumerate(spec.windows):
        f = ("spec", "windows", i)
        long, short = parse_duration(row.long_window), parse_duration(row.short_window)
        if short >= long:
            ctx.problems.at(obj, (*f, "shortWindow"), "must be shorter than longWindow")
        if long > period:
            ctx.problems.at(
                obj,
                (*f, "longWindow"),
                f"longWindow {row.long_window} is longer than the period {spec.period}",
            )
        windows.append(AlertWindow(row.severity, long, short, row.budget_percent))
    if len(windows) != len(spec.windows):
        return None
    return AlertCatalogue(name=name, period=period, windows=tuple(windows))


def map_catalogue(obj: SpecObject, m: slm_v1.AlertWindowCatalogue, ctx: MapContext) -> list[Any]:
    before = len(ctx.problems.items)
    cat = catalogue_from_spec(obj, m.metadata.name, m.spec, ctx)
    return [] if cat is None or len(ctx.problems.items) != before else [cat]
