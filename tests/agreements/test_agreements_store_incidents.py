"""Incident-handling clauses without a file read the incidents recorded in the store
(``slm incident ...`` and the alert pipeline), on SQLite and PostgreSQL; a period without
any recorded incident is met (100 %) and says why; without a store it is a clear error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from slm.domain.agreement import IncidentMeasure
from slm.domain.errors import StoreError
from slm.domain.statement import ClauseResult
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

AGREEMENT = """\
apiVersion: slm/v1
kind: Agreement
metadata:
  name: handling
spec:
  type: SLA
  provider: Shop Ltd
  customer: ACME
  services: [checkout]
  term: {start: 2026-01-01}
  timeZone: UTC
  fee: {amount: "1000.00", currency: EUR}
  owner: shop-team
  budgetOwner: CC-1
  clauses:
    - name: incident-handling
      incidents:
        priorities:
          P1: {response: 30m, resolution: 4h}
          P2: {response: 2h}
      target: 90
      credits:
        tiers: [{below: 90, creditPercent: 5}, {below: 60, creditPercent: 10}]
"""


def _specs(root: Path) -> Path:
    specs = root / "specs"
    shutil.copytree(ROOT / "examples" / "shop", specs / "shop")
    (specs / "agreement.yaml").write_text(AGREEMENT, encoding="utf-8")
    return specs


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return load_workspace([_specs(tmp_path_factory.mktemp("store-incidents"))])


def test_the_incidents_block_may_leave_out_the_file(ws: Workspace) -> None:
    m = agreement(ws, "handling").clauses[0].measure
    assert isinstance(m, IncidentMeasure) and m.path == ""
    assert reads_store_incidents(ws)


def _at(day: int, hour: int, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    """An incident to record: opened at ``opened``, a note ``respond`` minutes later (the
    response), resolved ``resolve`` minutes after opening (None: not yet)."""

    service: str
    priority: str
    opened: datetime
    respond: int | None = None
    resolve: int | None = None


def _record(store: Store, incidents: list[Stored]) -> list[str]:
    svc = IncidentService(store, clock=FixedClock(_at(2, 0, 11)))
    ids = []
    for i in incidents:
        inc = svc.open("checkout errors", i.service, priority=i.priority, at=i.opened)  # type: ignore[arg-type]
        if i.respond is not None:
            at = i.opened + timedelta(minutes=i.respond)
            svc.add_event(inc.id, "note", "on-call engineer engaged", at=at)
        if i.resolve is not None:
            at = i.opened + timedelta(minutes=i.resolve)
            svc.add_event(inc.id, "resolved", "fixed", at=at)
        ids.append(inc.id)
    return ids


def _clause(ws: Workspace, store: Store | None) -> tuple[Any, ClauseResult]:
    st = compute_statement(ws, "handling", "2026-10", SourceFactory(), store=store)
    return st, st.clauses[0]


MET = Stored("checkout", "P1", _at(5, 10), respond=20, resolve=120)
LATE_RESPONSE = Stored("checkout", "P1", _at(6, 10), respond=60, resolve=90)
LATE_RESOLUTION = Stored("checkout", "P1", _at(7, 10), respond=10, resolve=300)

STORE_CASES = [
    # id, incidents, adjusted attainment, breached, credit, a phrase of the measure entry
    ("one incident handled in time", [MET], Fraction(1), False, "0.00", "1 of 1 incident(s)"),
    (
        "a late response and a late resolution",
        [MET, LATE_RESPONSE, LATE_RESOLUTION],
        Fraction(1, 3),
        True,
        "100.00",
        "1 of 3 incident(s)",
    ),
    (
        "9 of 10: exactly the 90% target is not breached",
        [MET, LATE_RESPONSE, MET, MET, MET, MET, MET, MET, MET, MET],
        Fraction(9, 10),
        False,
        "0.00",
        "9 of 10 incident(s)",
    ),
    (
        "other services and other periods do not count",
        [
            MET,
            Stored("payments", "P1", _at(5, 10), respond=90),
            Stored("checkout", "P1", _at(30, 10, 9), respond=90, resolve=100),
        ],
        Fraction(1),
        False,
        "0.00",
        "1 of 1 incident(s)",
    ),
    (
        "only a priority without a target: nothing to handle",
        [Stored("checkout", "P4", _at(5, 10), respond=600)],
        Fraction(1),
        False,
        "0.00",
        "no incidents with a handling target of the agreement's services were recorded",
    ),
    (
        "a clock still running is undecided, not met",
        [Stored("checkout", "P2", _at(31, 23))],
        None,
        False,
        "None",  # the attainment is unknown: the credit is undetermined, not 0
        "0 of 0 incident(s) handled within target; 1 still running",
    ),
]


@pytest.mark.parametrize(
    ("incidents", "adjusted", "breached", "credit", "phrase"),
    [c[1:] for c in STORE_CASES],
    ids=[c[0] for c in STORE_CASES],
)
def test_stored_incidents_are_measured(
    ws: Workspace,
    store: Store,
    incidents: list[Stored],
    adjusted: Fraction | None,
    breached: bool,
    credit: str,
    phrase: str,
) -> None:
    ids = _record(store, incidents)
    st, c = _clause(ws, store)
    assert c.figures.adjusted == adjusted
    assert c.breached is breached
    assert str(c.credit) == credit
    assert c.status == ("unknown" if adjusted is None else "breached" if breached else "met")
    measure, *rest = c.figures.entries
    assert (measure.type, measure.source) == ("measure", "incidents store")
    assert phrase in measure.reason
    counted = [e for e in rest if e.type == "incident"]
    assert all(e.source.startswith("store incident INC-") for e in counted)
    assert {e.source.removeprefix("store incident ") for e in rest} <= set(ids)
    assert st.inputs["data"]["incidents store"] != EMPTY_STORE_SHA256
    body = json.loads(statement_json(st))["clauses"][0]
    assert body["measure"]["file"] is None


def test_late_response_names_the_incident_and_its_clock(ws: Workspace, store: Store) -> None:
    [iid] = _record(store, [LATE_RESPONSE])
    _, c = _clause(ws, store)
    [entry] = [e for e in c.figures.entries if e.type == "incident"]
    assert entry.reason.startswith(f"{iid} (P1, checkout): response 1h of 30m breached")
    assert c.breach_attribution is not None
    assert [(s.minutes, s.basis) for s in c.breach_attribution] == [(None, "unattributed")]


def test_no_recorded_incident_is_full_attainment_with_a_reason(ws: Workspace, store: Store) -> None:
    st, c = _clause(ws, store)
    assert (c.figures.attainment, c.figures.adjusted) == (Fraction(1), Fraction(1))
    assert not c.breached and c.credit == Decimal("0.00")
    [measure] = c.figures.entries
    assert measure.reason == (
        "no incidents of the agreement's services were recorded in this period: "
        "nothing to handle, 100% within target"
    )
    assert st.inputs["data"]["incidents store"] == EMPTY_STORE_SHA256
    assert json.loads(statement_json(st))["clauses"][0]["attainment"] == 1.0


def test_without_a_store_the_clause_is_a_clear_error(ws: Workspace) -> None:
    with pytest.raises(StoreError, match="clause 'incident-handling' reads incidents from the"):
        compute_statement(ws, "handling", "2026-10", SourceFactory())


# --- the CLI: `slm incident` records, `slm sla statement` reads the workspace's store ------


def slm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SLM_DB_URL", "SLM_WORKSPACE")}
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        timeout=120,
    )


def test_cli_statement_reads_the_incidents_slm_incident_recorded(tmp_path: Path) -> None:
    specs = _specs(tmp_path)
    statement = ("sla", "statement", str(specs), "--agreement", "handling",
                 "--period", "2026-10", "--format", "json")  # fmt: skip
    empty = slm(*statement, cwd=tmp_path)
    assert empty.returncode == 0, empty.stderr
    [clause] = json.loads(empty.stdout)["clauses"]
    assert (clause["attainment"], clause["breached"]) == (1.0, False)
    assert "no incidents of the agreement's services were recorded" in json.dumps(clause)
    assert (tmp_path / ".slm" / "slm.db").is_file()  # the workspace's default store

    opened = slm("incident", "open", "--title", "checkout down", "--service", "checkout",
                 "--priority", "P1", "--at", "2026-10-14T13:00:00Z", cwd=tmp_path)  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    iid = opened.stdout.split()[0]
    for text, kind, at in (("engaged", "note", "13:45"), ("fixed", "resolved", "14:30")):
        r = slm("incident", "event", iid, text, "--kind", kind,
                "--at", f"2026-10-14T{at}:00Z", cwd=tmp_path)  # fmt: skip
        assert r.returncode == 0, r.stderr
    r = slm(*statement, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    [clause] = json.loads(r.stdout)["clauses"]
    assert (clause["attainment"], clause["breached"], clause["credit_amount"]) == (
        0.0,
        True,
        "100.00",
    )
    assert any(
        e["type"] == "incident" and e["reason"].startswith(f"{iid} (P1, checkout): response 45m")
        for e in clause["explanation"]
    )


def test_cli_statement_with_an_unreachable_store_is_a_clear_error(tmp_path: Path) -> None:
    specs = _specs(tmp_path)
    r = slm("sla", "statement", str(specs), "--agreement", "handling", "--period", "2026-10",
            "--db", "mysql://nowhere/db", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr
    assert "unsupported store URL" in r.stderr
