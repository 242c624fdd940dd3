"""The HTML statement shows each breach's attribution (component, tier, party, provider,
hosting, responsibility, minutes, share, basis), escaped like every other text."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from slm.domain.agreement import Agreement, Clause, CreditPolicy, CreditTier, Money, SloMeasure
from slm.domain.agreement import Term as AgreementTerm
from slm.domain.attribution import BreachShare
from slm.domain.statement import Figures, Period, build_statement, statement_dict
from slm.render_statement import statement_html
from slm.services.statements import compute_statement
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace

ROOT = Path(__file__).resolve().parents[2]


def _rows(page: str) -> list[list[str]]:
    """The rows of the breach attribution tables, as cell texts."""
    tables = re.findall(r'<table class="attribution">(.*?)</table>', page, re.S)
    rows = [r for t in tables for r in re.findall(r"<tr>(.*?)</tr>", t, re.S)]
    return [re.findall(r"<td>(.*?)</td>", r, re.S) for r in rows if "<td>" in r]


def test_the_example_breach_is_attributed_in_the_html_statement(examples_dir: Path) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        ws = load_workspace(["examples"])
        st = compute_statement(ws, "acme-checkout-sla", "2026-10", SourceFactory())
    finally:
        os.chdir(cwd)
    page = statement_html(statement_dict(st))
    expected = [
        [
            s.component or "-",
            s.tier or "-",
            s.party or "-",
            s.provider or "-",
            s.hosting or "-",
            s.responsibility or "-",
            "-" if s.minutes is None else str(s.minutes),
            f"{float(s.share) * 100:.2f}%",
            s.basis,
        ]
        for c in st.clauses
        if c.breach_attribution is not None
        for s in c.breach_attribution
    ]
    breached = [c.clause.name for c in st.clauses if c.breached]
    assert breached == ["checkout-downtime", "incident-handling"]
    assert _rows(page) == expected
    assert page.count("<h3>Breach attribution</h3>") == 2
    # the example's measured downtime breach (docs/agreements.md): checkout 29 min, payments 1
    assert ["checkout", "service", "shop-team", "internal", "on-premises", "shop-team", "29",
            "96.67%", "measured"] in _rows(page)  # fmt: skip


def test_attribution_text_is_escaped_and_unbreached_clauses_show_none() -> None:
    ag = Agreement(
        name="a",
        type="UC",
        provider="CloudCo",
        customer="Shop",
        services=("s",),
        term=AgreementTerm(date(2026, 1, 1)),
        time_zone="UTC",
        period="month",
        fee=Money(Decimal("100.00"), "EUR"),
        owner="o",
        budget_owner="b",
        clauses=(
            Clause("up", SloMeasure("slo", "o"), Decimal("99.9")),
            Clause("fine", SloMeasure("slo", "o"), Decimal("99.9")),
        ),
        credits=CreditPolicy((CreditTier(Decimal("99.9"), Decimal("10")),)),
    )
    period = Period("2026-10", datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC),
                    "UTC")  # fmt: skip
    bad, good = Fraction(99, 100), Fraction(1)
    share = BreachShare("<script>lb</script>", "vendor", "Cloud & Co", "aws", "public-cloud",
                        "\"ops\"", 12, Fraction(1), "measured")  # fmt: skip
    st = build_statement(
        ag,
        period,
        [Figures(bad, bad, 100, 0), Figures(good, good, 100, 0)],
        [[], []],
        None,
        attributions=[(share,), (share,)],
    )
    page = statement_html(statement_dict(st))
    assert "<script>" not in page
    assert _rows(page) == [
        [
            "&lt;script&gt;lb&lt;/script&gt;",
            "vendor",
            "Cloud &amp; Co",
            "aws",
            "public-cloud",
            "&#34;ops&#34;",
            "12",
            "100.00%",
            "measured",
        ]
    ]
    assert page.count("<h3>Breach attribution</h3>") == 1  # "fine" was not breached
