"""``slm sla check`` and ``slm sla supplier`` on the example shop, against hand computation."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow.parquet as pq
import pytest

from slm.domain.incident import RootCause
from slm.services.incidents import IncidentService
from slm.services.ports import FixedClock
from slm.services.sla_check import (
    agreements_of,
    check_agreements,
    past_periods,
    supplier_report,
)
from slm.sources.factory import SourceFactory
from slm.spec.components import components
from slm.spec.loader import load_workspace
from slm.store.db import Store

FIXTURES = Path(__file__).parent / "fixtures"
AT = datetime(2026, 11, 1, tzinfo=UTC)
DB = 3 * 0.995**2 * 0.005 + 0.995**3  # 2 of 3 database nodes at 99.5 %
CHECKOUT = 0.9997  # checkout's own designed availability (examples/components)


def workspace(tmp_path: Path, examples_dir: Path, payments_target: str) -> Path:
    """The example shop and its components, plus the fixture agreements."""
    for sub in ("shop", "components", "data"):
        shutil.copytree(examples_dir / sub, tmp_path / sub)
    text = (FIXTURES / "agreements.yaml").read_text().replace("PAYMENTS_TARGET", payments_target)
    (tmp_path / "agreements").mkdir()
    (tmp_path / "agreements" / "agreements.yaml").write_text(text)
    return tmp_path


def _load(path: Path) -> Any:
    ws = load_workspace([path / "shop", path / "components", path / "agreements"])
    return ws, agreements_of(ws.objects), components(ws.objects)


def test_sla_that_its_ola_cannot_support_is_flagged(tmp_path: Path, examples_dir: Path) -> None:
    ws, agreements, comps = _load(workspace(tmp_path, examples_dir, "99.5"))
    report = check_agreements(agreements, comps, ws.slos)
    assert not report.ok
    (c,) = report.checks
    assert (c.sla, c.clause, c.component, c.verdict) == (
        "shop-sla",
        "availability",
        "checkout",
        "not-supported",
    )
    # checkout's own design 99.97 % x LB (UC) 99.99 % x payments (OLA) 99.5 % x db 2-of-3
    assert c.supported == pytest.approx(CHECKOUT * 0.9999 * 0.995 * DB, abs=1e-14)
    assert dict(c.unpromised) == pytest.approx(
        {"checkout": CHECKOUT, "checkout-db": 1.0, "db-1": 0.995, "db-2": 0.995, "db-3": 0.995}
    )
    by_party = {p.agreement: p for p in c.promises}
    pay, lb = by_party["payments-ola"], by_party["cloud-uc"]
    # payments would need 99.9 / (99.97 x 99.99 x db) ...
    assert pay.required == pytest.approx(0.999 / (CHECKOUT * 0.9999 * DB), abs=1e-9)
    assert not pay.sufficient
    # ... while no LB availability can make up for payments at 99.5 %
    assert lb.required is None and not lb.sufficient
    # payments' own dependencies (the PSPs) are inside the OLA's promise
    assert "psp-main" not in dict(c.unpromised)


def test_sla_supported_by_strong_enough_promises(tmp_path: Path, examples_dir: Path) -> None:
    ws, agreements, comps = _load(workspace(tmp_path, examples_dir, "99.99"))
    report = check_agreements(agreements, comps, ws.slos)
    assert report.ok
    (c,) = report.checks
    assert c.verdict == "supported"
    assert c.supported == pytest.approx(CHECKOUT * 0.9999 * 0.9999 * DB, abs=1e-14)
    for p in c.promises:
        assert p.sufficient and p.required is not None and p.required <= p.target


def _monthly(examples_dir: Path, start: datetime, end: datetime) -> float:
    table = pq.read_table(examples_dir / "data" / "shop.parquet").to_pydict()
    ts = np.asarray(table["timestamp"])
    series = np.asarray(table["series"])
    value = np.asarray(table["value"], dtype=np.float64)
    m = (ts >= start.timestamp()) & (ts < end.timestamp())
    good = value[m & (series == "checkout_requests_good")].sum()
    total = value[m & (series == "checkout_requests_total")].sum()
    return float(good / total)


def test_supplier_validation_reports_needed_target_and_history(
    tmp_path: Path, examples_dir: Path
) -> None:
    ws, agreements, comps = _load(workspace(tmp_path, examples_dir, "99.99"))
    report = supplier_report(ws, "cloud-uc", agreements, comps, AT, SourceFactory(), history=4)
    assert report.failures == []
    (c,) = report.clauses
    assert (c.clause, c.component, c.proposed) == ("load-balancer", "shop-lb", 0.9999)
    needed = 0.999 / (CHECKOUT * 0.9999 * DB)
    assert c.required == pytest.approx(needed, abs=1e-9)
    assert c.proposal_ok
    labels = [h.label for h in c.history]
    assert labels == ["2026-07", "2026-08", "2026-09", "2026-10"]
    july, *rest = c.history
    assert july.attainment is None and july.meets_required is None  # before the data starts
    for h in rest:
        assert h.attainment == pytest.approx(_monthly(examples_dir, h.start, h.end), rel=1e-12)
        assert h.meets_required == (h.attainment >= needed)
        assert h.meets_proposed == (h.attainment >= 0.9999)
    # Berlin months: October starts at 22:00 UTC on 30 September (CEST)
    assert rest[-1].start == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert rest[-1].end == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert report.ok == (c.proposal_ok and c.history_ok)


def test_supplier_rejects_an_agreement_that_is_not_a_uc(tmp_path: Path, examples_dir: Path) -> None:
    from slm.domain.errors import NotFoundError

    ws, agreements, comps = _load(workspace(tmp_path, examples_dir, "99.99"))
    with pytest.raises(NotFoundError, match="'payments-ola' is an OLA, not a UC"):
        supplier_report(ws, "payments-ola", agreements, comps, AT, SourceFactory())
    with pytest.raises(NotFoundError, match="no Agreement named 'nope'"):
        supplier_report(ws, "nope", agreements, comps, AT, SourceFactory())


@pytest.mark.parametrize(
    ("zone", "unit", "expected"),
    [
        pytest.param("UTC", "month", ["2026-09", "2026-10"], id="utc-months"),
        pytest.param("Europe/Berlin", "month", ["2026-09", "2026-10"], id="berlin-months"),
        pytest.param("UTC", "quarter", ["2026-Q2", "2026-Q3"], id="quarters"),
    ],
)
def test_past_periods_are_complete_local_periods(zone: str, unit: str, expected: list[str]) -> None:
    periods = past_periods(unit, zone, AT, 2)
    assert [p[0] for p in periods] == expected
    assert all(e <= AT for _, _, e in periods)
    assert periods[0][2] == periods[1][1]


# --- supplier history with business hours and exclusions ---------------------------------

OCT = (datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 10, 31, 23, tzinfo=UTC))  # Berlin
OUTAGE = (datetime(2026, 10, 14, 13, tzinfo=UTC), datetime(2026, 10, 14, 13, 45, tzinfo=UTC))
NEEDED = 0.999 / (CHECKOUT * 0.9999 * DB)  # what shop-sla needs of the load balancer

EXCLUSION = """\
apiVersion: slm/v1
kind: Exclusion
metadata: {name: lb-incident}
spec:
  category: third-party
  description: Load balancer firmware fault, vendor root cause analysis agreed
  services: [checkout]
  agreements: [cloud-uc]
  start: 2026-10-14T13:00:00Z
  end: 2026-10-14T13:45:00Z
  timeZone: UTC
  approval: {state: STATE}
"""

MORNINGS = """\
apiVersion: slm/v1
kind: Calendar
metadata: {name: berlin-mornings}
spec:
  timeZone: Europe/Berlin
  businessHours:
    monday: ["08:00-12:00"]
    tuesday: ["08:00-12:00"]
    wednesday: ["08:00-12:00"]
    thursday: ["08:00-12:00"]
    friday: ["08:00-12:00"]
---
apiVersion: slm/v1
kind: Agreement
metadata: {name: cloud-uc-hours}
spec:
  type: UC
  vendor: cloudco
  customer: shop
  services: [checkout]
  term: {start: 2026-01-01}
  timeZone: Europe/Berlin
  fee: {amount: 2000, currency: EUR}
  owner: shop-team
  budgetOwner: cc-shop
  calendar: berlin-mornings
  underpins: [shop-sla]
  clauses:
    - name: every-minute
      slo: checkout-availability
      target: 99.95
    - name: mornings
      slo: checkout-availability
      target: 99.95
      businessHoursOnly: true
"""


def _shop_minutes(examples_dir: Path) -> tuple[Any, Any, Any]:
    """(minute start, good, total) of checkout requests, one row per minute."""
    table = pq.read_table(examples_dir / "data" / "shop.parquet").to_pydict()
    ts, series = np.asarray(table["timestamp"]), np.asarray(table["series"])
    value = np.asarray(table["value"], dtype=np.float64)
    good, total = series == "checkout_requests_good", series == "checkout_requests_total"
    assert (ts[good] == ts[total]).all()
    return ts[good], value[good], value[total]


def _between(ts: Any, span: tuple[datetime, datetime]) -> Any:
    return (ts >= span[0].timestamp()) & (ts < span[1].timestamp())


@pytest.mark.parametrize(
    ("state", "october_meets_needed"),
    [
        pytest.param("approved", True, id="approved-exclusion-leaves-the-outage-out"),
        pytest.param("pending", False, id="pending-exclusion-does-not-count"),
    ],
)
def test_supplier_history_leaves_approved_exclusions_out(
    tmp_path: Path, examples_dir: Path, state: str, october_meets_needed: bool
) -> None:
    path = workspace(tmp_path, examples_dir, "99.99")
    (path / "agreements" / "exclusion.yaml").write_text(EXCLUSION.replace("STATE", state))
    ws, agreements, comps = _load(path)
    report = supplier_report(ws, "cloud-uc", agreements, comps, AT, SourceFactory(), history=1)
    assert report.failures == []
    (c,) = report.clauses
    (october,) = c.history
    assert (october.label, october.start, october.end) == ("2026-10", *OCT)
    ts, good, total = _shop_minutes(examples_dir)
    month = _between(ts, OCT)
    raw = good[month].sum() / total[month].sum()
    kept = month & ~_between(ts, OUTAGE)
    adjusted = good[kept].sum() / total[kept].sum()
    assert october.raw_attainment == pytest.approx(raw, rel=1e-12)
    assert raw < NEEDED < adjusted  # the outage alone decides whether the UC carried the SLA
    if state == "approved":
        assert october.attainment == pytest.approx(adjusted, rel=1e-12)
        assert october.excluded_minutes == 45
    else:
        assert october.attainment == pytest.approx(raw, rel=1e-12)
        assert october.excluded_minutes == 0
    assert october.eligible_minutes == 31 * 24 * 60 + 60  # October ends with CET: +1 hour
    assert october.meets_required is october_meets_needed
    assert c.history_ok is october_meets_needed
    assert report.ok is october_meets_needed  # the proposal (99.99 %) is enough either way


def test_supplier_history_of_a_business_hours_clause_counts_business_hours_only(
    tmp_path: Path, examples_dir: Path
) -> None:
    path = workspace(tmp_path, examples_dir, "99.99")
    (path / "agreements" / "mornings.yaml").write_text(MORNINGS)
    ws, agreements, comps = _load(path)
    report = supplier_report(
        ws, "cloud-uc-hours", agreements, comps, AT, SourceFactory(), history=1
    )
    assert report.failures == []
    clauses = {c.clause: c for c in report.clauses}
    every, mornings = clauses["every-minute"], clauses["mornings"]
    (every_oct,) = every.history
    (morning_oct,) = mornings.history

    ts, good, total = _shop_minutes(examples_dir)
    month = _between(ts, OCT)
    local = [datetime.fromtimestamp(int(t), ZoneInfo("Europe/Berlin")) for t in ts[month]]
    business = np.array([d.weekday() < 5 and 8 <= d.hour < 12 for d in local])
    in_hours = good[month][business].sum() / total[month][business].sum()
    whole = good[month].sum() / total[month].sum()

    # the checkout outage (Wednesday 14 October, 15:00-15:45 in Berlin) is in the
    # afternoon: it costs the every-minute clause its 99.95 %, not the mornings clause
    assert every_oct.attainment == pytest.approx(whole, rel=1e-12)
    assert whole < 0.9995 < in_hours
    assert every_oct.meets_proposed is False
    assert morning_oct.attainment == pytest.approx(in_hours, rel=1e-12)
    assert morning_oct.eligible_minutes == int(business.sum()) == 22 * 4 * 60
    assert morning_oct.meets_proposed is True
    assert mornings.business_hours_only and not every.business_hours_only
    # a business-hours clause promises nothing outside them, so it carries no SLA clause
    assert mornings.supports == () and "business hours" in mornings.note
    assert morning_oct.meets_required is None


def test_supplier_history_counts_the_stores_approved_incident_exclusions(
    tmp_path: Path, examples_dir: Path, store: Store
) -> None:
    ws, agreements, comps = _load(workspace(tmp_path, examples_dir, "99.99"))
    svc = IncidentService(store, ws, clock=FixedClock(AT))
    incident = svc.open("ACME load test through the balancer", "checkout", at=OUTAGE[0])
    svc.set_impact(incident.id, "checkout", *OUTAGE)
    svc.record_root_cause(incident.id, RootCause("load test", "customer"))
    _, proposals = svc.sign_off(incident.id, "alice", ["cloud-uc"])

    def october() -> Any:
        report = supplier_report(
            ws, "cloud-uc", agreements, comps, AT, SourceFactory(store=store), history=1
        )
        assert report.failures == []
        (c,) = report.clauses
        (h,) = c.history
        return h

    proposed = october()  # a proposal is not an exclusion yet
    assert (proposed.excluded_minutes, proposed.meets_required) == (0, False)
    (proposal,) = proposals
    svc.decide_exclusion(proposal.id, "bob")
    approved = october()
    assert (approved.excluded_minutes, approved.meets_required) == (45, True)
    assert approved.raw_attainment == proposed.attainment


@pytest.mark.parametrize(
    ("sla_calendar", "counted"),
    [
        pytest.param("berlin-mornings", True, id="same-calendar-promises-its-hours"),
        pytest.param("berlin-evenings", False, id="other-calendar-promises-nothing"),
        pytest.param(None, False, id="round-the-clock-sla-clause"),
    ],
)
def test_a_business_hours_promise_supports_only_the_same_business_hours(
    tmp_path: Path, examples_dir: Path, sla_calendar: str | None, counted: bool
) -> None:
    path = workspace(tmp_path, examples_dir, "99.99")
    text = (path / "agreements" / "agreements.yaml").read_text()
    if sla_calendar is not None:
        text = text.replace(
            "  budgetOwner: cc-shop\n  clauses:\n    - name: availability\n"
            "      slo: checkout-availability\n      target: 99.9\n",
            f"  budgetOwner: cc-shop\n  calendar: {sla_calendar}\n  clauses:\n"
            "    - name: availability\n      slo: checkout-availability\n      target: 99.9\n"
            "      businessHoursOnly: true\n",
        )
        (path / "agreements" / "agreements.yaml").write_text(text)
    evenings = MORNINGS.split("---")[0].replace("berlin-mornings", "berlin-evenings")
    (path / "agreements" / "hours.yaml").write_text(MORNINGS + "---\n" + evenings)
    ws, agreements, comps = _load(path)
    (c,) = check_agreements(agreements, comps, ws.slos, ["shop-sla"]).checks
    mornings = ("cloud-uc-hours", "mornings")
    promised = {(p.agreement, p.clause) for p in c.promises}
    ignored = {(a, cl): why for a, cl, why in c.ignored}
    assert (mornings in promised) is counted, ignored
    if not counted:
        expected = "business hours of calendar 'berlin-mornings'" if sla_calendar else "outside"
        assert expected in ignored[mornings]
