"""Sign-off is atomic (SQLite and PostgreSQL): of many concurrent sign-offs and root-cause
edits on one incident exactly one sign-off wins, no edit lands after it, and it proposes
its exclusions once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from slm.domain.errors import SignedOffError
from slm.domain.incident import Incident, RootCause
from slm.services.incidents import IncidentService
from slm.services.ports import FixedClock
from slm.spec.loader import load_workspace
from slm.store.db import Store

NOW = datetime(2026, 11, 2, tzinfo=UTC)
SPECS = """\
apiVersion: openslo/v1
kind: Service
metadata: {name: checkout, labels: {criticality: critical}}
spec: {}
"""
SIGNERS = 10
EDITORS = 10


def t(h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, 1, h, m, tzinfo=UTC)


def cause(summary: str) -> RootCause:
    return RootCause("load", "customer", summary=summary, evidence=("https://t/1",))


def service(store: Store, tmp_path: Path) -> IncidentService:
    (tmp_path / "specs.yaml").write_text(SPECS)
    ws = load_workspace([tmp_path / "specs.yaml"])
    return IncidentService(store, ws, clock=FixedClock(NOW))


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_sign_offs_and_edits_sign_off_once(
    store: Store, tmp_path: Path, round_: int
) -> None:
    svc = service(store, tmp_path)
    incident = svc.open(f"customer overload {round_}", "checkout", at=t(10))
    svc.set_impact(incident.id, "checkout", t(10), t(10, 30))
    svc.record_root_cause(incident.id, cause("first draft"))
    start = threading.Barrier(SIGNERS + EDITORS)

    def sign(i: int) -> tuple[str, Incident | None]:
        start.wait()
        try:
            signed, _ = svc.sign_off(incident.id, f"signer-{i}", ["acme"])
        except SignedOffError:
            return "refused", None
        return "signed", signed

    def edit(i: int) -> tuple[str, Incident | None]:
        start.wait()
        try:
            return "edited", svc.record_root_cause(incident.id, cause(f"edit {i}"))
        except SignedOffError:
            return "refused", None

    with ThreadPoolExecutor(SIGNERS + EDITORS) as pool:
        signs = [pool.submit(sign, i) for i in range(SIGNERS)]
        edits = [pool.submit(edit, i) for i in range(EDITORS)]
        sign_results = [f.result() for f in signs]
        edit_results = [f.result() for f in edits]

    assert Counter(outcome for outcome, _ in sign_results) == {
        "signed": 1,
        "refused": SIGNERS - 1,
    }
    signed = next(inc for outcome, inc in sign_results if outcome == "signed")
    assert signed is not None and signed.root_cause is not None
    edited = sum(1 for outcome, _ in edit_results if outcome == "edited")
    assert Counter(outcome for outcome, _ in edit_results) == {
        k: v for k, v in (("edited", edited), ("refused", EDITORS - edited)) if v
    }

    final = svc.get(incident.id).root_cause
    assert final == signed.root_cause  # no edit landed after the sign-off
    assert final is not None and final.signed_off_by.startswith("signer-")
    proposals = svc.proposals(incident.id)
    assert [(p.state, p.exclusion.category) for p in proposals] == [("proposed", "customer-caused")]
