"""The ``slm/v1`` ``Component`` kind: a part of a service and what it depends on.

See docs/composites.md. The pydantic models check shapes; ``map_component`` checks what
spans objects (the SLOs and objectives it is bound to, the components it depends on, no
dependency cycles) and builds ``slm.domain.composite.Component``.

A dependency is written as one of::

    payments                          # a component (shorthand for {component: payments})
    {component: payments}
    {allOf: [...]}                    # series: every item is needed
    {anyOf: [...]}                    # redundant: any one item is enough
    {atLeast: 2, of: [...]}           # k-of-n
    {primary: ..., fallback: ..., switchover: 0.99}

and a list given directly to ``dependsOn`` means ``allOf``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from slm.domain.composite import (
    AllOf,
    AnyOf,
    AtLeast,
    Component,
    Expr,
    Fallback,
    Node,
    Ref,
    SloBinding,
    find_cycle,
)
from slm.spec.common import Name, Percent, Positive, Ratio, SpecModel
from slm.spec.context import MapContext, origin_of
from slm.spec.mapper import percent_to_ratio
from slm.spec.problems import SpecObject
from slm.spec.slm_v1 import API_VERSION, Envelope
from slm.spec.yamlio import FieldPath

KIND = "Component"
ROLE = f"{API_VERSION}/{KIND}"
KEY = (API_VERSION, KIND)


def _shorthand(value: Any) -> Any:
    """``payments`` -> ``{component: payments}``."""
    return {"component": value} if isinstance(value, str) else value


def _list_is_all_of(value: Any) -> Any:
    if isinstance(value, list):
        return {"allOf": value}
    return _shorthand(value)


class DependencySpec(SpecModel):
    component: Name | None = None
    all_of: list[Dep] | None = Field(default=None, min_length=1)
    any_of: list[Dep] | None = Field(default=None, min_length=1)
    at_least: int | None = Field(default=None, ge=1)
    of: list[Dep] | None = Field(default=None, min_length=1)
    primary: Dep | None = None
    fallback: Dep | None = None
    switchover: float | None = Field(default=None, gt=0, le=1)


Dep = Annotated[DependencySpec, BeforeValidator(_shorthand)]
DependencySpec.model_rebuild()


class Responsibility(SpecModel):
    hosting: Literal["on-premises", "public-cloud", "private-cloud", "saas", "hybrid"]
    operated_by: str | None = Field(default=None, min_length=1)


class SloBindingSpec(SpecModel):
    slo: str = Field(min_length=1)
    objective: str | None = Field(default=None, min_length=1)
    weight: Positive | None = None


class ComponentSpec(SpecModel):
    description: str | None = None
    service: str | None = Field(default=None, min_length=1)
    provider: str = Field(default="internal", min_length=1)
    responsibility: Responsibility | None = None
    tier: Literal["service", "internal", "vendor"] = "service"
    party: str | None = Field(default=None, min_length=1)
    target: Ratio | None = None
    target_percent: Percent | None = None
    slos: list[SloBindingSpec] = Field(default_factory=list)
    aggregation: Literal["reliability", "errorBudgetState"] = "reliability"
    depends_on: Annotated[DependencySpec | None, BeforeValidator(_list_is_all_of)] = None


class ComponentModel(Envelope):
    kind: Literal["Component"]
    spec: ComponentSpec


# --- mapping ----------------------------------------------------------------------------

_FORMS = ("component", "allOf", "anyOf", "atLeast/of", "primary/fallback")


class _Mapper:
    def __init__(self, obj: SpecObject, ctx: MapContext):
        self.obj, self.ctx, self.ok = obj, ctx, True

    def problem(self, field: FieldPath, message: str) -> None:
        self.ok = False
        self.ctx.problems.at(self.obj, field, message)

    def dependency(self, f: FieldPath, d: DependencySpec) -> Expr | None:
        given = {
            "component": d.component is not None,
            "allOf": d.all_of is not None,
            "anyOf": d.any_of is not None,
            "atLeast/of": d.at_least is not None or d.of is not None,
            "primary/fallback": d.primary is not None or d.fallback is not None,
        }
        forms = [k for k, v in given.items() if v]
        if len(forms) != 1:
            what = "none" if not forms else " and ".join(forms)
            self.problem(f, f"give exactly one of {', '.join(_FORMS)} (got {what})")
            return None
        if d.switchover is not None and forms != ["primary/fallback"]:
            self.problem((*f, "switchover"), "only allowed with primary and fallback")
        if d.component is not None:
            if d.component == self.obj.name:
                self.problem((*f, "component"), "a component cannot depend on itself")
                return None
            if not self.ctx.is_declared(ROLE, d.component):
                self.problem((*f, "component"), f"unknown Component {d.component!r}")
                return None
            return Ref(d.component)
        if d.all_of is not None:
            items = self.items((*f, "allOf"), d.all_of)
            return None if items is None else AllOf(items)
        if d.any_of is not None:
            items = self.items((*f, "anyOf"), d.any_of)
            return None if items is None else AnyOf(items)
        if forms == ["atLeast/of"]:
            return self.k_of_n(f, d)
        return self.fallback(f, d)

    def items(self, f: FieldPath, deps: list[DependencySpec]) -> tuple[Expr, ...] | None:
        out = [self.dependency((*f, i), d) for i, d in enumerate(deps)]
        return None if any(x is None for x in out) else tuple(x for x in out if x is not None)

    def k_of_n(self, f: FieldPath, d: DependencySpec) -> Expr | None:
        if d.at_least is None or d.of is None:
            missing = "atLeast" if d.at_least is None else "of"
            self.problem((*f, missing), "required field missing (atLeast and of go together)")
            return None
        items = self.items((*f, "of"), d.of)
        if items is None:
            return None
        if d.at_least > len(items):
            self.problem(
                (*f, "atLeast"), f"must be at most the number of items in of ({len(items)})"
            )
            return None
        return AtLeast(d.at_least, items)

    def fallback(self, f: FieldPath, d: DependencySpec) -> Expr | None:
        if d.primary is None or d.fallback is None:
            missing = "primary" if d.primary is None else "fallback"
            self.problem((*f, missing), "required field missing (primary and fallback go together)")
            return None
        p = self.dependency((*f, "primary"), d.primary)
        b = self.dependency((*f, "fallback"), d.fallback)
        if p is None or b is None:
            return None
        return Fallback(p, b, 1.0 if d.switchover is None else d.switchover)

    def binding(self, f: FieldPath, b: SloBindingSpec) -> SloBinding | None:
        if not self.ctx.check_ref(self.obj, (*f, "slo"), "slo", b.slo):
            self.ok = False
            return None
        slo = self.ctx.workspace.slos.get(b.slo)
        if slo is None:
            self.ok = False
            return None  # declared but invalid: already reported
        names = [o.name for o in slo.objectives]
        if b.objective is None:
            if len(names) != 1:
                self.problem(
                    (*f, "objective"),
                    f"required field missing: SLO {b.slo!r} has {len(names)} objectives "
                    f"({', '.join(map(repr, names))}); name one",
                )
                return None
            objective = slo.objectives[0]
        else:
            found = [o for o in slo.objectives if b.objective in (o.name, o.display_name)]
            if not found:
                self.problem(
                    (*f, "objective"),
                    f"SLO {b.slo!r} has no objective {b.objective!r} "
                    f"(it has {', '.join(map(repr, names))})",
                )
                return None
            objective = found[0]
        weight = b.weight if b.weight is not None else objective.composite_weight or 1.0
        return SloBinding(slo=b.slo, objective=objective.name, weight=float(weight))

    def target(self, s: ComponentSpec) -> float | None:
        if s.target is not None and s.target_percent is not None:
            self.problem(("spec",), "use either target or targetPercent, not both")
            return None
        if s.target_percent is not None:
            return percent_to_ratio(s.target_percent)
        return s.target


def map_component(obj: SpecObject, m: ComponentModel, ctx: MapContext) -> list[Any]:
    mp = _Mapper(obj, ctx)
    s = m.spec
    target = mp.target(s)
    if s.service is not None:
        mp.ok &= ctx.check_ref(obj, ("spec", "service"), "service", s.service)
    bindings = [mp.binding(("spec", "slos", i), b) for i, b in enumerate(s.slos)]
    seen: set[tuple[str, str]] = set()
    for i, b in enumerate(bindings):
        if b is not None and (b.slo, b.objective) in seen:
            mp.problem(("spec", "slos", i), f"SLO {b.slo!r} objective {b.objective!r} listed twice")
        elif b is not None:
            seen.add((b.slo, b.objective))
    deps = None if s.depends_on is None else mp.dependency(("spec", "dependsOn"), s.depends_on)
    if not mp.ok:
        return []
    if deps is not None:
        _check_cycle(obj, ctx, m.metadata.name, deps)
    resp = s.responsibility
    return [
        Component(
            name=m.metadata.name,
            display_name=m.metadata.display_name or "",
            description=s.description or "",
            service=s.service,
            provider=s.provider,
            hosting=resp.hosting if resp else None,
            operated_by=resp.operated_by if resp else None,
            tier=s.tier,
            party=s.party,
            target=target,
            slos=tuple(b for b in bindings if b is not None),
            aggregation=s.aggregation,
            depends_on=deps,
            origin=origin_of(obj, API_VERSION, KIND),
        )
    ]


def _check_cycle(obj: SpecObject, ctx: MapContext, name: str, deps: Expr) -> None:
    """Components are mapped in order: the last member of a cycle to be mapped reports it."""
    done = ctx.workspace.objects.get(KEY, {})
    nodes = {n: c.node() for n, c in done.items() if isinstance(c, Component)}
    nodes[name] = Node(name, deps)
    cycle = find_cycle(nodes)
    if cycle is not None and name in cycle:
        ctx.problems.at(obj, ("spec", "dependsOn"), "dependency cycle: " + " -> ".join(cycle))


def components(objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Component]:
    """The components of a loaded workspace (``Workspace.objects``), by name."""
    return {n: c for n, c in objects.get(KEY, {}).items() if isinstance(c, Component)}
