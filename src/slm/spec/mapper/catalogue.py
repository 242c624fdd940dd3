"""``AlertCatalogue`` from the ``slm/v1`` kind ``AlertWindowCatalogue`` and from Sloth's
``sloth.slok.dev/v1`` ``AlertWindows``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from slm.domain.durations import parse_duration
from slm.domain.model import AlertCatalogue, AlertWindow
from slm.spec.context import MapContext
from slm.spec.problems import SpecObject

if TYPE_CHECKING:
    from slm.spec import slm_v1, sloth


def catalogue_from_spec(
    obj: SpecObject, name: str, spec: slm_v1.AlertWindowCatalogueSpec, ctx: MapContext
) -> AlertCatalogue | None:
    period = parse_duration(spec.period)
    windows: list[AlertWindow] = []
    for i, row in enumerate(spec.windows):
        f = ("spec", "windows", i)
        long, short = parse_duration(row.long_window), parse_duration(row.short_window)
        if short >= long:
            ctx.problems.at(obj, (*f, "shortWindow"), "must be shorter than longWindow")
        if long > period:
            ctx.problems.at(
                obj,
                (*f, "longWindow"),
                f"longWindow {row.long_window} is longer than the period {spec.period}",
            )
        windows.append(AlertWindow(row.severity, long, short, row.budget_percent))
    if len(windows) != len(spec.windows):
        return None
    return AlertCatalogue(name=name, period=period, windows=tuple(windows))


def map_catalogue(obj: SpecObject, m: slm_v1.AlertWindowCatalogue, ctx: MapContext) -> list[Any]:
    before = len(ctx.problems.items)
    cat = catalogue_from_spec(obj, m.metadata.name, m.spec, ctx)
    return [] if cat is None or len(ctx.problems.items) != before else [cat]


def map_sloth_windows(obj: SpecObject, m: sloth.AlertWindows, ctx: MapContext) -> list[Any]:
    """Sloth's ``AlertWindows`` as a catalogue: page quick, page slow, ticket quick, ticket
    slow, each an (errorBudgetPercent, shortWindow, longWindow) row; named after its
    ``metadata.name`` if it has one, else its file (Sloth's files have no metadata)."""
    spec = m.spec
    period = parse_duration(spec.slo_period)
    windows: list[AlertWindow] = []
    before = len(ctx.problems.items)
    for severity, pair in (("page", spec.page), ("ticket", spec.ticket)):
        for speed, row in (("quick", pair.quick), ("slow", pair.slow)):
            f = ("spec", severity, speed)
            long, short = parse_duration(row.long_window), parse_duration(row.short_window)
            if short >= long:
                ctx.problems.at(obj, (*f, "shortWindow"), "must be shorter than longWindow")
            if long > period:
                ctx.problems.at(
                    obj,
                    (*f, "longWindow"),
                    f"longWindow {row.long_window} is longer than sloPeriod {spec.slo_period}",
                )
            windows.append(AlertWindow(severity, long, short, row.error_budget_percent))
    if len(ctx.problems.items) != before:
        return []
    name = m.metadata.name if m.metadata is not None else Path(obj.path).stem
    return [AlertCatalogue(name=name, period=period, windows=tuple(windows))]
