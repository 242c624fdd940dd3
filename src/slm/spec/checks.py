"""Semantic checks across objects, run once everything is mapped."""

from __future__ import annotations

from datetime import timedelta

from slm.domain.agreement import Agreement
from slm.domain.durations import format_duration
from slm.domain.errors import Problem
from slm.domain.model import EVALUATION_INTERVAL, SLO, AlertCatalogue
from slm.spec.context import MapContext
from slm.spec.mapper.sloth import GROUPING_ANNOTATION
from slm.spec.mapper.windows import window_length
from slm.spec.problems import SpecObject
from slm.spec.slm_v1 import API_VERSION as SLM_V1

CATALOGUE_KEY = (SLM_V1, "AlertWindowCatalogue")
SLOTH_WINDOWS_KEY = ("sloth.slok.dev/v1", "AlertWindows")
AGREEMENT_KEY = (SLM_V1, "Agreement")


GROUPABLE = ("prometheus", "file", "sql")
"""Source types that can tell the groups of a grouped SLO apart (``GroupedSource``)."""


def run_checks(ctx: MapContext) -> None:
    _condition_windows(ctx)
    _catalogue_windows(ctx)
    _grouped_sources(ctx)
    _evaluation_intervals(ctx)
    _underpins_cycles(ctx)


def _underpins_cycles(ctx: MapContext) -> None:
    """``underpins`` goes down from an SLA to the OLAs and UCs under it; a cycle (an SLA
    that underpins its own OLA) has no bottom, and is refused at every agreement on it."""
    agreements: dict[str, Agreement] = ctx.workspace.objects.get(AGREEMENT_KEY, {})
    graph = {name: [n for n in a.underpins if n in agreements] for name, a in agreements.items()}
    for cycle in find_cycles(graph):
        shown = " -> ".join([*cycle, cycle[0]])
        for name, nxt in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
            owner = ctx.owner(AGREEMENT_KEY[0] + "/" + AGREEMENT_KEY[1], name)
            if owner is not None:
                i = list(agreements[name].underpins).index(nxt)
                ctx.problems.at(owner, ("spec", "underpins", i), f"an underpins cycle: {shown}")


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """A cycle through each back edge of a depth-first search (so every node on some cycle
    is found on one), each starting at its smallest name; iterative, so a long chain costs
    no recursion."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: dict[tuple[str, ...], list[str]] = {}
    for root in sorted(graph):
        if root in state:
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            succ = graph.get(node, [])
            if i < len(succ):
                stack.append((node, i + 1))
                nxt = succ[i]
                if state.get(nxt) == 1:
                    cycle = path[path.index(nxt) :]
                    k = cycle.index(min(cycle))
                    rotated = cycle[k:] + cycle[:k]
                    found.setdefault(tuple(rotated), rotated)
                elif nxt not in state:
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return list(found.values())


def _grouped_sources(ctx: MapContext) -> None:
    """A grouped SLO must read sources that group: any other is refused here, located,
    rather than summed across the groups at evaluation."""
    ws = ctx.workspace
    for slo in ws.slos.values():
        if not slo.grouping:
            continue
        kinds = set()
        for objective in slo.objectives:
            for q in slo.indicator_for(objective).queries().values():
                ds = ws.datasources.get(q.source) if q.source else None
                kind = ds.type if ds is not None else q.source_type
                if kind.lower() not in GROUPABLE:
                    kinds.add(kind)
        owner = ctx.owner("slo", slo.name)
        if kinds and owner is not None:
            field = (
                ("spec", "indicator", "grouping")
                if str(owner.data.get("apiVersion", "")).startswith("pyrra.dev/")
                else ("metadata", "annotations", GROUPING_ANNOTATION)
            )
            ctx.problems.at(
                owner,
                field,
                f"grouped by {', '.join(slo.grouping)}, but it reads {', '.join(sorted(kinds))} "
                "data, which has no labels to group by: use Prometheus, or File or SQL data "
                "with a column per grouping label",
            )


def _evaluation_intervals(ctx: MapContext) -> None:
    """``slm.dev/evaluation-interval`` is read by ``slm serve``; a bad one is refused here,
    so what validates also serves."""
    for slo in ctx.workspace.slos.values():
        try:
            slo.evaluation_interval(timedelta(minutes=1))
        except ValueError as e:
            owner = ctx.owner("slo", slo.name)
            field = ("metadata", "annotations", EVALUATION_INTERVAL)
            if owner is not None:
                ctx.problems.at(owner, field, str(e))
            else:
                origin = slo.origin
                ctx.problems.add(
                    Problem(
                        origin.path if origin else "-",
                        origin.line if origin else None,
                        "SLO",
                        slo.name,
                        ".".join(field),
                        str(e),
                    )
                )


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
