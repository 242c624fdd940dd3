"""Window report: per SLO objective, SLI, units, error budget and burn rate over windows.

``report_workspace(ws, at, factory, windows)`` covers the rolling windows of every
objective that end at ``end`` (``at`` floored to the minute). Each window's figures are
those ``slm evaluate`` gives at ``at`` for the same SLO with a rolling window of that
length: events for Occurrences, slices for Timeslices and RatioTimeslices (whole slices up
to the last slice boundary), with the same budget and burn-rate arithmetic.

Where a query's source has the optional ``WindowSource`` port (Prometheus), the window
sums of Occurrences ratio objectives are computed by the metrics engine (pushdown): all
windows of all queries of one server in a few batched requests. Otherwise, or where the
pushdown says a window cannot be summed exactly (a counter restarted, a series starts or
stops), the window is counted from one-minute buckets by the engine itself
(``evaluate_objective``). Every window says which path produced it (``path`` and
``reason``). Raw ratios, threshold metrics, per-bucket (``counter: false``) queries and
the time-slice methods always use buckets, so both paths give the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, cast

from slm.domain.budget import check_target, occurrences_budget
from slm.domain.burn import burn_rate
from slm.domain.errors import DataError, SourceError
from slm.domain.evaluation import evaluate_objective
from slm.domain.indicators import events_for
from slm.domain.model import (
    SLO,
    BudgetingMethod,
    Group,
    Indicator,
    MetricQuery,
    Objective,
    RollingWindow,
)
from slm.domain.results import ErrorBudget
from slm.domain.series import DEFAULT_STEP, Buckets, EventSeries, floor_to_step
from slm.domain.tally import Tally
from slm.domain.window_totals import WindowPush
from slm.domain.windows import window_label
from slm.services.evaluate import Failure, grouped_buckets, read_span, rollup_notes
from slm.services.ports import Reader, SourceFactory, WindowSource
from slm.services.reading import SourceReader
from slm.spec.workspace import Workspace

DEFAULT_WINDOWS = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=7),
    timedelta(days=30),
)

Path = Literal["pushdown", "buckets"]
PER_BUCKET = "per-bucket queries (counter: false) are counted from buckets"
GROUPED = "grouped SLOs are counted from buckets, per group"


@dataclass(frozen=True)
class WindowReport:
    window: timedelta
    start: datetime
    end: datetime
    good: float
    total: float
    sli: float | None
    error_budget: ErrorBudget
    burn_rate: float | None
    coverage: float | None  # share of buckets with data (None: the engine cannot tell)
    path: Path
    reason: str | None = None  # why buckets were used


@dataclass(frozen=True)
class ObjectiveReport:
    slo: str
    service: str
    objective: str
    target: float
    windows: tuple[WindowReport, ...]
    notes: tuple[str, ...] = ()  # e.g. retention roll-ups stood in for removed buckets
    group: Group = ()  # the group of a grouped SLO (its label values)


@dataclass
class Report:
    at: datetime
    end: datetime
    windows: tuple[timedelta, ...]
    objectives: list[ObjectiveReport] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def paths(self) -> dict[str, int]:
        """How many windows each path produced."""
        out: dict[str, int] = defaultdict(int)
        for o in self.objectives:
            for w in o.windows:
                out[w.path] += 1
        return dict(out)


def _pushable(slo: SLO, indicator: Indicator) -> str | None:
    """Why an objective cannot be pushed down (None: it can)."""
    if slo.grouping:
        return GROUPED
    if slo.budgeting_method is not BudgetingMethod.OCCURRENCES:
        return f"{slo.budgeting_method.value} objectives are counted from buckets"
    if indicator.threshold is not None:
        return "threshold metrics are counted from buckets"
    if indicator.ratio is None or indicator.ratio.raw is not None:
        return "raw ratios are counted from buckets"
    return None


class _Pushed:
    """Pushdown answers by query key, asked for in one batch per source group."""

    def __init__(self) -> None:
        self.answers: dict[str, WindowPush] = {}
        self.unsupported: set[str] = set()
        # counter: false on a source that sums windows: a subquery samples the query on the
        # minute, the bucket path 1 ms before (close, not equal), so buckets count them
        self.per_bucket: set[str] = set()


def _push(
    reader: SourceReader,
    queries: Iterable[MetricQuery],
    end: datetime,
    windows: Sequence[timedelta],
) -> _Pushed:
    pushed = _Pushed()
    groups: dict[int, tuple[WindowSource, dict[str, MetricQuery]]] = {}
    ports: dict[type, bool] = {}  # isinstance of a runtime Protocol is slow: once per type
    for q in queries:
        key = q.key
        if key in pushed.answers or key in pushed.unsupported or key in pushed.per_bucket:
            continue
        try:
            source = reader.source(q)
        except (SourceError, DataError) as e:
            pushed.answers[key] = WindowPush(error=str(e))
            continue
        port = ports.get(type(source))
        if port is None:
            port = ports[type(source)] = isinstance(source, WindowSource)
        if not port:
            pushed.unsupported.add(key)
            continue
        if not q.counter:
            pushed.per_bucket.add(key)
            continue
        pusher = cast(WindowSource, source)
        groups.setdefault(id(pusher.pushdown_group), (pusher, {}))[1][key] = q
    for pusher, by_key in groups.values():
        items = list(by_key.items())
        try:
            results = pusher.window_totals([q for _, q in items], end, windows)
        except (SourceError, DataError) as e:
            results = [WindowPush(error=str(e))] * len(items)
        for (key, _), result in zip(items, results, strict=True):
            pushed.answers[key] = result
    return pushed


def _window_report(
    w: timedelta,
    end: datetime,
    tally: Tally,
    target: float,
    coverage: float | None,
    path: Path,
    reason: str | None,
) -> WindowReport:
    return WindowReport(
        window=w,
        start=end - w,
        end=end,
        good=tally.good,
        total=tally.total,
        sli=tally.ratio,
        error_budget=occurrences_budget(tally, target, w),
        burn_rate=burn_rate(tally, target),
        coverage=coverage,
        path=path,
        reason=reason,
    )


def _evaluated(
    slo: SLO, objective: Objective, events: EventSeries, end: datetime, w: timedelta, reason: str
) -> WindowReport:
    """Window ``w`` counted by the engine, exactly as ``slm evaluate`` counts an SLO whose
    window is a rolling ``w`` (slices for the time-slice methods, events otherwise)."""
    rolling = RollingWindow(w)
    r = evaluate_objective(replace(slo, window=rolling), objective, events, end, None)
    return WindowReport(
        window=w,
        start=r.window_start,
        end=r.window_end or end,
        good=r.good,
        total=r.total,
        sli=r.sli,
        error_budget=r.error_budget,
        burn_rate=r.burn_rates[window_label(rolling)],
        coverage=r.coverage.ratio if r.coverage.expected else None,
        path="buckets",
        reason=reason,
    )


def _from_pushdown(
    roles: dict[str, MetricQuery], pushed: _Pushed, w: timedelta, n: int
) -> tuple[Tally, float | None] | str:
    """The window's tally from pushdown totals, or why it must come from buckets."""
    totals = {}
    for role, q in roles.items():
        key = q.key
        if key in pushed.unsupported:
            return "the source cannot sum windows"
        if key in pushed.per_bucket:
            return PER_BUCKET
        answer = pushed.answers[key]
        if answer.error is not None:
            raise SourceError(answer.error)
        if w in answer.fallback:
            return answer.fallback[w]
        totals[role] = answer.totals[w]
    total = totals["total"]
    part = totals.get("good") or totals["bad"]
    if not (total.present and part.present):
        return Tally(0.0, 0.0, n, 0), 0.0
    good = part.value if "good" in totals else total.value - part.value
    if good > total.value or good < 0:
        raise DataError(f"good events exceed total over the last {w} ({good} > {total.value})")
    covered = [t.coverage for t in totals.values() if t.coverage is not None]
    coverage = min(covered) if covered else None
    return Tally(good, total.value, n, n), coverage


def _report_objective(
    slo: SLO,
    objective: Objective,
    end: datetime,
    windows: Sequence[timedelta],
    pushed: _Pushed | None,
    reader: Reader,
    step: timedelta,
) -> list[ObjectiveReport]:
    check_target(objective.target)
    indicator = slo.indicator_for(objective)
    if slo.grouping:
        return _report_groups(slo, objective, indicator, end, windows, reader, step)
    roles = indicator.queries()
    why = _pushable(slo, indicator) if pushed is not None else "pushdown turned off"
    reports: dict[timedelta, WindowReport] = {}
    need_buckets: dict[timedelta, str] = {}
    notes: tuple[str, ...] = ()
    for w in windows:
        n = max(1, w // step)
        got: tuple[Tally, float | None] | str
        if why is not None or pushed is None:
            got = why or "pushdown turned off"
        else:
            got = _from_pushdown(roles, pushed, w, n)
        if isinstance(got, str):
            need_buckets[w] = got
            continue
        tally, coverage = got
        reports[w] = _window_report(w, end, tally, objective.target, coverage, "pushdown", None)
    if need_buckets:
        longest = RollingWindow(max(need_buckets))
        start, _ = read_span(replace(slo, window=longest), end, timedelta(), step)
        buckets: dict[str, Buckets] = {
            role: reader.read(q, start, end) for role, q in roles.items()
        }
        notes = rollup_notes(buckets.values())
        events = events_for(indicator, objective, buckets)
        for w, reason in need_buckets.items():
            reports[w] = _evaluated(slo, objective, events, end, w, reason)
    return [
        ObjectiveReport(
            slo=slo.name,
            service=slo.service,
            objective=objective.name,
            target=objective.target,
            windows=tuple(reports[w] for w in windows),
            notes=notes,
        )
    ]


def _report_groups(
    slo: SLO,
    objective: Objective,
    indicator: Indicator,
    end: datetime,
    windows: Sequence[timedelta],
    reader: Reader,
    step: timedelta,
) -> list[ObjectiveReport]:
    """One report per group of a grouped SLO, every window counted from its buckets."""
    start, _ = read_span(replace(slo, window=RollingWindow(max(windows))), end, timedelta(), step)
    out = []
    for group, buckets in grouped_buckets(slo, indicator, reader.read_groups, start, end, step):
        events = events_for(indicator, objective, buckets)
        out.append(
            ObjectiveReport(
                slo=slo.name,
                service=slo.service,
                objective=objective.name,
                target=objective.target,
                windows=tuple(_evaluated(slo, objective, events, end, w, GROUPED) for w in windows),
                notes=rollup_notes(buckets.values()),
                group=group,
            )
        )
    return out


def report_workspace(
    ws: Workspace,
    at: datetime,
    factory: SourceFactory,
    windows: Sequence[timedelta] = DEFAULT_WINDOWS,
    *,
    pushdown: bool = True,
    names: Iterable[str] | None = None,
    step: timedelta = DEFAULT_STEP,
    advance: Callable[[int], None] | None = None,
) -> Report:
    """The window report of every objective of every SLO (or of ``names``), in name order;
    ``advance(1)`` as each SLO starts (a progress bar)."""
    if not windows:
        raise ValueError("a report needs at least one window")
    if any(w < step or w % step for w in windows):
        raise ValueError(f"report windows must be whole multiples of {step}")
    wins = tuple(sorted(set(windows)))
    end = floor_to_step(at, step)
    report = Report(at=at, end=end, windows=wins)
    wanted = sorted(ws.slos) if names is None else list(names)
    reader = SourceReader(ws, factory, step)
    pushed: _Pushed | None = None
    if pushdown and step == DEFAULT_STEP:
        candidates: list[MetricQuery] = []
        for name in wanted:
            slo = ws.slos[name]
            for objective in slo.objectives:
                indicator = slo.indicator_for(objective)
                if _pushable(slo, indicator) is None:
                    candidates.extend(indicator.queries().values())
        pushed = _push(reader, candidates, end, wins)
    for name in wanted:
        if advance is not None:
            advance(1)  # this SLO is under way
        slo = ws.slos[name]
        try:
            done = [
                r
                for o in slo.objectives
                for r in _report_objective(slo, o, end, wins, pushed, reader, step)
            ]
        except (SourceError, DataError) as e:
            report.failures.append(Failure(slo.name, str(e)))
        except ValueError as e:
            report.failures.append(Failure(slo.name, f"cannot evaluate: {e}"))
        else:
            report.objectives.extend(done)
    return report
