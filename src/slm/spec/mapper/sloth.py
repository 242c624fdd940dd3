"""Sloth ``prometheus/v1`` files and the Kubernetes ``PrometheusServiceLevel`` resource.

Every SLO of a Sloth service is a 30-day rolling Occurrences SLO with one objective; its
id is ``SERVICE-SLO`` and Sloth's own alerting block is kept in ``extras["sloth"]``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from slm.domain.model import GROUPING_EXTRA as GROUPING_EXTRA  # re-exported
from slm.domain.model import (
    SLO,
    BudgetingMethod,
    Indicator,
    MetricQuery,
    Objective,
    RatioMetric,
    RollingWindow,
    Service,
)
from slm.spec.common import check_name
from slm.spec.context import MapContext, origin_of
from slm.spec.mapper.indicators import check_promql, spec_dir
from slm.spec.mapper.objectives import percent_to_ratio
from slm.spec.problems import SpecObject
from slm.spec.yamlio import FieldPath

if TYPE_CHECKING:
    from slm.spec import sloth


SLOTH_WINDOW = timedelta(days=30)  # Sloth prometheus/v1 has no per-SLO period
# Sloth's alerting block of an SLO converted to OpenSLO (``slm convert``), as JSON
SLOTH_ALERTING_ANNOTATION = "slm.dev/sloth-alerting"
SLOTH_ALERTING_EXTRA = "sloth_alerting"
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def sloth_id(service: str, slo: str) -> str:
    return f"{service}-{slo}"


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _sloth_indicator(
    obj: SpecObject, f: FieldPath, sid: str, sli: Any, ctx: MapContext
) -> Indicator | None:
    def q(text: str, per_second: bool = False) -> MetricQuery:
        spec: dict[str, Any] = {"query": text, "perSecond": True} if per_second else {"query": text}
        return MetricQuery(source=None, source_type="Prometheus", spec=spec, base_dir=spec_dir(obj))

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
        parts = [("errorQuery", ratio.bad), ("totalQuery", ratio.total)]
        keys: FieldPath = (*f, "events")
    else:
        ratio = RatioMetric(total=None, raw=q(sli.raw.error_ratio_query), raw_type="failure")
        parts = [("errorRatioQuery", ratio.raw)]
        keys = (*f, "raw")
    if "apiVersion" not in obj.data:  # prometheus/v1 files write snake_case keys
        parts = [(_snake(key), query) for key, query in parts]
    before = len(ctx.problems.items)
    for key, query in parts:
        if query is not None:
            check_promql(obj, (*keys, key), query, ctx)
    if len(ctx.problems.items) != before:
        return None
    return Indicator(name=sid, ratio=ratio, origin=origin)


def alerting_dict(a: Any) -> dict[str, Any]:
    """A Sloth ``alerting`` model as plain data (``page_alert``/``ticket_alert`` spelt as in
    ``prometheus/v1``)."""

    def alert(x: Any) -> dict[str, Any]:
        return {"disable": x.disable, "labels": dict(x.labels), "annotations": dict(x.annotations)}

    return {
        "name": a.name or "",
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "page_alert": alert(a.page_alert),
        "ticket_alert": alert(a.ticket_alert),
    }


def sloth_alerting_extras(
    obj: SpecObject, annotations: Mapping[str, str], ctx: MapContext
) -> dict[str, Any]:
    """``extras`` of an OpenSLO SLO that carries a Sloth alerting block in the
    ``slm.dev/sloth-alerting`` annotation (written by ``slm convert``); problems located."""
    text = annotations.get(SLOTH_ALERTING_ANNOTATION)
    if text is None:
        return {}
    from slm.spec.sloth import Alerting  # only files written by ``slm convert`` need it

    try:
        alerting = Alerting.model_validate_json(text)
    except ValidationError as e:
        where = "; ".join(
            f"{'.'.join(map(str, d['loc'])) or 'value'}: {d['msg']}" for d in e.errors()
        )
        ctx.problems.at(
            obj,
            ("metadata", "annotations", SLOTH_ALERTING_ANNOTATION),
            f"not a Sloth alerting block as JSON ({where})",
        )
        return {}
    return {SLOTH_ALERTING_EXTRA: alerting_dict(alerting)}


GROUPING_ANNOTATION = "slm.dev/grouping"


def grouping_extras(
    obj: SpecObject, annotations: Mapping[str, str], ctx: MapContext
) -> dict[str, Any]:
    """``extras`` of an OpenSLO SLO with ``slm.dev/grouping: "label, label"``: one
    objective per value of these labels (Pyrra's ``grouping``); problems located."""
    text = annotations.get(GROUPING_ANNOTATION)
    if text is None:
        return {}
    labels = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in labels if not _LABEL.match(x)]
    if not labels or bad:
        what = f"{', '.join(map(repr, bad))} not a valid Prometheus label name" if bad else "empty"
        ctx.problems.at(
            obj,
            ("metadata", "annotations", GROUPING_ANNOTATION),
            f"{what} (a comma-separated list of label names, e.g. 'region, customer')",
        )
        return {}
    return {GROUPING_EXTRA: labels}


def openslo_extras(
    obj: SpecObject, annotations: Mapping[str, str], ctx: MapContext
) -> dict[str, Any]:
    """The slm extensions an OpenSLO SLO carries in its annotations."""
    return {
        **sloth_alerting_extras(obj, annotations, ctx),
        **grouping_extras(obj, annotations, ctx),
    }


def _sloth_extras(spec: Any, slo: Any) -> dict[str, Any]:

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
            "alerting": alerting_dict(slo.alerting),
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
    return map_sloth(obj, m, (), m.version, "Sloth", ctx)


def map_sloth_k8s(obj: SpecObject, m: sloth.PrometheusServiceLevel, ctx: MapContext) -> list[Any]:
    return map_sloth(obj, m.spec, ("spec",), m.api_version, m.kind, ctx)
