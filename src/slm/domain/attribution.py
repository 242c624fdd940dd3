"""Breach attribution: which components of a clause's dependency graph failed, per minute.

A breached clause's *bad minutes* (the downtime minutes that counted, or the minutes with
failed events that counted) are explained by walking the clause's component and what it
depends on (``slm.domain.composite``). Each component has an *own down* mask: the minutes
its bound SLO objectives were bad. Per minute:

- a component has *failed* when it is down on its own or its dependencies failed;
- ``allOf`` (series) fails when any item fails; ``anyOf`` (redundant) only when every item
  fails; ``atLeast k`` when fewer than ``k`` items are up; ``primary``/``fallback`` only
  when both fail (a group whose redundancy held does not count as failed);
- the failed minutes of a component are *blamed* on the deepest failures: on its failed
  dependencies where they failed, on the component itself where it was down alone.

A minute blamed on ``n`` components counts ``1/n`` of a minute toward each one's share, so
the shares of a breach add up to exactly 1; ``minutes`` counts every minute a component
was among the blamed. Minutes no component explains go to the clause's declared
attribution, marked ``unattributed``. Components without a measurement are never blamed
on their own (no data is not evidence); the caller lists them as unmeasured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

from slm.domain.agreement import Attribution
from slm.domain.composite import AllOf, AnyOf, AtLeast, Component, Expr, Fallback, Ref
from slm.domain.series import BoolArray, EventSeries

Basis = Literal["measured", "unattributed"]


@dataclass(frozen=True)
class BreachShare:
    """One component's part in a breach (or the declared fallback, ``unattributed``)."""

    component: str
    tier: str
    party: str
    provider: str
    hosting: str
    responsibility: str  # who operates it (``operatedBy``, else the party)
    minutes: int | None  # None: the clause is not counted in minutes
    share: Fraction
    basis: Basis


def bad_minutes(events: EventSeries, max_error: Fraction, interval: int = 1) -> BoolArray:
    """Minutes of ``interval``-minute intervals (aligned to the series start) whose error
    ratio ``bad/total`` exceeds ``max_error``; intervals without events are not bad."""
    n = len(events)
    k = -(-n // interval) if n else 0
    pad = k * interval - n
    good = np.concatenate((events.good, np.zeros(pad))).reshape(k, interval).sum(axis=1)
    total = np.concatenate((events.total, np.zeros(pad))).reshape(k, interval).sum(axis=1)
    bad = total - good
    down = (total > 0) & (bad * max_error.denominator > total * max_error.numerator)
    return np.repeat(down, interval)[:n]


class _Graph:
    def __init__(
        self, components: Mapping[str, Component], own_down: Mapping[str, BoolArray], n: int
    ):
        self.components, self.own_down, self.n = components, own_down, n
        self._failed: dict[str, BoolArray] = {}

    def none(self) -> BoolArray:
        return np.zeros(self.n, dtype=np.bool_)

    def failed_node(self, name: str) -> BoolArray:
        if name not in self._failed:
            own = self.own_down.get(name, self.none())
            c = self.components.get(name)
            deps = c.depends_on if c is not None else None
            self._failed[name] = own | (self.failed(deps) if deps is not None else self.none())
        return self._failed[name]

    def failed(self, e: Expr) -> BoolArray:
        if isinstance(e, Ref):
            return self.failed_node(e.name)
        if isinstance(e, Fallback):
            return self.failed(e.primary) & self.failed(e.fallback)
        items = np.array([self.failed(i) for i in e.items], dtype=np.bool_)
        if isinstance(e, AllOf):
            return np.asarray(items.any(axis=0), dtype=np.bool_)
        if isinstance(e, AnyOf):
            return np.asarray(items.all(axis=0), dtype=np.bool_)
        assert isinstance(e, AtLeast)
        return np.asarray((~items).sum(axis=0) < e.k, dtype=np.bool_)

    def blame_node(self, name: str, where: BoolArray, out: dict[str, BoolArray]) -> None:
        """Blame the failed minutes ``where`` of component ``name``."""
        c = self.components.get(name)
        deps = c.depends_on if c is not None else None
        by_deps = self.failed(deps) & where if deps is not None else self.none()
        if deps is not None and by_deps.any():
            self.blame(deps, by_deps, out)
        alone = self.own_down.get(name, self.none()) & where & ~by_deps
        if alone.any():
            out[name] = out.get(name, self.none()) | alone

    def blame(self, e: Expr, where: BoolArray, out: dict[str, BoolArray]) -> None:
        if isinstance(e, Ref):
            self.blame_node(e.name, where & self.failed_node(e.name), out)
            return
        children = (e.primary, e.fallback) if isinstance(e, Fallback) else e.items
        for child in children:
            part = where & self.failed(child)
            if part.any():
                self.blame(child, part, out)


def blamed(
    root: str, components: Mapping[str, Component], own_down: Mapping[str, BoolArray], n: int
) -> dict[str, BoolArray]:
    """Per component, the minutes where ``root`` failed because of it (see module doc)."""
    g = _Graph(components, own_down, n)
    out: dict[str, BoolArray] = {}
    g.blame_node(root, g.failed_node(root), out)
    return out


def _share_of(c: Component) -> tuple[str, str, str, str, str]:
    return (c.tier, c.party or "", c.provider, c.hosting or "", c.operated_by or c.party or "")


def attribute(
    bad: BoolArray | None,
    declared: Attribution,
    components: Mapping[str, Component],
    own_down: Mapping[str, BoolArray],
) -> tuple[BreachShare, ...]:
    """The shares of a breach with bad minutes ``bad`` (``None``: not counted in minutes)."""
    # the declared attribution, its blanks filled in from the component it names
    comp = components.get(declared.component)
    known = _share_of(comp) if comp is not None else ("", "", "", "", "")
    tier, party, provider, hosting, resp = (
        d or k
        for d, k in zip(
            (declared.tier, declared.party, declared.provider, "", declared.responsibility),
            known,
            strict=True,
        )
    )
    fallback = (declared.component, tier, party, provider, hosting, resp)
    if bad is None or not bad.any():
        minutes = None if bad is None else 0
        return (BreachShare(*fallback, minutes=minutes, share=Fraction(1), basis="unattributed"),)
    total = int(bad.sum())
    root = declared.component
    by = blamed(root, components, own_down, len(bad)) if root in components else {}
    by = {name: m & bad for name, m in by.items() if (m & bad).any()}
    count = np.sum(list(by.values()), axis=0) if by else np.zeros(len(bad), dtype=np.int64)
    out: list[BreachShare] = []
    for name, m in by.items():
        share = sum(
            (Fraction(int((m & (count == k)).sum()), k) for k in range(1, len(by) + 1)),
            Fraction(0),
        )
        out.append(
            BreachShare(
                name,
                *_share_of(components[name]),
                minutes=int(m.sum()),
                share=share / total,
                basis="measured",
            )
        )
    out.sort(key=lambda s: (-s.share, s.component))
    rest = int((bad & (count == 0)).sum())
    if rest:
        out.append(
            BreachShare(*fallback, minutes=rest, share=Fraction(rest, total), basis="unattributed")
        )
    return tuple(out)
