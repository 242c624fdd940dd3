"""Composite availability against hand computation, and its properties."""

from __future__ import annotations

import math
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm.domain.composite import (
    AllOf,
    AnyOf,
    AtLeast,
    Expr,
    Fallback,
    Node,
    Ref,
    at_least,
    availability,
    binomial_at_least,
    closure,
    component_availability,
    expand,
    find_cycle,
    refs,
    required_availability,
)
from slm.domain.errors import CycleError

A, B, C, D = Ref("a"), Ref("b"), Ref("c"), Ref("d")

# (id, expression, availabilities, hand-computed availability)
CASES: list[tuple[str, Expr, dict[str, float], float]] = [
    ("single", A, {"a": 0.99}, 0.99),
    ("series-two", AllOf((A, B)), {"a": 0.99, "b": 0.999}, 0.99 * 0.999),
    ("series-three-nines", AllOf((A, B, C)), {"a": 0.999, "b": 0.999, "c": 0.999}, 0.997002999),
    ("redundant-two-99", AnyOf((A, B)), {"a": 0.99, "b": 0.99}, 0.9999),
    ("redundant-unequal", AnyOf((A, B)), {"a": 0.9, "b": 0.8}, 1 - 0.1 * 0.2),
    ("redundant-three-90", AnyOf((A, B, C)), {"a": 0.9, "b": 0.9, "c": 0.9}, 0.999),
    # 2 of 3 at 0.9: 3 * 0.9^2 * 0.1 + 0.9^3 = 0.243 + 0.729
    ("2-of-3-equal", AtLeast(2, (A, B, C)), {"a": 0.9, "b": 0.9, "c": 0.9}, 0.972),
    # 2 of 3 unequal: ab(1-c) + a(1-b)c + (1-a)bc + abc with a=.9, b=.8, c=.7
    (
        "2-of-3-unequal",
        AtLeast(2, (A, B, C)),
        {"a": 0.9, "b": 0.8, "c": 0.7},
        0.9 * 0.8 * 0.3 + 0.9 * 0.2 * 0.7 + 0.1 * 0.8 * 0.7 + 0.9 * 0.8 * 0.7,
    ),
    ("1-of-2-is-redundant", AtLeast(1, (A, B)), {"a": 0.9, "b": 0.8}, 0.98),
    ("2-of-2-is-series", AtLeast(2, (A, B)), {"a": 0.9, "b": 0.8}, 0.72),
    ("fallback-perfect-switch", Fallback(A, B), {"a": 0.99, "b": 0.95}, 0.99 + 0.01 * 0.95),
    (
        "fallback-switchover-98",
        Fallback(A, B, 0.98),
        {"a": 0.999, "b": 0.995},
        0.999 + 0.001 * 0.98 * 0.995,
    ),
    ("fallback-never-switches", Fallback(A, B, 0.0), {"a": 0.99, "b": 0.95}, 0.99),
    (
        "series-of-redundant-pairs",
        AllOf((AnyOf((A, B)), AnyOf((C, D)))),
        {"a": 0.9, "b": 0.9, "c": 0.8, "d": 0.8},
        0.99 * 0.96,
    ),
    # shared part: a in both branches of a redundant pair is one part, not two.
    # P = a * (1 - (1-b)(1-c)) = 0.9 * (1 - 0.2 * 0.3)
    (
        "shared-part-conditioned",
        AnyOf((AllOf((A, B)), AllOf((A, C)))),
        {"a": 0.9, "b": 0.8, "c": 0.7},
        0.9 * (1 - 0.2 * 0.3),
    ),
    # a OR a is a, not 1 - (1-a)^2
    ("same-part-twice-redundant", AnyOf((A, A)), {"a": 0.9}, 0.9),
    ("same-part-twice-series", AllOf((A, A)), {"a": 0.9}, 0.9),
    ("perfect-parts", AllOf((A, B)), {"a": 1.0, "b": 1.0}, 1.0),
    ("dead-part-in-series", AllOf((A, B)), {"a": 0.0, "b": 0.99}, 0.0),
    ("dead-part-redundant", AnyOf((A, B)), {"a": 0.0, "b": 0.99}, 0.99),
]


@pytest.mark.parametrize(
    ("expr", "values", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_availability_matches_hand_computation(
    expr: Expr, values: dict[str, float], expected: float
) -> None:
    assert availability(expr, values) == pytest.approx(expected, abs=1e-12)


def _brute_force(expr: Expr, values: dict[str, float]) -> float:
    """Enumerate every up/down state of every part."""
    names = sorted(set(refs(expr)))

    def up(e: Expr, state: dict[str, bool]) -> bool:
        if isinstance(e, Ref):
            return state[e.name]
        if isinstance(e, AllOf):
            return all(up(i, state) for i in e.items)
        if isinstance(e, AnyOf):
            return any(up(i, state) for i in e.items)
        if isinstance(e, AtLeast):
            return sum(up(i, state) for i in e.items) >= e.k
        raise AssertionError("fallbacks are not enumerated here")

    total = 0.0
    for states in product((True, False), repeat=len(names)):
        state = dict(zip(names, states, strict=True))
        p = math.prod(values[n] if s else 1 - values[n] for n, s in state.items())
        total += p if up(expr, state) else 0.0
    return total


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_k_of_n_equal_availabilities_is_binomial(k: int) -> None:
    assert at_least(k, [0.97] * 5) == pytest.approx(binomial_at_least(k, 5, 0.97), abs=1e-14)


def test_k_of_n_rejects_k_out_of_range() -> None:
    with pytest.raises(ValueError, match="k-of-n needs 1 <= k <= n"):
        AtLeast(4, (A, B, C))
    with pytest.raises(ValueError, match="between 0 and n"):
        at_least(3, [0.9, 0.9])


def test_availability_rejects_values_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match="availability of 'a' must be between 0 and 1"):
        availability(A, {"a": 1.5})
    with pytest.raises(KeyError, match="no availability for b"):
        availability(AllOf((A, B)), {"a": 0.9})
    with pytest.raises(ValueError, match="switchover"):
        Fallback(A, B, 1.2)


# --- graphs -----------------------------------------------------------------------------


def _shop() -> dict[str, Node]:
    return {
        "checkout": Node("checkout", AllOf((Ref("lb"), Ref("payments"), Ref("db")))),
        "lb": Node("lb"),
        "payments": Node("payments", Fallback(Ref("psp-a"), Ref("psp-b"), 0.98)),
        "psp-a": Node("psp-a"),
        "psp-b": Node("psp-b"),
        "db": Node("db", AtLeast(2, (Ref("db-1"), Ref("db-2"), Ref("db-3")))),
        "db-1": Node("db-1"),
        "db-2": Node("db-2"),
        "db-3": Node("db-3"),
    }


def test_component_graph_matches_hand_computation() -> None:
    own = {
        "checkout": 0.9995,
        "lb": 0.9999,
        "payments": 0.999,
        "psp-a": 0.999,
        "psp-b": 0.995,
        "db": 1.0,
        "db-1": 0.995,
        "db-2": 0.995,
        "db-3": 0.995,
    }
    payments = 0.999 * (0.999 + 0.001 * 0.98 * 0.995)
    db = 3 * 0.995**2 * 0.005 + 0.995**3
    expected = 0.9995 * 0.9999 * payments * db
    assert component_availability("checkout", _shop(), own) == pytest.approx(expected, abs=1e-14)
    assert component_availability("db", _shop(), own) == pytest.approx(db, abs=1e-14)
    assert closure("payments", _shop()) == ["payments", "psp-a", "psp-b"]


def test_diamond_dependency_counts_the_shared_component_once() -> None:
    # app needs api-1 or api-2; both need the same database.
    nodes = {
        "app": Node("app", AnyOf((Ref("api-1"), Ref("api-2")))),
        "api-1": Node("api-1", Ref("db")),
        "api-2": Node("api-2", Ref("db")),
        "db": Node("db"),
    }
    own = {"app": 1.0, "api-1": 0.9, "api-2": 0.9, "db": 0.99}
    # db must be up, then one of two 0.9 APIs: 0.99 * 0.99 (not (1 - (1 - .891)^2))
    assert component_availability("app", nodes, own) == pytest.approx(0.99 * 0.99, abs=1e-14)


@pytest.mark.parametrize(
    ("nodes", "cycle"),
    [
        pytest.param({"a": Node("a", Ref("a"))}, ["a", "a"], id="self"),
        pytest.param(
            {"a": Node("a", Ref("b")), "b": Node("b", Ref("a"))}, ["a", "b", "a"], id="pair"
        ),
        pytest.param(
            {
                "a": Node("a", AllOf((Ref("b"), Ref("x")))),
                "b": Node("b", AnyOf((Ref("c"), Ref("x")))),
                "c": Node("c", Fallback(Ref("x"), Ref("a"))),
                "x": Node("x"),
            },
            ["a", "b", "c", "a"],
            id="through-fallback",
        ),
    ],
)
def test_cycles_are_rejected(nodes: dict[str, Node], cycle: list[str]) -> None:
    assert find_cycle(nodes) == cycle
    with pytest.raises(CycleError, match="dependency cycle: " + " -> ".join(cycle)):
        expand("a", nodes)


def test_acyclic_graph_has_no_cycle() -> None:
    assert find_cycle(_shop()) is None


def test_required_availability_finds_the_lowest_sufficient_value() -> None:
    # series with a 0.999 part: x * 0.999 >= 0.995 needs x >= 0.995 / 0.999
    x = required_availability(lambda v: v * 0.999, 0.995)
    assert x == pytest.approx(0.995 / 0.999, abs=1e-11)
    assert x is not None and x * 0.999 >= 0.995
    assert required_availability(lambda v: v * 0.99, 0.995) is None
    assert required_availability(lambda v: 0.5 + 0.5 * v, 0.4) == 0.0


# --- properties -------------------------------------------------------------------------

prob = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
NAMES = ["a", "b", "c", "d"]


def _exprs() -> st.SearchStrategy[Expr]:
    leaves = st.sampled_from(NAMES).map(Ref)

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        lists = st.lists(children, min_size=1, max_size=3).map(tuple)
        return st.one_of(
            lists.map(AllOf),
            lists.map(AnyOf),
            lists.flatmap(lambda xs: st.integers(1, len(xs)).map(lambda k: AtLeast(k, xs))),
            st.tuples(children, children, prob).map(lambda t: Fallback(*t)),
        )

    return st.recursive(leaves, extend, max_leaves=8)


values_st = st.fixed_dictionaries({n: prob for n in NAMES})


@settings(max_examples=150, deadline=None)
@given(_exprs(), values_st)
def test_availability_is_a_probability(expr: Expr, values: dict[str, float]) -> None:
    assert 0.0 <= availability(expr, values) <= 1.0


@settings(max_examples=150, deadline=None)
@given(_exprs(), values_st, st.sampled_from(NAMES), prob)
def test_availability_is_monotone_in_every_part(
    expr: Expr, values: dict[str, float], name: str, higher: float
) -> None:
    lo, hi = sorted((values[name], higher))
    a_lo = availability(expr, {**values, name: lo})
    a_hi = availability(expr, {**values, name: hi})
    assert a_hi >= a_lo - 1e-12


@settings(max_examples=100, deadline=None)
@given(st.lists(prob, min_size=1, max_size=5))
def test_series_below_and_redundant_above_every_part(values: list[float]) -> None:
    parts = {f"p{i}": v for i, v in enumerate(values)}
    items = tuple(Ref(n) for n in parts)
    s, r = availability(AllOf(items), parts), availability(AnyOf(items), parts)
    assert s <= min(values) + 1e-12
    assert r >= max(values) - 1e-12
    for k in range(1, len(values) + 1):
        kn = availability(AtLeast(k, items), parts)
        assert s - 1e-12 <= kn <= r + 1e-12


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.sampled_from(NAMES).map(Ref),
        lambda ch: st.one_of(
            st.lists(ch, min_size=1, max_size=3).map(tuple).map(AllOf),
            st.lists(ch, min_size=1, max_size=3).map(tuple).map(AnyOf),
            st.lists(ch, min_size=1, max_size=3)
            .map(tuple)
            .flatmap(lambda xs: st.integers(1, len(xs)).map(lambda k: AtLeast(k, xs))),
        ),
        max_leaves=8,
    ),
    values_st,
)
def test_shared_parts_match_brute_force_enumeration(expr: Expr, values: dict[str, float]) -> None:
    assert availability(expr, values) == pytest.approx(_brute_force(expr, values), abs=1e-9)
