"""Service credits: tier lookup, money rounding, the cap, and tier validation.

Rounding rule (stated in every statement): a credit is ``fee * credit_percent / 100``
computed exactly in ``Decimal``, then rounded to the minor unit of the agreement's currency
(ISO 4217: ``0.01`` for EUR, ``1`` for JPY, ``0.001`` for BHD) with ``ROUND_HALF_EVEN``.
The domain does not know currencies: the spec mapper looks the minor unit up
(``Money.minor_units``) and every function here takes it as an argument.
Attainment is compared with tier thresholds exactly (as fractions), never rounded first:
attainment of exactly 99.99 % is not below a 99.99 % threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from slm.domain.agreement import CreditTier

CENT = Decimal("0.01")


def minor_unit(minor_units: int) -> Decimal:
    """The smallest amount of a currency with ``minor_units`` decimals: 2 -> ``0.01``,
    0 -> ``1``, 3 -> ``0.001``."""
    return Decimal(1).scaleb(-minor_units)


def zero(minor_units: int) -> Decimal:
    """No credit, written with the currency's decimals (``0.00``, ``0``, ``0.000``)."""
    return Decimal(0).quantize(minor_unit(minor_units))


def rounding_rule(currency: str, minor_units: int) -> str:
    """The rounding rule as printed in a statement."""
    unit = minor_unit(minor_units)
    places = "no minor unit" if minor_units == 0 else f"{minor_units} decimal place(s)"
    return (
        f"credit = period fee x credit percent / 100, computed exactly, then rounded to "
        f"{unit} {currency} ({currency} has {places} in ISO 4217) with ROUND_HALF_EVEN; "
        "the cap is applied to clauses in order"
    )


def percent_fraction(value: Decimal) -> Fraction:
    """``Decimal('99.99')`` -> ``Fraction(9999, 10000)``: a percent as an exact ratio."""
    return Fraction(value) / 100


def tier_for(attainment: Fraction, tiers: Sequence[CreditTier]) -> CreditTier | None:
    """The deepest tier whose threshold the attainment (a ratio) is strictly below."""
    found = None
    for tier in tiers:  # ordered from the highest threshold down
        if attainment < percent_fraction(tier.below):
            found = tier
    return found


def credit_amount(fee: Decimal, credit_percent: Decimal, minor_units: int = 2) -> Decimal:
    """``fee x credit_percent / 100`` rounded half to even to the currency's minor unit."""
    exact = fee * credit_percent / Decimal(100)
    return exact.quantize(minor_unit(minor_units), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Capped:
    before: Decimal
    after: Decimal

    @property
    def applied(self) -> bool:
        return self.after != self.before


def apply_cap(amounts: Sequence[Decimal], cap: Decimal | None) -> list[Capped]:
    """Credits in clause order, each cut so that the running total stays within ``cap``."""
    out: list[Capped] = []
    left = cap
    for amount in amounts:
        if left is None:
            out.append(Capped(amount, amount))
            continue
        granted = min(amount, left)
        left -= granted
        out.append(Capped(amount, granted))
    return out


def tier_problems(tiers: Sequence[CreditTier]) -> list[tuple[int, str, str]]:
    """Problems of a tier list as ``(index, field, message)``: thresholds must fall and
    credits rise from one tier to the next (no overlap, in order), all within (0, 100]."""
    problems: list[tuple[int, str, str]] = []
    for i, t in enumerate(tiers):
        if not Decimal(0) < t.below <= Decimal(100):
            problems.append((i, "below", "must be greater than 0 and at most 100"))
        if not Decimal(0) < t.credit_percent <= Decimal(100):
            problems.append((i, "creditPercent", "must be greater than 0 and at most 100"))
        if i == 0:
            continue
        prev = tiers[i - 1]
        if t.below == prev.below:
            problems.append(
                (i, "below", f"tiers overlap: tier {i - 1} already starts below {prev.below}%")
            )
        elif t.below > prev.below:
            problems.append(
                (
                    i,
                    "below",
                    f"tiers out of order: {t.below}% follows {prev.below}% "
                    "(list thresholds from the highest down)",
                )
            )
        elif t.credit_percent <= prev.credit_percent:
            problems.append(
                (
                    i,
                    "creditPercent",
                    f"a lower tier must credit more: {t.credit_percent}% below {t.below}% "
                    f"is not more than {prev.credit_percent}% below {prev.below}%",
                )
            )
    return problems
