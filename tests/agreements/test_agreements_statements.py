"""Statements of the example workspace: golden files, same bytes on recompute, numbers checked
by brute force against the Parquet data, storage on SQLite and PostgreSQL, and the CLI.

Golden files: regenerate with ``SLM_UPDATE_GOLDEN=1 pytest tests/agreements`` after a change
that is meant to alter statements, and review the diff.
"""

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

import numpy as np
import pyarrow.parquet as pq
import pytest

from slm.domain.errors import NotFoundError, StoreError
from slm.domain.statement import attainment_value, upgrade_statement
from slm.services.errors import PeriodError
from slm.services.ports import FixedClock
from slm.services.sla import costs, record_statement, simulate
from slm.services.statements import compute_statement, statement_json
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.statements import StatementRepository

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
AGREEMENTS = ["acme-checkout-sla", "cloudco-lb-uc", "platform-checkout-ola"]
NOW = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def ws(examples_dir: Path) -> Workspace:
    # Load by the relative path a user would type, so sources in the statement read
    # ``examples/...`` whatever the checkout's location.
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return load_workspace(["examples"])
    finally:
        os.chdir(cwd)


def _statement(ws: Workspace, name: str, period: str = "2026-10") -> Any:
    cwd = os.getcwd()
    os.chdir(ROOT)  # the incident file path is relative to the spec file
    try:
        return compute_statement(ws, name, period, SourceFactory())
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("name", AGREEMENTS)
def test_golden_statements(ws: Workspace, name: str) -> None:
    text = statement_json(_statement(ws, name))
    golden = GOLDEN / f"{name}-2026-10.json"
    if os.environ.get("SLM_UPDATE_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_recomputing_gives_the_same_bytes(ws: Workspace) -> None:
    first = statement_json(_statement(ws, "acme-checkout-sla"))
    again = statement_json(_statement(ws, "acme-checkout-sla"))
    assert first == again


def test_the_json_has_the_documented_keys(ws: Workspace) -> None:
    body = json.loads(statement_json(_statement(ws, "acme-checkout-sla")))
    assert {"agreement", "period", "clauses", "total_credit"} <= set(body)
    assert body["period"]["start"] == "2026-10-01T00:00:00+01:00"  # London, BST
    assert body["period"]["end"] == "2026-11-01T00:00:00+00:00"  # GMT: 31 days + 1 hour
    assert body["period"]["minutes"] == 31 * 24 * 60 + 60
    for c in body["clauses"]:
        assert {
            "clause",
            "target",
            "attainment",
            "adjusted_attainment",
            "downtime_minutes",
            "excluded_minutes",
            "breached",
            "credit_percent",
            "credit_amount",
            "explanation",
        } <= set(c)
        Decimal(c["credit_amount"])  # a decimal string
    assert "ROUND_HALF_EVEN" in body["rounding"]
    assert len(body["inputs"]["sha256"]) == 64


def _data(examples_dir: Path) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    table = pq.read_table(examples_dir / "data" / "shop.parquet").to_pydict()
    ts = np.asarray(table["timestamp"], dtype=np.int64)
    series = np.asarray(table["series"])
    value = np.asarray(table["value"], dtype=np.float64)
    return {n: (ts[series == n], value[series == n]) for n in set(series.tolist())}


def test_example_figures_match_brute_force(ws: Workspace, examples_dir: Path) -> None:
    """checkout-availability and checkout-downtime recomputed with plain numpy masks."""
    data = _data(examples_dir)
    st = _statement(ws, "acme-checkout-sla")
    start = int(datetime(2026, 9, 30, 23, tzinfo=UTC).timestamp())
    end = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
    ts, good = data["checkout_requests_good"]
    _, total = data["checkout_requests_total"]
    in_period = (ts >= start) & (ts < end)
    # approved exclusions: Sundays 02:00-03:00 London (4, 11, 18 Oct BST; 25 Oct GMT) and
    # the ACME load test 13:30-14:00 UTC on 14 Oct; the CDN window is pending.
    windows = [
        (datetime(2026, 10, d, h, tzinfo=UTC), datetime(2026, 10, d, h + 1, tzinfo=UTC))
        for d, h in ((4, 1), (11, 1), (18, 1), (25, 2))
    ] + [(datetime(2026, 10, 14, 13, 30, tzinfo=UTC), datetime(2026, 10, 14, 14, tzinfo=UTC))]
    excluded = np.zeros_like(in_period)
    for s, e in windows:
        excluded |= (ts >= s.timestamp()) & (ts < e.timestamp())
    keep = in_period & ~excluded
    avail = st.clauses[0].figures
    assert avail.attainment == Fraction(good[in_period].sum()) / Fraction(total[in_period].sum())
    assert avail.adjusted == Fraction(good[keep].sum()) / Fraction(total[keep].sum())
    assert avail.excluded_minutes == 270
    # downtime: 5-minute intervals (aligned to the period start) with more than 5% errors
    bad = total - good
    idx = (ts[in_period] - start) // 300
    k = int(idx.max()) + 1
    iv_bad = np.bincount(idx, bad[in_period], minlength=k)
    iv_tot = np.bincount(idx, total[in_period], minlength=k)
    down_iv = iv_bad * 20 > iv_tot
    down_min = np.repeat(down_iv, 5)
    exc_min = excluded[in_period]
    dt = st.clauses[1].figures
    assert dt.downtime_minutes == int(down_min.sum()) == 45
    assert dt.excluded_downtime_minutes == int((down_min & exc_min).sum()) == 15
    assert dt.adjusted == 1 - Fraction(int((down_min & ~exc_min).sum()), int((~exc_min).sum()))
    assert st.clauses[1].breached  # 30 counted minutes > 0.05% of the month


def test_example_incident_clause(ws: Workspace) -> None:
    st = _statement(ws, "acme-checkout-sla")
    inc = st.clauses[3]
    assert inc.figures.adjusted == Fraction(2, 3)  # INC-1002 missed its P1 response
    assert inc.breached
    assert inc.tier is not None and inc.tier.credit_percent == 10  # below 75%
    assert inc.credit == Decimal("2000.00")
    reasons = [e.reason for e in inc.figures.entries]
    assert any("INC-1002" in r and "response 1h15m of 30m breached" in r for r in reasons)
    assert any("INC-1004 (P4): no target" in r for r in reasons)
    assert st.total_credit == Decimal("2000.00")
    assert st.clauses[0].floor_met is True
    assert inc.exit is not None and inc.exit.consecutive == 1  # September was met


def test_exit_running_count_over_the_term(ws: Workspace) -> None:
    sep = _statement(ws, "acme-checkout-sla", "2026-09")
    assert sep.clauses[3].exit is not None
    assert (sep.clauses[3].exit.consecutive, sep.clauses[3].exit.in_window) == (0, 0)


def test_statement_is_stored_with_its_inputs(ws: Workspace, store: Store) -> None:
    st = _statement(ws, "acme-checkout-sla")
    clock = FixedClock(NOW)
    assert record_statement(store, st, clock) == "new"
    assert record_statement(store, _statement(ws, "acme-checkout-sla"), clock) == "unchanged"
    with store.transaction() as repos:
        saved = StatementRepository(repos.connection).latest("acme-checkout-sla", "2026-10")
    assert saved is not None
    assert saved.body == statement_json(st)
    assert saved.inputs == st.inputs
    assert saved.total_credit == "2000.00" and saved.currency == "EUR"


def test_different_bytes_for_the_same_inputs_are_refused(ws: Workspace, store: Store) -> None:
    st = _statement(ws, "cloudco-lb-uc")
    record_statement(store, st, FixedClock(NOW))
    with store.transaction() as repos:
        record = StatementRepository(repos.connection).latest("cloudco-lb-uc", "2026-10")
    assert record is not None
    from dataclasses import replace

    with pytest.raises(StoreError, match="bytes differ"), store.transaction() as repos:
        StatementRepository(repos.connection).save(replace(record, body=record.body + " "))


@pytest.mark.parametrize("name", AGREEMENTS)
def test_statements_before_the_json_convention_upgrade_exactly(name: str) -> None:
    """golden/v0 holds the statements as slm wrote them before docs/json.md (percents,
    no schema): upgraded, each says exactly what the v1 golden file says."""
    old = json.loads((GOLDEN / "v0" / f"{name}-2026-10.json").read_text(), parse_float=Decimal)
    new = json.loads((GOLDEN / f"{name}-2026-10.json").read_text(), parse_float=Decimal)
    assert "schema" not in old and new["schema"] == "slm.statement/v1"
    assert old != new
    assert upgrade_statement(old) == new


def test_a_statement_recorded_before_the_convention_is_not_a_conflict(
    ws: Workspace, store: Store
) -> None:
    st = _statement(ws, "cloudco-lb-uc")
    record_statement(store, st, FixedClock(NOW))
    with store.transaction() as repos:
        record = StatementRepository(repos.connection).latest("cloudco-lb-uc", "2026-10")
    assert record is not None
    from dataclasses import replace

    from slm.store.schema import sla_statements

    old_body = (GOLDEN / "v0" / "cloudco-lb-uc-2026-10.json").read_text(encoding="utf-8")
    old = json.loads(old_body)
    old["inputs"] = record.inputs  # the same inputs as here (paths differ from the golden)
    v0 = json.dumps(old, indent=2, ensure_ascii=False) + "\n"
    with store.transaction() as repos:  # as if recorded by an earlier slm
        repos.connection.execute(
            sla_statements.update().values(
                body=v0, body_sha256=replace(record, body=v0).body_sha256
            )
        )
    assert record_statement(store, st, FixedClock(NOW)) == "unchanged"
    with store.transaction() as repos:
        kept = StatementRepository(repos.connection).latest("cloudco-lb-uc", "2026-10")
    assert kept is not None and kept.body == v0  # the record stays as it was recorded
    # an earlier version that says something else is still refused
    changed = v0.replace('"attainment": 99.899194', '"attainment": 99.899195')
    assert changed != v0
    with pytest.raises(StoreError, match="bytes differ"), store.transaction() as repos:
        StatementRepository(repos.connection).save(replace(record, body=changed))
    with store.transaction() as repos:
        repos.connection.execute(sla_statements.update().values(body=changed))
    with pytest.raises(StoreError, match="bytes differ"):
        record_statement(store, st, FixedClock(NOW))


def test_costs_per_cost_centre_and_team(ws: Workspace) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        c = costs(ws, "2026-10", SourceFactory())
    finally:
        os.chdir(cwd)
    assert c.by("cost_centre") == [
        ("CC-3100-PLATFORM", "EUR", Decimal("750.00")),
        ("CC-4100-SHOP", "EUR", Decimal("2000.00")),
        ("CC-4100-SHOP", "USD", Decimal("-300.00")),  # owed to us by CloudCo
    ]
    assert c.by("team") == [
        ("platform-team", "EUR", Decimal("750.00")),
        ("shop-team", "EUR", Decimal("2000.00")),
        ("shop-team", "USD", Decimal("-300.00")),
    ]


def test_simulate_replays_candidate_targets(ws: Workspace) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        sims = simulate(
            ws,
            SourceFactory(),
            [Decimal("99.9"), Decimal("99.95")],
            3,
            datetime(2026, 11, 1, tzinfo=UTC),
            names=["acme-checkout-sla"],
            clause="checkout-availability",
        )
    finally:
        os.chdir(cwd)
    [sim] = sims
    at_999, at_9995 = sim.candidates
    assert [p.period for p in at_999.periods] == ["2026-08", "2026-09", "2026-10"]
    statement = _statement(ws, "acme-checkout-sla").clauses[0].figures.adjusted
    assert at_999.periods[-1].attainment == statement
    assert at_999.breached_periods == 0 and at_999.total_credit == 0
    assert at_9995.breached_periods == 1  # October: 99.926% < 99.95%
    # tiers move with the target (99.9 -> 99.95): the first tier, 10% of EUR 20000
    assert at_9995.total_credit == Decimal("2000.00")
    minutes = statement_minutes = 31 * 24 * 60 + 60
    assert at_999.periods[-1].budget_minutes == pytest.approx(0.001 * minutes)
    assert statement_minutes == minutes


def test_unknown_agreement_and_bad_period(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="known: acme-checkout-sla"):
        compute_statement(ws, "nope", "2026-10", SourceFactory())
    with pytest.raises(PeriodError, match="measured per month"):
        compute_statement(ws, "acme-checkout-sla", "2026-Q4", SourceFactory())


def test_ratio_values_round_half_even() -> None:
    assert attainment_value(Fraction(999995, 1000000), 6) == 0.999995
    assert attainment_value(Fraction(1, 8), 2) == 0.12  # 0.125: half to even, down
    assert attainment_value(Fraction(3, 8), 2) == 0.38  # 0.375: half to even, up
    assert attainment_value(Fraction(2, 3)) == 0.66666667  # 8 decimals by default


# --- the CLI ------------------------------------------------------------------------------
# Two commands run as real processes (exit codes and messages as a user sees them); the
# rest run in-process through Typer's runner to keep the suite fast.


def slm(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def run(*args: str) -> Any:
    from typer.testing import CliRunner

    from slm.cli import app

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    finally:
        os.chdir(cwd)


def test_cli_statement_is_recorded_once_and_matches_the_golden_file(
    examples_dir: Path, tmp_path: Path
) -> None:
    args = ("sla", "statement", str(ROOT / "examples"), "--agreement", "cloudco-lb-uc",
            "--period", "2026-10", "--format", "json", "--record",
            "--workspace", str(tmp_path))  # fmt: skip
    first, second = slm(*args, cwd=ROOT.parent), slm(*args, cwd=ROOT.parent)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "statement new" in first.stderr and "statement unchanged" in second.stderr
    assert (tmp_path / ".slm" / "slm.db").is_file()
    assert first.stdout == second.stdout
    # absolute paths only change the sources in the explanation, never the numbers
    golden = json.loads((GOLDEN / "cloudco-lb-uc-2026-10.json").read_text(encoding="utf-8"))
    body = json.loads(first.stdout)
    assert body["inputs"] == golden["inputs"]
    assert body["total_credit"] == golden["total_credit"] == "300.00"


def test_cli_statement_bad_period_is_a_clear_error(examples_dir: Path) -> None:
    r = slm("sla", "statement", "examples", "--agreement", "acme-checkout-sla",
            "--period", "October")  # fmt: skip
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "is measured per month; give a period like 2026-10" in r.stderr


def test_cli_statement_json_table_and_html(examples_dir: Path, tmp_path: Path) -> None:
    r = run("sla", "statement", "examples", "--agreement", "cloudco-lb-uc", "--period", "2026-10",
            "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stdout == (GOLDEN / "cloudco-lb-uc-2026-10.json").read_text(encoding="utf-8")
    r = run("sla", "statement", "examples", "--agreement", "acme-checkout-sla",
            "--period", "2026-10")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "total credit: EUR 2000.00" in r.stdout
    assert "ROUND_HALF_EVEN" in r.stdout
    html = tmp_path / "s.html"
    r = run("sla", "statement", "examples", "--agreement", "acme-checkout-sla",
            "--period", "2026-10", "--format", "html", "-o", str(html))  # fmt: skip
    assert r.exit_code == 0, r.output
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "Total credit: EUR 2000.00" in page


def test_cli_costs_and_simulate_json(examples_dir: Path) -> None:
    r = run("sla", "costs", "examples", "--period", "2026-10", "--format", "json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert {"cost_centre": "CC-3100-PLATFORM", "currency": "EUR", "credits": "750.00"} in body[
        "by_cost_centre"
    ]
    r = run("sla", "simulate", "examples", "--targets", "99.5,99.9,99.95", "--history", "3mo",
            "--at", "2026-11-01T00:00:00Z", "--agreement", "cloudco-lb-uc",
            "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["schema"] == "slm.sla-simulation/v1"
    [sim] = doc["items"]
    assert [c["target"] for c in sim["candidates"]] == [0.995, 0.999, 0.9995]
    assert [p["period"] for p in sim["candidates"][0]["periods"]] == [
        "2026-08",
        "2026-09",
        "2026-10",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--targets", "99.9,abc"), "'abc' is not a percent"),
        (("--targets", "99.9", "--history", "12 months"), "e.g. 12mo or 4q"),
    ],
)
def test_cli_simulate_bad_options(examples_dir: Path, args: tuple[str, ...], message: str) -> None:
    r = run("sla", "simulate", "examples", *args)
    assert r.exit_code == 2
    assert message in " ".join(r.output.split())
