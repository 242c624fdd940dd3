"""Pyrra ``ServiceLevelObjective`` -> an Occurrences SLO with a rolling window.

The indicators become per-second event queries with Sloth's ``{{.window}}`` placeholder
(as Sloth events SLIs): ``ratio`` errors/total -> bad/total, ``latency`` success/total ->
good/total, ``bool_gauge`` -> a raw success ratio (samples at 1 over all samples). With
``grouping`` labels every query sums ``by`` them, so every recording, alert and result
carries the group's labels. ``latencyNative`` (native histograms) is refused.

Pyrra has no service: the SLO's service is its namespace, else its name. Its labels are
the ``pyrra.dev/``-prefixed metadata labels without the prefix (as Pyrra's rules). Alerting keeps
Pyrra's defaults: burn-rate alerts named ``ErrorBudgetBurn`` with ``severity: critical``
(page) and ``warning`` (ticket), unless ``alerting.disabled`` or ``burnrates: false``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from slm.domain.durations import parse_duration
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
from slm.spec import pyrra
from slm.spec.context import MapContext, origin_of
from slm.spec.mapper.indicators import spec_dir
from slm.spec.mapper.objectives import percent_to_ratio
from slm.spec.mapper.sloth import GROUPING_EXTRA, SLOTH_ALERTING_EXTRA
from slm.spec.problems import SpecObject

PYRRA_ALERT_NAME = "ErrorBudgetBurn"
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _sum(expr: str, grouping: list[str]) -> str:
    by = f" by ({', '.join(grouping)})" if grouping else ""
    return f"sum{by}({expr})"


def _windowed(metric: str, fn: str = "rate") -> str:
    return f"{fn}({metric.strip()}[{{{{.window}}}}])"


def _indicator(
    obj: SpecObject, name: str, ind: pyrra.Indicator, ctx: MapContext
) -> Indicator | None:
    def q(text: str, per_second: bool = True) -> MetricQuery:
        spec: dict[str, Any] = {"query": text, "perSecond": True} if per_second else {"query": text}
        return MetricQuery(source=None, source_type="Prometheus", spec=spec, base_dir=spec_dir(obj))

    origin = origin_of(obj, pyrra.API_VERSION, pyrra.KIND)
    if ind.ratio is not None:
        g = ind.ratio.grouping
        ratio = RatioMetric(
            total=q(_sum(_windowed(ind.ratio.total.metric), g)),
            bad=q(_sum(_windowed(ind.ratio.errors.metric), g)),
        )
    elif ind.latency is not None:
        g = ind.latency.grouping
        ratio = RatioMetric(
            total=q(_sum(_windowed(ind.latency.total.metric), g)),
            good=q(_sum(_windowed(ind.latency.success.metric), g)),
        )
    elif ind.bool_gauge is not None:
        g = ind.bool_gauge.grouping
        m = ind.bool_gauge.metric
        raw = (
            f"{_sum(_windowed(m, 'sum_over_time'), g)}\n/\n"
            f"{_sum(_windowed(m, 'count_over_time'), g)}"
        )
        ratio = RatioMetric(total=None, raw=q(raw, per_second=False), raw_type="success")
    else:
        ctx.problems.at(
            obj,
            ("spec", "indicator", "latencyNative"),
            "Pyrra latencyNative (native histogram) indicators are not supported; "
            "use a latency indicator over classic histogram buckets",
        )
        return None
    return Indicator(name=name, ratio=ratio, origin=origin)


def grouping_of(ind: pyrra.Indicator) -> tuple[str, ...]:
    for x in (ind.ratio, ind.latency, ind.latency_native, ind.bool_gauge):
        if x is not None:
            return tuple(x.grouping)
    return ()


def pyrra_labels(labels: dict[str, str]) -> dict[str, str]:
    """As Pyrra: ``pyrra.dev/<name>`` labels go onto the generated rules as ``<name>``; the
    others (``prometheus: k8s`` ...) only select the PrometheusRule resource."""
    prefix = "pyrra.dev/"
    return {k[len(prefix) :]: v for k, v in labels.items() if k.startswith(prefix)}


def _alerting(a: pyrra.Alerting) -> dict[str, Any]:
    """Pyrra's alerting as the Sloth alerting block the rules generator reads."""
    off = bool(a.disabled) or a.burnrates is False
    sev = a.severities or pyrra.Severities()
    page = sev.fast_burn or sev.medium_burn or "critical"
    ticket = sev.slow_burn or sev.long_term_burn or "warning"
    return {
        "name": a.name or PYRRA_ALERT_NAME,
        "labels": {},
        "annotations": {},
        "page_alert": {"disable": off, "labels": {"severity": page}, "annotations": {}},
        "ticket_alert": {"disable": off, "labels": {"severity": ticket}, "annotations": {}},
    }


def map_pyrra(obj: SpecObject, m: pyrra.ServiceLevelObjective, ctx: MapContext) -> list[Any]:
    md, spec = m.metadata, m.spec
    service = md.namespace or md.name
    out: list[Any] = []
    if not ctx.is_declared("service", service):
        out.append(Service(name=service, origin=origin_of(obj, m.api_version, m.kind)))
    ind = _indicator(obj, md.name, spec.indicator, ctx)
    if ind is None:
        return out
    grouping = grouping_of(spec.indicator)
    for i, label in enumerate(grouping):
        if not LABEL_NAME.match(label):
            ctx.problems.at(
                obj, ("spec", "indicator", "grouping", i), "not a valid Prometheus label name"
            )
            return out
    origin = replace(origin_of(obj, m.api_version, m.kind))
    extras: dict[str, Any] = {SLOTH_ALERTING_EXTRA: _alerting(spec.alerting), "pyrra": True}
    if grouping:
        extras[GROUPING_EXTRA] = grouping
    out.append(
        SLO(
            name=md.name,
            service=service,
            indicator=ind,
            window=RollingWindow(parse_duration(spec.window)),
            budgeting_method=BudgetingMethod.OCCURRENCES,
            objectives=(Objective(name=md.name, target=percent_to_ratio(float(spec.target))),),
            description=spec.description or "",
            labels=pyrra_labels(md.labels),
            annotations=dict(md.annotations),
            extras=extras,
            origin=origin,
        )
    )
    return out
