"""OpenSLO v1: Service, DataSource, SLI and SLO (the Service and DataSource mappers also
take v1alpha and v2alpha documents)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slm.domain.model import BudgetingMethod, DataSource, Indicator, MetricQuery, Service
from slm.spec.common import flatten_labels
from slm.spec.context import MapContext, origin_of, service_ref
from slm.spec.mapper.alert_policies import slo_policies
from slm.spec.mapper.indicators import (
    check_file_spec,
    check_promql,
    map_indicator,
    ref_query,
    slo_indicator,
    spec_dir,
    with_slo_missing_data,
)
from slm.spec.mapper.objectives import map_objective, openslo_slo
from slm.spec.mapper.sloth import openslo_extras
from slm.spec.mapper.windows import openslo_window
from slm.spec.problems import SpecObject
from slm.spec.yamlio import FieldPath

if TYPE_CHECKING:
    from slm.spec import openslo_v1 as v1
    from slm.spec import openslo_v1alpha as v1a
    from slm.spec import openslo_v2alpha as v2


def map_v1_service(
    obj: SpecObject, m: v1.Service | v1a.Service | v2.Service, ctx: MapContext
) -> list[Any]:
    md = m.metadata
    labels = flatten_labels(md.labels)  # v2alpha's are flat already: the same mapping
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
            base_dir=spec_dir(obj),
            origin=origin_of(obj, m.api_version, m.kind),
        )
    ]


def v1_query(
    obj: SpecObject, field: FieldPath, m: v1.MetricSpec, ctx: MapContext
) -> MetricQuery | None:
    ms, base = m.metric_source, (*field, "metricSource")
    if ms.metric_source_ref is not None:
        q = ref_query(obj, (*base, "metricSourceRef"), ms.metric_source_ref, ms.type, ms.spec, ctx)
    elif ms.type is None:
        ctx.problems.at(obj, base, "metricSourceRef or type is required")
        return None
    else:
        q = MetricQuery(
            source=None, source_type=ms.type, spec=dict(ms.spec), base_dir=spec_dir(obj)
        )
    if q is not None:
        check_file_spec(obj, (*base, "spec"), q, ctx)
        check_promql(obj, (*base, "spec", "query"), q, ctx)
    return q


def map_v1_sli(obj: SpecObject, m: v1.SLI, ctx: MapContext) -> list[Any]:
    ind = map_indicator(obj, ("spec",), m.spec, v1_query, m.metadata, ctx)
    return [] if ind is None else [ind]


def _objective_indicator(
    obj: SpecObject, i: int, o: v1.Objective, ctx: MapContext
) -> Indicator | None:
    """A composite SLO's objective's own indicator (``indicator`` or ``indicatorRef``)."""
    f = ("spec", "objectives", i)
    if o.indicator is not None and o.indicator_ref is not None:
        ctx.problems.at(obj, f, "use either indicator or indicatorRef, not both")
        return None
    if o.indicator_ref is not None:
        ok = ctx.check_ref(obj, (*f, "indicatorRef"), "sli", o.indicator_ref)
        return ctx.workspace.slis.get(o.indicator_ref) if ok else None
    if o.indicator is not None:
        ind = o.indicator
        return map_indicator(obj, (*f, "indicator", "spec"), ind.spec, v1_query, ind.metadata, ctx)
    return None


def map_v1_slo(obj: SpecObject, m: v1.SLO, ctx: MapContext) -> list[Any]:
    s, before = m.spec, len(ctx.problems.items)
    service = service_ref(
        obj, ("spec", "service"), s.service, ctx, origin_of(obj, m.api_version, m.kind)
    )
    own = [_objective_indicator(obj, i, o, ctx) for i, o in enumerate(s.objectives)]
    composite = any(o.indicator is not None or o.indicator_ref is not None for o in s.objectives)
    ind = slo_indicator(
        obj,
        s.indicator,
        s.indicator_ref,
        ("indicator", "indicatorRef"),
        v1_query,
        ctx,
        required=not composite,
    )
    if composite and (s.indicator is not None or s.indicator_ref is not None):
        ctx.problems.at(
            obj,
            ("spec",),
            "a composite SLO (objectives with their own indicator) takes no spec-level "
            "indicator or indicatorRef",
        )
    ind = ind or next((x for x in own if x is not None), None)
    window = openslo_window(obj, s.time_window, ctx)
    policies = slo_policies(obj, s.alert_policies, ctx)
    if ind is None:
        return []
    ind = with_slo_missing_data(obj, ind, m.metadata.annotations, ctx)
    method = BudgetingMethod(s.budgeting_method)
    if ind.threshold is not None and len(s.objectives) > 1:
        ctx.problems.at(
            obj, ("spec", "objectives"), "a thresholdMetric SLO takes exactly one objective"
        )
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
    labels = flatten_labels(m.metadata.labels)
    slo = openslo_slo(
        obj,
        m,
        ind,
        window,
        objectives,
        labels=labels,
        alert_policies=policies,
        extras=openslo_extras(obj, m.metadata.annotations, ctx),
    )
    return [*service, slo]
