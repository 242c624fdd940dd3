"""Bad agreements, calendars and exclusions are rejected with file, line, object and field."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.spec.loader import load_workspace

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop"

AGREEMENT = """\
apiVersion: slm/v1
kind: Agreement
metadata:
  name: bad
spec:
  type: SLA
  provider: Shop Ltd
  customer: ACME
  services: [checkout]
  term: {start: 2026-01-01}
  timeZone: Europe/London
  fee: {amount: "100.00", currency: EUR}
  owner: shop-team
  budgetOwner: CC-1
  credits:
    tiers:
      - {below: 99.9, creditPercent: 10}
      - {below: 99.0, creditPercent: 25}
  clauses:
    - name: availability
      slo: checkout-availability
      target: 99.9
"""


def _ws(tmp_path: Path, text: str) -> Path:
    shutil.copytree(SHOP, tmp_path / "shop")
    (tmp_path / "agreement.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecError) as e:
        load_workspace([_ws(tmp_path, text)])
    return [f"{p.line}: {p.kind}/{p.name}: {p.field}: {p.message}" for p in e.value.problems]


def test_the_base_agreement_is_valid(tmp_path: Path) -> None:
    ws = load_workspace([_ws(tmp_path, AGREEMENT)])
    assert list(ws.objects[("slm/v1", "Agreement")]) == ["bad"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "{below: 99.0, creditPercent: 25}",
            "{below: 99.95, creditPercent: 25}",
            "18: Agreement/bad: spec.credits.tiers[1].below: tiers out of order: 99.95% "
            "follows 99.9%",
            id="tiers-out-of-order",
        ),
        pytest.param(
            "{below: 99.0, creditPercent: 25}",
            "{below: 99.9, creditPercent: 25}",
            "18: Agreement/bad: spec.credits.tiers[1].below: tiers overlap",
            id="tiers-overlap",
        ),
        pytest.param(
            "slo: checkout-availability",
            "slo: checkout-availabilty",
            "21: Agreement/bad: spec.clauses[0].slo: unknown SLO 'checkout-availabilty'",
            id="clause-bound-to-missing-slo",
        ),
        pytest.param(
            "slo: checkout-availability\n",
            "slo: payments-availability\n",
            "20: Agreement/bad: spec.clauses[0].objective: SLO 'payments-availability' has 2 "
            "objectives",
            id="objective-needed",
        ),
        pytest.param(
            "timeZone: Europe/London",
            "timeZone: Europe/Londn",
            "11: Agreement/bad: spec.timeZone: unknown IANA time zone 'Europe/Londn'",
            id="bad-zone",
        ),
        pytest.param(
            "  clauses:",
            "  calendar: nowhere\n  clauses:",
            "19: Agreement/bad: spec.calendar: unknown Calendar 'nowhere'",
            id="unknown-calendar",
        ),
        pytest.param(
            "      target: 99.9",
            "      target: 99.9\n      businessHoursOnly: true",
            "23: Agreement/bad: spec.clauses[0].businessHoursOnly: business hours need the "
            "agreement's calendar",
            id="business-hours-without-calendar",
        ),
        pytest.param(
            "      target: 99.9",
            "      target: 99.9\n      regulatoryFloor: 99.95",
            "23: Agreement/bad: spec.clauses[0].regulatoryFloor: the regulatory floor 99.95% "
            "is above the target 99.9%",
            id="floor-above-target",
        ),
        pytest.param(
            "      target: 99.9",
            "      target: 120",
            "22: Agreement/bad: spec.clauses[0].target: must be a percent greater than 0",
            id="target-range",
        ),
        pytest.param(
            "services: [checkout]",
            "services: [checkout, billing]",
            "9: Agreement/bad: spec.services[1]: unknown Service 'billing'",
            id="unknown-service",
        ),
        pytest.param(
            "type: SLA",
            "type: UC\n  vendor: CloudCo",
            "7: Agreement/bad: spec.vendor: give vendor or provider, not both",
            id="uc-vendor-and-provider",
        ),
        pytest.param(
            "type: SLA",
            "type: OLA\n  vendor: CloudCo",
            "7: Agreement/bad: spec.vendor: only a UC has a vendor",
            id="ola-with-vendor",
        ),
        pytest.param(
            "currency: EUR}",
            "currency: euro}",
            "12: Agreement/bad: spec.fee.currency: ",
            id="currency-code",
        ),
        pytest.param(
            "      slo: checkout-availability\n",
            "      slo: checkout-availability\n      downtime: {slo: checkout-availability, "
            "maxErrorRate: 5}\n",
            "20: Agreement/bad: spec.clauses[0]: bind the clause to exactly one measure",
            id="two-measures",
        ),
    ],
)
def test_bad_agreements(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in AGREEMENT
    problems = _problems(tmp_path, AGREEMENT.replace(old, new, 1))
    assert any(p.startswith(expected) for p in problems), problems


CALENDAR = """\
apiVersion: slm/v1
kind: Calendar
metadata:
  name: cal
spec:
  timeZone: Europe/Berlin
  businessHours:
    monday: ["08:00-18:00"]
  holidays:
    country: DE
    subdivision: BE
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "country: DE",
            "country: XX",
            "10: Calendar/cal: spec.holidays.country: unknown holiday country 'XX'",
            id="holiday-country-that-does-not-exist",
        ),
        pytest.param(
            "subdivision: BE",
            "subdivision: QQ",
            "11: Calendar/cal: spec.holidays.subdivision: country 'DE' has no subdivision 'QQ'",
            id="unknown-subdivision",
        ),
        pytest.param(
            '"08:00-18:00"',
            '"18:00-08:00"',
            "8: Calendar/cal: spec.businessHours.monday[0]: invalid hours '18:00-08:00'",
            id="hours-backwards",
        ),
        pytest.param(
            "monday:",
            "mondays:",
            "8: Calendar/cal: spec.businessHours.mondays: unknown field 'mondays'",
            id="unknown-day",
        ),
    ],
)
def test_bad_calendars(tmp_path: Path, old: str, new: str, expected: str) -> None:
    problems = _problems(tmp_path, CALENDAR.replace(old, new, 1))
    assert any(p.startswith(expected) for p in problems), problems


EXCLUSION = """\
apiVersion: slm/v1
kind: Exclusion
metadata:
  name: ex
spec:
  category: scheduled-maintenance
  services: [checkout]
  start: 2026-10-04T02:00:00
  duration: 1h
  rrule: FREQ=WEEKLY;BYDAY=SU
  timeZone: Europe/London
  approval: {state: approved}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "FREQ=WEEKLY;BYDAY=SU",
            "FREQ=SOMETIMES",
            "10: Exclusion/ex: spec.rrule: invalid RRULE 'FREQ=SOMETIMES'",
            id="bad-rrule",
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=SU",
            "FREQ=SECONDLY",
            "10: Exclusion/ex: spec.rrule: invalid RRULE 'FREQ=SECONDLY': FREQ=SECONDLY is "
            "finer than the minutes slm counts",
            id="rrule-secondly",
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=SU",
            "FREQ=MINUTELY;BYSECOND=0,30",
            "10: Exclusion/ex: spec.rrule: invalid RRULE 'FREQ=MINUTELY;BYSECOND=0,30': "
            "BYSECOND is finer",
            id="rrule-bysecond",
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=SU",
            "FREQ=HOURLY;INTERVAL=0",
            "10: Exclusion/ex: spec.rrule: invalid RRULE 'FREQ=HOURLY;INTERVAL=0': INTERVAL must "
            "be a whole number of at least 1",
            id="rrule-interval-0",
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=SU",
            "FREQ=MINUTELY",
            "10: Exclusion/ex: spec.rrule: invalid RRULE 'FREQ=MINUTELY': more than 10,000 "
            "occurrences in a year",
            id="rrule-too-many",
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=SU",
            "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
            "10: Exclusion/ex: spec.rrule: invalid RRULE 'FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30':"
            " the rule has no occurrence",
            id="rrule-never",
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=SU",
            "FREQ=DAILY;INTERVAL=7;BYDAY=MO",  # every 7 days from a Sunday: never a Monday
            "10: Exclusion/ex: spec.rrule: invalid RRULE 'FREQ=DAILY;INTERVAL=7;BYDAY=MO': the "
            "rule has no occurrence",
            id="rrule-never-by-phase",
        ),
        pytest.param(
            "category: scheduled-maintenance",
            "category: holiday",
            "6: Exclusion/ex: spec.category: must be one of scheduled-maintenance",
            id="bad-category",
        ),
        pytest.param(
            "  duration: 1h\n",
            "",
            "5: Exclusion/ex: spec: give exactly one of end or duration",
            id="no-end",
        ),
        pytest.param(
            "approval: {state: approved}",
            "approval: {state: maybe}",
            "12: Exclusion/ex: spec.approval.state: must be one of approved, pending, rejected",
            id="approval-state",
        ),
    ],
)
def test_bad_exclusions(tmp_path: Path, old: str, new: str, expected: str) -> None:
    problems = _problems(tmp_path, EXCLUSION.replace(old, new, 1))
    assert any(p.startswith(expected) for p in problems), problems


def test_slm_validate_rejects_bad_agreements_with_a_clear_message(tmp_path: Path) -> None:
    bad = AGREEMENT.replace("{below: 99.0,", "{below: 99.95,").replace(
        "slo: checkout-availability", "slo: nope"
    )
    ws = _ws(tmp_path, bad + "---\n" + CALENDAR.replace("country: DE", "country: XX"))
    r = subprocess.run(
        [sys.executable, "-m", "slm", "validate", str(ws)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
        timeout=120,
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    path = ws / "agreement.yaml"
    assert f"{path}:18: Agreement/bad: spec.credits.tiers[1].below: tiers out of order" in r.stderr
    assert f"{path}:21: Agreement/bad: spec.clauses[0].slo: unknown SLO 'nope'" in r.stderr
    assert f"{path}:33: Calendar/cal: spec.holidays.country: unknown holiday country" in r.stderr
    assert "3 problem(s) in 1 file(s)" in r.stderr
