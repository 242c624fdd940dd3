"""Every path that computes an SLO's figures, held against ``slm evaluate``.

For one workspace and instant, ``slm evaluate`` (``evaluate_workspace``) is the reference;
``check_every_path`` then computes the same SLO, window and instant through

- ``slm report`` (``report_workspace``, the bucket path) with a rolling window as long as
  the SLO window at that instant (period to date for calendar windows);
- ``slm alerts backtest`` (``run_backtest``) ending at the instant: the figures at its last
  instant, its vectorised burn rates over every alert window, and its budget;
- ``slm serve``'s evaluation (``EvaluationLoop.compute`` with serve's caching factory),
  twice, so the second reads through the bucket cache;
- composites (``measure_objectives``) for rolling windows;
- and, separately (``check_statement``), an agreement's statement for a period: each clause
  backed by an SLO objective (every minute eligible) attains the SLI ``slm evaluate`` gives
  over a window equal to the period, at the period's end.

Figures must be equal, not close: every path counts through the same engine. The one
exception is a sum of RatioTimeslices slice ratios (not whole numbers) that a path adds up
over another span (the backtest's prefix sums run over its whole series, the report reads
only its window): those, and what is derived from them, agree to 1e-9.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from slm.domain.agreement import SloMeasure
from slm.domain.backtest import BurnHistory
from slm.domain.durations import format_duration
from slm.domain.model import SLO, BudgetingMethod, MetricQuery, RollingWindow
from slm.domain.results import ErrorBudget, ObjectiveResult
from slm.domain.series import Buckets, floor_to_step
from slm.domain.windows import window_label
from slm.services.backtest import run_backtest
from slm.services.composite import measure_objectives
from slm.services.evaluate import evaluate_slo, evaluate_workspace
from slm.services.ports import FixedClock, SourceFactory
from slm.services.report import WindowReport, report_workspace
from slm.services.scheduler import EvaluationLoop, IsolatedSources, LoopSettings
from slm.services.statements import compute_statement
from slm.services.status import StatusBoard
from slm.sources.bucket_cache import CachingFactory
from slm.spec.workspace import Workspace
from slm.store.db import Store

MIN = timedelta(minutes=1)
Key = tuple[str, str]


def budget_fields(b: ErrorBudget, minutes: bool = True) -> dict[str, object]:
    out: dict[str, object] = {
        "unit": b.unit,
        "total": b.total,
        "consumed": b.consumed,
        "remaining": b.remaining,
        "remaining_ratio": b.remaining_ratio,
    }
    if minutes:
        out |= {
            "total_minutes": b.total_minutes,
            "consumed_minutes": b.consumed_minutes,
            "remaining_minutes": b.remaining_minutes,
        }
    return out


def evaluated(ws: Workspace, at: datetime, factory: SourceFactory) -> dict[Key, ObjectiveResult]:
    report = evaluate_workspace(ws, at, factory)
    assert not report.failures, report.failures
    return {(r.slo, r.objective): r for r in report.results}


def same(got: object, want: object) -> bool:
    """Equal; or, for non-integral floats (sums of slice ratios), equal to 1e-9."""
    if got == want:
        return True
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in got)
    if isinstance(got, tuple) and isinstance(want, tuple):
        return len(got) == len(want) and all(same(a, b) for a, b in zip(got, want, strict=True))
    if isinstance(got, float) and isinstance(want, float):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return False


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


@dataclass
class Checked:
    """What was compared, so a test can also say *how much* it covered."""

    results: int = 0
    report_windows: int = 0
    backtest_burns: int = 0
    serve_results: int = 0
    composite_results: int = 0


def check_report(
    ws: Workspace, at: datetime, want: dict[Key, ObjectiveResult], factory: SourceFactory
) -> int:
    n = 0
    for (slo_name, objective), r in want.items():
        w = r.window_end - r.window_start if r.window_end else None
        if w is None or w <= timedelta(0):
            continue
        rep = report_workspace(ws, at, factory, (w,), pushdown=False, names=[slo_name])
        assert not rep.failures, rep.failures
        (o,) = [o for o in rep.objectives if o.objective == objective]
        (got,) = o.windows
        assert_window_matches(got, r, ws.slos[slo_name])
        n += 1
    return n


def assert_window_matches(got: WindowReport, r: ObjectiveResult, slo: SLO) -> None:
    where = f"report {slo.name}/{r.objective} at {r.at}"
    assert (got.start, got.end) == (r.window_start, r.window_end), where
    assert same((got.good, got.total, got.sli), (r.good, r.total, r.sli)), (where, got, r)
    if r.budgeting_method is not BudgetingMethod.RATIO_TIMESLICES:
        assert (got.good, got.total) == (r.good, r.total), where  # whole units: exact
    rolling = isinstance(slo.window, RollingWindow)
    assert same(budget_fields(got.error_budget, rolling), budget_fields(r.error_budget, rolling))
    assert same(got.burn_rate, r.burn_rates[window_label(slo.window)]), where
    assert got.coverage == (r.coverage.ratio if r.coverage.expected else None), where


def check_backtest(
    ws: Workspace, at: datetime, want: dict[Key, ObjectiveResult], factory: SourceFactory
) -> int:
    """The backtest's figures at its last instant (``at``) and at its first one."""
    n = 0
    report = run_backtest(ws, factory, at - 2 * timedelta(hours=1), at)
    assert not report.failures, report.failures
    histories = {(h.slo.name, h.objective.name): h for h in report.histories}
    assert set(histories) == set(want)
    first = {h.start for h in histories.values()}
    assert len(first) == 1
    (start,) = first
    at_start = evaluated(ws, start, factory)
    for key, h in histories.items():
        assert h.end == floor_to_step(at, h.step), key
        n += _compare_history(h, at, -1, want[key])
        n += _compare_history(h, start, 0, at_start[key])
    return n


def _compare_history(h: BurnHistory, t: datetime, i: int, r: ObjectiveResult) -> int:
    where = f"backtest {h.slo.name}/{h.objective.name} at {t}"
    got = h.result(t)
    assert (got.window_start, got.window_end) == (r.window_start, r.window_end), where
    assert same((got.good, got.total, got.sli), (r.good, r.total, r.sli)), (where, got, r)
    assert same(budget_fields(got.error_budget), budget_fields(r.error_budget)), where
    if r.budgeting_method is not BudgetingMethod.RATIO_TIMESLICES:
        assert (got.good, got.total) == (r.good, r.total), where  # whole units: exact
    assert got.coverage == r.coverage, where
    total = r.error_budget.total
    assert same(h.budget_units(t), total if total > 0 else None), where
    n = 0
    for a in r.alerts:
        for window in (a.long_window, a.short_window):
            burn = _nan_to_none(h.burn(window)[i])
            expected = r.burn_rates[format_duration(window)]
            assert same(burn, expected), (where, window, burn, expected)
            n += 1
    return n


def check_serve(
    ws: Workspace,
    at: datetime,
    want: dict[Key, ObjectiveResult],
    make_factory: Callable[[], SourceFactory],
    store: Store,
) -> int:
    settings = LoopSettings()
    board = StatusBoard.of(
        ws.slos, {name: settings.default_interval for name in ws.slos}, settings.source_timeout
    )
    sources = IsolatedSources(lambda: CachingFactory(make_factory()))  # as slm serve builds it
    loop = EvaluationLoop(
        ws, sources, store, board, clock=FixedClock(at), settings=settings, rng=random.Random(1)
    )
    n = 0
    earlier = at - 7 * MIN
    try:
        for name, slo in sorted(ws.slos.items()):
            loop.compute(slo, earlier)  # fills the bucket cache; the next read splices a tail
            computed = loop.compute(slo, at)
            for r in computed.results:
                assert r == want[(name, r.objective)], f"serve {name}/{r.objective} at {at}"
                n += 1
    finally:
        loop._writer.shutdown(wait=True)
    return n


def check_composites(
    ws: Workspace, at: datetime, want: dict[Key, ObjectiveResult], factory: SourceFactory
) -> int:
    n = 0
    for (slo_name, objective), r in want.items():
        window = ws.slos[slo_name].window
        if not isinstance(window, RollingWindow):
            continue
        measured = measure_objectives(
            ws, [(slo_name, objective)], at, factory, window=window.duration
        )
        assert not measured.failures, measured.failures
        assert measured.results[(slo_name, objective)] == r, f"composite {slo_name} at {at}"
        n += 1
    return n


def check_every_path(
    ws: Workspace, at: datetime, make_factory: Callable[[], SourceFactory], store: Store
) -> Checked:
    want = evaluated(ws, at, make_factory())
    checked = Checked(results=len(want))
    checked.report_windows = check_report(ws, at, want, make_factory())
    checked.backtest_burns = check_backtest(ws, at, want, make_factory())
    checked.serve_results = check_serve(ws, at, want, make_factory, store)
    checked.composite_results = check_composites(ws, at, want, make_factory())
    return checked


def check_statement(
    ws: Workspace, agreement: str, period_label: str, factory: SourceFactory
) -> int:
    """Clauses measured by an SLO objective attain what ``slm evaluate`` gives for the SLO
    over the period (a rolling window as long as the period, at its end)."""
    statement = compute_statement(ws, agreement, period_label, factory)
    period = statement.period
    n = 0
    for c in statement.clauses:
        m = c.clause.measure
        if not isinstance(m, SloMeasure) or c.clause.business_hours_only:
            continue
        slo = replace(ws.slos[m.slo], window=RollingWindow(period.end - period.start))
        (r,) = [
            r
            for r in evaluate_slo(slo, period.end, _reader(ws, factory))
            if r.objective == m.objective
        ]
        got = c.figures.attainment
        where = f"statement {agreement} {period_label} clause {c.clause.name}"
        assert got is not None and r.sli is not None, where
        if r.budgeting_method is BudgetingMethod.RATIO_TIMESLICES:
            assert same(float(got), r.sli), (where, float(got), r.sli)
        else:  # whole units: the exact fraction is evaluate's good / total
            assert got == Fraction(int(r.good), int(r.total)), (where, got, r.good, r.total)
            assert float(got) == r.sli, where
        n += 1
    return n


def _reader(ws: Workspace, factory: SourceFactory) -> Callable[..., Buckets]:
    def read(q: MetricQuery, start: datetime, end: datetime) -> Buckets:
        ds = ws.datasources.get(q.source) if q.source else None
        return factory.for_query(q, ds).read(q, start, end, MIN)

    return read
