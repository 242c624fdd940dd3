"""Which SLOs get Prometheus rules, and the Sloth-shaped view of each one.

Every spec slm reads maps to domain ``SLO`` objects; this module turns each (SLO,
objective) into a ``PromSLO``: the Sloth id/service/name, objective in percent, period,
labels, SLI expression, alert metadata and the ``sloth_slo_info`` details. SLOs that have
no Prometheus rule form are returned as ``Skipped`` with the reason; input that is wrong
(a bad label name, a query that cannot be windowed) is reported as ``Problem``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from slm.domain.durations import format_duration
from slm.domain.errors import Problem
from slm.domain.model import (
    SLO,
    AlertCatalogue,
    BudgetingMethod,
    CalendarWindow,
    Indicator,
    MetricQuery,
    Objective,
    RollingWindow,
)
from slm.rules import conventions as cv
from slm.rules.model import ResourceMeta
from slm.rules.sli import Query, SLIExpression
from slm.spec.catalogues import default_catalogue
from slm.spec.mapper.sloth import GROUPING_EXTRA, SLOTH_ALERTING_EXTRA
from slm.spec.workspace import RawDocument, Workspace

SLOTH_DEFAULT_PERIOD = timedelta(days=30)
RESERVED_LABELS = frozenset({cv.ID_LABEL, cv.SERVICE_LABEL, cv.SLO_LABEL, cv.WINDOW_LABEL})
_CALENDAR_LENGTH = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "quarter": timedelta(days=90),
    "year": timedelta(days=365),
}
_MODES = {
    "prometheus/v1": "cli-gen-prom",
    "sloth.slok.dev/v1": "cli-gen-k8s",
}


@dataclass(frozen=True)
class AlertMeta:
    """Name, labels and annotations of one severity's alert (Sloth ``page_alert`` ...)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    disable: bool = False


@dataclass(frozen=True)
class PolicyAlert:
    """One burn-rate ``AlertCondition`` of an OpenSLO ``AlertPolicy`` of the SLO: fires
    when the error ratio over ``lookback`` compares (``op``) with ``threshold`` x budget
    for ``alert_after``; ``no_data`` is the policy's ``alertWhenNoData``."""

    policy: str
    condition: str
    severity: str
    op: str  # gt, gte, lt, lte
    threshold: float
    lookback: timedelta
    alert_after: timedelta
    no_data: bool = False


@dataclass(frozen=True)
class PromSLO:
    id: str
    service: str
    name: str
    objective_pct: float
    period: timedelta
    labels: Mapping[str, str]
    sli: SLIExpression
    alerts: Mapping[str, AlertMeta]  # by severity; others use ``default_alert``
    default_alert: AlertMeta
    mode: str
    spec: str
    resource: ResourceMeta
    catalogue: AlertCatalogue
    policy_alerts: tuple[PolicyAlert, ...] = ()  # when given, instead of the catalogue's
    catalogue_alerts: bool = True  # False: alerting not configured (and no --default-alerts)

    def alert_meta(self, severity: str) -> AlertMeta:
        return self.alerts.get(severity, self.default_alert)

    @property
    def id_labels(self) -> dict[str, str]:
        return {cv.ID_LABEL: self.id, cv.SERVICE_LABEL: self.service, cv.SLO_LABEL: self.name}


@dataclass(frozen=True)
class Skipped:
    where: str  # path:line
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: SLO/{self.name}: skipped: {self.reason}"


@dataclass(frozen=True)
class Selection:
    slos: tuple[PromSLO, ...]
    skipped: tuple[Skipped, ...]
    problems: tuple[Problem, ...]
    notes: tuple[str, ...]


Compat = Literal["slm", "sloth"]


@dataclass(frozen=True)
class TargetOptions:
    """``period``: for specs without their own period (Sloth), default the catalogue's,
    else 30d. ``default_alerts``: the catalogue's page and ticket alerts also for SLOs
    whose spec configures no alerting. ``compat="sloth"``: SLI expressions as Sloth's
    released versions write them (no ``> 0`` guard on the total)."""

    period: timedelta | None = None
    catalogue: AlertCatalogue | None = None  # None: the shipped one for each period
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    default_alerts: bool = False
    compat: Compat = "slm"


def select(ws: Workspace, opts: TargetOptions) -> Selection:
    """Every SLO of ``ws`` as ``PromSLO``s, in file order, plus what was skipped and why."""
    out: list[PromSLO] = []
    skipped: list[Skipped] = []
    problems: list[Problem] = []
    notes: list[str] = []
    for slo in sorted(ws.slos.values(), key=_file_order):
        reason = _skip_reason(slo)
        if reason is not None:
            skipped.append(Skipped(_where(slo), slo.name, reason))
            continue
        period, note = _period(slo, opts)
        if note:
            notes.append(f"{_where(slo)}: SLO/{slo.name}: {note}")
        made_any = False
        for i, objective in enumerate(slo.objectives):
            made = _prom_slo(ws, slo, i, objective, period, opts, problems)
            if made is not None:
                out.append(made)
                made_any = True
        if made_any and not opts.default_alerts:
            why = _no_alerting(slo)
            if why is not None:
                notes.append(
                    f"{_where(slo)}: SLO/{slo.name}: {why}: no alert rules "
                    "(--default-alerts adds the catalogue's page and ticket alerts)"
                )
    _check_duplicates(out, problems)
    return Selection(tuple(out), tuple(skipped), tuple(problems), tuple(notes))


def _file_order(slo: SLO) -> tuple[str, int, str]:
    o = slo.origin
    return (o.path if o else "", (o.line or 0) if o else 0, slo.name)


def _where(slo: SLO) -> str:
    o = slo.origin
    if o is None:
        return "-"
    return f"{o.path}:{o.line}" if o.line is not None else o.path


def _queries(ind: Indicator) -> list[MetricQuery]:
    r = ind.ratio
    if r is None:
        return [ind.threshold.metric] if ind.threshold is not None else []
    return [q for q in (r.good, r.bad, r.total, r.raw) if q is not None]


def _skip_reason(slo: SLO) -> str | None:
    if slo.budgeting_method is not BudgetingMethod.OCCURRENCES:
        return (
            f"budgetingMethod {slo.budgeting_method.value} has no Prometheus rule form "
            "(only Occurrences SLOs get Sloth-style rules)"
        )
    for obj in slo.objectives:
        ind = slo.indicator_for(obj)
        if ind.ratio is None:
            return "a thresholdMetric SLI has no error-ratio rule form (use a ratioMetric)"
        for q in _queries(ind):
            if q.source_type.lower() != "prometheus":
                return f"its metric source is {q.source_type}, not Prometheus"
    return None


def _period(slo: SLO, opts: TargetOptions) -> tuple[timedelta, str | None]:
    if "sloth" in slo.extras:
        default = opts.catalogue.period if opts.catalogue is not None else SLOTH_DEFAULT_PERIOD
        return opts.period or default, None
    w = slo.window
    if isinstance(w, RollingWindow):
        return w.duration, None
    assert isinstance(w, CalendarWindow)
    if opts.period is not None:
        return opts.period, f"calendar window ({w.count} {w.unit}) uses the --period rolling window"
    length = _CALENDAR_LENGTH[w.unit] * w.count
    return length, (
        f"calendar window ({w.count} {w.unit}) approximated by a rolling "
        f"{format_duration(length)} window "
        "(Prometheus ranges cannot follow calendar boundaries)"
    )


def objective_percent(target: float) -> float:
    """0.999 -> 99.9 exactly as written (the percentage Sloth computes with)."""
    return float(Decimal(repr(float(target))) * 100)


def _prom_slo(
    ws: Workspace,
    slo: SLO,
    i: int,
    objective: Objective,
    period: timedelta,
    opts: TargetOptions,
    problems: list[Problem],
) -> PromSLO | None:
    sloth: dict[str, Any] | None = slo.extras.get("sloth")
    origin = slo.origin
    path, line = (origin.path, origin.line) if origin else ("-", None)
    api = origin.api_version if origin else ""

    def problem(field_: str, msg: str) -> None:
        problems.append(Problem(path, line, "SLO", slo.name, field_, msg))

    guard = opts.compat != "sloth"
    if sloth is not None:
        service, name, pct = sloth["service"], sloth["slo"], float(sloth["objective"])
        sli = _sloth_sli(slo, guard)
        alerts, default = _sloth_alerts(sloth["alerting"], service, name)
        mode, spec = _MODES.get(api, "cli-gen-prom"), api or "prometheus/v1"
    else:
        service, name = slo.service, f"{slo.name}-{i}"
        pct = objective_percent(objective.target)
        by = tuple(slo.extras.get(GROUPING_EXTRA, ()))
        sli = _openslo_sli(slo.indicator_for(objective), guard, by)
        suffix = str(i) if len(slo.objectives) > 1 else ""
        alerts, default = {}, AlertMeta(default_alert_name(slo.service, slo.name, suffix))
        kept = slo.extras.get(SLOTH_ALERTING_EXTRA)
        if kept is not None:  # Sloth alerting kept by ``slm convert``
            alerts, default = _sloth_alerts(kept, service, slo.name)
        mode, spec = "cli-gen-openslo", api
    for msg in sli.problems():
        problem("indicator", msg)
    labels = cv.merge_labels(slo.labels, opts.extra_labels)
    for key in labels:
        if key in RESERVED_LABELS:
            problem(f"labels.{key}", f"{key} is set by the generated rules; rename this label")
        elif not cv.is_label_name(key):
            problem(f"labels.{key}", "not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    for meta in (*alerts.values(), default):
        for key in meta.labels:
            if not cv.is_label_name(key):
                problem(f"alerting.labels.{key}", "not a valid Prometheus label name")
    if sli.problems():
        return None
    return PromSLO(
        id=f"{service}-{name}",
        service=service,
        name=name,
        objective_pct=pct,
        period=period,
        labels=labels,
        sli=sli,
        alerts=alerts,
        default_alert=default,
        mode=mode,
        spec=spec,
        resource=_resource(ws, slo),
        catalogue=opts.catalogue or default_catalogue(period),
        policy_alerts=policy_alerts(ws, slo) if sloth is None else (),
        catalogue_alerts=opts.default_alerts or _no_alerting(slo) is None,
    )


def _no_alerting(slo: SLO) -> str | None:
    """Why the spec configures no catalogue alerts for ``slo`` (as Sloth: none then), or
    ``None`` when it does. Sloth refuses an enabled alert without ``alerting.name``; slm
    writes no alerts for it instead. OpenSLO SLOs alert through their ``alertPolicies``."""
    sloth: dict[str, Any] | None = slo.extras.get("sloth")
    alerting = sloth["alerting"] if sloth is not None else slo.extras.get(SLOTH_ALERTING_EXTRA)
    if alerting is not None:
        if alerting["page_alert"]["disable"] and alerting["ticket_alert"]["disable"]:
            return None  # explicitly disabled: nothing to add, nothing to say
        if not alerting.get("name"):
            return "Sloth alerting has no name (Sloth refuses such an SLO)"
        return None
    if slo.alert_policies:
        return None
    return "no alertPolicies"


def policy_alerts(ws: Workspace, slo: SLO) -> tuple[PolicyAlert, ...]:
    """The burn-rate conditions of the SLO's OpenSLO alert policies, in policy then
    condition order (references are resolved by the loader, which reports dangling ones)."""
    out = []
    for pname in slo.alert_policies:
        policy = ws.alert_policies.get(pname)
        if policy is None:
            continue
        for cname in policy.conditions:
            c = ws.alert_conditions.get(cname)
            if c is None:
                continue
            out.append(
                PolicyAlert(
                    policy=policy.name,
                    condition=c.name,
                    severity=c.severity,
                    op=c.op or "gt",
                    threshold=c.threshold,
                    lookback=c.lookback_window,
                    alert_after=c.alert_after,
                    no_data=policy.alert_when_no_data,
                )
            )
    return tuple(out)


def default_alert_name(*parts: str) -> str:
    """``checkout`` + ``availability`` -> ``CheckoutAvailabilityErrorBudgetBurn``."""
    words = [w for p in parts for w in re.split(r"[^a-zA-Z0-9]+", p) if w]
    return "".join(w[:1].upper() + w[1:] for w in words) + "ErrorBudgetBurn"


def _query_text(q: MetricQuery) -> str:
    for key in ("query", "promql", "expr"):
        v = q.spec.get(key)
        if isinstance(v, str) and v.strip():
            return v
    return ""


def _sloth_sli(slo: SLO, guard: bool = True) -> SLIExpression:
    r = slo.indicator.ratio
    assert r is not None
    if r.raw is not None:
        return SLIExpression("sloth-raw", Query(_query_text(r.raw), verbatim=True))
    assert r.bad is not None and r.total is not None
    return SLIExpression(
        "sloth-events",
        Query(_query_text(r.bad), verbatim=True),
        Query(_query_text(r.total), verbatim=True),
        guard,
    )


def _openslo_sli(ind: Indicator, guard: bool = True, by: tuple[str, ...] = ()) -> SLIExpression:
    """``by``: grouping labels, summed by in the queries slm builds (a query written with
    ``{{.window}}`` is used as written: it must keep the labels itself)."""
    r = ind.ratio
    assert r is not None
    if r.raw is not None:
        raw = Query(_query_text(r.raw), raw_ratio=True, by=by)
        if r.raw_type == "success":
            return SLIExpression("raw-success", raw)
        return SLIExpression("raw-failure", raw)
    assert r.total is not None
    total = Query(_query_text(r.total), counter=r.counter, by=by)
    if r.bad is not None:
        bad = Query(_query_text(r.bad), counter=r.counter, by=by)
        return SLIExpression("bad", bad, total, guard)
    assert r.good is not None
    good = Query(_query_text(r.good), counter=r.counter, by=by)
    # Sloth reads an OpenSLO good/total ratio as a raw error ratio: its compat form
    return SLIExpression("good" if guard else "sloth-openslo", good, total, guard)


def _sloth_alerts(
    alerting: Mapping[str, Any], service: str, slo: str
) -> tuple[dict[str, AlertMeta], AlertMeta]:
    name = alerting.get("name") or default_alert_name(service, slo)
    common_l, common_a = dict(alerting["labels"]), dict(alerting["annotations"])

    def meta(key: str) -> AlertMeta:
        a = alerting[key]
        return AlertMeta(
            name,
            cv.merge_labels(common_l, a["labels"]),
            cv.merge_labels(common_a, a["annotations"]),
            bool(a["disable"]),
        )

    return {"page": meta("page_alert"), "ticket": meta("ticket_alert")}, AlertMeta(
        name, common_l, common_a
    )


def _resource(ws: Workspace, slo: SLO) -> ResourceMeta:
    """The PrometheusRule a SLO's groups go into: its Sloth CRD's name, else its service."""
    o = slo.origin
    if o is not None and o.kind == "PrometheusServiceLevel":
        doc = _owning_document(ws.documents, o.path, o.line or 0)
        if doc is not None:
            return _k8s_meta(doc)
    return ResourceMeta(name=slo.service)


def _owning_document(docs: list[RawDocument], path: str, line: int) -> RawDocument | None:
    found = [
        d for d in docs if d.path == path and d.kind == "PrometheusServiceLevel" and d.line <= line
    ]
    return max(found, key=lambda d: d.line) if found else None


def _k8s_meta(doc: RawDocument) -> ResourceMeta:
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(doc.text)
    meta = data.get("metadata") if isinstance(data, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    ns = meta.get("namespace")
    return ResourceMeta(
        name=doc.name,
        namespace=ns if isinstance(ns, str) else None,
        labels={str(k): str(v) for k, v in (labels or {}).items()},
    )


def _check_duplicates(slos: list[PromSLO], problems: list[Problem]) -> None:
    seen: dict[str, PromSLO] = {}
    for s in slos:
        if s.id in seen:
            problems.append(
                Problem("-", None, "SLO", s.id, "", f"two SLOs give the same sloth_id {s.id!r}")
            )
        seen[s.id] = s
