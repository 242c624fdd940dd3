"""Objectives and targets, and the ``SLO`` every OpenSLO version's mapper ends in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from slm.domain.durations import format_duration, parse_duration
from slm.domain.model import SLO, BudgetingMethod, Indicator, Objective, Window
from slm.domain.series import DEFAULT_STEP
from slm.spec.context import MapContext, origin_of
from slm.spec.problems import SpecObject
from slm.spec.yamlio import FieldPath

if TYPE_CHECKING:
    from slm.spec import openslo_v1 as v1
    from slm.spec import openslo_v1alpha as v1a
    from slm.spec import openslo_v2alpha as v2


class ObjectiveSpec(Protocol):
    """The fields an OpenSLO objective has in every version."""

    @property
    def display_name(self) -> str | None: ...
    @property
    def op(self) -> Any: ...
    @property
    def value(self) -> float | None: ...
    @property
    def target(self) -> float | None: ...
    @property
    def time_slice_target(self) -> float | None: ...
    @property
    def time_slice_window(self) -> str | None: ...


def _target(obj: SpecObject, f: FieldPath, o: Any, ctx: MapContext) -> float | None:
    pct: float | None = getattr(o, "target_percent", None)
    if o.target is not None and pct is not None:
        ctx.problems.at(obj, f, "use either target or targetPercent, not both")
        return None
    if o.target is None and pct is None:
        ctx.problems.at(obj, (*f, "target"), "required field missing (target or targetPercent)")
        return None
    if o.target is not None:
        return float(o.target)
    assert pct is not None
    return percent_to_ratio(pct)


def percent_to_ratio(pct: float) -> float:
    """99.9 -> 0.999 exactly as written (not 0.9990000000000001)."""
    return float(Decimal(repr(float(pct))) / 100)


def _objective_rules(
    obj: SpecObject,
    f: FieldPath,
    o: ObjectiveSpec,
    method: BudgetingMethod,
    indicator: Indicator,
    ctx: MapContext,
    *,
    slice_window: str | None,
) -> None:
    if indicator.ratio is not None:
        for key, val in (("op", o.op), ("value", o.value)):
            if val is not None:
                ctx.problems.warn(
                    obj, (*f, key), "ignored: op and value only apply to a thresholdMetric"
                )
    else:
        for key, val in (("op", o.op), ("value", o.value)):
            if val is None:
                ctx.problems.at(
                    obj,
                    (*f, key),
                    "required field missing (a thresholdMetric "
                    "objective compares each value with op and value)",
                )
    if method is BudgetingMethod.TIMESLICES and o.time_slice_target is None:
        ctx.problems.at(
            obj, (*f, "timeSliceTarget"), "required field missing (budgetingMethod is Timeslices)"
        )
    if method is not BudgetingMethod.OCCURRENCES and slice_window is None:
        ctx.problems.at(
            obj,
            (*f, "timeSliceWindow"),
            f"required field missing (budgetingMethod is {method.value})",
        )
    if slice_window is not None:
        _slice_fits_buckets(obj, (*f, "timeSliceWindow"), slice_window, ctx)


def _slice_fits_buckets(obj: SpecObject, f: FieldPath, text: str, ctx: MapContext) -> None:
    """A time slice is whole buckets: every source is read in buckets of ``DEFAULT_STEP``
    (1 minute), so a finer or ragged slice has no data to be counted from."""
    try:
        width = parse_duration(text)
    except ValueError:
        return  # the model reported it
    if width % DEFAULT_STEP:
        step = format_duration(DEFAULT_STEP)
        ctx.problems.at(
            obj,
            f,
            f"{text} is not a whole number of {step} buckets: measurements are counted per "
            f"{step}, so a time slice is a multiple of {step} (e.g. 1m, 5m)",
        )


def map_objective(
    obj: SpecObject,
    f: FieldPath,
    i: int,
    o: ObjectiveSpec,
    method: BudgetingMethod,
    indicator: Indicator,
    ctx: MapContext,
    *,
    own: Indicator | None = None,
    weight: float | None = None,
    default_slice: str | None = None,
) -> Objective | None:
    """Objective ``i`` of an SLO; ``own`` is the objective's own indicator, if it has one.
    ``default_slice``: the time slice of a format that has no ``timeSliceWindow``."""
    before = len(ctx.problems.items)
    target = _target(obj, f, o, ctx)
    tsw = o.time_slice_window
    if tsw is None and default_slice is not None and method is not BudgetingMethod.OCCURRENCES:
        tsw = default_slice
        ctx.problems.warn(
            obj,
            (*f, "timeSliceWindow"),
            f"not given: slm uses {default_slice} time slices "
            "(this format has no timeSliceWindow; slm reads one if given)",
        )
    ind = own or indicator
    _objective_rules(obj, f, o, method, ind, ctx, slice_window=tsw)
    if target is None or len(ctx.problems.items) != before:
        return None
    threshold = ind.ratio is None
    return Objective(
        name=o.display_name or f"objective-{i + 1}",
        target=target,
        display_name=o.display_name or "",
        op=o.op if threshold else None,
        value=o.value if threshold else None,
        time_slice_target=o.time_slice_target,
        time_slice_window=parse_duration(tsw) if tsw else None,
        composite_weight=weight,
        indicator=own,
    )


def openslo_slo(
    obj: SpecObject,
    m: v1.SLO | v2.SLO | v1a.SLO,
    indicator: Indicator,
    window: Window,
    objectives: Sequence[Objective | None],
    *,
    labels: Mapping[str, str],
    alert_policies: Sequence[str] = (),
    service: str | None = None,
    extras: Mapping[str, Any] | None = None,
) -> SLO:
    """The SLO of an OpenSLO document whose parts all mapped; the format-specific parts
    (flattened or plain labels, alert policies) are arguments."""
    md, s = m.metadata, m.spec
    return SLO(
        name=md.name,
        service=service if service is not None else str(s.service),
        indicator=indicator,
        window=window,
        budgeting_method=BudgetingMethod(s.budgeting_method),
        objectives=tuple(o for o in objectives if o),
        display_name=getattr(md, "display_name", None) or "",
        description=s.description or "",
        labels=dict(labels),
        annotations=dict(md.annotations),
        alert_policies=tuple(alert_policies),
        extras=dict(extras or {}),
        origin=origin_of(obj, m.api_version, m.kind),
    )
