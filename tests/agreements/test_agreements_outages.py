"""Outage clauses: availability from the impact intervals of the incidents recorded in the
store (the union per clause, overlaps counted once, clipped to the period), with business
hours and exclusions applied as for every minute-counted clause; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from slm.domain.agreement import OutageMeasure
from slm.domain.errors import SpecError, StoreError
from slm.domain.incident import downtime_by_service
from slm.services.incidents import IncidentService
from slm.services.ports import FixedClock
from slm.services.statements import (
    EMPTY_STORE_SHA256,
    agreement,
    compute_statement,
    reads_store_incidents,
    statement_json,
)
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
OCTOBER = 31 * 1440  # minutes, UTC

AGREEMENT = """\
apiVersion: slm/v1
kind: Agreement
metadata:
  name: outages
spec:
  type: SLA
  provider: Shop Ltd
  customer: ACME
  services: [checkout, payments]
  term: {start: 2026-01-01}
  timeZone: UTC
  fee: {amount: "1000.00", currency: EUR}
  owner: shop-team
  budgetOwner: CC-1
  calendar: uk-business
  credits:
    tiers: [{below: 99.9, creditPercent: 10}, {below: 99, creditPercent: 25}]
  clauses:
    - name: checkout-outages
      outages: {services: [checkout]}
      target: 99.9
    - name: all-outages
      outages: {}
      target: 99.9
    - name: p1-outages
      outages: {services: [checkout], priorities: [P1]}
      target: 99.9
    - name: business-hours-outages
      outages: {services: [checkout]}
      businessHoursOnly: true
      target: 99.9
---
apiVersion: slm/v1
kind: Exclusion
metadata:
  name: change-window
spec:
  category: scheduled-maintenance
  services: [checkout]
  start: 2026-10-20T02:00:00
  duration: 30m
  timeZone: UTC
  approval: {state: approved, by: CAB}
"""


def _specs(root: Path, text: str = AGREEMENT) -> Path:
    specs = root / "specs"
    shutil.copytree(ROOT / "examples" / "shop", specs / "shop")
    shutil.copy(ROOT / "examples" / "agreements" / "calendars.yaml", specs / "calendars.yaml")
    (specs / "agreement.yaml").write_text(text, encoding="utf-8")
    return specs


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return load_workspace([_specs(tmp_path_factory.mktemp("outages"))])


def t(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _incident(
    svc: IncidentService,
    service: str,
    priority: str,
    impacts: list[tuple[str, datetime, datetime | None]],
) -> str:
    inc = svc.open("outage", service, priority=priority, at=impacts[0][1])  # type: ignore[arg-type]
    for on, start, end in impacts:
        svc.set_impact(inc.id, on, start, end)
    return inc.id


def _record(store: Store) -> dict[str, str]:
    svc = IncidentService(store, clock=FixedClock(t(2, 0, month=11)))
    return {
        # Wednesday 14 October, 10:00-11:00 and 10:30-12:00 UTC: overlap counted once
        "a": _incident(svc, "checkout", "P1", [("checkout", t(14, 10), t(14, 11))]),
        "b": _incident(
            svc,
            "checkout",
            "P3",
            [("checkout", t(14, 10, 30), t(14, 12)), ("payments", t(14, 10, 30), t(14, 11))],
        ),
        # starts in September: only its October part counts
        "c": _incident(svc, "checkout", "P1", [("checkout", t(30, 23, 30, month=9), t(1, 0, 30))]),
        # inside the approved change window for 30 of its 40 minutes (02:00-02:30)
        "d": _incident(svc, "checkout", "P2", [("checkout", t(20, 1, 50), t(20, 2, 30))]),
        # payments only, on Saturday 17 October
        "e": _incident(svc, "payments", "P1", [("payments", t(17, 8), t(17, 9))]),
        # still open: counts to the end of the period
        "f": _incident(svc, "checkout", "P1", [("checkout", t(31, 23), None)]),
    }


def _statement(ws: Workspace, store: Store | None) -> Any:
    return compute_statement(ws, "outages", "2026-10", SourceFactory(), store=store)


def test_the_outages_measure_is_read(ws: Workspace) -> None:
    ag = agreement(ws, "outages")
    assert ag.clauses[0].measure == OutageMeasure(("checkout",))
    assert ag.clauses[1].measure == OutageMeasure(("checkout", "payments"))
    assert ag.clauses[2].measure == OutageMeasure(("checkout",), ("P1",))
    assert reads_store_incidents(ws)


def test_outage_clauses_measure_the_union_of_impacts(ws: Workspace, store: Store) -> None:
    ids = _record(store)
    st = _statement(ws, store)
    by = {c.clause.name: c for c in st.clauses}

    # checkout: 10:00-12:00 (a and b overlap: 120, not 150) + 30 (c, clipped) + 40 (d) + 60 (f)
    c = by["checkout-outages"]
    assert c.figures.downtime_minutes == 120 + 30 + 40 + 60
    assert c.figures.eligible_minutes == OCTOBER
    assert c.figures.excluded_minutes == 30
    assert c.figures.excluded_downtime_minutes == 30
    assert c.figures.attainment == 1 - Fraction(250, OCTOBER)
    assert c.figures.adjusted == 1 - Fraction(220, OCTOBER - 30)
    assert c.figures.coverage == 1
    assert c.status == "breached"  # 220 of 44610 minutes down: 99.507 %
    assert c.credit == Decimal("100.00")
    # the same arithmetic as downtime_by_service (every impact on whole minutes here)
    stored = IncidentService(store).find()
    whole = downtime_by_service(stored, (t(1, 0), t(1, 0, month=11)))
    assert whole["checkout"] == timedelta(minutes=250)

    # checkout and payments together: payments adds 17 Oct 08:00-09:00; its 14 Oct impact
    # lies inside checkout's
    assert by["all-outages"].figures.downtime_minutes == 250 + 60

    # P1 only: a (60), c (30), f (60)
    assert by["p1-outages"].figures.downtime_minutes == 150

    # business hours (Europe/London, BST): 14 Oct 11:00-13:00 local is inside 09:00-17:30;
    # 1 Oct 00:00-00:30 local 01:00-01:30, 20 Oct 02:50-03:30 local, 31 Oct 23:00 (Saturday
    # 31 Oct 23:00 GMT) are outside
    bh = by["business-hours-outages"]
    assert bh.figures.downtime_minutes == 120
    assert bh.figures.eligible_minutes < OCTOBER

    entries = c.figures.entries
    assert entries[0].type == "measure" and entries[0].source == "incidents store"
    down = [e for e in entries if e.type == "downtime"]
    assert [e.minutes for e in down] == [30, 120, 40, 60]
    assert f"impacted by {ids['a']}, {ids['b']}" in down[1].reason
    assert "30 minute(s) of it excluded" in down[2].reason
    impacts = [e for e in entries if e.type == "incident"]
    assert {e.source for e in impacts} == {f"store incident {ids[k]}" for k in "abcdf"}
    assert any("still open: counted to the end of the period" in e.reason for e in impacts)

    body = json.loads(statement_json(st))["clauses"][0]
    assert body["measure"] == {"kind": "outages", "services": ["checkout"], "priorities": []}
    assert body["downtime_minutes"] == 250 and body["status"] == "breached"
    assert st.inputs["data"]["incidents store"] != EMPTY_STORE_SHA256


def test_an_empty_store_is_100_percent_and_an_input(ws: Workspace, store: Store) -> None:
    st = _statement(ws, store)
    for c in st.clauses:
        assert c.figures.downtime_minutes == 0 and c.figures.attainment == 1
        assert c.status == "met" and c.credit == Decimal("0.00")
    assert st.inputs["data"]["incidents store"] == EMPTY_STORE_SHA256


def test_without_a_store_it_is_an_error(ws: Workspace) -> None:
    with pytest.raises(StoreError, match="clause 'checkout-outages' reads incidents from the"):
        _statement(ws, None)


@pytest.mark.parametrize(
    ("outages", "message"),
    [
        ("{services: [search]}", "Service 'search' is not one of the agreement's services"),
        ("{services: []}", "list at least one service"),
        ("{priorities: [P9]}", "priorities"),
        ("{priorities: [P1, P1]}", "a priority is listed twice"),
    ],
)
def test_bad_outages_blocks_are_located(tmp_path: Path, outages: str, message: str) -> None:
    first = "outages: {services: [checkout]}\n      target: 99.9\n    - name: all"
    text = AGREEMENT.replace(first, first.replace("{services: [checkout]}", outages), 1)
    assert text != AGREEMENT
    with pytest.raises(SpecError) as e:
        load_workspace([_specs(tmp_path, text)])
    text = str(e.value)
    assert "Agreement/outages: spec.clauses[0].outages" in text
    assert message in text


def test_cli_statement_reads_outages_from_the_store(
    ws: Workspace, store: Store, store_url: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from slm.cli import app

    _record(store)
    specs = _specs(tmp_path)
    r = CliRunner().invoke(
        app,
        ["sla", "statement", str(specs), "--agreement", "outages", "--period", "2026-10",
         "--format", "json", "--db", store_url],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert [c["downtime_minutes"] for c in body["clauses"]] == [250, 310, 150, 120]
