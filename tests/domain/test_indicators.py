"""Shaping source buckets into good/total events."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from slm.domain.indicators import events_for, ratio_events, raw_events, threshold_events
from slm.domain.model import Indicator, Objective, Operator, RatioMetric
from slm.domain.series import Buckets

from .helpers import MIN, QUERY, T0, buckets, ratio_indicator, threshold_indicator

NAN = float("nan")


def test_good_and_total() -> None:
    ev = ratio_events(
        total=buckets([10, 10, 10], [True, True, False]),
        good=buckets([9, 10, NAN], [True, True, False]),
    )
    assert ev.good.tolist() == [9, 10, 0]
    assert ev.total.tolist() == [10, 10, 0]
    assert ev.present.tolist() == [True, True, False]


def test_bad_and_total_gives_good_as_total_minus_bad() -> None:
    ev = ratio_events(total=buckets([10, 20]), bad=buckets([1, 0]))
    assert ev.good.tolist() == [9, 20]
    assert ev.total.tolist() == [10, 20]


def test_a_bucket_is_present_only_when_every_series_has_it() -> None:
    ev = ratio_events(
        total=buckets([10, 10, 10], [True, False, True]),
        good=buckets([5, 5, 5], [False, True, True]),
    )
    assert ev.present.tolist() == [False, False, True]
    assert ev.good.tolist() == [0, 0, 5]
    assert ev.total.tolist() == [0, 0, 10]


@pytest.mark.parametrize(
    ("total", "part", "role", "message"),
    [
        pytest.param(buckets([1, 2]), buckets([1]), "good", "different grids", id="lengths"),
        pytest.param(
            buckets([1]), buckets([1], start=T0 + MIN), "good", "different grids", id="starts"
        ),
        pytest.param(
            buckets([1]),
            buckets([1], step=timedelta(minutes=5)),
            "good",
            "different grids",
            id="steps",
        ),
        pytest.param(buckets([-1]), buckets([0]), "good", "negative", id="negative-total"),
        pytest.param(buckets([1]), buckets([-1]), "bad", "negative", id="negative-bad"),
        pytest.param(buckets([5]), buckets([6]), "good", "good > total", id="good-over-total"),
        pytest.param(buckets([5]), buckets([6]), "bad", "bad > total", id="bad-over-total"),
        pytest.param(buckets([NAN]), buckets([1]), "good", "non-finite", id="nan-total"),
    ],
)
def test_mis_shaped_ratio_input_is_rejected(
    total: Buckets, part: Buckets, role: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ratio_events(total=total, **{role: part})


def test_exactly_one_of_good_or_bad() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ratio_events(total=buckets([1]))
    with pytest.raises(ValueError, match="exactly one"):
        ratio_events(total=buckets([1]), good=buckets([1]), bad=buckets([0]))


@pytest.mark.parametrize(
    ("raw_type", "good"),
    [
        pytest.param("success", [0.9, 1.0, 0.0], id="success-ratio"),
        pytest.param("failure", [0.1, 0.0, 0.0], id="failure-ratio"),
    ],
)
def test_raw_ratio_is_one_unit_per_present_bucket(raw_type: str, good: list[float]) -> None:
    ev = raw_events(buckets([0.9, 1.0, NAN], [True, True, False]), raw_type)  # type: ignore[arg-type]
    assert ev.good == pytest.approx(np.array(good))
    assert ev.total.tolist() == [1, 1, 0]


def test_raw_ratio_out_of_range() -> None:
    with pytest.raises(ValueError, match="above 1"):
        raw_events(buckets([1.5]), "success")
    with pytest.raises(ValueError, match="negative"):
        raw_events(buckets([-0.1]), "success")


@pytest.mark.parametrize(
    ("op", "good"),
    [
        pytest.param("lt", [1, 0, 0], id="lt"),
        pytest.param("lte", [1, 1, 0], id="lte"),
        pytest.param("gt", [0, 0, 1], id="gt"),
        pytest.param("gte", [0, 1, 1], id="gte"),
    ],
)
def test_threshold_compares_each_data_point(op: Operator, good: list[float]) -> None:
    ev = threshold_events(buckets([300, 400, 500, NAN], [True, True, True, False]), op, 400)
    assert ev.good.tolist() == [*good, 0]
    assert ev.total.tolist() == [1, 1, 1, 0]
    assert ev.present.tolist() == [True, True, True, False]


def test_threshold_rejects_unknown_operator() -> None:
    with pytest.raises(ValueError, match="operator"):
        threshold_events(buckets([1]), "eq", 1)  # type: ignore[arg-type]


def test_events_for_applies_each_objectives_threshold() -> None:
    metric = {"metric": buckets([300, 500])}
    fast = Objective("fast", 0.9, op="lte", value=400)
    slow = Objective("slow", 0.99, op="lte", value=1000)
    assert events_for(threshold_indicator(), fast, metric).good.tolist() == [1, 0]
    assert events_for(threshold_indicator(), slow, metric).good.tolist() == [1, 1]


def test_events_for_ratio_roles() -> None:
    objective = Objective("o", 0.99)
    ev = events_for(ratio_indicator(), objective, {"good": buckets([9]), "total": buckets([10])})
    assert (ev.good.tolist(), ev.total.tolist()) == ([9], [10])
    bad = Indicator("b", ratio=RatioMetric(total=QUERY, bad=QUERY))
    ev = events_for(bad, objective, {"bad": buckets([1]), "total": buckets([10])})
    assert ev.good.tolist() == [9]
    raw = Indicator("r", ratio=RatioMetric(total=None, raw=QUERY, raw_type="failure"))
    assert events_for(raw, objective, {"raw": buckets([0.25])}).good.tolist() == [0.75]


@pytest.mark.parametrize(
    ("indicator", "objective", "roles", "message"),
    [
        pytest.param(
            ratio_indicator(),
            Objective("o", 0.9),
            {"total": buckets([1])},
            "role 'good'",
            id="missing-role",
        ),
        pytest.param(
            threshold_indicator(),
            Objective("o", 0.9),
            {"metric": buckets([1])},
            "op and value",
            id="threshold-without-op",
        ),
        pytest.param(
            Indicator("none"),
            Objective("o", 0.9),
            {},
            "neither",
            id="no-metric",
        ),
    ],
)
def test_events_for_errors(
    indicator: Indicator, objective: Objective, roles: dict[str, Buckets], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        events_for(indicator, objective, roles)
