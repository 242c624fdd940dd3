"""Clauses bound to a RatioTimeslices SLO: attainment is the SLO's own SLI (the mean of its
slice ratios), downtime the minutes of slices below the slice threshold; business hours
and exclusions act per minute as for Timeslices clauses. Figures computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from slm.domain.business_calendar import BusinessCalendar, parse_hour_range
from slm.domain.errors import SpecError
from slm.domain.exclusions import Exclusion
from slm.domain.intervals import mask
from slm.domain.series import BoolArray, EventSeries
from slm.domain.statement import (
    ExclusionMask,
    Figures,
    Period,
    RatioSliceRule,
    exclusion_mask,
    ratio_slice_figures,
)
from slm.services.evaluate import evaluate_workspace
from slm.services.statements import compute_statement
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace

T0 = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
M = timedelta(minutes=1)
DAY = Period("day", T0, T0 + timedelta(days=1), "UTC")  # 1440 minutes
N = DAY.minutes
ALL = np.ones(N, dtype=np.bool_)
RULE = RatioSliceRule(5, Fraction(999, 1000))  # 5-minute slices, bad below 99.9%


def _events(
    bad: dict[int, float], total: float = 100.0, totals: dict[int, float] | None = None
) -> EventSeries:
    """``total`` events a minute (``totals`` per minute where given), ``bad[i]`` of them
    failed in minute ``i``."""
    tot = np.full(N, total)
    for i, t in (totals or {}).items():
        tot[i] = t
    good = tot.copy()
    for i, b in bad.items():
        good[i] -= b
    return EventSeries(T0, M, good, tot, np.ones(N, dtype=np.bool_))


def _exclusion(start_min: int, end_min: int) -> Exclusion:
    return Exclusion(
        name="x",
        category="customer-caused",
        start=(T0 + start_min * M).replace(tzinfo=None),
        duration=(end_min - start_min) * M,
        time_zone="UTC",
        services=("s",),
        approval="approved",
    )


def _figures(
    events: EventSeries,
    rule: RatioSliceRule = RULE,
    eligible: BoolArray = ALL,
    excluded: list[Exclusion] | None = None,
) -> tuple[Figures, ExclusionMask]:
    ex = exclusion_mask(excluded or [], DAY, eligible)
    return ratio_slice_figures(events, rule, eligible, ex, "test"), ex


NINE_TO_FIVE = mask(
    BusinessCalendar(
        "c", "UTC", ((parse_hour_range("09:00-17:00"),),) * 5 + ((), ())
    ).business_spans(DAY.start, DAY.end),
    DAY.start,
    N,
)

# Each case: id, events, rule, eligible, exclusions (minutes), expected
# (attainment, adjusted, downtime, excluded downtime, excluded, coverage).
CASES = [
    (
        "a slice at 90% weighs its 5 minutes by 0.1",  # 50 bad of 500 events
        _events({600: 50}),
        RULE,
        ALL,
        [],
        (1 - Fraction(5 * 1, 10 * 1440), None, 5, 0, 0, Fraction(1)),
    ),
    (
        "exactly at the slice threshold is not down, but still counts by its ratio",
        _events({600: 5}, totals={i: 1000 for i in range(600, 605)}),  # 4995 of 5000
        RULE,
        ALL,
        [],
        (1 - Fraction(5 * 5, 5000 * 1440), None, 0, 0, 0, Fraction(1)),
    ),
    (
        "one more failure and the slice is down",
        _events({600: 6}, totals={i: 1000 for i in range(600, 605)}),  # 4994 of 5000
        RULE,
        ALL,
        [],
        (1 - Fraction(5 * 6, 5000 * 1440), None, 5, 0, 0, Fraction(1)),
    ),
    (
        "a quiet slice weighs as much as a busy one (mean of ratios, not pooled events)",
        # slice 0: 5 of 10 events bad (ratio 0.5); slice 1: 5 of 10000 bad (0.9995)
        _events(
            {0: 5, 5: 5}, totals={**{i: 2 for i in range(5)}, **{i: 2000 for i in range(5, 10)}}
        ),
        RULE,
        ALL,
        [],
        (1 - (5 * Fraction(1, 2) + 5 * Fraction(5, 10000)) / 1440, None, 5, 0, 0, Fraction(1)),
    ),
    (
        "an exclusion over 2 minutes of a bad slice removes those 2 minutes only",
        _events({600: 50}),
        RULE,
        ALL,
        [(603, 610)],
        (
            1 - Fraction(5, 10 * 1440),
            1 - Fraction(3, 10) / (1440 - 7),
            5,
            2,
            7,
            Fraction(1),
        ),
    ),
    (
        "business hours: only slices inside 09:00-17:00 count",
        _events({535: 250, 540: 250}),  # 08:55 slice outside, 09:00 slice at 50%
        RULE,
        NINE_TO_FIVE,
        [],
        (1 - Fraction(5, 2 * 480), None, 5, 0, 0, Fraction(1)),
    ),
]


@pytest.mark.parametrize(
    ("events", "rule", "eligible", "exclusions", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_ratio_slice_figures(
    events: EventSeries,
    rule: RatioSliceRule,
    eligible: BoolArray,
    exclusions: list[tuple[int, int]],
    expected: tuple[Fraction, Fraction | None, int, int, int, Fraction],
) -> None:
    f, _ = _figures(events, rule, eligible, [_exclusion(s, e) for s, e in exclusions])
    attainment, adjusted, down, excluded_down, excluded, coverage = expected
    assert f.attainment == attainment
    assert f.adjusted == (attainment if adjusted is None else adjusted)
    assert (f.downtime_minutes, f.excluded_downtime_minutes, f.excluded_minutes) == (
        down,
        excluded_down,
        excluded,
    )
    assert f.coverage == coverage
    assert f.eligible_minutes == int(eligible.sum())


def test_slices_without_data_follow_the_missing_data_policy() -> None:
    tot = np.full(N, 10.0)
    present = np.ones(N, dtype=np.bool_)
    tot[:60], present[:60] = 0.0, False  # the first hour (12 slices) has no data
    ev = EventSeries(T0, M, tot.copy(), tot, present)
    ignore, _ = _figures(ev, RatioSliceRule(5, Fraction(999, 1000), "ignore"))
    down, _ = _figures(ev, RatioSliceRule(5, Fraction(999, 1000), "down"))
    up, _ = _figures(ev, RatioSliceRule(5, Fraction(999, 1000), "up"))
    assert (ignore.attainment, ignore.coverage, ignore.downtime_minutes) == (
        1,
        Fraction(1380, 1440),
        0,
    )
    assert (down.attainment, down.downtime_minutes) == (1 - Fraction(60, 1440), 60)
    assert (up.attainment, up.coverage, up.downtime_minutes) == (1, 1, 0)


def test_the_explanation_lists_down_slices_and_the_rule() -> None:
    f, _ = _figures(_events({600: 50, 601: 50}), excluded=[_exclusion(603, 610)])
    measure, down, exclusion = f.entries
    assert measure.reason == (
        "5-minute slices count by their good/total ratio; a slice below 99.9% counts as "
        "down; attainment is the mean slice ratio over 1440 measured of 1440 eligible minutes"
    )
    assert (down.type, down.start, down.end, down.minutes) == ("downtime", T0 + 600 * M,
                                                                T0 + 605 * M, 5)  # fmt: skip
    assert down.reason == "down: slice ratio down to 80.00% (< 99.9%); 2 minute(s) of it excluded"
    assert exclusion.type == "exclusion"
    assert f.bad is not None and np.flatnonzero(f.bad).tolist() == [600, 601, 602]


# --- a workspace: the statement agrees with `slm evaluate` -------------------------------

SPECS = """\
apiVersion: openslo/v1
kind: Service
metadata: {name: api}
spec: {description: The public API}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: api-metrics}
spec:
  type: File
  connectionDetails: {path: api.csv}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-slices}
spec:
  service: api
  indicator:
    metadata: {name: api-requests}
    spec:
      ratioMetric:
        counter: false
        good: {metricSource: {metricSourceRef: api-metrics, type: File, spec: {series: good}}}
        total: {metricSource: {metricSourceRef: api-metrics, type: File, spec: {series: total}}}
  timeWindow:
    - duration: 31d
      isRolling: true
  budgetingMethod: RatioTimeslices
  objectives:
    - target: 0.999
      timeSliceWindow: 5m
---
apiVersion: slm/v1
kind: Exclusion
metadata: {name: customer-test}
spec:
  category: customer-caused
  services: [api]
  start: 2026-10-05T10:00:00
  duration: 30m
  timeZone: UTC
  approval: {state: approved, by: ACME}
---
apiVersion: slm/v1
kind: Agreement
metadata: {name: api-sla}
spec:
  type: SLA
  provider: API KK
  customer: ACME
  services: [api]
  term: {start: 2026-01-01}
  timeZone: UTC
  fee: {amount: "12345", currency: JPY}
  owner: api-team
  budgetOwner: CC-9
  credits:
    tiers: [{below: 99.99999, creditPercent: 10}]
  clauses:
    - name: api-availability
      slo: api-slices
      target: 99.99999
    - name: api-downtime
      downtime: {slo: api-slices, interval: 5m, maxErrorRate: 1}
      target: 99.9
"""

OCT = datetime(2026, 10, 1, tzinfo=UTC)


def _minute(day: int, hour: int, minute: int = 0) -> int:
    return int((datetime(2026, 10, day, hour, minute, tzinfo=UTC) - OCT) // M)


def _write_data(path: Path) -> None:
    """October 2026, 100 requests a minute, all good except: slice A (5 Oct 10:00, inside
    the exclusion) 50 bad of 500; slice B (6 Oct 12:00) 1 bad of 500; slice C (7 Oct 08:00)
    1000 requests a minute, 1 bad of 5000."""
    n = 31 * 24 * 60
    total = np.full(n, 100)
    good = total.copy()
    good[_minute(5, 10)] -= 50
    good[_minute(6, 12)] -= 1
    c = _minute(7, 8)
    total[c : c + 5] = good[c : c + 5] = 1000
    good[c] -= 1
    start = int(OCT.timestamp())
    rows = ["timestamp,series,value"]
    for i in range(n):
        rows.append(f"{start + 60 * i},good,{good[i]}")
        rows.append(f"{start + 60 * i},total,{total[i]}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_ratio_timeslices_clause_in_a_statement(tmp_path: Path) -> None:
    (tmp_path / "specs.yaml").write_text(SPECS, encoding="utf-8")
    _write_data(tmp_path / "api.csv")
    ws = load_workspace([tmp_path])
    st = compute_statement(ws, "api-sla", "2026-10", SourceFactory())
    avail, downtime = st.clauses
    f = avail.figures
    minutes = 31 * 24 * 60  # 44640, 8928 slices
    # deficits (1 - ratio) x 5 minutes: A 0.1, B 1/500, C 1/5000; A is excluded
    a, b, c = Fraction(1, 10), Fraction(1, 500), Fraction(1, 5000)
    assert f.attainment == 1 - 5 * (a + b + c) / minutes
    assert f.adjusted == 1 - 5 * (b + c) / (minutes - 30)
    assert (f.downtime_minutes, f.excluded_downtime_minutes, f.excluded_minutes) == (10, 5, 30)
    assert avail.breached  # 0.011 deficit minutes > 1e-7 x 44610
    assert avail.credit == Decimal("1234")  # 10% of JPY 12345 = 1234.5, half to even
    assert avail.breach_attribution is not None
    assert [(s.minutes, s.basis) for s in avail.breach_attribution] == [(10, "unattributed")]
    # the SLO's own SLI over the same 31 days, as `slm evaluate` computes it
    report = evaluate_workspace(ws, datetime(2026, 11, 1, tzinfo=UTC), SourceFactory())
    [result] = report.results
    assert result.sli == pytest.approx(float(f.attainment), rel=1e-12)
    assert result.sli == pytest.approx(1 - float(a + b + c) / 8928, rel=1e-12)
    # a downtime clause may read the same SLO's events: only slice A is above 1% errors
    assert downtime.clause.name == "api-downtime"
    assert (downtime.figures.downtime_minutes, downtime.figures.excluded_downtime_minutes) == (5, 5)


def test_time_slices_of_part_of_a_minute_are_refused_at_the_slo(tmp_path: Path) -> None:
    """Measurements are counted per minute, so a 30s slice has no data to count from: the
    SLO is refused where the slice is written (before, only a clause on it was)."""
    (tmp_path / "specs.yaml").write_text(
        SPECS.replace("timeSliceWindow: 5m", "timeSliceWindow: 30s"), encoding="utf-8"
    )
    with pytest.raises(SpecError) as e:
        load_workspace([tmp_path])
    problems = [f"{p.kind}/{p.name}: {p.field}: {p.message}" for p in e.value.problems]
    assert problems == [
        "SLO/api-slices: spec.objectives[0].timeSliceWindow: 30s is not a whole number of 1m "
        "buckets: measurements are counted per 1m, so a time slice is a multiple of 1m "
        "(e.g. 1m, 5m)"
    ]
