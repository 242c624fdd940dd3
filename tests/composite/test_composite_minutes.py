"""Measured composites minute by minute, against hand computation.

Each case is a graph whose parts were down in known minutes; the per-minute figure is
worked out by hand and set beside what the window-level formula (each part's availability
over the whole window through ``availability``) would say, to show why they differ.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm.domain.composite import AllOf, AnyOf, AtLeast, Expr, Fallback, Ref, availability
from slm.domain.composite_minutes import (
    MinuteSeries,
    measured_composite,
    minute_availability,
    weighted_minutes,
)
from slm.domain.series import EventSeries

A, B, C = Ref("a"), Ref("b"), Ref("c")
MONTH = 30 * 24 * 60  # minutes


def down_in(minutes: int, *down: range | int) -> MinuteSeries:
    """Up (1) every minute but ``down`` (0); every minute has data."""
    up = np.ones(minutes)
    for d in down:
        up[d if isinstance(d, int) else slice(d.start, d.stop)] = 0.0
    return MinuteSeries.of_up(up)


def window_level(expr: Expr, parts: dict[str, MinuteSeries]) -> float:
    """The formula over each part's window availability (what the design side does)."""
    return availability(expr, {n: float(np.mean(s.up)) for n, s in parts.items()})


# (id, expression, parts, per-minute by hand, window-level formula by hand)
CASES: list[tuple[str, Expr, dict[str, MinuteSeries], float, float]] = [
    # each down 1 % of a month (432 minutes), never at the same minute: the pair never failed
    (
        "redundant-pair-disjoint-outages",
        AnyOf((A, B)),
        {"a": down_in(MONTH, range(0, 432)), "b": down_in(MONTH, range(1000, 1432))},
        1.0,
        1 - 0.01 * 0.01,
    ),
    # the same pair down in the very same 432 minutes: down 1 %, not 0.01 %
    (
        "redundant-pair-same-outage",
        AnyOf((A, B)),
        {"a": down_in(MONTH, range(0, 432)), "b": down_in(MONTH, range(0, 432))},
        0.99,
        1 - 0.01 * 0.01,
    ),
    # in series, down together in the same 432 minutes: those minutes are lost once
    (
        "series-overlapping-outages",
        AllOf((A, B)),
        {"a": down_in(MONTH, range(0, 432)), "b": down_in(MONTH, range(0, 432))},
        0.99,
        0.99 * 0.99,
    ),
    # in series, 10 minutes each of 100, overlapping in 5: 15 minutes lost
    (
        "series-partly-overlapping",
        AllOf((A, B)),
        {"a": down_in(100, range(0, 10)), "b": down_in(100, range(5, 15))},
        0.85,
        0.9 * 0.9,
    ),
    # 2 of 3 nodes over 10 minutes: a down at 0-1, b at 1-2, c at 5; only in minute 1 are
    # two nodes down at once, so 9 of 10 minutes up. Formula with a=b=0.8, c=0.9:
    # abc + ab(1-c) + 2 * a(1-b)c = 0.576 + 0.064 + 0.288
    (
        "2-of-3",
        AtLeast(2, (A, B, C)),
        {"a": down_in(10, 0, 1), "b": down_in(10, 1, 2), "c": down_in(10, 5)},
        0.9,
        0.576 + 0.064 + 0.288,
    ),
    # the primary down in minutes 0-1, the fallback in 1 and 5, switch-over 90 %:
    # minute 0 = 0.9 (switched), minute 1 = 0 (both down), minute 5 = 1 (primary up)
    # -> (0.9 + 0 + 8) / 10. Formula: 0.8 + 0.2 * 0.9 * 0.8
    (
        "fallback",
        Fallback(A, B, 0.9),
        {"a": down_in(10, 0, 1), "b": down_in(10, 1, 5)},
        0.89,
        0.8 + 0.2 * 0.9 * 0.8,
    ),
    # partial minutes: half the requests fail in minute 0 on both sides of a redundant
    # pair; within a minute the parts are independent: 1 - 0.5 * 0.5, then 1 in minute 1
    (
        "redundant-partial-minute",
        AnyOf((A, B)),
        {"a": MinuteSeries.of_up([0.5, 1.0]), "b": MinuteSeries.of_up([0.5, 1.0])},
        (0.75 + 1.0) / 2,
        1 - 0.25 * 0.25,
    ),
]


@pytest.mark.parametrize(
    ("expr", "parts", "by_hand", "formula"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_per_minute_differs_from_window_level_as_computed_by_hand(
    expr: Expr, parts: dict[str, MinuteSeries], by_hand: float, formula: float
) -> None:
    minutes = len(next(iter(parts.values())))
    result = measured_composite(expr, parts, minutes)
    assert result.value == pytest.approx(by_hand, abs=1e-12)
    assert (result.minutes, result.coverage) == (minutes, 1.0)
    assert window_level(expr, parts) == pytest.approx(formula, abs=1e-12)
    assert result.value != pytest.approx(formula, abs=1e-6)


def test_shared_part_is_conditioned_on_in_every_minute() -> None:
    # a in both branches of a redundant pair is one part: a * (1 - (1-b)(1-c)) per minute
    expr = AnyOf((AllOf((A, B)), AllOf((A, C))))
    values = {
        "a": np.array([0.9, 1.0, 0.0]),
        "b": np.array([0.8, 0.0, 1.0]),
        "c": np.array([0.7, 0.0, 1.0]),
    }
    got = minute_availability(expr, values)
    assert got == pytest.approx([0.9 * (1 - 0.2 * 0.3), 0.0, 0.0], abs=1e-12)


def test_unmeasured_parts_count_with_a_constant_every_minute() -> None:
    # a measured (down in 1 of 4 minutes), b only designed at 99 %
    result = measured_composite(AllOf((A, B)), {"a": down_in(4, 2), "b": 0.99}, 4)
    assert result.value == pytest.approx(0.75 * 0.99, abs=1e-12)


def test_only_minutes_where_every_measured_part_has_data_count() -> None:
    a = MinuteSeries(np.array([1.0] * 8 + [0.0, 0.0]), np.array([True] * 8 + [False] * 2))
    b = MinuteSeries(np.array([0.0, 0.0] + [1.0] * 8), np.array([False] * 2 + [True] * 8))
    b.up[4] = 0.0  # b down in minute 4 (while a is up)
    result = measured_composite(AllOf((A, B, C)), {"a": a, "b": b, "c": 1.0}, 10)
    # minutes 2..7 have data on both sides; minute 4 is down
    assert (result.minutes, result.window_minutes) == (6, 10)
    assert result.coverage == pytest.approx(0.6)
    assert result.value == pytest.approx(5 / 6, abs=1e-12)


def test_no_measured_part_or_no_common_minute_is_no_measurement() -> None:
    assert measured_composite(AllOf((A, B)), {"a": 0.99, "b": 0.9}, 10).value is None
    a = MinuteSeries(np.ones(2), np.array([True, False]))
    b = MinuteSeries(np.ones(2), np.array([False, True]))
    none = measured_composite(AnyOf((A, B)), {"a": a, "b": b}, 2)
    assert (none.value, none.minutes, none.coverage) == (None, 0, 0.0)


def test_up_fraction_per_minute_from_events() -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    events = EventSeries(
        start,
        timedelta(minutes=1),
        good=np.array([99.0, 0.0, 0.0, 5.0]),
        total=np.array([100.0, 0.0, 0.0, 10.0]),
        present=np.array([True, True, False, True]),
    )
    s = MinuteSeries.of_events(events)
    # a minute without events (1) or without a bucket (2) has no data
    assert s.present.tolist() == [True, False, False, True]
    assert s.up[s.present].tolist() == [0.99, 0.5]


def test_weighted_minutes_renormalise_over_the_parts_with_data() -> None:
    avail = MinuteSeries(np.array([1.0, 0.9, 0.0]), np.array([True, True, False]))
    latency = MinuteSeries(np.array([0.0, 1.0, 0.0]), np.array([True, True, False]))
    latency.present[1] = False  # no latency point in minute 1
    rolled = weighted_minutes([(3.0, avail), (1.0, latency)])
    assert rolled.present.tolist() == [True, True, False]
    # minute 0: (3 * 1 + 1 * 0) / 4; minute 1: avail alone
    assert rolled.up[:2] == pytest.approx([0.75, 0.9], abs=1e-12)


def test_bad_input_is_rejected_with_a_message() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        MinuteSeries.of_up([1.5])
    with pytest.raises(KeyError, match="no availability for b"):
        measured_composite(AllOf((A, B)), {"a": down_in(3)}, 3)
    with pytest.raises(ValueError, match="a: 3 minutes, expected 4"):
        measured_composite(A, {"a": down_in(3)}, 4)
    with pytest.raises(ValueError, match="availability of 'b' must be between 0 and 1"):
        measured_composite(AllOf((A, B)), {"a": down_in(3), "b": 2.0}, 3)


# --- properties --------------------------------------------------------------------------

NAMES = ("a", "b", "c")
prob = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _exprs() -> st.SearchStrategy[Expr]:
    leaves = st.sampled_from(NAMES).map(Ref)

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        lists = st.lists(children, min_size=1, max_size=3).map(tuple)
        return st.one_of(
            lists.map(AllOf),
            lists.map(AnyOf),
            lists.flatmap(lambda xs: st.integers(1, len(xs)).map(lambda k: AtLeast(k, xs))),
            st.tuples(children, children, prob).map(lambda t: Fallback(*t)),
        )

    return st.recursive(leaves, extend, max_leaves=6)


minutes_st = st.lists(st.fixed_dictionaries({n: prob for n in NAMES}), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(_exprs(), minutes_st)
def test_each_minute_is_the_window_formula_applied_to_that_minute(
    expr: Expr, minutes: list[dict[str, float]]
) -> None:
    values = {n: np.array([m[n] for m in minutes]) for n in NAMES}
    got = minute_availability(expr, values)
    expected = [availability(expr, m) for m in minutes]
    assert got == pytest.approx(expected, abs=1e-9)
    series = {n: MinuteSeries.of_up(v) for n, v in values.items()}
    mean = measured_composite(expr, series, len(minutes)).value
    assert mean == pytest.approx(float(np.mean(expected)), abs=1e-9)
