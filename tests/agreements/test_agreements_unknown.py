"""A period without data, or with too little, has an *unknown* attainment: not met, not
breached, its credit undetermined (never 0), and `slm sla statement` exits 8. A period
outside the agreement's term has no statement at all (exit 2, a clear message)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from slm.domain.statement import ClauseResult
from slm.services.errors import OutsideTermError, UndeterminedError
from slm.services.ports import FixedClock
from slm.services.sla import costs, record_statement, simulate
from slm.services.statements import compute_statement, statement_json
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store

ROOT = Path(__file__).resolve().parents[2]


def _in_root(fn: Any, *args: Any, **kwargs: Any) -> Any:
    cwd = os.getcwd()
    os.chdir(ROOT)  # incident file paths are relative to the spec file
    try:
        return fn(*args, **kwargs)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def examples(examples_dir: Path) -> Workspace:
    return _in_root(load_workspace, ["examples"])


def _statement(ws: Workspace, name: str, period: str) -> Any:
    return _in_root(compute_statement, ws, name, period, SourceFactory())


def slm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


# --- no data: the example data end on 2026-11-01, the term runs to 2028 ------------------


def test_a_period_without_data_is_unknown_not_met(examples: Workspace) -> None:
    st = _statement(examples, "acme-checkout-sla", "2026-11")
    by = {c.clause.name: c for c in st.clauses}
    for name in ("checkout-availability", "checkout-downtime", "payments-availability"):
        c: ClauseResult = by[name]
        assert c.status == "unknown" and not c.breached
        assert c.figures.coverage == 0
        assert c.credit is None and c.credit_before_cap is None and c.credit_percent is None
        assert "attainment unknown (no data: coverage 0% of the eligible minutes)" in (
            c.status_reason
        )
    # the incident file has no incident in November: nothing was measured
    assert by["incident-handling"].status == "unknown"
    assert by["incident-handling"].status_reason == (
        "attainment unknown (no data: no incident of the agreement's services with a "
        "handling target was decided in this period)"
    )
    assert st.total_credit is None and not st.credits_determined
    assert st.determined_credit == Decimal("0.00")
    body = json.loads(statement_json(st))
    assert body["credits_determined"] is False and body["total_credit"] is None
    clause = body["clauses"][0]
    assert (clause["status"], clause["breached"], clause["credit_amount"]) == (
        "unknown",
        None,
        None,
    )
    assert (clause["coverage"], clause["minimum_coverage"]) == (0.0, 0.9)


def test_a_measured_period_is_met_or_breached_as_before(examples: Workspace) -> None:
    st = _statement(examples, "acme-checkout-sla", "2026-10")
    assert [c.status for c in st.clauses] == ["met", "breached", "met", "breached"]
    assert st.credits_determined and st.total_credit == Decimal("2000.00")


def test_cli_statement_without_data_exits_8_and_says_why(examples_dir: Path) -> None:
    r = slm("sla", "statement", "examples", "--agreement", "acme-checkout-sla",
            "--period", "2026-11")  # fmt: skip
    assert r.returncode == 8, r.stderr
    assert "Traceback" not in r.stderr
    assert "the credits are undetermined" in r.stderr
    assert "checkout-availability: attainment unknown (no data" in r.stderr
    assert "not breached" not in r.stdout
    assert "total credit: undetermined" in r.stdout
    assert "unknown" in r.stdout and "undetermined" in r.stdout
    assert "EUR 0.00\n" not in r.stdout.replace("determined clauses: EUR 0.00", "")


def test_cli_record_refuses_an_undetermined_statement(examples_dir: Path, tmp_path: Path) -> None:
    r = slm("sla", "statement", "examples", "--agreement", "cloudco-lb-uc", "--period", "2026-11",
            "--format", "json", "--record", "--workspace", str(tmp_path))  # fmt: skip
    assert r.returncode == 8, r.stderr
    assert "not recorded:" in r.stderr
    assert json.loads(r.stdout)["total_credit"] is None
    assert "statement new" not in r.stderr


def test_record_statement_refuses_unknown_attainment(examples: Workspace, store: Store) -> None:
    st = _statement(examples, "cloudco-lb-uc", "2026-11")
    with pytest.raises(UndeterminedError, match="credits are undetermined"):
        record_statement(store, st, FixedClock(datetime(2026, 12, 2, tzinfo=UTC)))


def test_costs_show_undetermined_credits(examples: Workspace) -> None:
    result = _in_root(costs, examples, "2026-11", SourceFactory())
    assert result.undetermined
    assert all(line.amount is None for line in result.undetermined)
    assert any(total is None for _, _, total in result.by("cost_centre"))


def test_cli_costs_with_unknown_attainment_exit_8(examples_dir: Path) -> None:
    r = slm("sla", "costs", "examples", "--period", "2026-11", "--format", "json")
    assert r.returncode == 8, r.stderr
    body = json.loads(r.stdout)
    assert any(line["amount"] is None for line in body["lines"])
    assert "credits undetermined" in r.stderr


def test_simulate_marks_unknown_periods(examples: Workspace) -> None:
    (sim,) = _in_root(
        simulate,
        examples,
        SourceFactory(),
        [Decimal("99.9")],
        3,
        datetime(2026, 12, 15, tzinfo=UTC),
        names=["acme-checkout-sla"],
        clause="checkout-availability",
    )
    (cand,) = sim.candidates
    assert [p.period for p in cand.periods] == ["2026-09", "2026-10", "2026-11"]
    assert [p.breached for p in cand.periods] == [False, False, None]
    assert cand.periods[-1].credit is None and cand.unknown_periods == 1


# --- the term -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "side"),
    [("2026-07", "before the term starts"), ("2028-08", "after the term ended")],
)
def test_a_period_outside_the_term_is_refused(examples: Workspace, period: str, side: str) -> None:
    with pytest.raises(OutsideTermError, match=side) as e:
        _statement(examples, "acme-checkout-sla", period)
    assert "term 2026-08-01 .. 2028-07-31" in str(e.value)


def test_cli_outside_the_term_is_a_clear_error(examples_dir: Path) -> None:
    r = slm("sla", "statement", "examples", "--agreement", "acme-checkout-sla",
            "--period", "2026-03")  # fmt: skip
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "lies before the term starts (term 2026-08-01 .. 2028-07-31" in r.stderr
    assert r.stdout == ""


def test_costs_skip_agreements_outside_their_term(examples: Workspace) -> None:
    result = _in_root(costs, examples, "2026-03", SourceFactory())
    assert any(
        s.startswith("acme-checkout-sla (") and "before the term starts" in s
        for s in result.skipped
    )
    assert "acme-checkout-sla" not in {line.agreement for line in result.lines}
    # cloudco-lb-uc's term covers March 2026, which has no data: undetermined, not 0
    assert [(x.agreement, x.amount) for x in result.lines] == [("cloudco-lb-uc", None)]


# --- coverage below the minimum -------------------------------------------------------------

AGREEMENT = """\
apiVersion: slm/v1
kind: Agreement
metadata:
  name: coverage
spec:
  type: SLA
  provider: Shop Ltd
  customer: ACME
  services: [checkout]
  term: {{start: {start}}}
  timeZone: {zone}
  fee: {{amount: "1000.00", currency: EUR}}
  owner: shop-team
  budgetOwner: CC-1
  {minimum}
  credits:
    tiers: [{{below: 99.99, creditPercent: 10}}]
  clauses:
    - name: strict
      slo: checkout-availability
      target: 99.9
    - name: lenient
      slo: checkout-availability
      target: 99.9
      minimumCoverage: 99
"""


def _coverage_ws(
    tmp_path: Path, *, start: str = "2026-08-01", minimum: str = "", zone: str = "Europe/London"
) -> Workspace:
    spec = tmp_path / "agreement.yaml"
    text = AGREEMENT.format(start=start, minimum=minimum, zone=zone)
    spec.write_text(text, encoding="utf-8")
    return _in_root(load_workspace, ["examples/shop", str(spec)])


def test_coverage_below_the_minimum_is_unknown(examples_dir: Path, tmp_path: Path) -> None:
    # the example data start on 2026-08-01T00:00Z, an hour into August in Europe/London:
    # August's coverage is 1 - 60 / 44640 = 99.866 %
    ws = _coverage_ws(tmp_path, minimum="minimumCoverage: 99.9")
    st = _statement(ws, "coverage", "2026-08")
    strict, lenient = st.clauses
    assert strict.figures.coverage == lenient.figures.coverage
    assert strict.figures.coverage is not None
    assert strict.figures.coverage == 1 - Fraction(60, 44640)
    assert strict.status == "unknown" and strict.credit is None
    assert "insufficient coverage: 99.866% of the eligible minutes were measured, " in (
        strict.status_reason
    )
    assert "the minimum is 99.9%" in strict.status_reason
    # the clause's own minimum (99 %) wins over the agreement's (99.9 %)
    assert lenient.status == "met" and lenient.credit == Decimal("0.00")
    assert lenient.minimum_coverage == Decimal(99)
    assert st.total_credit is None and st.determined_credit == Decimal("0.00")


def test_default_minimum_coverage_is_90_percent(examples_dir: Path, tmp_path: Path) -> None:
    st = _statement(_coverage_ws(tmp_path), "coverage", "2026-08")
    assert [c.status for c in st.clauses] == ["met", "met"]
    assert [c.minimum_coverage for c in st.clauses] == [Decimal(90), Decimal(99)]


def test_a_term_starting_mid_period_counts_only_its_minutes(
    examples_dir: Path, tmp_path: Path
) -> None:
    st = _statement(_coverage_ws(tmp_path, start="2026-10-16", zone="UTC"), "coverage", "2026-10")
    c = st.clauses[0]
    assert c.figures.eligible_minutes == 16 * 1440  # 16 .. 31 October, UTC
    notes = [e.reason for e in c.figures.entries if e.type == "note"]
    assert any(
        f"{15 * 1440} minute(s) of the period lie outside the agreement's term" in n for n in notes
    )
    assert c.status in ("met", "breached")


@pytest.mark.parametrize("value", ["-1", "100.5", "lots"])
def test_minimum_coverage_must_be_a_percent(examples_dir: Path, tmp_path: Path, value: str) -> None:
    from slm.domain.errors import SpecError

    with pytest.raises(SpecError, match="minimumCoverage"):
        _coverage_ws(tmp_path, minimum=f"minimumCoverage: {value!r}")
