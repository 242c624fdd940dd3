"""``slm sla check`` and ``slm sla supplier`` on the example shop, against hand computation."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from slm.services.sla_check import (
    agreements_of,
    check_agreements,
    past_periods,
    supplier_report,
)
from slm.sources.factory import SourceFactory
from slm.spec.components import components
from slm.spec.loader import load_workspace

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
