"""Semantic checks across objects, run once everything is mapped."""

from __future__ import annotations

from datetime import timedelta

from slm.domain.durations import format_duration
from slm.domain.model import SLO, AlertCatalogue
from slm.spec.context import MapContext
from slm.spec.mapper import window_length
from slm.spec.problems import SpecObject
from slm.spec.slm_v1 import API_VERSION as SLM_V1

CATALOGUE_KEY = (SLM_V1, "AlertWindowCatalogue")
SLOTH_WINDOWS_KEY = ("sloth.slok.dev/v1", "AlertWindows")


def run_checks(ctx: MapContext) -> None:
    _condition_windows(ctx)
    _catalogue_windows(ctx)


def _condition_windows(ctx: MapContext) -> None:
    ws = ctx.workspace
    for slo in ws.slos.values():
        length = window_length(slo.window)
        for pname in slo.alert_policies:
            policy = ws.alert_policies.get(pname)
            for cname in policy.conditions if policy else ():
                cond = ws.alert_conditions.get(cname)
                if cond is None:
                    continue
                for key, value in (
                    ("lookbackWindow", cond.lookback_window),
                    ("alertAfter", cond.alert_after),
                ):
                    if value > length:
                        _report(ctx, cname, slo, key, value, length)


def _report(
    ctx: MapContext, cname: str, slo: SLO, key: str, value: timedelta, length: timedelta
) -> None:
    msg = (
        f"{key} {format_duration(value)} is longer than the window of SLO "
        f"{slo.name!r} ({format_duration(length)})"
    )
    owner = ctx.owner("alert_condition", cname)
    if owner is not None:
        ctx.problems.at(owner, ("spec", "condition", key), msg)
        return
    slo_obj = ctx.owner("slo", slo.name)
    if slo_obj is not None:
        ctx.problems.at(slo_obj, ("spec", "alertPolicies"), f"AlertCondition {cname!r}: {msg}")


def _catalogue_windows(ctx: MapContext) -> None:
    catalogues = ctx.workspace.objects.get(CATALOGUE_KEY, {})
    for name, cat in catalogues.items():
        owner = ctx.owner(f"{CATALOGUE_KEY[0]}/{CATALOGUE_KEY[1]}", name)
        if owner is not None and isinstance(cat, AlertCatalogue):
            check_catalogue_against_slos(ctx, owner, cat, list(ctx.workspace.slos.values()))


def check_catalogue_against_slos(
    ctx: MapContext, owner: SpecObject, cat: AlertCatalogue, slos: list[SLO]
) -> None:
    for i, w in enumerate(cat.windows):
        short = [s for s in slos if w.long > window_length(s.window)]
        if short:
            names = ", ".join(
                f"{s.name!r} ({format_duration(window_length(s.window))})" for s in short
            )
            ctx.problems.at(
                owner,
                ("spec", "windows", i, "longWindow"),
                f"longWindow {format_duration(w.long)} is longer than the window of SLO {names}",
            )
