"""Backtesting alert rules: replay history through the alert state machine.

``BurnHistory`` holds one objective's events and every evaluation instant of a range (each
bucket boundary from ``start`` to ``end``). Burn rates over any window are computed for all
instants at once from prefix sums (``PrefixSums`` for Occurrences, ``SliceCounter`` for the
time-slice methods), with the engine's window rules: an event window is the last
``window // step`` buckets; a time-slice window ends at the last complete slice and holds the
last ``max(1, window // slice)`` slices. The result at every instant equals
``evaluate_objective`` there (tested).

``replay`` turns the burn arrays of a rule into its alert episodes: the firing and
resolving conditions are vector comparisons, then ``alert_state.advance`` runs only where
the observation changes or a timer (``alert_after``, the minimum firing time) runs out, so
the replay costs one step per state change, not one per bucket.

``detect`` matches episodes with recorded incidents (impact intervals per SLO): time to
detect, budget consumed before detection, incidents missed, alerts with no incident.
Budget consumed is bad units over the error budget that ``evaluate_objective`` gives at the
detection instant (``(1 - target) x`` the units counted in the SLO window ending there):
the same arithmetic as ``slm evaluate``, and no events are invented for buckets without
data. With steady traffic over the period it equals the Workbook's ``burn x time / period``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

import numpy as np
import numpy.typing as npt

from slm.domain.alert_state import (
    ZERO,
    AlertRecord,
    AlertRule,
    AlertSettings,
    AlertStatus,
    Observation,
    advance,
    next_timer,
)
from slm.domain.budget import error_share
from slm.domain.burn import bucket_count
from slm.domain.evaluation import Evaluator
from slm.domain.model import SLO, Objective, RollingWindow
from slm.domain.results import ObjectiveResult
from slm.domain.series import EventSeries, FloatArray
from slm.domain.tally import Counting, IntArray
from slm.domain.timeslices import SliceCounter
from slm.domain.windows import calendar_period

Int8Array = npt.NDArray[np.int8]
_COMPARE = {"gt": np.greater, "gte": np.greater_equal, "lt": np.less, "lte": np.less_equal}


@dataclass(frozen=True)
class Incident:
    """A recorded impact interval ``[start, end)`` of an SLO (all objectives, or one)."""

    slo: str
    start: datetime
    end: datetime
    objective: str | None = None
    id: str = ""
    description: str = ""

    def covers(self, slo: str, objective: str) -> bool:
        return self.slo == slo and self.objective in (None, objective)


@dataclass(frozen=True)
class AlertEpisode:
    """One firing of one rule: ``resolved_at`` is ``None`` while still firing at the end."""

    policy: str
    rule: str
    severity: str
    slo: str
    objective: str
    pending_at: datetime
    fired_at: datetime
    resolved_at: datetime | None

    def until(self, end: datetime) -> datetime:
        return self.resolved_at if self.resolved_at is not None else end

    def overlaps(self, start: datetime, end: datetime, range_end: datetime) -> bool:
        return self.fired_at < end and self.until(range_end) > start


@dataclass(frozen=True)
class Detection:
    """How (and whether) a policy detected one incident."""

    incident: Incident
    detected_at: datetime | None
    rule: str | None
    severity: str | None
    budget_consumed: float | None  # before detection; over the whole incident when missed

    @property
    def time_to_detect(self) -> timedelta | None:
        if self.detected_at is None:
            return None
        return self.detected_at - self.incident.start


@dataclass(frozen=True)
class PolicyResult:
    """A policy's alerts over the range, and how they met the incidents."""

    policy: str
    end: datetime
    episodes: tuple[AlertEpisode, ...]
    detections: tuple[Detection, ...] = ()
    unmatched: tuple[AlertEpisode, ...] = ()  # alerts that overlap no incident

    @property
    def alerts_fired(self) -> int:
        return len(self.episodes)

    @property
    def alert_hours(self) -> float:
        return sum((e.until(self.end) - e.fired_at for e in self.episodes), ZERO) / timedelta(
            hours=1
        )

    def by_severity(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.episodes:
            out[e.severity] = out.get(e.severity, 0) + 1
        return out

    @property
    def missed(self) -> tuple[Incident, ...]:
        return tuple(d.incident for d in self.detections if d.detected_at is None)


class BurnHistory:
    """One objective's burn rates at every instant ``start + i x step`` up to ``end``."""

    def __init__(
        self, slo: SLO, objective: Objective, events: EventSeries, start: datetime, end: datetime
    ):
        self.slo, self.objective, self.events = slo, objective, events
        step = events.step
        self.step = step
        first = -((events.start - start) // step)  # ceil((start - events.start) / step)
        last = (end - events.start) // step
        if last < first:
            raise ValueError(
                f"no evaluation instant between {start.isoformat()} and {end.isoformat()}"
            )
        self.hi: IntArray = np.arange(first, last + 1, dtype=np.int64)
        self.start = events.start + first * step
        self.end = events.start + last * step
        indicator = slo.indicator_for(objective)
        self.counting = Counting(indicator.missing_data, per_point=indicator.threshold is not None)
        # the engine's own counters: budgets and figures at any instant are evaluate's
        self.evaluator = Evaluator(slo, objective, events, None)
        counter = self.evaluator.counter
        self._slices: SliceCounter | None = None
        self._k = 1
        if isinstance(counter, SliceCounter):
            self._slices = counter
            self._k = counter.grid.k
            self._phase = counter.grid.phase
        else:
            self._sums = counter
        self._burns: dict[timedelta, FloatArray] = {}

    def __len__(self) -> int:
        return len(self.hi)

    def instant(self, i: int) -> datetime:
        return self.start + int(i) * self.step

    def position(self, t: datetime) -> int:
        """Index of the first instant at or after ``t`` (may be ``len(self)``)."""
        return max(0, -((self.start - t) // self.step))

    # --- counting -------------------------------------------------------------------

    def _aligned(self, hi: IntArray) -> IntArray:
        if self._slices is None:
            return hi
        return hi - (hi - self._phase) % self._k

    def _span(self, window: timedelta) -> int:
        """Buckets an alert window spans (whole slices for the time-slice methods)."""
        buckets = bucket_count(window, self.step)
        return self._k * max(1, buckets // self._k)

    def _units(self, lo: IntArray, hi: IntArray) -> tuple[FloatArray, FloatArray]:
        if self._slices is None:
            return self._sums.arrays(lo, hi)
        return self._slices.arrays(lo, hi)

    def burn(self, window: timedelta) -> FloatArray:
        """Burn rate over ``window`` at every instant; ``NaN`` where it holds no units."""
        if window not in self._burns:
            hi = self._aligned(self.hi)
            good, total = self._units(hi - self._span(window), hi)
            out = np.full(len(hi), np.nan)
            np.divide(total - good, total, out=out, where=total > 0)
            self._burns[window] = out / float(error_share(self.objective.target))
        return self._burns[window]

    @cached_property
    def period_seconds(self) -> FloatArray:
        """Length of the SLO period at every instant (calendar periods vary)."""
        window = self.slo.window
        if isinstance(window, RollingWindow):
            return np.full(len(self), window.duration.total_seconds())
        out = np.empty(len(self))
        i = 0
        while i < len(self):  # one step per calendar period, not per instant
            period_start, period_end = calendar_period(window, self.instant(i))
            j = min(len(self), self.position(period_end))
            out[i:j] = (period_end - period_start).total_seconds()
            i = max(j, i + 1)
        return out

    def _index(self, t: datetime) -> int:
        return int((t - self.events.start) // self.step)

    def bad_units(self, start: datetime, end: datetime) -> float:
        """Units (events or slices) lost in ``[start, end)``."""
        lo, hi = self._index(start), self._index(end)
        if hi <= lo:
            return 0.0
        bounds = self._aligned(np.array([lo, hi], dtype=np.int64))
        good, total = self._units(bounds[:1], bounds[1:])
        return float(total[0] - good[0])

    def result(self, at: datetime) -> ObjectiveResult:
        """The objective at ``at`` exactly as ``slm evaluate`` gives it (no alert states)."""
        return self.evaluator.at(at)

    def budget_units(self, at: datetime) -> float | None:
        """The error budget at ``at`` in units (events or slices), as ``slm evaluate``
        gives it: ``(1 - target) x`` the units counted in the SLO window ending there.
        Missing buckets add no events; ``None`` when the window holds no units."""
        total = self.result(at).error_budget.total
        return total if total > 0 else None


# --- replay ---------------------------------------------------------------------------


def conditions(
    history: BurnHistory, rule: AlertRule, settings: AlertSettings
) -> tuple[Int8Array, Int8Array]:
    """``met`` and ``holds`` at every instant: 1 true, 0 false, -1 no data."""
    period = history.period_seconds
    compare = _COMPARE[rule.op]
    met = np.ones(len(history), dtype=np.bool_)
    holds = np.ones(len(history), dtype=np.bool_)
    nodata = np.zeros(len(history), dtype=np.bool_)
    ratio = settings.resolve_ratio if rule.op in ("gt", "gte") else 1.0 / settings.resolve_ratio
    for window in rule.windows:
        burn = history.burn(window)
        if rule.threshold is not None:
            limit: FloatArray | float = rule.threshold
        else:
            assert rule.budget_percent is not None
            limit = (rule.budget_percent / 100.0) * (period / rule.windows[0].total_seconds())
        nan = np.isnan(burn)
        nodata |= nan
        with np.errstate(invalid="ignore"):
            met &= compare(burn, limit)
            holds &= compare(burn, np.multiply(limit, ratio))
    fill = 1 if rule.no_data_fires else -1
    return (
        np.where(nodata, fill, met).astype(np.int8),
        np.where(nodata, fill, holds).astype(np.int8),
    )


def _flag(code: int) -> bool | None:
    return None if code < 0 else bool(code)


def replay(
    history: BurnHistory, rule: AlertRule, settings: AlertSettings, policy: str = ""
) -> list[AlertEpisode]:
    """Every episode of ``rule`` over the history (those that reached firing)."""
    met, holds = conditions(history, rule, settings)
    n = len(history)
    code = met.astype(np.int16) * 4 + holds
    changes = np.flatnonzero(code[1:] != code[:-1]) + 1
    record = AlertRecord()
    episodes: list[AlertEpisode] = []
    i = 0
    while i < n:
        at = history.instant(i)
        obs = Observation(_flag(int(met[i])), _flag(int(holds[i])))
        new = advance(record, rule, obs, at, settings)
        if new.status is AlertStatus.RESOLVED and record.status is AlertStatus.FIRING:
            episodes.append(_episode(history, rule, policy, record, at))
        record = new
        k = int(np.searchsorted(changes, i, side="right"))
        nxt = int(changes[k]) if k < len(changes) else n
        timer = next_timer(record, rule, settings)
        if timer is not None:
            due = history.position(timer)
            if i < due < nxt:
                nxt = due
        i = max(nxt, i + 1)
    if record.status is AlertStatus.FIRING:
        episodes.append(_episode(history, rule, policy, record, None))
    return episodes


def _episode(
    history: BurnHistory, rule: AlertRule, policy: str, record: AlertRecord, end: datetime | None
) -> AlertEpisode:
    assert record.fired_at is not None
    return AlertEpisode(
        policy=policy or rule.policy,
        rule=rule.id,
        severity=rule.severity,
        slo=history.slo.name,
        objective=history.objective.name,
        pending_at=record.pending_since or record.fired_at,
        fired_at=record.fired_at,
        resolved_at=end,
    )


# --- incidents ------------------------------------------------------------------------


@dataclass
class PolicyRun:
    """Episodes of one policy over several objectives, then matched with incidents."""

    policy: str
    end: datetime
    episodes: list[AlertEpisode] = field(default_factory=list)
    histories: dict[tuple[str, str], BurnHistory] = field(default_factory=dict)

    def add(
        self, history: BurnHistory, rules: Sequence[AlertRule], settings: AlertSettings
    ) -> None:
        self.histories[(history.slo.name, history.objective.name)] = history
        for rule in rules:
            self.episodes += replay(history, rule, settings, self.policy)

    def result(self, incidents: Iterable[Incident] | None) -> PolicyResult:
        episodes = tuple(sorted(self.episodes, key=lambda e: (e.fired_at, e.slo, e.rule)))
        if incidents is None:
            return PolicyResult(self.policy, self.end, episodes)
        relevant = [i for i in incidents if any(i.covers(slo, obj) for slo, obj in self.histories)]
        detections = tuple(self._detect(i, episodes) for i in relevant)
        unmatched = tuple(
            e
            for e in episodes
            if not any(
                i.covers(e.slo, e.objective) and e.overlaps(i.start, i.end, self.end)
                for i in relevant
            )
        )
        return PolicyResult(self.policy, self.end, episodes, detections, unmatched)

    def _detect(self, incident: Incident, episodes: Sequence[AlertEpisode]) -> Detection:
        hits = [
            e
            for e in episodes
            if incident.covers(e.slo, e.objective)
            and e.overlaps(incident.start, incident.end, self.end)
        ]
        histories = [h for (s, o), h in self.histories.items() if incident.covers(s, o)]
        if not hits:
            return Detection(incident, None, None, None, self._consumed(histories, incident, None))
        first = min(hits, key=lambda e: (max(e.fired_at, incident.start), e.rule))
        at = max(first.fired_at, incident.start)
        consumed = self._consumed(histories, incident, at)
        return Detection(incident, at, first.rule, first.severity, consumed)

    def _consumed(
        self, histories: Sequence[BurnHistory], incident: Incident, detected: datetime | None
    ) -> float | None:
        """Largest share of budget any covered objective lost before detection."""
        until = detected if detected is not None else min(incident.end, self.end)
        shares = []
        for h in histories:
            budget = h.budget_units(until)
            if budget:
                shares.append(h.bad_units(incident.start, until) / budget)
        return max(shares) if shares else None
