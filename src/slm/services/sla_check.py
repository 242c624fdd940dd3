"""Can the OLAs and UCs under an SLA support it? And would a vendor's proposed UC?

``check_agreements`` takes every SLA and, per availability clause (an SLO or downtime
measure; incident clauses are not availability and are skipped), finds the component the
clause measures and the promises made for the components it depends on: each clause of an
OLA or UC that underpins the SLA promises its target for one component (the clause's
``attribution.component``, else the component bound to the clause's SLO). A promised
component counts as one part with the promised availability (its own dependencies are
inside the promise); a component nobody promised counts with its designed target. The
composite arithmetic (``slm.domain.composite``) then gives the availability the promises
support, compared with the SLA clause's target, and for every promise the lowest target
that would still support the SLA with the other promises held as they are.

``supplier_report`` validates a vendor's proposed UC before signing: for every clause of
the UC and every SLA clause it underpins, whether its proposed target supports the SLA
and which target it would have to meet, beside the vendor's measured (or probed) history:
the attainment of the UC clause's measure in each of the last ``history`` complete
periods, in the UC's time zone, counted as the UC's statement would count it (only the
business hours of a business-hours clause, approved exclusions left out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal
from zoneinfo import ZoneInfo

from slm.domain.agreement import Agreement, Clause, DowntimeMeasure, SloMeasure
from slm.domain.composite import (
    Component,
    Node,
    availability,
    closure,
    expand,
    refs,
    required_availability,
)
from slm.domain.errors import DataError, NotFoundError, SlmError
from slm.domain.model import SLO, CalendarWindow
from slm.domain.statement import Figures, Period
from slm.domain.windows import calendar_period
from slm.services.composite import design_own
from slm.services.ports import SourceFactory
from slm.services.statements import figures_by_period
from slm.spec.workspace import Workspace

AGREEMENT_KEY = ("slm/v1", "Agreement")
Verdict = Literal["supported", "not-supported", "unchecked"]


def agreements_of(objects: Mapping[tuple[str, str], Mapping[str, object]]) -> dict[str, Agreement]:
    return {n: a for n, a in objects.get(AGREEMENT_KEY, {}).items() if isinstance(a, Agreement)}


@dataclass(frozen=True)
class Promise:
    """One OLA/UC clause's target for one component, and what it would have to be."""

    agreement: str
    type: str
    party: str
    clause: str
    component: str
    target: float  # ratio
    required: float | None  # lowest target that still supports the SLA clause; None: none does
    in_scope: bool  # the component is one the SLA clause depends on

    @property
    def sufficient(self) -> bool:
        return self.required is not None and self.target >= self.required


@dataclass(frozen=True)
class ClauseCheck:
    sla: str
    clause: str
    target: float  # ratio
    component: str | None
    supported: float | None  # availability the promises support
    verdict: Verdict
    reason: str
    promises: tuple[Promise, ...] = ()
    unpromised: tuple[tuple[str, float], ...] = ()  # (component, designed availability)
    ignored: tuple[tuple[str, str, str], ...] = ()  # (agreement, clause, why not a promise)


@dataclass
class CheckReport:
    checks: list[ClauseCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.verdict != "not-supported" for c in self.checks)


def _pct(x: Decimal) -> float:
    return float(x / Decimal(100))


def _measure_slo(clause: Clause) -> tuple[str, str] | None:
    m = clause.measure
    if isinstance(m, SloMeasure | DowntimeMeasure):
        return m.slo, m.objective
    return None


def not_availability(clause: Clause, slos: Mapping[str, SLO]) -> str | None:
    """Why ``clause`` does not measure availability (``None`` when it does).

    Availability is a downtime rule, or an SLO objective over a ratio indicator (requests
    or slices that succeed). Latency thresholds and incident handling are not.
    """
    m = clause.measure
    if isinstance(m, DowntimeMeasure):
        return None
    if not isinstance(m, SloMeasure):
        return "incident handling, not availability"
    slo = slos.get(m.slo)
    objective = next((o for o in slo.objectives if o.name == m.objective), None) if slo else None
    if slo is None or objective is None:
        return f"SLO {m.slo!r} objective {m.objective!r} is not in the workspace"
    if slo.indicator_for(objective).threshold is not None:
        return f"SLO {m.slo!r} is a threshold (e.g. latency) objective, not availability"
    return None


def not_a_promise(
    clause: Clause,
    slos: Mapping[str, SLO],
    *,
    calendar: str | None = None,
    for_calendar: str | None = None,
) -> str | None:
    """Why an OLA/UC clause promises nothing an SLA clause can build on (``None``: it does).

    A business-hours clause promises nothing outside its calendar's business hours, so it
    supports only an SLA clause that counts the business hours of the same ``Calendar``
    (``for_calendar``: the SLA's calendar when its clause is business-hours only)."""
    if clause.business_hours_only and (calendar is None or calendar != for_calendar):
        if for_calendar is None:
            return "counts business hours only, so it promises nothing outside them"
        return f"counts the business hours of calendar {calendar!r}, not those of {for_calendar!r}"
    return not_availability(clause, slos)


def clause_component(clause: Clause, components: Mapping[str, Component]) -> tuple[str | None, str]:
    """The component a clause measures, and how it was found (or why not)."""
    named = clause.attribution.component
    if named:
        if named in components:
            return named, "attribution.component"
        return None, f"attribution.component {named!r} is not a Component"
    bound = _measure_slo(clause)
    if bound is None:
        return None, "incident clauses do not measure a component's availability"
    exact = sorted(
        n for n, c in components.items() if any((b.slo, b.objective) == bound for b in c.slos)
    )
    loose = sorted(n for n, c in components.items() if any(b.slo == bound[0] for b in c.slos))
    found = exact or loose
    if len(found) == 1:
        return found[0], f"bound to SLO {bound[0]!r}"
    if not found:
        return None, f"no Component is bound to SLO {bound[0]!r}; set attribution.component"
    return None, f"several Components are bound to SLO {bound[0]!r} ({', '.join(found)})"


def _sla_root(
    sla: Agreement, clause: Clause, components: Mapping[str, Component], nodes: Mapping[str, Node]
) -> tuple[str | None, str]:
    name, how = clause_component(clause, components)
    if name is not None:
        return name, how
    if _measure_slo(clause) is None:
        return None, how
    used = {d for n in nodes.values() if n.depends_on for d in _deps(n)}
    tops = sorted(n for n, c in components.items() if c.service in sla.services and n not in used)
    if len(tops) == 1:
        return tops[0], f"the top Component of service {components[tops[0]].service!r}"
    return None, how


def _deps(node: Node) -> set[str]:
    return set(refs(node.depends_on)) if node.depends_on else set()


def _underpinning(sla: Agreement, all_agreements: Mapping[str, Agreement]) -> list[Agreement]:
    return [
        a
        for n, a in sorted(all_agreements.items())
        if sla.name in a.underpins and a.type in ("OLA", "UC")
    ]


def check_clause(
    sla: Agreement,
    clause: Clause,
    all_agreements: Mapping[str, Agreement],
    components: Mapping[str, Component],
    slos: Mapping[str, SLO],
) -> ClauseCheck:
    target = _pct(clause.target)
    nodes = {n: c.node() for n, c in components.items()}
    root, how = _sla_root(sla, clause, components, nodes)
    if root is None:
        return ClauseCheck(sla.name, clause.name, target, None, None, "unchecked", how)
    why_not = not_availability(clause, slos)
    if why_not is not None:
        return ClauseCheck(sla.name, clause.name, target, root, None, "unchecked", why_not)
    promised: dict[str, list[tuple[Agreement, Clause]]] = {}
    ignored: list[tuple[str, str, str]] = []
    for a in _underpinning(sla, all_agreements):
        for c in a.clauses:
            comp, how_c = clause_component(c, components)
            why = not_a_promise(
                c,
                slos,
                calendar=a.calendar,
                for_calendar=sla.calendar if clause.business_hours_only else None,
            ) or (None if comp is not None else how_c)
            if why is not None:
                ignored.append((a.name, c.name, why))
            elif comp is not None:
                promised.setdefault(comp, []).append((a, c))
    # a promised component is one part: what it depends on is inside its promise
    cut = {n: Node(n, None if n in promised else node.depends_on) for n, node in nodes.items()}
    scope = closure(root, cut)
    expr = expand(root, cut)
    values: dict[str, float] = {}
    unpromised: list[tuple[str, float]] = []
    for n in scope:
        if n in promised:
            values[n] = min(_pct(c.target) for _, c in promised[n])
        else:
            values[n] = design_own(components[n], slos)
            unpromised.append((n, values[n]))
    own_values = {f"{n}#own": v for n, v in values.items()}
    supported = availability(expr, own_values)

    def needed(component: str) -> float | None:
        key = f"{component}#own"
        return required_availability(lambda x: availability(expr, {**own_values, key: x}), target)

    promises = []
    for comp, items in sorted(promised.items()):
        in_scope = comp in scope
        req = needed(comp) if in_scope else None
        for a, c in items:
            promises.append(
                Promise(a.name, a.type, a.provider, c.name, comp, _pct(c.target), req, in_scope)
            )
    ok = supported >= target
    reason = (
        f"{root} ({how}): the promises support {supported * 100:.4f}%"
        f" {'>=' if ok else '<'} the target {float(clause.target)}%"
    )
    if not promised:
        reason += "; no OLA or UC underpins it"
    return ClauseCheck(
        sla.name,
        clause.name,
        target,
        root,
        supported,
        "supported" if ok else "not-supported",
        reason,
        tuple(promises),
        tuple(unpromised),
        tuple(ignored),
    )


def check_agreements(
    all_agreements: Mapping[str, Agreement],
    components: Mapping[str, Component],
    slos: Mapping[str, SLO],
    names: Sequence[str] | None = None,
) -> CheckReport:
    """Every availability clause of every SLA (or of ``names``), in name order."""
    report = CheckReport()
    wanted = (
        sorted(n for n, a in all_agreements.items() if a.type == "SLA")
        if names is None
        else list(names)
    )
    for name in wanted:
        sla = all_agreements.get(name)
        if sla is None or sla.type != "SLA":
            raise NotFoundError(f"no SLA named {name!r}")
        for clause in sla.clauses:
            if _measure_slo(clause) is None:
                continue  # incident handling: not availability
            report.checks.append(check_clause(sla, clause, all_agreements, components, slos))
    return report


# --- supplier validation ----------------------------------------------------------------


@dataclass(frozen=True)
class PeriodAttainment:
    """One period of a UC clause's history, counted as its statement would count it."""

    label: str
    start: datetime
    end: datetime
    attainment: float | None  # adjusted: eligible minutes, approved exclusions left out
    coverage: float | None  # share of the eligible minutes that had data
    meets_proposed: bool | None  # None: no data
    meets_required: bool | None  # None: no data, or the clause carries no SLA clause
    raw_attainment: float | None = None  # every eligible minute, exclusions included
    eligible_minutes: int = 0  # the period, or its business hours
    excluded_minutes: int = 0  # eligible minutes inside approved exclusions


@dataclass(frozen=True)
class SupplierClause:
    clause: str
    component: str | None
    proposed: float
    history: tuple[PeriodAttainment, ...]
    supports: tuple[tuple[ClauseCheck, Promise], ...]  # each SLA clause it underpins
    note: str = ""
    business_hours_only: bool = False  # its history counts the calendar's business hours

    @property
    def required(self) -> float | None:
        """The strictest target any SLA clause needs from this clause (None: unreachable)."""
        reqs = [p.required for _, p in self.supports]
        if any(r is None for r in reqs):
            return None
        return max((r for r in reqs if r is not None), default=0.0)

    @property
    def proposal_ok(self) -> bool:
        return all(p.sufficient for _, p in self.supports)

    @property
    def history_ok(self) -> bool:
        return all(h.meets_required is not False for h in self.history)


@dataclass
class SupplierReport:
    uc: Agreement
    periods: int
    clauses: list[SupplierClause] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.proposal_ok and c.history_ok for c in self.clauses if c.supports)


def past_periods(
    unit: str, zone: str, at: datetime, count: int
) -> list[tuple[str, datetime, datetime]]:
    """The last ``count`` complete months or quarters before ``at``, oldest first."""
    tz = ZoneInfo(zone)
    window = CalendarWindow(
        unit="quarter" if unit == "quarter" else "month",
        count=1,
        start=datetime(2000, 1, 1, tzinfo=tz),
        time_zone=zone,
    )
    start, _ = calendar_period(window, at)
    out = []
    end = start
    for _ in range(count):
        s, e = calendar_period(window, end - timedelta(microseconds=1))
        local = s.astimezone(tz)
        label = (
            f"{local.year}-Q{(local.month - 1) // 3 + 1}"
            if unit == "quarter"
            else f"{local.year}-{local.month:02d}"
        )
        out.append((label, s, e))
        end = s
    return out[::-1]


def clause_history(
    ws: Workspace,
    uc: Agreement,
    clause: Clause,
    periods: Sequence[tuple[str, datetime, datetime]],
    factory: SourceFactory,
) -> list[tuple[Period, Figures]]:
    """``clause``'s figures in each period, counted as its statement counts them.

    ``slm.services.statements.figures_by_period`` computes them: only the eligible
    minutes (the calendar's business hours for a ``businessHoursOnly`` clause) count, and
    the approved exclusions that apply to the UC (spec and stored ones) are left out of
    the adjusted attainment. Incident clauses have no availability history (``[]``).
    """
    if _measure_slo(clause) is None:
        return []
    spans = [Period(label, start, end, uc.time_zone) for label, start, end in periods]
    (figures,) = figures_by_period(ws, replace(uc, clauses=(clause,)), spans, factory)
    return list(zip(spans, figures, strict=True))


def _attains(attainment: Fraction, target: float | Decimal) -> bool:
    if isinstance(target, Decimal):
        return attainment >= Fraction(target) / 100
    return attainment >= target


def supplier_report(
    ws: Workspace,
    uc_name: str,
    all_agreements: Mapping[str, Agreement],
    components: Mapping[str, Component],
    at: datetime,
    factory: SourceFactory,
    history: int = 12,
) -> SupplierReport:
    uc = all_agreements.get(uc_name)
    if uc is None:
        raise NotFoundError(f"no Agreement named {uc_name!r}")
    if uc.type != "UC":
        raise NotFoundError(f"Agreement {uc_name!r} is an {uc.type}, not a UC")
    if not uc.underpins:
        raise DataError(f"UC {uc_name!r} underpins no SLA: add spec.underpins")
    report = SupplierReport(uc=uc, periods=history)
    sla_checks = check_agreements(
        all_agreements,
        components,
        ws.slos,
        [n for n in uc.underpins if all_agreements[n].type == "SLA"],
    ).checks
    periods = past_periods(uc.period, uc.time_zone, at, history) if history > 0 else []
    for clause in uc.clauses:
        comp, how = clause_component(clause, components)
        proposed = _pct(clause.target)
        supports = tuple(
            (chk, p)
            for chk in sla_checks
            for p in chk.promises
            if p.agreement == uc.name and p.clause == clause.name and p.in_scope
        )
        why = None if supports else not_a_promise(clause, ws.slos)
        note = why or ("" if comp is not None else how)
        if why is None and comp is not None and not supports:
            note = f"component {comp!r} is not one the underpinned SLA clauses depend on"
        required = (
            None
            if not supports
            else SupplierClause(clause.name, comp, proposed, (), supports).required
        )
        rows: list[PeriodAttainment] = []
        try:
            for period, fig in clause_history(ws, uc, clause, periods, factory):
                att = fig.adjusted
                rows.append(
                    PeriodAttainment(
                        period.label,
                        period.start,
                        period.end,
                        None if att is None else float(att),
                        None if fig.coverage is None else float(fig.coverage),
                        None if att is None else _attains(att, clause.target),
                        None
                        if att is None or not supports
                        else (required is not None and _attains(att, required)),
                        raw_attainment=None if fig.attainment is None else float(fig.attainment),
                        eligible_minutes=fig.eligible_minutes,
                        excluded_minutes=fig.excluded_minutes,
                    )
                )
        except (SlmError, ValueError) as e:
            report.failures.append(f"clause {clause.name}: cannot read its history: {e}")
        report.clauses.append(
            SupplierClause(
                clause.name,
                comp,
                proposed,
                tuple(rows),
                supports,
                note,
                clause.business_hours_only,
            )
        )
    return report
