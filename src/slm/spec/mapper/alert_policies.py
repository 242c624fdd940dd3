"""OpenSLO alerting (v1 and v2alpha): AlertCondition, AlertNotificationTarget, AlertPolicy,
inline or referenced, and the policies an SLO names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slm.domain.durations import parse_duration
from slm.spec.context import MapContext, origin_of
from slm.spec.problems import SpecObject
from slm.spec.workspace import AlertCondition, AlertPolicy, NotificationTarget
from slm.spec.yamlio import FieldPath

if TYPE_CHECKING:
    from slm.spec import openslo_v1 as v1
    from slm.spec import openslo_v2alpha as v2


TARGET_BY_NAME = (
    "the policy keeps the target's name only (slm notifies through its own NotificationChannel)"
)


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
        alert_after=parse_duration(c.alert_after, allow_zero=True),
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
    *,
    warn: str | None = None,
) -> str | None:
    """The name of the inline object or of the reference; ``None`` when reported. With
    ``warn``, an unknown reference is a warning and its name is kept."""
    if ref is not None:
        if item.kind or item.metadata or item.spec:
            ctx.problems.at(obj, f, f"use either {ref_key} or an inline object, not both")
            return None
        known = ctx.check_ref(obj, (*f, ref_key), role, ref, warn=warn)
        return ref if known or warn is not None else None
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
        tname = _inline_or_ref(
            obj, tf, t.target_ref, t, "targetRef", "notification_target", ctx, warn=TARGET_BY_NAME
        )
        if tname is not None and t.target_ref is None and t.spec is not None:
            ctx.workspace.notification_targets.setdefault(
                tname,
                NotificationTarget(
                    name=tname,
                    target=t.spec.target,
                    display_name=getattr(t.metadata, "display_name", None) or "",
                    description=t.spec.description or "",
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


def slo_policies(
    obj: SpecObject, items: Sequence[v1.AlertPolicyItem | v2.AlertPolicyItem], ctx: MapContext
) -> list[str]:
    """The names of an SLO's ``alertPolicies``; inline policies join the workspace."""
    names: list[str] = []
    for i, item in enumerate(items):
        f = ("spec", "alertPolicies", i)
        ref = item.alert_policy_ref
        name = _inline_or_ref(obj, f, ref, item, "alertPolicyRef", "alert_policy", ctx)
        if name is None:
            continue
        if ref is None and item.spec is not None and item.metadata is not None:
            disp = getattr(item.metadata, "display_name", None) or ""
            p = map_policy_spec(obj, (*f, "spec"), name, disp, item.spec, ctx)
            if p is not None:
                ctx.workspace.alert_policies.setdefault(name, p)
        names.append(name)
    return names
