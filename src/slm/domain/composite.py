"""Composite availability: dependency graphs and weighted composite SLOs (pure arithmetic).

Dependency graphs
-----------------
A dependency is an expression over named parts, each up with an availability in [0, 1]
and failing independently of the others:

- ``AllOf`` (components in series): up when every item is up, ``a = Π a_i``;
- ``AnyOf`` (redundant, parallel): up when any item is up, ``a = 1 - Π (1 - a_i)``;
- ``AtLeast`` (k-of-n): up when at least ``k`` of the ``n`` items are up, computed exactly
  (the binomial distribution when the availabilities are equal, the Poisson-binomial one
  otherwise);
- ``Fallback``: the primary, or, when it is down, the fallback reached by a switch-over
  that succeeds with probability ``s``: ``a = a_p + (1 - a_p) · s · a_f``.

A component's availability is its own availability *and* that of what it depends on. A
component used in several places (a database behind two services) is one random variable,
not several: ``availability`` conditions on every part that occurs more than once
(Shannon decomposition over its up and down states), so shared dependencies are exact,
not treated as independent copies. Cycles are rejected (``CycleError``).

Every operator is monotone: raising any part's availability never lowers the result,
which is what lets ``required_availability`` find by bisection the lowest availability a
part must have for the whole to reach a target.

Weighted composite SLOs
-----------------------
``weighted_composite`` rolls several objectives up into one, weighted by OpenSLO's
``compositeWeight``, the way Nobl9's composite SLOs do:

- weights are relative: each is normalised to ``w_i / Σ w`` ("Component absolute weight /
  total absolute weights = component normalized weight"), so 2 and 4 mean the same as
  50 and 100 — https://docs.nobl9.com/composites/composite-guide/error-budget ;
- the composite value is the weighted mean of the components' values, with one of two
  aggregation metrics: ``reliability`` (the weighted mean of the components'
  reliabilities) or ``errorBudgetState`` (each component counts 1 while it has error budget
  left and 0 once it is exhausted; the weighted mean of those states) —
  https://docs.nobl9.com/composites/composite-guide/aggregation-metrics ;
- the composite has its own target and error budget ``1 - target``; the budget burned is
  how far the composite value is below 100% measured in budgets,
  ``(1 - value) / (1 - target)``, exactly as for a standard SLO (ibid., error-budget page).

Nobl9 aggregates per minute and then over the window; slm aggregates the components'
values over one common window, which is the same number when each component's
reliability is the mean of its per-minute reliabilities (time-slice SLIs). A component
without data is left out and the others' weights are renormalised; ``coverage`` says how
much weight had data.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product
from typing import Literal

from slm.domain.errors import CycleError
from slm.domain.model import Origin

MAX_SHARED = 16
"""Most parts that may occur more than once in one expression (2**16 conditionings)."""


# --- expressions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A named part (a component, or a component's own availability)."""

    name: str


@dataclass(frozen=True)
class AllOf:
    """Series: up when every item is up."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    """Redundant (parallel): up when at least one item is up."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class AtLeast:
    """k-of-n: up when at least ``k`` of the items are up."""

    k: int
    items: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.k <= len(self.items):
            raise ValueError(f"k-of-n needs 1 <= k <= n, got k={self.k}, n={len(self.items)}")


@dataclass(frozen=True)
class Fallback:
    """The primary, or the fallback when the primary is down (switch-over succeeds w.p. s)."""

    primary: Expr
    fallback: Expr
    switchover: float = 1.0

    def __post_init__(self) -> None:
        _check_probability(self.switchover, "switchover")


Expr = Ref | AllOf | AnyOf | AtLeast | Fallback


def _check_probability(value: float, what: str) -> None:
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(f"{what} must be between 0 and 1, got {value!r}")


# --- closed forms -----------------------------------------------------------------------


def series(values: Iterable[float]) -> float:
    """Π a_i (1 for no items)."""
    return math.prod(values)


def redundant(values: Iterable[float]) -> float:
    """1 - Π (1 - a_i) (0 for no items)."""
    return 1.0 - math.prod(1.0 - a for a in values)


def at_least(k: int, values: Sequence[float]) -> float:
    """P(at least k of n independent parts are up): Poisson-binomial, exactly.

    ``dist[j]`` is the probability that exactly ``j`` of the parts seen so far are up; each
    part shifts it by one with probability ``a``. With equal ``a`` this is the binomial
    distribution (``binomial_at_least``).
    """
    n = len(values)
    if not 0 <= k <= n:
        raise ValueError(f"k must be between 0 and n={n}, got {k}")
    dist = [1.0] + [0.0] * n
    for i, a in enumerate(values, start=1):
        for j in range(i, 0, -1):
            dist[j] = dist[j] * (1.0 - a) + dist[j - 1] * a
        dist[0] *= 1.0 - a
    return min(1.0, math.fsum(dist[k:]))


def binomial_at_least(k: int, n: int, a: float) -> float:
    """Σ_{j≥k} C(n, j) a^j (1 - a)^(n-j): k-of-n with equal availabilities."""
    terms = (math.comb(n, j) * a**j * (1.0 - a) ** (n - j) for j in range(k, n + 1))
    return min(1.0, math.fsum(terms))


def fallback(primary: float, fallback: float, switchover: float = 1.0) -> float:
    """a_p + (1 - a_p) · s · a_f."""
    return primary + (1.0 - primary) * switchover * fallback


# --- evaluation -------------------------------------------------------------------------


def refs(expr: Expr) -> list[str]:
    """Every name the expression refers to, in order, with repeats."""
    if isinstance(expr, Ref):
        return [expr.name]
    if isinstance(expr, Fallback):
        return refs(expr.primary) + refs(expr.fallback)
    return [name for item in expr.items for name in refs(item)]


def _independent(expr: Expr, values: Mapping[str, float]) -> float:
    if isinstance(expr, Ref):
        return values[expr.name]
    if isinstance(expr, AllOf):
        return series(_independent(i, values) for i in expr.items)
    if isinstance(expr, AnyOf):
        return redundant(_independent(i, values) for i in expr.items)
    if isinstance(expr, AtLeast):
        return at_least(expr.k, [_independent(i, values) for i in expr.items])
    return fallback(
        _independent(expr.primary, values), _independent(expr.fallback, values), expr.switchover
    )


def availability(expr: Expr, values: Mapping[str, float]) -> float:
    """The probability that ``expr`` is up, given each part's availability.

    Parts that occur once are independent factors; parts that occur more than once are
    conditioned on (up with probability ``a``, down with ``1 - a``), so the result is exact
    for any expression of independent parts.
    """
    names = refs(expr)
    missing = sorted(set(names) - set(values))
    if missing:
        raise KeyError(f"no availability for {', '.join(missing)}")
    for name in set(names):
        _check_probability(values[name], f"availability of {name!r}")
    shared = sorted(n for n, c in Counter(names).items() if c > 1)
    if not shared:
        return _independent(expr, values)
    if len(shared) > MAX_SHARED:
        raise ValueError(
            f"{len(shared)} parts are shared by several dependencies (at most {MAX_SHARED})"
        )
    total = 0.0
    for states in product((True, False), repeat=len(shared)):
        weight = 1.0
        fixed = dict(values)
        for name, up in zip(shared, states, strict=True):
            weight *= values[name] if up else 1.0 - values[name]
            fixed[name] = 1.0 if up else 0.0
        if weight > 0.0:
            total += weight * _independent(expr, fixed)
    return min(1.0, max(0.0, total))


def required_availability(
    evaluate: Callable[[float], float], target: float, *, tolerance: float = 1e-12
) -> float | None:
    """The lowest ``x`` in [0, 1] with ``evaluate(x) >= target`` (``evaluate`` monotone).

    ``None`` when even ``x = 1`` falls short. Bisection to ``tolerance``; the answer is
    rounded *up*, so ``evaluate(answer) >= target`` holds.
    """
    if evaluate(1.0) < target:
        return None
    if evaluate(0.0) >= target:
        return 0.0
    lo, hi = 0.0, 1.0
    while hi - lo > tolerance:
        mid = (lo + hi) / 2.0
        if evaluate(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


# --- component graphs -------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One component of a graph: its own part and what it depends on (``Ref``s to nodes)."""

    name: str
    depends_on: Expr | None = None


def own(name: str) -> str:
    """The part name of a component's own availability (apart from its dependencies)."""
    return f"{name}#own"


def find_cycle(nodes: Mapping[str, Node]) -> list[str] | None:
    """A dependency cycle as a list of names (first repeated last), or ``None``."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        node = nodes.get(name)
        for dep in sorted(set(refs(node.depends_on))) if node and node.depends_on else ():
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)) is not None:
                return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(nodes):
        if name not in state and (found := visit(name)) is not None:
            return found
    return None


def expand(name: str, nodes: Mapping[str, Node]) -> Expr:
    """Component ``name`` as an expression over the own parts (``own(n)``) of the graph."""
    cycle = find_cycle(nodes)
    if cycle is not None:
        raise CycleError(cycle)
    memo: dict[str, Expr] = {}

    def node_expr(n: str) -> Expr:
        if n not in memo:
            if n not in nodes:
                raise KeyError(f"unknown component {n!r}")
            node = nodes[n]
            mine: Expr = Ref(own(n))
            memo[n] = mine if node.depends_on is None else AllOf((mine, sub(node.depends_on)))
        return memo[n]

    def sub(expr: Expr) -> Expr:
        if isinstance(expr, Ref):
            return node_expr(expr.name)
        if isinstance(expr, AllOf):
            return AllOf(tuple(sub(i) for i in expr.items))
        if isinstance(expr, AnyOf):
            return AnyOf(tuple(sub(i) for i in expr.items))
        if isinstance(expr, AtLeast):
            return AtLeast(expr.k, tuple(sub(i) for i in expr.items))
        return Fallback(sub(expr.primary), sub(expr.fallback), expr.switchover)

    return node_expr(name)


def component_availability(
    name: str, nodes: Mapping[str, Node], own_values: Mapping[str, float]
) -> float:
    """Availability of component ``name`` given each component's own availability."""
    return availability(expand(name, nodes), {own(n): a for n, a in own_values.items()})


def closure(name: str, nodes: Mapping[str, Node]) -> list[str]:
    """``name`` and every component it depends on, directly or not (sorted)."""
    return sorted({n.removesuffix("#own") for n in refs(expand(name, nodes))})


# --- weighted composite SLOs ------------------------------------------------------------

Aggregation = Literal["reliability", "errorBudgetState"]


@dataclass(frozen=True)
class WeightedPart:
    """One objective of a weighted composite: its weight, target and measured value."""

    name: str
    weight: float
    target: float
    reliability: float | None  # None: no data

    def __post_init__(self) -> None:
        if not (self.weight > 0 and math.isfinite(self.weight)):
            raise ValueError(f"{self.name}: weight must be a positive number, got {self.weight}")
        _check_probability(self.target, f"{self.name}: target")
        if self.reliability is not None:
            _check_probability(self.reliability, f"{self.name}: reliability")


@dataclass(frozen=True)
class PartShare:
    name: str
    normalized_weight: float  # share among the parts with data (0 without data)
    value: float | None  # the aggregated value: reliability, or 1/0 budget state
    budget_burned: float | None  # (1 - reliability) / (1 - target) of the part itself
    burn_contribution: float | None  # its share of the composite's burned budget


@dataclass(frozen=True)
class WeightedComposite:
    aggregation: Aggregation
    target: float
    value: float | None  # composite reliability (None: no part had data)
    error_budget: float  # 1 - target
    budget_burned: float | None  # (1 - value) / (1 - target); > 1 once exhausted
    budget_remaining: float | None  # 1 - budget_burned
    coverage: float  # share of the total weight that had data
    parts: tuple[PartShare, ...] = field(default_factory=tuple)


def normalized_weights(weights: Sequence[float]) -> list[float]:
    return [float(w) for w in _normalized([_exact(w) for w in weights])]


def _exact(x: float) -> Fraction:
    """A float as the decimal it prints as (``0.999`` is 999/1000, not the nearest binary
    fraction), so composite arithmetic on targets and weights is exact: no float noise
    such as an error budget of ``0.0009999999999998899`` for a target of 0.999."""
    return Fraction(repr(float(x)))


def _normalized(weights: Sequence[Fraction]) -> list[Fraction]:
    total = sum(weights, Fraction(0))
    if total <= 0:
        raise ValueError("weights must add up to more than 0")
    return [w / total for w in weights]


def _burned(value: Fraction, target: Fraction) -> float:
    if target >= 1:
        return 0.0 if value >= 1 else math.inf
    return float((1 - value) / (1 - target))


def weighted_composite(
    parts: Sequence[WeightedPart],
    target: float | None = None,
    aggregation: Aggregation = "reliability",
) -> WeightedComposite:
    """Roll ``parts`` up into one composite objective (see the module docstring).

    ``target`` defaults to the weighted mean of the parts' targets (the composite then
    burns budget at the pace its parts do on average). The arithmetic is exact on the
    decimals the inputs print as; each figure is rounded once, to the nearest float.
    """
    if not parts:
        raise ValueError("a weighted composite needs at least one part")
    all_w = _normalized([_exact(p.weight) for p in parts])
    composite_target = (
        _exact(target)
        if target is not None
        else sum((w * _exact(p.target) for w, p in zip(all_w, parts, strict=True)), Fraction(0))
    )
    _check_probability(float(composite_target), "composite target")
    measured = [p for p in parts if p.reliability is not None]
    coverage = sum(
        (w for w, p in zip(all_w, parts, strict=True) if p.reliability is not None), Fraction(0)
    )

    def value_of(p: WeightedPart) -> Fraction:
        assert p.reliability is not None
        if aggregation == "reliability":
            return _exact(p.reliability)
        return Fraction(1) if p.reliability >= p.target else Fraction(0)

    if not measured:
        shares = tuple(PartShare(p.name, 0.0, None, None, None) for p in parts)
        return WeightedComposite(
            aggregation,
            float(composite_target),
            None,
            float(1 - composite_target),
            None,
            None,
            0.0,
            shares,
        )
    shares_w = _normalized([_exact(p.weight) for p in measured])
    weights = {id(p): w for p, w in zip(measured, shares_w, strict=True)}
    value = min(Fraction(1), sum((weights[id(p)] * value_of(p) for p in measured), Fraction(0)))
    burned = _burned(value, composite_target)
    shares_list = []
    for p in parts:
        if p.reliability is None:
            shares_list.append(PartShare(p.name, 0.0, None, None, None))
            continue
        w, v = weights[id(p)], value_of(p)
        contribution = float(w * (1 - v) / (1 - composite_target)) if composite_target < 1 else None
        burned_own = _burned(_exact(p.reliability), _exact(p.target))
        shares_list.append(PartShare(p.name, float(w), float(v), burned_own, contribution))
    remaining = (
        float(1 - (1 - value) / (1 - composite_target)) if composite_target < 1 else 1.0 - burned
    )
    return WeightedComposite(
        aggregation=aggregation,
        target=float(composite_target),
        value=float(value),
        error_budget=float(1 - composite_target),
        budget_burned=burned,
        budget_remaining=remaining,
        coverage=float(coverage),
        parts=tuple(shares_list),
    )


# --- components -------------------------------------------------------------------------

Hosting = Literal["on-premises", "public-cloud", "private-cloud", "saas", "hybrid"]
Tier = Literal["service", "internal", "vendor"]


@dataclass(frozen=True)
class SloBinding:
    """A component measured by one SLO objective, with its composite weight."""

    slo: str
    objective: str
    weight: float = 1.0


@dataclass(frozen=True)
class Component:
    """A part of a service that can fail, with who provides and runs it.

    ``target`` is its designed availability on its own (without its dependencies); ``slos``
    measure it. ``tier`` says which kind of agreement covers it: ``service`` (the service's
    own part), ``internal`` (an OLA with another team) or ``vendor`` (a UC with a supplier);
    ``party`` names that team or supplier.
    """

    name: str
    display_name: str = ""
    description: str = ""
    service: str | None = None
    provider: str = "internal"
    hosting: Hosting | None = None
    operated_by: str | None = None
    tier: Tier = "service"
    party: str | None = None
    target: float | None = None
    slos: tuple[SloBinding, ...] = ()
    aggregation: Aggregation = "reliability"
    depends_on: Expr | None = None
    origin: Origin | None = None

    def node(self) -> Node:
        return Node(self.name, self.depends_on)
