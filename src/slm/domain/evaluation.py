"""Evaluate one SLO objective at an instant, or at many instants at once.

``evaluate_objective(slo, objective, events, at, catalogue)`` is the one entry point: it
counts the SLO window and every alert window of ``catalogue`` (all ending at ``at`` floored
to the bucket grid), then derives SLI, error budget, burn rates, alert states, time to
exhaustion and coverage from those counts. ``events`` is the objective's ``EventSeries``:
build it with ``indicators.events_for(indicator, objective, buckets_by_role)``, which applies
a threshold objective's own ``op``/``value`` (so threshold objectives each get their own
series from the same buckets). The caller always chooses the catalogue (services use the
shipped YAML ones, ``slm.spec.catalogues``); ``None`` means no alerts.

Windows by method:

- Occurrences: the SLO window is ``window_bounds``; an alert window ``w`` is the last
  ``w // step`` buckets (at least one).
- Timeslices / RatioTimeslices: every window ends at the last complete slice boundary; the
  SLO window holds the complete slices inside it, an alert window the last
  ``max(1, w // slice)`` slices (so a 5m window over 5m slices is the last slice).

``evaluate_many`` (or an ``Evaluator``) gives the same results for many instants from
prefix sums built once.
``good``/``total`` in the result are in the method's unit (events or slices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from slm.domain.alerting import NO_ALERTS, alert_states, alert_windows, exhaustion_window
from slm.domain.budget import check_target, occurrences_budget, slices_budget
from slm.domain.burn import bucket_count, burn_rate, time_to_exhaustion
from slm.domain.durations import format_duration
from slm.domain.model import (
    SLO,
    AlertCatalogue,
    BudgetingMethod,
    Objective,
    RollingWindow,
)
from slm.domain.results import Coverage, ObjectiveResult
from slm.domain.series import EventSeries
from slm.domain.tally import Counting, PrefixSums, Range, Tally, segment_counts
from slm.domain.timeslices import SliceCounter, SliceGrid, SliceRule
from slm.domain.windows import calendar_period, window_label


class _CatalogueFacts:
    """What every evaluation with one catalogue needs, computed once: its burn windows
    (with their ``burn_rates`` keys), the window of time to exhaustion, and (memoised
    per bucket step and per period) the windows' bucket counts and the rows' factors."""

    __slots__ = ("_counts", "_factors", "catalogue", "exhaustion", "windows")

    def __init__(self, catalogue: AlertCatalogue):
        self.catalogue = catalogue
        self.exhaustion = exhaustion_window(catalogue)
        windows = sorted(set(alert_windows(catalogue)) | {self.exhaustion})
        self.windows = tuple((w, format_duration(w)) for w in windows)
        self._counts: dict[timedelta, tuple[int, ...]] = {}
        self._factors: dict[timedelta, tuple[float, ...]] = {}

    def counts(self, step: timedelta) -> tuple[int, ...]:
        """Buckets of each burn window (``bucket_count``)."""
        found = self._counts.get(step)
        if found is None:
            found = self._counts[step] = tuple(bucket_count(w, step) for w, _ in self.windows)
        return found

    def factors(self, period: timedelta) -> tuple[float, ...]:
        """Burn factor of each catalogue row for an SLO period."""
        found = self._factors.get(period)
        if found is None:
            found = tuple(row.factor(period) for row in self.catalogue.windows)
            if len(self._factors) < 256:
                self._factors[period] = found
        return found


_FACTS: dict[int, _CatalogueFacts] = {}


def _catalogue_facts(catalogue: AlertCatalogue) -> _CatalogueFacts:
    """Memoised by identity: hashing a catalogue (nested frozen dataclasses) on every
    evaluation costs more than the rest of the bookkeeping; the entry holds the
    catalogue, so its id is not reused while the entry lives."""
    facts = _FACTS.get(id(catalogue))
    if facts is not None and facts.catalogue is catalogue:
        return facts
    if len(_FACTS) >= 64:
        _FACTS.clear()
    facts = _FACTS[id(catalogue)] = _CatalogueFacts(catalogue)
    return facts


@dataclass(frozen=True, slots=True)
class _Plan:
    """The windows of one evaluation instant, as bucket index ranges."""

    at: datetime
    window_start: datetime
    window_end: datetime
    period: timedelta
    ranges: tuple[Range, ...]  # the SLO window, then each burn window


@dataclass(frozen=True, slots=True)
class _Setup:
    """What does not change between instants for one objective and series."""

    slo: SLO
    objective: Objective
    events: EventSeries
    catalogue: AlertCatalogue
    counting: Counting
    grid: SliceGrid | None
    rule: SliceRule | None
    facts: _CatalogueFacts
    windows: tuple[tuple[timedelta, str], ...]
    exhaustion: timedelta
    label: str

    @classmethod
    def of(
        cls,
        slo: SLO,
        objective: Objective,
        events: EventSeries,
        catalogue: AlertCatalogue | None,
    ) -> _Setup:
        check_target(objective.target)
        catalogue = NO_ALERTS if catalogue is None else catalogue
        indicator = slo.indicator_for(objective)
        counting = Counting(indicator.missing_data, per_point=indicator.threshold is not None)
        grid = rule = None
        facts = _catalogue_facts(catalogue)
        if slo.budgeting_method is not BudgetingMethod.OCCURRENCES:
            if objective.time_slice_window is None:
                raise ValueError(
                    f"objective {objective.name!r}: {slo.budgeting_method.value} "
                    "needs a time_slice_window"
                )
            grid = SliceGrid.of(events, objective.time_slice_window)
            rule = SliceRule(slo.budgeting_method, counting, objective.time_slice_target)
        return cls(
            slo,
            objective,
            events,
            catalogue,
            counting,
            grid,
            rule,
            facts,
            facts.windows,
            facts.exhaustion,
            window_label(slo.window),
        )

    def plan(self, at: datetime) -> _Plan:
        if at.tzinfo is None:
            raise ValueError("naive datetime: the evaluation instant must carry a time zone")
        events, window = self.events, self.slo.window
        step = events.step
        hi = (at - events.start) // step
        end = events.start + hi * step
        if isinstance(window, RollingWindow):
            period = window.duration
            lo = hi - bucket_count(period, step)
        else:
            period_start, period_end = calendar_period(window, end)
            period = period_end - period_start
            lo = -((events.start - period_start) // step)
        grid = self.grid
        if grid is None:
            burn = [(hi - c, hi) for c in self.facts.counts(step)]
        else:
            k, shift = grid.k, hi - grid.floor(hi)
            hi -= shift
            lo = min(grid.ceil(lo - shift if isinstance(window, RollingWindow) else lo), hi)
            burn = [(hi - k * max(1, c // k), hi) for c in self.facts.counts(step)]
        return _Plan(
            at,
            events.start + lo * step,
            events.start + hi * step,
            period,
            ((lo, hi), *burn),
        )

    def span(self, plan: _Plan) -> Range:
        return min(r[0] for r in plan.ranges), max(r[1] for r in plan.ranges)

    def result(self, plan: _Plan, tallies: Sequence[Tally]) -> ObjectiveResult:
        slo, objective = self.slo, self.objective
        target = objective.target
        window_tally = tallies[0]
        if self.grid is None:
            budget = occurrences_budget(window_tally, target, plan.period)
        else:
            assert objective.time_slice_window is not None
            budget = slices_budget(window_tally, target, objective.time_slice_window)
        by_window: dict[timedelta, float | None] = {}
        burn_rates: dict[str, float | None] = {}
        for (w, label), tally in zip(self.windows, islice(tallies, 1, None), strict=True):
            by_window[w] = burn_rates[label] = burn_rate(tally, target)
        burn_rates[self.label] = burn_rate(window_tally, target)
        sli = window_tally.ratio
        return ObjectiveResult(
            slo=slo.name,
            service=slo.service,
            objective=objective.name,
            target=target,
            window=slo.window,
            window_start=plan.window_start,
            at=plan.at,
            budgeting_method=slo.budgeting_method,
            good=window_tally.good,
            total=window_tally.total,
            sli=sli,
            error_budget=budget,
            burn_rates=burn_rates,
            alerts=alert_states(
                self.catalogue, by_window, plan.period, self.facts.factors(plan.period)
            ),
            coverage=Coverage(window_tally.expected, window_tally.present),
            time_to_exhaustion=time_to_exhaustion(
                budget.remaining_ratio, plan.period, by_window[self.exhaustion]
            ),
            status="no_data" if sli is None else "ok",
            window_end=plan.window_end,
        )


def evaluate_objective(
    slo: SLO,
    objective: Objective,
    events: EventSeries,
    at: datetime,
    catalogue: AlertCatalogue | None,
) -> ObjectiveResult:
    """SLI, budget, burn rates, alerts and coverage of one objective at ``at``.

    ``catalogue`` gives the alert windows (``None``: no alert states; the burn rate used
    for time to exhaustion is then the 1h one)."""
    setup = _Setup.of(slo, objective, events, catalogue)
    plan = setup.plan(at)
    if setup.rule is None or setup.grid is None:
        tallies = segment_counts(events, plan.ranges, setup.counting)
    else:
        counter = SliceCounter(events, setup.grid, setup.rule, setup.span(plan))
        tallies = counter.counts(plan.ranges)
    return setup.result(plan, tallies)


class Evaluator:
    """``evaluate_objective`` at any instant of one series, from counters built once
    (prefix sums or per-slice units over the whole series): O(1) per window per instant."""

    def __init__(
        self,
        slo: SLO,
        objective: Objective,
        events: EventSeries,
        catalogue: AlertCatalogue | None,
    ):
        self._setup = setup = _Setup.of(slo, objective, events, catalogue)
        self.counter: PrefixSums | SliceCounter
        if setup.rule is None or setup.grid is None:
            self.counter = PrefixSums(events, setup.counting)
        else:
            self.counter = SliceCounter(events, setup.grid, setup.rule)

    def at(self, instant: datetime) -> ObjectiveResult:
        plan = self._setup.plan(instant)
        return self._setup.result(plan, self.counter.counts(plan.ranges))


def evaluate_many(
    slo: SLO,
    objective: Objective,
    events: EventSeries,
    instants: Sequence[datetime],
    catalogue: AlertCatalogue | None,
) -> list[ObjectiveResult]:
    """``evaluate_objective`` at every instant, from prefix sums built once (O(1) per
    window per instant after one pass over the series)."""
    evaluator = Evaluator(slo, objective, events, catalogue)
    return [evaluator.at(t) for t in instants]
