"""Credit tiers at every boundary, money rounding, the cap, and tier validation."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from slm.domain.agreement import CreditTier
from slm.domain.credits import apply_cap, credit_amount, tier_for, tier_problems

# The public cloud tiers of the issue: below 99.99% 10%, below 99.0% 30%, below 95.0% 100%.
CLOUD = (
    CreditTier(Decimal("99.99"), Decimal("10")),
    CreditTier(Decimal("99.0"), Decimal("30")),
    CreditTier(Decimal("95.0"), Decimal("100")),
)


def _ratio(percent: str) -> Fraction:
    return Fraction(Decimal(percent)) / 100


@pytest.mark.parametrize(
    ("attainment", "credit"),
    [
        pytest.param("100", None, id="perfect-no-credit"),
        pytest.param("99.99", None, id="exactly-99.99-no-credit"),
        pytest.param("99.989", "10", id="99.989-gets-10"),
        pytest.param("99.0", "10", id="exactly-99.0-stays-10"),
        pytest.param("98.9999", "30", id="just-below-99-gets-30"),
        pytest.param("95.0", "30", id="exactly-95-stays-30"),
        pytest.param("94.9999999", "100", id="just-below-95-gets-100"),
        pytest.param("0", "100", id="zero-gets-100"),
    ],
)
def test_tier_boundaries(attainment: str, credit: str | None) -> None:
    tier = tier_for(_ratio(attainment), CLOUD)
    assert (None if tier is None else str(tier.credit_percent)) == credit


def test_counted_attainment_at_the_boundary_is_exact() -> None:
    # 9999 good of 10000 is exactly 99.99%: no float rounding pushes it below.
    assert tier_for(Fraction(9999, 10000), CLOUD) is None
    assert tier_for(Fraction(99989, 100000), CLOUD) == CLOUD[0]


@pytest.mark.parametrize(
    ("fee", "percent", "amount"),
    [
        pytest.param("1000.00", "10", "100.00", id="plain"),
        pytest.param("0.25", "10", "0.02", id="half-cent-rounds-to-even-down"),
        pytest.param("0.35", "10", "0.04", id="half-cent-rounds-to-even-up"),
        pytest.param("333.33", "33.3", "111.00", id="fractional-percent"),
        pytest.param("19999.99", "100", "19999.99", id="full-fee"),
    ],
)
def test_credit_amount_rounds_half_even_to_cents(fee: str, percent: str, amount: str) -> None:
    assert str(credit_amount(Decimal(fee), Decimal(percent))) == amount


def test_cap_is_applied_to_clauses_in_order() -> None:
    capped = apply_cap([Decimal("600.00"), Decimal("600.00"), Decimal("0.00")], Decimal("1000.00"))
    assert [c.after for c in capped] == [Decimal("600.00"), Decimal("400.00"), Decimal("0.00")]
    assert [c.applied for c in capped] == [False, True, False]
    assert sum(c.after for c in capped) == Decimal("1000.00")


def test_no_cap_keeps_every_credit() -> None:
    assert [c.after for c in apply_cap([Decimal("5.00")], None)] == [Decimal("5.00")]


def _tiers(*pairs: tuple[str, str]) -> list[CreditTier]:
    return [CreditTier(Decimal(b), Decimal(c)) for b, c in pairs]


@pytest.mark.parametrize(
    ("tiers", "expected"),
    [
        pytest.param(_tiers(("99.9", "10"), ("99", "25")), [], id="good"),
        pytest.param(
            _tiers(("99", "10"), ("99.9", "25")),
            [(1, "below", "tiers out of order")],
            id="out-of-order",
        ),
        pytest.param(
            _tiers(("99.9", "10"), ("99.9", "25")),
            [(1, "below", "tiers overlap")],
            id="overlap",
        ),
        pytest.param(
            _tiers(("99.9", "25"), ("99", "10")),
            [(1, "creditPercent", "a lower tier must credit more")],
            id="credit-falls",
        ),
        pytest.param(
            _tiers(("101", "10")), [(0, "below", "at most 100")], id="threshold-above-100"
        ),
        pytest.param(_tiers(("99", "0")), [(0, "creditPercent", "greater than 0")], id="zero"),
    ],
)
def test_tier_problems(tiers: list[CreditTier], expected: list[tuple[int, str, str]]) -> None:
    found = tier_problems(tiers)
    assert [(i, f) for i, f, _ in found] == [(i, f) for i, f, _ in expected]
    for (_, _, message), (_, _, part) in zip(found, expected, strict=True):
        assert part in message
