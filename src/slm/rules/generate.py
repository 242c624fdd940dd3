"""Sloth-style rule groups for one SLO: SLI recordings, metadata recordings, alerts.

Per SLO, in this order (as Sloth): ``sloth-slo-sli-recordings-<id>`` with one
``slo:sli_error:ratio_rate<W>`` per alert window and the SLO period,
``sloth-slo-meta-recordings-<id>`` (objective, budget, period, current and period burn
rate, budget remaining, ``sloth_slo_info``) and ``sloth-slo-alerts-<id>`` with one
multi-window multi-burn-rate alert per severity of the catalogue (page, ticket) or, for an
SLO with OpenSLO alert policies, one single-window alert per burn-rate ``AlertCondition``
(its ``lookbackWindow`` recorded among the SLI windows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from slm import __version__
from slm.domain.alerting import alert_windows
from slm.domain.model import AlertWindow
from slm.rules import conventions as cv
from slm.rules.model import AlertingRule, RecordingRule, ResourceMeta, RuleGroup, RuleSet
from slm.rules.target import PolicyAlert, PromSLO

Optimize = Literal["none", "period", "long"]
POLICY_LABEL = "slm_alert_policy"
CONDITION_LABEL = "slm_alert_condition"
VERSION_LABEL_VALUE = f"slm-{__version__}"


@dataclass(frozen=True)
class GenerateOptions:
    """``optimize``: which windows are computed from the shortest window's recording.

    ``period`` (Sloth's default): only the SLO period; ``none`` (Sloth's
    ``--disable-optimizations``): every window from the raw series; ``long``
    (``--cheap-long-windows``): the period and every long alert window that is not also a
    short window.
    """

    alerts: bool = True
    recordings: bool = True
    optimize: Optimize = "period"


def generate(slos: Iterable[PromSLO], opts: GenerateOptions) -> tuple[RuleSet, ...]:
    """One ``RuleSet`` per target resource, groups in SLO order."""
    metas: dict[tuple[str, str | None], ResourceMeta] = {}
    sets: dict[tuple[str, str | None], list[RuleGroup]] = {}
    for slo in slos:
        key = (slo.resource.name, slo.resource.namespace)
        metas.setdefault(key, slo.resource)
        sets.setdefault(key, []).extend(slo_groups(slo, opts))
    return tuple(RuleSet(metas[key], tuple(groups)) for key, groups in sets.items())


def slo_groups(slo: PromSLO, opts: GenerateOptions) -> list[RuleGroup]:
    groups: list[RuleGroup] = []
    if opts.recordings:
        groups.append(RuleGroup(cv.sli_group(slo.id), tuple(sli_rules(slo, opts.optimize))))
        groups.append(RuleGroup(cv.meta_group(slo.id), tuple(meta_rules(slo))))
    if opts.alerts:
        alerts = alert_rules(slo)
        if alerts:
            groups.append(RuleGroup(cv.alert_group(slo.id), tuple(alerts)))
    return groups


def windows(slo: PromSLO) -> list[timedelta]:
    """Every alert window (the catalogue's and the policies' lookback windows), shortest
    first, then the SLO period."""
    ws = sorted({*alert_windows(slo.catalogue), *(p.lookback for p in slo.policy_alerts)})
    return ws if slo.period in ws else [*ws, slo.period]


def base_window(slo: PromSLO) -> timedelta:
    """The window of "now": the shortest short window (Sloth's page-quick short window)."""
    return min(w.short for w in slo.catalogue.windows)


def cheap_windows(slo: PromSLO, optimize: Optimize) -> set[timedelta]:
    if optimize == "none":
        return set()
    if optimize == "period":
        return {slo.period} - {base_window(slo)}
    rows = slo.catalogue.windows
    longs = {w.long for w in rows} - {w.short for w in rows}
    return ({slo.period} | longs) - {base_window(slo)}


def sli_rules(slo: PromSLO, optimize: Optimize = "period") -> list[RecordingRule]:
    cheap = cheap_windows(slo, optimize)
    rules = []
    for w in windows(slo):
        expr = _averaged(slo, w) if w in cheap else slo.sli.at(w)
        labels = cv.merge_labels(slo.labels, slo.id_labels, {cv.WINDOW_LABEL: cv.prom_duration(w)})
        rules.append(RecordingRule(cv.sli_error_metric(w), expr, labels))
    return rules


def _averaged(slo: PromSLO, window: timedelta) -> str:
    """Sloth's optimized form: the mean of the base-window ratio over ``window``."""
    src = cv.sli_error_metric(base_window(slo)) + cv.label_filter(slo.id_labels)
    w = cv.prom_duration(window)
    return (
        f"sum_over_time({src}[{w}])\n/ ignoring ({cv.WINDOW_LABEL})\ncount_over_time({src}[{w}])\n"
    )


def _burn_rate_expr(slo: PromSLO, window: timedelta) -> str:
    f = cv.label_filter(slo.id_labels)
    return (
        f"{cv.sli_error_metric(window)}{f}\n"
        f"/ on({cv.ID_LABEL}, {cv.SLO_LABEL}, {cv.SERVICE_LABEL}) group_left\n"
        f"{cv.ERROR_BUDGET_METRIC}{f}\n"
    )


def meta_rules(slo: PromSLO) -> list[RecordingRule]:
    labels = cv.merge_labels(slo.labels, slo.id_labels)
    ratio = cv.go_float(slo.objective_pct / 100)
    f = cv.label_filter(slo.id_labels)
    info = cv.merge_labels(
        labels,
        {
            cv.VERSION_LABEL: VERSION_LABEL_VALUE,
            cv.MODE_LABEL: slo.mode,
            cv.SPEC_LABEL: slo.spec,
            cv.OBJECTIVE_LABEL: cv.go_float_fixed(slo.objective_pct),
        },
    )
    days = cv.go_float(slo.period / timedelta(hours=1) / 24)
    return [
        RecordingRule(cv.OBJECTIVE_METRIC, f"vector({ratio})", labels),
        RecordingRule(cv.ERROR_BUDGET_METRIC, f"vector(1-{ratio})", labels),
        RecordingRule(cv.TIME_PERIOD_METRIC, f"vector({days})", labels),
        RecordingRule(cv.CURRENT_BURN_RATE_METRIC, _burn_rate_expr(slo, base_window(slo)), labels),
        RecordingRule(cv.PERIOD_BURN_RATE_METRIC, _burn_rate_expr(slo, slo.period), labels),
        RecordingRule(cv.BUDGET_REMAINING_METRIC, f"1 - {cv.PERIOD_BURN_RATE_METRIC}{f}", labels),
        RecordingRule(cv.INFO_METRIC, "vector(1)", info),
    ]


def severities(slo: PromSLO) -> list[str]:
    """Catalogue severities in order of first appearance (page, then ticket)."""
    return list(dict.fromkeys(w.severity for w in slo.catalogue.windows))


def alert_rules(slo: PromSLO) -> list[AlertingRule]:
    if slo.policy_alerts:
        return [policy_rule(slo, p) for p in slo.policy_alerts]
    if not slo.catalogue_alerts:
        return []
    rules = []
    for sev in severities(slo):
        meta = slo.alert_meta(sev)
        if meta.disable:
            continue
        rows = sorted((w for w in slo.catalogue.windows if w.severity == sev), key=lambda w: w.long)
        service, name = f"$labels.{cv.SERVICE_LABEL}", f"$labels.{cv.SLO_LABEL}"
        annotations = {
            "title": f"({sev}) {{{{{service}}}}} {{{{{name}}}}} SLO error budget burn rate "
            "is too fast.",
            "summary": f"{{{{{service}}}}} {{{{{name}}}}} SLO error budget burn rate is over "
            "expected.",
        }
        rules.append(
            AlertingRule(
                alert=meta.name,
                expr=alert_expr(slo, rows),
                labels=cv.merge_labels({cv.SEVERITY_LABEL: sev}, meta.labels),
                annotations=cv.merge_labels(annotations, meta.annotations),
            )
        )
    return rules


def alert_expr(slo: PromSLO, rows: list[AlertWindow]) -> str:
    """Sloth's multi-window multi-burn-rate expression: OR of (short AND long) per row."""
    f = cv.label_filter(slo.id_labels)
    budget = cv.go_float((100 - slo.objective_pct) / 100)
    blocks = []
    for row in rows:
        # Sloth computes the factor in float64 (not exactly, as AlertWindow.factor does):
        # the same float arithmetic gives its very digits (e.g. 5.6000000000000005)
        factor = cv.go_float((row.budget_percent / 100.0) * (slo.period / row.long))
        short, long = (
            f"max({cv.sli_error_metric(w)}{f} > ({factor} * {budget})) without ({cv.WINDOW_LABEL})"
            for w in (row.short, row.long)
        )
        blocks.append(f"(\n    {short}\n    and\n    {long}\n)")
    return "\nor\n".join(blocks) + "\n"


_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def policy_rule(slo: PromSLO, p: PolicyAlert) -> AlertingRule:
    """One OpenSLO burn-rate condition: the error ratio over its lookback window compared
    with ``threshold x (1 - objective)``, held for ``alertAfter``. The policy and condition
    are labels (two conditions never merge into one alert) and named in the annotations."""
    meta = slo.alert_meta(p.severity)
    f = cv.label_filter(slo.id_labels)
    budget = cv.go_float((100 - slo.objective_pct) / 100)
    ratio = f"{cv.sli_error_metric(p.lookback)}{f}"
    op = _OPS[p.op]
    expr = (
        f"max({ratio} {op} ({cv.go_float(p.threshold)} * {budget})) without ({cv.WINDOW_LABEL})\n"
    )
    if p.no_data:  # alertWhenNoData: a window without traffic has no ratio sample;
        # matching the SLO labels too gives this alert the same labels as the one above
        series = cv.label_filter(cv.merge_labels(slo.labels, slo.id_labels))
        expr += f"or\nabsent({cv.sli_error_metric(p.lookback)}{series})\n"
    service, name = f"{{{{$labels.{cv.SERVICE_LABEL}}}}}", f"{{{{$labels.{cv.SLO_LABEL}}}}}"
    window = cv.prom_duration(p.lookback)
    held = f" for {cv.prom_duration(p.alert_after)}" if p.alert_after else ""
    annotations = {
        "title": f"({p.severity}) {service} {name} SLO error budget burn rate over {window} "
        f"{op} {cv.go_float(p.threshold)} (AlertPolicy {p.policy}, AlertCondition "
        f"{p.condition}).",
        "summary": f"{service} {name} SLO error budget burn rate over {window} is "
        f"{op} {cv.go_float(p.threshold)}{held}: AlertCondition {p.condition} of AlertPolicy "
        f"{p.policy}.",
    }
    labels = {cv.SEVERITY_LABEL: p.severity, POLICY_LABEL: p.policy, CONDITION_LABEL: p.condition}
    return AlertingRule(
        alert=meta.name,
        expr=expr,
        labels=cv.merge_labels(labels, meta.labels),
        annotations=cv.merge_labels(annotations, meta.annotations),
        for_=cv.prom_duration(p.alert_after) if p.alert_after else None,
    )
