"""Per-clause figures against hand computation: overlapping exclusions and downtime are never
subtracted twice, pending exclusions do not count, business-hours-only clauses, RRULEs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest

from slm.domain.business_calendar import BusinessCalendar, parse_hour_range
from slm.domain.errors import SpecError
from slm.domain.exclusions import MAX_OCCURRENCES, Exclusion
from slm.domain.intervals import mask
from slm.domain.model import Origin
from slm.domain.series import EventSeries
from slm.domain.statement import (
    DowntimeRule,
    Period,
    downtime_figures,
    event_figures,
    exclusion_mask,
)

T0 = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
M = timedelta(minutes=1)
DAY = Period("day", T0, T0 + timedelta(days=1), "UTC")  # 1440 minutes


def _events(bad_minutes: range, total: float = 100.0, bad: float = 50.0) -> EventSeries:
    n = DAY.minutes
    tot = np.full(n, total)
    good = tot.copy()
    good[bad_minutes.start : bad_minutes.stop] = total - bad
    return EventSeries(T0, M, good, tot, np.ones(n, dtype=np.bool_))


def _exclusion(name: str, start_min: int, end_min: int, approval: str = "approved") -> Exclusion:
    return Exclusion(
        name=name,
        category="customer-caused",
        start=(T0 + start_min * M).replace(tzinfo=None),
        duration=(end_min - start_min) * M,
        time_zone="UTC",
        services=("s",),
        approval=approval,  # type: ignore[arg-type]
    )


ALL = np.ones(DAY.minutes, dtype=np.bool_)


def test_overlapping_exclusions_and_downtime_are_never_subtracted_twice() -> None:
    # down 600..660 (60 min); exclusions 620..650 and 640..700 overlap each other and the
    # downtime: union 620..700 (80 min), of which 620..660 (40 min) is downtime.
    events = _events(range(600, 660))
    ex = exclusion_mask([_exclusion("a", 620, 650), _exclusion("b", 640, 700)], DAY, ALL)
    rule = DowntimeRule(5, Fraction(5, 100))
    f = downtime_figures(events, rule, ALL, ex, "test")
    assert f.downtime_minutes == 60
    assert f.excluded_minutes == 80
    assert f.excluded_downtime_minutes == 40
    assert f.attainment == 1 - Fraction(60, 1440)
    assert f.adjusted == 1 - Fraction(60 - 40, 1440 - 80)
    notes = [e.reason for e in f.entries if e.type == "note"]
    assert notes == ["10 minute(s) lie in more than one exclusion; counted once"]
    [down] = [e for e in f.entries if e.type == "downtime"]
    assert (down.start, down.end, down.minutes) == (T0 + 600 * M, T0 + 660 * M, 60)


def test_event_clause_leaves_excluded_events_out_of_both_counts() -> None:
    events = _events(range(600, 660))
    ex = exclusion_mask([_exclusion("a", 620, 650), _exclusion("b", 640, 700)], DAY, ALL)
    f = event_figures(events, ALL, ex, "test")
    total, bad = 1440 * 100, 60 * 50
    assert f.attainment == Fraction(total - bad, total)
    kept_total, kept_bad = (1440 - 80) * 100, (60 - 40) * 50
    assert f.adjusted == Fraction(kept_total - kept_bad, kept_total)
    assert f.downtime_minutes is None


def test_pending_and_rejected_exclusions_do_not_count() -> None:
    ex = exclusion_mask(
        [_exclusion("p", 0, 100, "pending"), _exclusion("r", 0, 100, "rejected")], DAY, ALL
    )
    assert not ex.mask.any()
    assert [e.type for e in ex.entries] == ["not-counted", "not-counted"]
    assert "pending, not counted" in ex.entries[0].reason


def test_interval_rule_is_strictly_above_the_error_rate() -> None:
    # 5 bad of 100 in one minute of a 5-minute interval: 1% < 5%, up; 25 of 100 over the
    # 5 minutes is exactly 5% -> not above, up; 26 is above -> the whole interval is down.
    n = DAY.minutes
    for bad_in_interval, down in ((5, 0), (25, 0), (26, 5)):
        tot = np.full(n, 100.0)
        good = tot.copy()
        good[0] -= bad_in_interval
        ev = EventSeries(T0, M, good, tot, np.ones(n, dtype=np.bool_))
        f = downtime_figures(ev, DowntimeRule(5, Fraction(5, 100)), ALL, _no_ex(), "t")
        assert f.downtime_minutes == down


def _no_ex() -> object:
    return exclusion_mask([], DAY, ALL)


def test_intervals_without_data_follow_the_no_data_rule() -> None:
    n = DAY.minutes
    tot = np.full(n, 10.0)
    present = np.ones(n, dtype=np.bool_)
    tot[:60], present[:60] = 0.0, False  # the first hour has no data
    ev = EventSeries(T0, M, tot.copy(), tot, present)
    ignore = downtime_figures(ev, DowntimeRule(5, Fraction(1, 20), "ignore"), ALL, _no_ex(), "t")
    down = downtime_figures(ev, DowntimeRule(5, Fraction(1, 20), "down"), ALL, _no_ex(), "t")
    up = downtime_figures(ev, DowntimeRule(5, Fraction(1, 20), "up"), ALL, _no_ex(), "t")
    assert (ignore.attainment, ignore.coverage) == (1, Fraction(1380, 1440))
    assert down.attainment == 1 - Fraction(60, 1440) and down.downtime_minutes == 60
    assert up.attainment == 1 and up.coverage == 1


def test_business_hours_only_counts_downtime_inside_business_hours() -> None:
    nine_to_five = ((parse_hour_range("09:00-17:00"),),) * 5 + ((), ())
    cal = BusinessCalendar("c", "UTC", nine_to_five)
    eligible = mask(cal.business_spans(DAY.start, DAY.end), DAY.start, DAY.minutes)
    assert eligible.sum() == 8 * 60
    # down 08:00-10:00: only 09:00-10:00 is inside business hours
    events = _events(range(8 * 60, 10 * 60))
    f = downtime_figures(events, DowntimeRule(5, Fraction(5, 100)), eligible, _no_ex(), "t")
    assert f.eligible_minutes == 480
    assert f.downtime_minutes == 60
    assert f.attainment == 1 - Fraction(60, 480)
    # an exclusion at night does not touch a business-hours clause
    night = exclusion_mask([_exclusion("n", 0, 120)], DAY, eligible)
    g = downtime_figures(events, DowntimeRule(5, Fraction(5, 100)), eligible, night, "t")
    assert g.excluded_minutes == 0 and g.adjusted == f.adjusted


def test_a_weekly_rrule_keeps_local_time_across_dst() -> None:
    ex = Exclusion(
        name="w",
        category="scheduled-maintenance",
        start=datetime(2026, 10, 4, 2, 0),
        duration=timedelta(hours=1),
        time_zone="Europe/London",
        services=("s",),
        rrule="FREQ=WEEKLY;BYDAY=SU",
        approval="approved",
    )
    spans = ex.occurrences(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    starts = [s for s, _ in spans]
    assert starts == [
        datetime(2026, 10, 4, 1, tzinfo=UTC),  # BST
        datetime(2026, 10, 11, 1, tzinfo=UTC),
        datetime(2026, 10, 18, 1, tzinfo=UTC),
        datetime(2026, 10, 25, 2, tzinfo=UTC),  # GMT from 25 October
        datetime(2026, 11, 1, 2, tzinfo=UTC),
    ]
    assert all(e - s == timedelta(hours=1) for s, e in spans)


def test_expanding_a_rule_stops_past_the_occurrence_limit() -> None:
    """A rule validate would refuse (a workspace built otherwise): a statement period stops
    at MAX_OCCURRENCES with a located error, instead of expanding 44,640 minutes."""
    ex = Exclusion(
        name="every-minute",
        category="scheduled-maintenance",
        start=datetime(2026, 10, 1),
        duration=timedelta(minutes=1),
        time_zone="UTC",
        services=("s",),
        rrule="FREQ=MINUTELY",
        approval="approved",
        origin=Origin("ex.yaml", 7),
    )
    hourly = replace(ex, rrule="FREQ=HOURLY")
    october = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    assert len(hourly.occurrences(*october)) == 31 * 24
    with pytest.raises(SpecError) as e:
        ex.occurrences(*october)
    [problem] = e.value.problems
    assert (problem.path, problem.line, problem.field) == ("ex.yaml", 7, "spec.rrule")
    assert problem.message.startswith(f"more than {MAX_OCCURRENCES:,} occurrences")


def test_an_exclusion_applies_to_its_services_and_agreements() -> None:
    ex = Exclusion("x", "third-party", T0.replace(tzinfo=None), M, "UTC", ("a",), ("sla-1",))
    assert ex.applies_to("sla-1", ("a", "b"))
    assert not ex.applies_to("sla-2", ("a",))
    assert not ex.applies_to("sla-1", ("b",))
