"""Credits rounded to the ISO 4217 minor unit of the agreement's currency: JPY has none,
EUR two decimals, BHD three. Tables at the tier boundaries; the statement states the rule."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from slm.domain.agreement import (
    Agreement,
    Clause,
    CreditPolicy,
    CreditTier,
    Money,
    SloMeasure,
    Term,
)
from slm.domain.credits import credit_amount
from slm.domain.errors import SpecError
from slm.domain.statement import Figures, Period, build_statement, statement_dict
from slm.services.sla import CostLine, Costs
from slm.services.statements import agreement
from slm.spec.currency import minor_units
from slm.spec.loader import load_workspace

ROOT = Path(__file__).resolve().parents[2]
OCTOBER = Period(
    "2026-10", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), "UTC"
)
TIERS = (
    CreditTier(Decimal("99.9"), Decimal("10")),
    CreditTier(Decimal("99.0"), Decimal("25")),
    CreditTier(Decimal("95.0"), Decimal("100")),
)


def _agreement(currency: str, fee: str, cap: str | None = None) -> Agreement:
    return Agreement(
        name="a",
        type="SLA",
        provider="p",
        customer="c",
        services=("s",),
        term=Term(date(2026, 1, 1)),
        time_zone="UTC",
        period="month",
        fee=Money(Decimal(fee), currency, minor_units(currency)),
        owner="o",
        budget_owner="b",
        clauses=(Clause("availability", SloMeasure("slo", "obj"), Decimal("99.9")),),
        credits=CreditPolicy(TIERS, None if cap is None else Decimal(cap)),
    )


def _figures(attainment: str) -> Figures:
    a = Fraction(Decimal(attainment)) / 100
    return Figures(attainment=a, adjusted=a, eligible_minutes=44640, excluded_minutes=0)


@pytest.mark.parametrize(("currency", "units"), [("JPY", 0), ("EUR", 2), ("BHD", 3), ("KWD", 3)])
def test_minor_units_come_from_iso_4217(currency: str, units: int) -> None:
    assert minor_units(currency) == units


CREDIT_CASES = [
    # id, currency, fee, adjusted attainment (%), credit
    ("JPY at the target: nothing", "JPY", "12345", "99.9", "0"),
    ("JPY just below: 10%, 1234.5 halves to even 1234", "JPY", "12345", "99.8999", "1234"),
    ("JPY 10% of 12355: 1235.5 halves to even 1236", "JPY", "12355", "99.8999", "1236"),
    ("JPY exactly 99.0 stays in the 10% tier", "JPY", "12345", "99.0", "1234"),
    ("JPY just below 99.0: 25%, 3086.25 -> 3086", "JPY", "12345", "98.9999", "3086"),
    ("JPY below 95: the whole fee", "JPY", "12345", "94.9999", "12345"),
    ("EUR at the target: nothing", "EUR", "12345.65", "99.9", "0.00"),
    ("EUR just below: 1234.565 halves to even 1234.56", "EUR", "12345.65", "99.8999", "1234.56"),
    ("EUR just below 99.0: 3086.4125 -> 3086.41", "EUR", "12345.65", "98.9999", "3086.41"),
    ("EUR 10% of 12345.75: 1234.575 -> 1234.58", "EUR", "12345.75", "99.0", "1234.58"),
    ("BHD at the target: nothing", "BHD", "1234.565", "99.9", "0.000"),
    ("BHD just below: 123.4565 halves to even 123.456", "BHD", "1234.565", "99.8999", "123.456"),
    ("BHD 10% of 1234.575: 123.4575 -> 123.458", "BHD", "1234.575", "99.0", "123.458"),
    ("BHD just below 99.0: 308.64125 -> 308.641", "BHD", "1234.565", "98.9999", "308.641"),
    ("BHD below 95: the whole fee", "BHD", "1234.565", "94.9999", "1234.565"),
]


@pytest.mark.parametrize(
    ("currency", "fee", "attainment", "credit"),
    [c[1:] for c in CREDIT_CASES],
    ids=[c[0] for c in CREDIT_CASES],
)
def test_credits_round_to_the_currency_minor_unit(
    currency: str, fee: str, attainment: str, credit: str
) -> None:
    st = build_statement(_agreement(currency, fee), OCTOBER, [_figures(attainment)], [[]], None)
    (clause,) = st.clauses
    assert str(clause.credit) == credit
    assert str(st.total_credit) == credit
    body = statement_dict(st)
    assert body["clauses"][0]["credit_amount"] == body["total_credit"] == credit


@pytest.mark.parametrize(
    ("currency", "fee", "cap", "credit"),
    [
        pytest.param("JPY", "1000", "33.35", "334", id="JPY-cap-333.5-to-334"),
        pytest.param("EUR", "1000.00", "33.3333", "333.33", id="EUR-cap-333.333-to-333.33"),
        pytest.param("BHD", "1000.000", "33.33335", "333.334", id="BHD-cap-333.3335-to-.334"),
    ],
)
def test_the_cap_is_rounded_the_same_way(currency: str, fee: str, cap: str, credit: str) -> None:
    st = build_statement(_agreement(currency, fee, cap), OCTOBER, [_figures("90")], [[]], None)
    assert str(st.cap) == credit
    (clause,) = st.clauses
    assert (str(clause.credit), clause.cap_applied) == (credit, True)


@pytest.mark.parametrize(
    ("currency", "unit", "places"),
    [
        ("JPY", "rounded to 1 JPY", "JPY has no minor unit in ISO 4217"),
        ("EUR", "rounded to 0.01 EUR", "EUR has 2 decimal place(s) in ISO 4217"),
        ("BHD", "rounded to 0.001 BHD", "BHD has 3 decimal place(s) in ISO 4217"),
    ],
)
def test_the_statement_states_the_rounding_rule(currency: str, unit: str, places: str) -> None:
    st = build_statement(_agreement(currency, "1000"), OCTOBER, [_figures("100")], [[]], None)
    rule = statement_dict(st)["rounding"]
    assert unit in rule and places in rule and "ROUND_HALF_EVEN" in rule


def test_credit_amount_defaults_to_cents() -> None:
    assert credit_amount(Decimal("0.25"), Decimal("10")) == Decimal("0.02")
    assert str(credit_amount(Decimal("0.25"), Decimal("10"), 3)) == "0.025"


def test_costs_keep_the_currency_decimals() -> None:
    lines = (
        CostLine("CC-1", "team", "a", "SLA", "c1", "JPY", Decimal("1234")),
        CostLine("CC-1", "team", "a", "SLA", "c2", "JPY", Decimal("-300")),
        CostLine("CC-1", "team", "b", "UC", "c", "BHD", Decimal("1.250")),
    )
    assert [(n, c, str(v)) for n, c, v in Costs("2026-10", lines, ()).by("cost_centre")] == [
        ("CC-1", "BHD", "1.250"),
        ("CC-1", "JPY", "934"),
    ]


# --- the currency in the spec -------------------------------------------------------------

AGREEMENT = """\
apiVersion: slm/v1
kind: Agreement
metadata:
  name: yen
spec:
  type: SLA
  provider: Shop KK
  customer: ACME
  services: [checkout]
  term: {start: 2026-01-01}
  timeZone: Asia/Tokyo
  fee: {amount: "120000", currency: JPY}
  owner: shop-team
  budgetOwner: CC-1
  credits:
    tiers: [{below: 99.9, creditPercent: 10}]
  clauses:
    - name: availability
      slo: checkout-availability
      target: 99.9
"""


def _load(tmp_path: Path, text: str) -> Agreement:
    shutil.copytree(ROOT / "examples" / "shop", tmp_path / "shop")
    (tmp_path / "agreement.yaml").write_text(text, encoding="utf-8")
    return agreement(load_workspace([tmp_path]), "yen")


def test_the_spec_mapper_looks_up_the_minor_unit(tmp_path: Path) -> None:
    fee = _load(tmp_path, AGREEMENT).fee
    assert (fee.amount, fee.currency, fee.minor_units) == (Decimal("120000"), "JPY", 0)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "currency: JPY",
            "currency: ZZZ",
            "12: Agreement/yen: spec.fee.currency: unknown ISO 4217 currency code 'ZZZ'",
            id="unknown-currency",
        ),
        pytest.param(
            '"120000"',
            '"120000.50"',
            "12: Agreement/yen: spec.fee.amount: 120000.50 has more decimals than JPY allows "
            "(JPY has no minor unit)",
            id="yen-with-sen",
        ),
        pytest.param(
            '{amount: "120000", currency: JPY}',
            '{amount: "1.2345", currency: BHD}',
            "12: Agreement/yen: spec.fee.amount: 1.2345 has more decimals than BHD allows "
            "(BHD has 3 decimal place(s))",
            id="dinar-with-four-decimals",
        ),
    ],
)
def test_bad_currencies_are_spec_problems(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in AGREEMENT
    with pytest.raises(SpecError) as e:
        _load(tmp_path, AGREEMENT.replace(old, new, 1))
    problems = [f"{p.line}: {p.kind}/{p.name}: {p.field}: {p.message}" for p in e.value.problems]
    assert expected in problems, problems


def test_trailing_zeros_within_the_minor_unit_are_fine(tmp_path: Path) -> None:
    fee = _load(tmp_path, AGREEMENT.replace('"120000"', '"120000.00"')).fee
    assert fee.amount == Decimal("120000") and fee.minor_units == 0
