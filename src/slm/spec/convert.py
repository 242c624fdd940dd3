"""Write a workspace (from any accepted format) as OpenSLO v1 YAML.

Output: Services, DataSources, alert routing (AlertNotificationTargets, AlertConditions,
AlertPolicies), then SLOs with their indicator inlined. The output loads cleanly through
the loader. Objectives of one SLO that measure different indicators (OpenSLO v1alpha
``ratioMetrics`` per objective) become one SLO per indicator.

A Sloth SLO's ``alerting`` block (alert name, labels and annotations of the page and
ticket alerts, which are disabled) has no OpenSLO field: it is kept as JSON in the SLO's
``slm.dev/sloth-alerting`` annotation, which the OpenSLO readers take back, so the rules
generated from the converted file alert and route as the Sloth spec's did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.scalarstring import LiteralScalarString

from slm.domain.model import (
    SLO,
    CalendarWindow,
    DataSource,
    Indicator,
    MetricQuery,
    MissingData,
    Objective,
    Service,
    Window,
)
from slm.spec.loader import load_workspace
from slm.spec.mapper import MISSING_DATA_ANNOTATION
from slm.spec.mapper.sloth import (
    GROUPING_ANNOTATION,
    GROUPING_EXTRA,
    SLOTH_ALERTING_ANNOTATION,
    SLOTH_ALERTING_EXTRA,
)
from slm.spec.workspace import AlertCondition, AlertPolicy, NotificationTarget, Workspace
from slm.spec.yamlio import dump_documents

API = "openslo/v1"
_LETTER = {"day": "d", "week": "w", "month": "M", "quarter": "Q", "year": "Y"}


def to_openslo_v1(source: Workspace | Sequence[str | Path]) -> str:
    ws = source if isinstance(source, Workspace) else load_workspace(source)
    docs: list[dict[str, Any]] = []
    docs += [_service(s) for s in sorted(ws.services.values(), key=lambda s: s.name)]
    docs += [_datasource(d) for d in sorted(ws.datasources.values(), key=lambda d: d.name)]
    by_name = lambda x: x.name  # noqa: E731
    docs += [_target(t) for t in sorted(ws.notification_targets.values(), key=by_name)]
    docs += [_condition(c) for c in sorted(ws.alert_conditions.values(), key=by_name)]
    docs += [_policy(p) for p in sorted(ws.alert_policies.values(), key=by_name)]
    for slo in sorted(ws.slos.values(), key=lambda s: s.name):
        docs += _slos(slo)
    return dump_documents([_block(d) for d in docs])


def _meta(
    name: str, display: str = "", labels: Any = None, annotations: Any = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if display:
        out["displayName"] = display
    if labels:
        out["labels"] = dict(labels)
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def _service(s: Service) -> dict[str, Any]:
    spec = {"description": s.description} if s.description else {}
    return {
        "apiVersion": API,
        "kind": "Service",
        "metadata": _meta(s.name, s.display_name, s.labels),
        "spec": spec,
    }


def _datasource(d: DataSource) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "DataSource",
        "metadata": _meta(d.name),
        "spec": {"type": d.type, "connectionDetails": dict(d.connection_details)},
    }


def _target(t: NotificationTarget) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": t.description} if t.description else {}
    spec["target"] = t.target
    return {
        "apiVersion": API,
        "kind": "AlertNotificationTarget",
        "metadata": _meta(t.name, t.display_name),
        "spec": spec,
    }


def _condition(c: AlertCondition) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": c.description} if c.description else {}
    spec["severity"] = c.severity
    spec["condition"] = {
        "kind": "burnrate",
        "op": c.op or "gt",
        "threshold": c.threshold,
        "lookbackWindow": shorthand(c.lookback_window),
        "alertAfter": shorthand(c.alert_after) if c.alert_after else "0m",
    }
    return {
        "apiVersion": API,
        "kind": "AlertCondition",
        "metadata": _meta(c.name, c.display_name),
        "spec": spec,
    }


def _policy(p: AlertPolicy) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": p.description} if p.description else {}
    spec["alertWhenNoData"] = p.alert_when_no_data
    spec["alertWhenResolved"] = p.alert_when_resolved
    spec["alertWhenBreaching"] = p.alert_when_breaching
    spec["conditions"] = [{"conditionRef": c} for c in p.conditions]
    if p.notification_targets:
        spec["notificationTargets"] = [{"targetRef": t} for t in p.notification_targets]
    return {
        "apiVersion": API,
        "kind": "AlertPolicy",
        "metadata": _meta(p.name, p.display_name),
        "spec": spec,
    }


def shorthand(d: timedelta) -> str:
    """A single-unit OpenSLO duration: 30d, 6h, 5m."""
    secs = int(d.total_seconds())
    for letter, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs % size == 0 and letter != "w":
            return f"{secs // size}{letter}"
    return f"{max(1, secs // 60)}m"


def _window(w: Window) -> dict[str, Any]:
    if isinstance(w, CalendarWindow):
        start = w.start.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "duration": f"{w.count}{_LETTER[w.unit]}",
            "isRolling": False,
            "calendar": {"startTime": start, "timeZone": w.time_zone},
        }
    return {"duration": shorthand(w.duration), "isRolling": True}


def _metric(q: MetricQuery) -> dict[str, Any]:
    ms: dict[str, Any] = {}
    if q.source:
        ms["metricSourceRef"] = q.source
    ms["type"] = q.source_type
    ms["spec"] = dict(q.spec)
    return {"metricSource": ms}


def _indicator_spec(ind: Indicator) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if ind.description:
        spec["description"] = ind.description
    if ind.threshold is not None:
        spec["thresholdMetric"] = _metric(ind.threshold.metric)
        return spec
    r = ind.ratio
    assert r is not None
    ratio: dict[str, Any] = {"counter": r.counter}
    for key in ("good", "bad", "total"):
        q = getattr(r, key)
        if q is not None:
            ratio[key] = _metric(q)
    if r.raw is not None:
        ratio["rawType"] = r.raw_type
        ratio["raw"] = _metric(r.raw)
    spec["ratioMetric"] = ratio
    return spec


def _objective(o: Objective) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if o.display_name:
        out["displayName"] = o.display_name
    if o.op is not None:
        out["op"] = o.op
    if o.value is not None:
        out["value"] = o.value
    out["target"] = o.target
    if o.time_slice_target is not None:
        out["timeSliceTarget"] = o.time_slice_target
    if o.time_slice_window is not None:
        out["timeSliceWindow"] = shorthand(o.time_slice_window)
    return out


def _groups(slo: SLO) -> list[tuple[Indicator, list[Objective]]]:
    groups: list[tuple[Indicator, list[Objective]]] = []
    for o in slo.objectives:
        ind = slo.indicator_for(o)
        for g_ind, objs in groups:
            if (g_ind.ratio, g_ind.threshold) == (ind.ratio, ind.threshold):
                objs.append(o)
                break
        else:
            groups.append((ind, [o]))
    return groups


def _slos(slo: SLO) -> list[dict[str, Any]]:
    out = []
    for n, (ind, objectives) in enumerate(_groups(slo)):
        name = slo.name if n == 0 else f"{slo.name}-{n + 1}"
        annotations = dict(slo.annotations)
        if ind.missing_data is not MissingData.IGNORE:
            annotations[MISSING_DATA_ANNOTATION] = ind.missing_data.value
        # slm extensions the OpenSLO readers take back: Sloth-style alert routing (Sloth,
        # Pyrra) and grouping labels (Pyrra)
        sloth = slo.extras.get("sloth")
        alerting = sloth["alerting"] if sloth is not None else slo.extras.get(SLOTH_ALERTING_EXTRA)
        if alerting is not None:
            annotations[SLOTH_ALERTING_ANNOTATION] = json.dumps(_compact(alerting))
        grouping = slo.extras.get(GROUPING_EXTRA)
        if grouping:
            annotations[GROUPING_ANNOTATION] = ", ".join(grouping)
        spec: dict[str, Any] = {}
        if slo.description:
            spec["description"] = slo.description
        spec["service"] = slo.service
        spec["indicator"] = {
            "metadata": _meta(ind.name, ind.display_name),
            "spec": _indicator_spec(ind),
        }
        spec["timeWindow"] = [_window(slo.window)]
        spec["budgetingMethod"] = slo.budgeting_method.value
        spec["objectives"] = [_objective(o) for o in objectives]
        if slo.alert_policies:
            spec["alertPolicies"] = list(slo.alert_policies)
        out.append(
            {
                "apiVersion": API,
                "kind": "SLO",
                "metadata": _meta(name, slo.display_name, slo.labels, annotations),
                "spec": spec,
            }
        )
    return out


def _compact(value: Any) -> Any:
    """Without the defaults (empty maps, ``disable: false``): what the spec said."""
    if isinstance(value, dict):
        out = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, "", False)}
    return value


def _block(value: Any) -> Any:
    """Multi-line strings as literal blocks, recursively."""
    if isinstance(value, dict):
        return {k: _block(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_block(v) for v in value]
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value if value.endswith("\n") else value + "\n")
    return value
