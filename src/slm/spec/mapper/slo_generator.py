"""slo-generator v2: the shared config's error budget policies and the
``ServiceLevelObjective``s that use them.

A policy's steps are slo-generator's windows: the SLO's window is the longest step (a
rolling window), and every step with ``alert: true`` is a burn-rate alert condition
(``burn rate > burn_rate_threshold`` over the step's window, severity ``page``) in an
alert policy ``slo-generator-<policy>-<step>`` of its own (OpenSLO policies have one
condition). Without a config in the workspace an
SLO has the window of slo-generator's sample ``default`` policy (28d) and no alerts.

Prometheus-backed SLIs become Prometheus queries with Sloth's ``{{.window}}`` placeholder
where slo-generator puts its ``[window]`` (``good_bad_ratio``: ``sum(increase(f[W]))`` or
the SLO's ``operators``; ``distribution_cut``: the ``le`` bucket over the ``_count``;
``query_sli``: the expression as a raw success ratio). Other backends keep their
``service_level_indicator`` as the metric source's spec with the backend as its type:
they validate and convert, and evaluation says the source type is not supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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
from slm.spec import slo_generator as sg
from slm.spec.context import MapContext, origin_of
from slm.spec.mapper.indicators import spec_dir
from slm.spec.problems import SpecObject
from slm.spec.workspace import AlertCondition, AlertPolicy

CONFIG_KEY = (sg.API_VERSION, sg.CONFIG_KIND)
DEFAULT_WINDOW = timedelta(days=28)  # the longest step of slo-generator's sample policy
POLICY_PREFIX = "slo-generator-"
_ENV = re.compile(r"\$\{[^}]*\}")


@dataclass(frozen=True)
class SloGeneratorConfig:
    """What SLOs need from the shared config: policy windows and the Prometheus URL."""

    name: str
    windows: dict[str, timedelta]  # policy -> its longest step
    alerting: dict[str, tuple[str, ...]]  # policy -> the alert policies of its alert steps
    prometheus_url: str | None  # a literal URL (``${VAR}`` values are left to SLM_PROMETHEUS_URL)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "step"


def map_config(obj: SpecObject, m: sg.Config, ctx: MapContext) -> list[Any]:
    out: list[Any] = []
    if ctx.workspace.objects.get(CONFIG_KEY):
        ctx.problems.at(obj, ("error_budget_policies",), "more than one slo-generator config")
        return out
    windows: dict[str, timedelta] = {}
    alerting: dict[str, tuple[str, ...]] = {}
    origin = origin_of(obj, sg.API_VERSION, sg.CONFIG_KIND)
    for pname, policy in m.error_budget_policies.items():
        windows[pname] = max(timedelta(seconds=s.window) for s in policy.steps)
        names = []
        for step in policy.steps:
            if not step.alert:
                continue
            name = f"{POLICY_PREFIX}{_slug(pname)}-{_slug(step.name)}"
            names.append(name)
            out.append(
                AlertCondition(
                    name=name,
                    severity="page",
                    op="gt",
                    threshold=step.burn_rate_threshold,
                    lookback_window=timedelta(seconds=step.window),
                    alert_after=timedelta(0),
                    display_name=step.name,
                    description=step.message_alert or "",
                    origin=origin,
                )
            )
            # one condition per policy, as OpenSLO has it
            out.append(AlertPolicy(name, (name,), (), display_name=step.name, origin=origin))
        if names:
            alerting[pname] = tuple(names)
    prom = m.backends.get("prometheus")
    url = prom.get("url") if isinstance(prom, dict) else None
    literal = url if isinstance(url, str) and not _ENV.search(url) else None
    ctx.workspace.objects.setdefault(CONFIG_KEY, {})[""] = SloGeneratorConfig(
        obj.path, windows, alerting, literal
    )
    return out


def _window_query(query: str, operators: list[str]) -> str:
    """slo-generator's ``_fmt_query`` with Sloth's placeholder for the window."""
    q = query.strip()
    q = q.replace("[window", "[{{.window}}") if "[window" in q else f"{q}[{{{{.window}}}}]"
    for op in operators:
        q = f"{op}({q})"
    return q


def _with_label(query: str, key: str, value: str) -> str:
    q = query.strip()
    return q.replace("}", f', {key}="{value}"}}') if "}" in q else f'{q}{{{key}="{value}"}}'


def _indicator(
    obj: SpecObject, m: sg.ServiceLevelObjective, cfg: SloGeneratorConfig | None, ctx: MapContext
) -> Indicator | None:
    spec, sli = m.spec, m.spec.service_level_indicator
    origin = origin_of(obj, sg.API_VERSION, sg.KIND)

    def problem(field: str, msg: str) -> None:
        ctx.problems.at(obj, ("spec", "service_level_indicator", field), msg)

    def need(field: str) -> str | None:
        value = sli.get(field)
        if not isinstance(value, str) or not value.strip():
            problem(field, f"required for method {spec.method} (a PromQL string)")
            return None
        return value

    if spec.backend != "prometheus":
        q = MetricQuery(
            source=None, source_type=spec.backend, spec=dict(sli), base_dir=spec_dir(obj)
        )
        if spec.method == "good_bad_ratio":
            return Indicator(m.metadata.name, RatioMetric(total=q, good=q), origin=origin)
        return Indicator(
            m.metadata.name, RatioMetric(total=None, raw=q, raw_type="success"), origin=origin
        )

    def prom(text: str, operators: list[str]) -> MetricQuery:
        query: dict[str, Any] = {"query": _window_query(text, operators)}
        if "rate" in operators:
            query["perSecond"] = True
        if cfg is not None and cfg.prometheus_url:
            query["url"] = cfg.prometheus_url
        return MetricQuery(
            source=None, source_type="Prometheus", spec=query, base_dir=spec_dir(obj)
        )

    if spec.method == "good_bad_ratio":
        ops = sli.get("operators", ["increase", "sum"])
        if not (isinstance(ops, list) and all(isinstance(o, str) for o in ops)):
            problem("operators", "a list of PromQL functions, e.g. [increase, sum]")
            return None
        good = need("filter_good")
        if "filter_bad" not in sli and "filter_valid" not in sli:
            problem("filter_valid", "filter_valid or filter_bad is required")
            return None
        other = need("filter_bad" if "filter_bad" in sli else "filter_valid")
        if good is None or other is None:
            return None
        if "filter_bad" in sli:  # valid = good + bad, as slo-generator counts it
            bad = prom(other, ops)
            both = dict(bad.spec) | {
                "query": f"({_window_query(good, ops)}) + ({bad.spec['query']})"
            }
            total = MetricQuery(None, "Prometheus", both, base_dir=spec_dir(obj))
            return Indicator(m.metadata.name, RatioMetric(total=total, bad=bad), origin=origin)
        return Indicator(
            m.metadata.name,
            RatioMetric(total=prom(other, ops), good=prom(good, ops)),
            origin=origin,
        )
    if spec.method == "distribution_cut":
        expr = need("expression")
        bucket = sli.get("threshold_bucket")
        if bucket is None or isinstance(bucket, bool) or not isinstance(bucket, int | float | str):
            problem("threshold_bucket", "required for method distribution_cut (the le bound)")
            return None
        if expr is None:
            return None
        ops = ["increase", "sum"]
        below = prom(_with_label(expr, "le", str(bucket)), ops)
        count = prom(expr.replace("_bucket", "_count"), ops)
        return Indicator(m.metadata.name, RatioMetric(total=count, good=below), origin=origin)
    if spec.method == "query_sli":
        expr = need("expression")
        if expr is None:
            return None
        raw = prom(expr, [])
        return Indicator(
            m.metadata.name, RatioMetric(total=None, raw=raw, raw_type="success"), origin=origin
        )
    ctx.problems.at(
        obj,
        ("spec", "method"),
        f"method {spec.method!r} is not one of the prometheus backend's "
        "(good_bad_ratio, distribution_cut, query_sli)",
    )
    return None


def _service(m: sg.ServiceLevelObjective) -> str:
    """slo-generator's ``service_name`` label, else the SLO's name."""
    name = m.metadata.labels.get("service_name", "").strip().lower()
    return re.sub(r"[^a-z0-9-]+", "-", name).strip("-") or m.metadata.name


def map_slo(obj: SpecObject, m: sg.ServiceLevelObjective, ctx: MapContext) -> list[Any]:
    found = ctx.workspace.objects.get(CONFIG_KEY, {}).get("")
    cfg = found if isinstance(found, SloGeneratorConfig) else None
    policy = m.spec.error_budget_policy
    window, policies = DEFAULT_WINDOW, tuple[str, ...]()
    if cfg is not None:
        if policy not in cfg.windows:
            known = ", ".join(sorted(cfg.windows))
            ctx.problems.at(
                obj,
                ("spec", "error_budget_policy"),
                f"error budget policy {policy!r} is not in the slo-generator config "
                f"{cfg.name} (known: {known})",
            )
            return []
        window = cfg.windows[policy]
        policies = cfg.alerting.get(policy, ())
    ind = _indicator(obj, m, cfg, ctx)
    out: list[Any] = []
    service = _service(m)
    if not ctx.is_declared("service", service):
        out.append(Service(name=service, origin=origin_of(obj, sg.API_VERSION, sg.KIND)))
    if ind is None:
        return out
    md = m.metadata
    out.append(
        SLO(
            name=md.name,
            service=service,
            indicator=ind,
            window=RollingWindow(window),
            budgeting_method=BudgetingMethod.OCCURRENCES,
            objectives=(Objective(name=md.name, target=m.spec.goal),),
            description=m.spec.description or "",
            labels=dict(md.labels),
            annotations=dict(md.annotations),
            alert_policies=policies,
            extras={"slo_generator": {"backend": m.spec.backend, "method": m.spec.method}},
            origin=origin_of(obj, sg.API_VERSION, sg.KIND),
        )
    )
    return out
