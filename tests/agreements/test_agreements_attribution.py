"""Breach attribution through the component graph, and stored incidents' approved
exclusions in statements. Expectations are computed by hand in the tables."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from slm.domain.agreement import Attribution
from slm.domain.attribution import attribute, bad_minutes
from slm.domain.composite import AllOf, AnyOf, AtLeast, Component, Fallback, Ref
from slm.domain.incident import RootCause
from slm.domain.series import EventSeries
from slm.services.incidents import IncidentService
from slm.services.ports import FixedClock
from slm.services.statements import compute_statement
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
N = 10

# app -> allOf[lb, anyOf[db-a, db-b], 2 of [n1, n2, n3], psp1 or else psp2]
GRAPH = {
    "app": Component(
        "app",
        tier="service",
        party="shop",
        hosting="on-premises",
        depends_on=AllOf(
            (
                Ref("lb"),
                AnyOf((Ref("db-a"), Ref("db-b"))),
                AtLeast(2, (Ref("n1"), Ref("n2"), Ref("n3"))),
                Fallback(Ref("psp1"), Ref("psp2")),
            )
        ),
    ),
    "lb": Component(
        "lb",
        provider="cloudco",
        hosting="public-cloud",
        operated_by="cloudco",
        tier="vendor",
        party="cloudco",
    ),
    **{
        n: Component(n, hosting="on-premises", operated_by="dba", tier="internal", party="dba")
        for n in ("db-a", "db-b", "n1", "n2", "n3")
    },
    "psp1": Component("psp1", provider="cardco", hosting="saas", tier="vendor", party="cardco"),
    "psp2": Component("psp2", provider="walletco", hosting="saas", tier="vendor", party="walco"),
}
DECLARED = Attribution(tier="service", party="shop", component="app", responsibility="provider")


def _mask(minutes: set[int]) -> np.ndarray[Any, Any]:
    m = np.zeros(N, dtype=np.bool_)
    m[sorted(minutes)] = True
    return m


ATTRIBUTION_CASES = [
    # id, own down minutes per component, bad minutes, expected (component, minutes, share)
    ("series member down", {"lb": {0, 1, 2}}, {0, 1, 2, 3}, [("lb", 3, "3/4"), ("app", 1, "1/4")]),
    ("redundant group held", {"db-a": {0, 1}}, {0, 1}, [("app", 2, "1")]),
    (
        "redundant group failed",
        {"db-a": {0, 1}, "db-b": {1, 2}},
        {0, 1, 2},
        [("db-a", 1, "1/6"), ("db-b", 1, "1/6"), ("app", 2, "2/3")],
    ),
    (
        "k-of-n below quorum",
        {"n1": {0, 1}, "n2": {1}},
        {0, 1},
        [("n1", 1, "1/4"), ("n2", 1, "1/4"), ("app", 1, "1/2")],
    ),
    ("fallback took over", {"psp1": {0, 1, 2}}, {0, 1, 2}, [("app", 3, "1")]),
    (
        "primary and fallback down",
        {"psp1": {0, 1, 2}, "psp2": {2}},
        {0, 1, 2},
        [("psp1", 1, "1/6"), ("psp2", 1, "1/6"), ("app", 2, "2/3")],
    ),
    (
        "dependency before own",
        {"app": {0, 1}, "lb": {1}},
        {0, 1},
        [("app", 1, "1/2"), ("lb", 1, "1/2")],
    ),
    (
        "simultaneous failures split",
        {"lb": {0, 4}, "db-a": {0}, "db-b": {0}},
        {0, 4},
        [("lb", 2, "2/3"), ("db-a", 1, "1/6"), ("db-b", 1, "1/6")],
    ),
    ("outside the bad minutes", {"lb": {5, 6}}, {0}, [("app", 1, "1")]),
]


@pytest.mark.parametrize(
    ("down", "bad", "expected"),
    [c[1:] for c in ATTRIBUTION_CASES],
    ids=[c[0] for c in ATTRIBUTION_CASES],
)
def test_attribution_walks_the_graph(
    down: dict[str, set[int]], bad: set[int], expected: list[tuple[str, int, str]]
) -> None:
    shares = attribute(_mask(bad), DECLARED, GRAPH, {k: _mask(v) for k, v in down.items()})
    got = [(s.component, s.minutes, s.share) for s in shares]
    assert got == [(c, m, Fraction(f)) for c, m, f in expected]
    assert sum(s.share for s in shares) == 1
    assert [s.basis for s in shares][-1] == (
        "unattributed" if expected[-1][0] == "app" else "measured"
    )


def test_shares_carry_tier_party_provider_and_hosting() -> None:
    shares = attribute(
        _mask({0, 1}), DECLARED, GRAPH, {"lb": _mask({0}), "n1": _mask({1}), "n2": _mask({1})}
    )
    rows = {
        s.component: (s.tier, s.party, s.provider, s.hosting, s.responsibility, s.basis)
        for s in shares
    }
    assert rows == {
        "lb": ("vendor", "cloudco", "cloudco", "public-cloud", "cloudco", "measured"),
        "n1": ("internal", "dba", "internal", "on-premises", "dba", "measured"),
        "n2": ("internal", "dba", "internal", "on-premises", "dba", "measured"),
    }


def test_unknown_component_or_incident_clause_falls_back_to_the_declared_attribution() -> None:
    declared = Attribution(tier="vendor", party="x", component="not-a-component")
    (only,) = attribute(_mask({3}), declared, GRAPH, {})
    assert (only.component, only.tier, only.party, only.minutes, only.share, only.basis) == (
        "not-a-component",
        "vendor",
        "x",
        1,
        Fraction(1),
        "unattributed",
    )
    (inc,) = attribute(None, DECLARED, GRAPH, {})
    assert (inc.component, inc.hosting, inc.minutes) == ("app", "on-premises", None)


BAD_MINUTE_CASES = [
    # id, good, total, max error, interval, expected bad minutes
    ("1-minute, above 10%", [9, 10, 0, 8], [10, 10, 0, 10], "1/10", 1, [False, False, False, True]),
    ("exactly at the limit is good", [9, 9], [10, 10], "1/10", 1, [False, False]),
    (
        "2-minute intervals",
        [10, 5, 10, 10, 0],
        [10, 10, 10, 10, 1],
        "1/5",
        2,
        [True, True, False, False, True],
    ),
]


@pytest.mark.parametrize(
    ("good", "total", "limit", "width", "expected"),
    [c[1:] for c in BAD_MINUTE_CASES],
    ids=[c[0] for c in BAD_MINUTE_CASES],
)
def test_bad_minutes(
    good: list[float], total: list[float], limit: str, width: int, expected: list[bool]
) -> None:
    ev = EventSeries(
        datetime(2026, 10, 1, tzinfo=UTC),
        timedelta(minutes=1),
        np.array(good, dtype=float),
        np.array(total, dtype=float),
        np.ones(len(good), dtype=np.bool_),
    )
    assert bad_minutes(ev, Fraction(limit), width).tolist() == expected


# --- the example statement and stored incidents -------------------------------------------


@pytest.fixture(scope="module")
def ws(examples_dir: Path) -> Workspace:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return load_workspace(["examples"])
    finally:
        os.chdir(cwd)


def _clause(ws: Workspace, store: Store | None, clause: str) -> tuple[Any, Any]:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        st = compute_statement(ws, "acme-checkout-sla", "2026-10", SourceFactory(), store=store)
    finally:
        os.chdir(cwd)
    return st, next(c for c in st.clauses if c.clause.name == clause)


def test_example_downtime_breach_is_attributed_within_its_counted_minutes(ws: Workspace) -> None:
    _, c = _clause(ws, None, "checkout-downtime")
    # 45 down minutes (13:00-13:45 UTC on 14 Oct), 15 of them excluded: 30 count
    shares = c.breach_attribution
    assert c.breached and shares is not None
    assert sum(s.share for s in shares) == 1
    assert sum(s.share * 30 for s in shares) == 30
    assert {s.component for s in shares} <= {"checkout", "payments", "shop-lb", "checkout-db"}
    assert all(s.minutes <= 30 for s in shares)


T0 = datetime(2026, 10, 14, 13, 0, tzinfo=UTC)  # the example's downtime starts here (UTC)

STORE_CASES = [
    # id, impact (minutes after T0), approve?, excluded min, excluded downtime min, breached
    ("approved, inside the downtime", (0, 20), True, 270 + 20, 15 + 20, False),
    ("approved, overlaps a spec exclusion", (25, 40), True, 270 + 5, 15 + 5, True),
    ("proposed only", (0, 20), False, 270, 15, True),
]


@pytest.mark.parametrize(
    ("impact", "approve", "excluded", "excluded_down", "breached"),
    [c[1:] for c in STORE_CASES],
    ids=[c[0] for c in STORE_CASES],
)
def test_stored_incident_exclusions_count_once(
    ws: Workspace,
    store: Store,
    impact: tuple[int, int],
    approve: bool,
    excluded: int,
    excluded_down: int,
    breached: bool,
) -> None:
    svc = IncidentService(store, clock=FixedClock(datetime(2026, 10, 20, tzinfo=UTC)))
    inc = svc.open("checkout errors", "checkout", priority="P2", at=T0)
    start, end = (T0 + timedelta(minutes=m) for m in impact)
    svc.set_impact(inc.id, "checkout", start, end)
    svc.record_root_cause(inc.id, RootCause("load test", "customer", evidence=("ticket 1",)))
    _, proposals = svc.sign_off(inc.id, "service manager", ["acme-checkout-sla"])
    if approve:
        svc.decide_exclusion(proposals[0].id, "ACME service manager")
    st, c = _clause(ws, store, "checkout-downtime")
    f = c.figures
    assert (f.downtime_minutes, f.excluded_minutes, f.excluded_downtime_minutes) == (
        45,
        excluded,
        excluded_down,
    )
    assert f.adjusted == 1 - Fraction(45 - excluded_down, 44700 - excluded)
    assert c.breached is breached
    assert "incidents store" in st.inputs["data"]
    plain, _ = _clause(ws, None, "checkout-downtime")
    assert plain.inputs["sha256"] != st.inputs["sha256"]


def test_an_empty_store_changes_nothing(ws: Workspace, store: Store) -> None:
    with_store, _ = _clause(ws, store, "checkout-downtime")
    plain, _ = _clause(ws, None, "checkout-downtime")
    assert with_store.inputs == plain.inputs
