"""Weighted composite SLOs (OpenSLO compositeWeight), rolled up the way Nobl9 does."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm.domain.composite import WeightedPart, normalized_weights, weighted_composite


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        # Nobl9's table: 8, 4, 1, 2 and 24, 12, 3, 6 both normalise to 53/27/7/13 %.
        pytest.param([8, 4, 1, 2], [8 / 15, 4 / 15, 1 / 15, 2 / 15], id="nobl9-option-1"),
        pytest.param([24, 12, 3, 6], [8 / 15, 4 / 15, 1 / 15, 2 / 15], id="nobl9-option-2"),
        pytest.param([2, 4], [1 / 3, 2 / 3], id="2-and-4"),
        pytest.param([50, 100], [1 / 3, 2 / 3], id="50-and-100-same-as-2-and-4"),
        pytest.param([1, 1, 1, 1], [0.25] * 4, id="equal"),
    ],
)
def test_weights_are_normalised(weights: list[float], expected: list[float]) -> None:
    assert normalized_weights(weights) == pytest.approx(expected)
    assert [round(w * 100) for w in normalized_weights([8, 4, 1, 2])] == [53, 27, 7, 13]


def test_composite_arithmetic_is_exact_on_the_decimal_targets() -> None:
    """``1 - 0.999`` in floats is 0.0009999999999998899: the composite counts on the
    decimals (as the SLO budget does), so every figure is the float nearest the exact one."""
    [c] = [weighted_composite([WeightedPart("a", 1, 0.999, 0.9985)])]
    assert c.error_budget == 0.001 and repr(c.error_budget) == "0.001"
    assert (c.budget_burned, c.budget_remaining) == (1.5, -0.5)
    parts = [WeightedPart("availability", 3, 0.999, 0.9985), WeightedPart("p99", 1, 0.99, 0.98)]
    c = weighted_composite(parts)
    assert c.target == 0.99675  # 0.75 * 0.999 + 0.25 * 0.99, exactly
    assert repr(c.error_budget) == "0.00325"
    assert c.value == 0.993875  # 0.75 * 0.9985 + 0.25 * 0.98
    exact = Fraction  # the nearest float to the exact quotient of the decimals
    assert c.budget_burned == float(exact("0.006125") / exact("0.00325"))  # 49/26
    assert [s.budget_burned for s in c.parts] == [1.5, 2.0]
    assert [s.burn_contribution for s in c.parts] == [
        float(exact("0.001125") / exact("0.00325")),
        float(exact("0.005") / exact("0.00325")),
    ]
    assert c.coverage == 1.0
    assert weighted_composite(parts, target=0.9997).error_budget == 0.0003


def test_reliability_aggregation_by_hand() -> None:
    parts = [
        WeightedPart("availability", 3, 0.999, 0.9990),
        WeightedPart("latency", 1, 0.99, 0.9900),
    ]
    c = weighted_composite(parts, target=0.995)
    # value: 0.75 * 0.999 + 0.25 * 0.99 = 0.99675
    assert c.value == pytest.approx(0.99675)
    assert c.error_budget == pytest.approx(0.005)
    # burned: (1 - 0.99675) / 0.005 = 0.65
    assert c.budget_burned == pytest.approx(0.65)
    assert c.budget_remaining == pytest.approx(0.35)
    assert c.coverage == 1.0
    # contributions add up to the composite's burn: 0.75*0.001/0.005 + 0.25*0.01/0.005
    contributions = [p.burn_contribution for p in c.parts]
    assert contributions == pytest.approx([0.15, 0.5])
    # each part at exactly its own target has burned all of its own budget
    assert [p.budget_burned for p in c.parts] == pytest.approx([1.0, 1.0])


def test_default_target_is_the_weighted_mean_of_targets() -> None:
    parts = [WeightedPart("a", 1, 0.999, 0.999), WeightedPart("b", 3, 0.99, 0.99)]
    c = weighted_composite(parts)
    assert c.target == pytest.approx(0.25 * 0.999 + 0.75 * 0.99)
    # every part exactly on target: the composite sits exactly on its target too
    assert c.budget_remaining == pytest.approx(0.0, abs=1e-9)


def test_error_budget_state_aggregation_by_hand() -> None:
    parts = [
        WeightedPart("payments", 8, 0.999, 0.9995),  # budget left -> 1
        WeightedPart("catalog", 4, 0.99, 0.985),  # exhausted -> 0
        WeightedPart("reviews", 1, 0.95, 0.97),  # budget left -> 1
        WeightedPart("search", 2, 0.99, 0.99),  # exactly on target: budget 0 left, still 1
    ]
    c = weighted_composite(parts, target=0.9, aggregation="errorBudgetState")
    assert c.value == pytest.approx((8 + 1 + 2) / 15)
    assert [p.value for p in c.parts] == [1.0, 0.0, 1.0, 1.0]
    assert c.budget_burned == pytest.approx((1 - 11 / 15) / 0.1)


def test_missing_data_renormalises_the_other_weights() -> None:
    parts = [
        WeightedPart("a", 1, 0.99, 0.98),
        WeightedPart("b", 1, 0.99, None),
        WeightedPart("c", 2, 0.99, 0.995),
    ]
    c = weighted_composite(parts, target=0.99)
    assert c.value == pytest.approx((0.98 + 2 * 0.995) / 3)
    assert c.coverage == pytest.approx(0.75)
    assert [p.normalized_weight for p in c.parts] == pytest.approx([1 / 3, 0, 2 / 3])
    none = weighted_composite([WeightedPart("b", 1, 0.99, None)])
    assert none.value is None and none.budget_burned is None and none.coverage == 0.0


@pytest.mark.parametrize(
    ("part", "message"),
    [
        pytest.param(lambda: WeightedPart("x", 0, 0.99, 0.9), "weight must be a positive", id="w0"),
        pytest.param(lambda: WeightedPart("x", 1, 1.5, 0.9), "target must be between", id="tgt"),
        pytest.param(lambda: WeightedPart("x", 1, 0.9, -0.1), "reliability must be", id="rel"),
    ],
)
def test_bad_parts_are_rejected(part: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        part()  # type: ignore[operator]
    with pytest.raises(ValueError, match="at least one part"):
        weighted_composite([])


part_st = st.builds(
    WeightedPart,
    name=st.just("p"),
    weight=st.floats(min_value=0.01, max_value=100),
    target=st.floats(min_value=0.5, max_value=0.9999),
    reliability=st.floats(min_value=0.0, max_value=1.0),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(part_st, min_size=1, max_size=6))
def test_composite_value_lies_between_the_parts(parts: list[WeightedPart]) -> None:
    c = weighted_composite(parts, target=0.99)
    values = [p.reliability for p in parts if p.reliability is not None]
    assert c.value is not None
    assert min(values) - 1e-12 <= c.value <= max(values) + 1e-12
    assert c.budget_burned == pytest.approx(sum(p.burn_contribution or 0 for p in c.parts))


@settings(max_examples=150, deadline=None)
@given(st.lists(part_st, min_size=1, max_size=6), st.data())
def test_better_part_never_burns_more_budget(
    parts: list[WeightedPart], data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(parts) - 1))
    p = parts[i]
    assert p.reliability is not None
    better = data.draw(st.floats(min_value=p.reliability, max_value=1.0))
    improved = [*parts[:i], WeightedPart(p.name, p.weight, p.target, better), *parts[i + 1 :]]
    for aggregation in ("reliability", "errorBudgetState"):
        before = weighted_composite(parts, 0.99, aggregation)  # type: ignore[arg-type]
        after = weighted_composite(improved, 0.99, aggregation)  # type: ignore[arg-type]
        assert before.budget_burned is not None and after.budget_burned is not None
        assert after.budget_burned <= before.budget_burned + 1e-9
