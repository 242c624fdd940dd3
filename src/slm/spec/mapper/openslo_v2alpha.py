"""OpenSLO v2alpha: SLI and SLO (objectives may carry their own SLI: composite SLOs).

Service, DataSource and the alerting kinds share the v1 mappers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slm.domain.model import BudgetingMethod, Indicator, MetricQuery
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
    from slm.spec import openslo_v2alpha as v2


def v2_query(
    obj: SpecObject, field: FieldPath, m: v2.MetricSpec, ctx: MapContext
) -> MetricQuery | None:
    if m.data_source_ref is not None and m.data_source_spec is not None:
        ctx.problems.at(obj, field, "use either dataSourceRef or dataSourceSpec, not both")
        return None
    if m.data_source_ref is not None:
        q = ref_query(obj, (*field, "dataSourceRef"), m.data_source_ref, None, m.spec, ctx)
    elif m.data_source_spec is not None:
        dss = m.data_source_spec
        spec = {**dss.connection_details, **m.spec}
        q = MetricQuery(source=None, source_type=dss.type, spec=spec, base_dir=spec_dir(obj))
    else:
        ctx.problems.at(obj, field, "dataSourceRef or dataSourceSpec is required")
        return None
    if q is not None:
        check_file_spec(obj, (*field, "spec"), q, ctx)
        check_promql(obj, (*field, "spec", "query"), q, ctx)
    return q


def map_v2_sli(obj: SpecObject, m: v2.SLI, ctx: MapContext) -> list[Any]:
    ind = map_indicator(obj, ("spec",), m.spec, v2_query, m.metadata, ctx)
    return [] if ind is None else [ind]


def _objective_indicator(
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
        return map_indicator(obj, (*f, "sli", "spec"), o.sli.spec, v2_query, o.sli.metadata, ctx)
    return None


def _service(obj: SpecObject, m: v2.SLO, ctx: MapContext) -> tuple[str, list[Any]] | None:
    """The SLO's service (``serviceRef`` or ``service``) and the Service to add for it."""
    s = m.spec
    if s.service is not None and s.service_ref is not None:
        ctx.problems.at(obj, ("spec",), "use either serviceRef or service, not both")
        return None
    if s.service_ref is not None:
        key, name = "serviceRef", s.service_ref
    elif s.service is not None:
        key, name = "service", s.service
    else:
        ctx.problems.at(obj, ("spec", "serviceRef"), "required field missing")
        return None
    origin = origin_of(obj, m.api_version, m.kind)
    return name, service_ref(obj, ("spec", key), name, ctx, origin)


def map_v2_slo(obj: SpecObject, m: v2.SLO, ctx: MapContext) -> list[Any]:
    s, before = m.spec, len(ctx.problems.items)
    service = _service(obj, m, ctx)
    own = [_objective_indicator(obj, i, o, ctx) for i, o in enumerate(s.objectives)]
    composite = any(o.sli is not None or o.sli_ref is not None for o in s.objectives)
    ind = slo_indicator(
        obj, s.sli, s.sli_ref, ("sli", "sliRef"), v2_query, ctx, required=not composite
    )
    ind = ind or next((x for x in own if x is not None), None)
    window = openslo_window(obj, s.time_window, ctx)
    policies = slo_policies(obj, s.alert_policies, ctx)
    if ind is None or service is None:
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
            own=own[i],
            weight=o.composite_weight,
        )
        for i, o in enumerate(s.objectives)
    ]
    if window is None or None in objectives or len(ctx.problems.items) != before:
        return []
    name, implicit = service
    slo = openslo_slo(
        obj,
        m,
        ind,
        window,
        objectives,
        labels=m.metadata.labels,
        alert_policies=policies,
        service=name,
        extras=openslo_extras(obj, m.metadata.annotations, ctx),
    )
    return [*implicit, slo]
