"""SLA use cases beyond one statement: storing statements, credits per cost centre and team,
and the negotiation aid that replays candidate targets over past periods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from slm.domain.agreement import Agreement, Clause, CreditTier, IncidentMeasure
from slm.domain.credits import apply_cap, credit_amount, percent_fraction, tier_for, zero
from slm.domain.errors import NotFoundError
from slm.domain.statement import Figures, Period, Statement
from slm.services.ports import Clock, SourceFactory
from slm.services.statements import (
    PeriodError,
    agreement,
    agreements,
    complete_periods,
    compute_statement,
    figures_by_period,
    statement_json,
)
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.statements import SaveState, StatementRecord, StatementRepository

# --- storing ----------------------------------------------------------------------------


def record_statement(store: Store, st: Statement, clock: Clock) -> SaveState:
    """Store the statement's bytes with its inputs (a no-op when already stored)."""
    body = statement_json(st)
    record = StatementRecord(
        agreement=st.agreement.name,
        period=st.period.label,
        inputs_sha256=str(st.inputs["sha256"]),
        inputs=st.inputs,
        body=body,
        total_credit=str(st.total_credit),
        currency=st.agreement.fee.currency,
        created_at=clock.now(),
    )
    with store.transaction() as repos:
        return StatementRepository(repos.connection).save(record)


# --- costs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostLine:
    """Credits of one agreement clause, charged to a cost centre and an owning team.

    ``amount`` is positive for credits we pay (SLA, OLA) and negative for credits a vendor
    owes us (UC)."""

    cost_centre: str
    team: str
    agreement: str
    agreement_type: str
    clause: str
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class Costs:
    period: str
    lines: tuple[CostLine, ...]
    skipped: tuple[str, ...]  # agreements measured per another unit

    def by(self, key: str) -> list[tuple[str, str, Decimal]]:
        """``(name, currency, total)`` per ``cost_centre`` or ``team``, sorted."""
        sums: dict[tuple[str, str], Decimal] = {}
        for line in self.lines:
            k = (str(getattr(line, key)), line.currency)
            sums[k] = sums[k] + line.amount if k in sums else line.amount
        return [(n, c, v) for (n, c), v in sorted(sums.items())]


def costs(ws: Workspace, period: str, factory: SourceFactory) -> Costs:
    lines: list[CostLine] = []
    skipped: list[str] = []
    for name, ag in sorted(agreements(ws).items()):
        try:
            st = compute_statement(ws, name, period, factory)
        except PeriodError:
            skipped.append(f"{name} (measured per {ag.period})")
            continue
        sign = Decimal(-1) if ag.type == "UC" else Decimal(1)
        for c in st.clauses:
            if c.credit:
                lines.append(
                    CostLine(
                        cost_centre=c.budget_owner,
                        team=c.owner,
                        agreement=name,
                        agreement_type=ag.type,
                        clause=c.clause.name,
                        currency=ag.fee.currency,
                        amount=sign * c.credit,
                    )
                )
    return Costs(period, tuple(lines), tuple(skipped))


# --- simulate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodOutcome:
    period: str
    attainment: Fraction | None
    breached: bool
    credit: Decimal
    budget_minutes: float | None


@dataclass(frozen=True)
class Candidate:
    target: Decimal
    periods: tuple[PeriodOutcome, ...]

    @property
    def breached_periods(self) -> int:
        return sum(1 for p in self.periods if p.breached)

    @property
    def total_credit(self) -> Decimal:
        credits = [p.credit for p in self.periods]
        return sum(credits[1:], credits[0]) if credits else Decimal(0)


@dataclass(frozen=True)
class ClauseSimulation:
    agreement: str
    clause: str
    current_target: Decimal
    currency: str
    candidates: tuple[Candidate, ...]


def shifted_tiers(tiers: Sequence[CreditTier], shift: Decimal) -> tuple[CreditTier, ...]:
    """Tiers moved with the target: each keeps its distance below the target."""
    return tuple(
        CreditTier(min(Decimal(100), t.below + shift), t.credit_percent)
        for t in tiers
        if t.below + shift > 0
    )


def _candidate(
    ag: Agreement, clause: Clause, target: Decimal, periods: Sequence[Period], figs: list[Figures]
) -> Candidate:
    tiers = shifted_tiers(ag.credit_policy(clause).tiers, target - clause.target)
    cap, units = ag.credits.cap_percent, ag.fee.minor_units
    cap_amount = credit_amount(ag.fee.amount, cap, units) if cap is not None else None
    outcomes = []
    for p, f in zip(periods, figs, strict=True):
        a = f.adjusted
        breached = a is not None and a < percent_fraction(target)
        tier = tier_for(a, tiers) if breached and a is not None else None
        credit = credit_amount(ag.fee.amount, tier.credit_percent, units) if tier else zero(units)
        credit = apply_cap([credit], cap_amount)[0].after
        budget = None
        if not isinstance(clause.measure, IncidentMeasure):
            budget = float((1 - percent_fraction(target)) * f.eligible_minutes)
        outcomes.append(PeriodOutcome(p.label, a, breached, credit, budget))
    return Candidate(target, tuple(outcomes))


def simulate(
    ws: Workspace,
    factory: SourceFactory,
    targets: Sequence[Decimal],
    history: int,
    at: datetime,
    *,
    names: Sequence[str] | None = None,
    clause: str | None = None,
) -> list[ClauseSimulation]:
    """For each clause (of ``names``, or every agreement), replay each candidate target over
    the last ``history`` complete periods before ``at``."""
    out = []
    found = agreements(ws)
    for name in sorted(found) if names is None else names:
        ag = found.get(name) or agreement(ws, name)  # NotFoundError names the known ones
        if clause is not None and clause not in {c.name for c in ag.clauses}:
            raise NotFoundError(f"Agreement {name!r} has no clause {clause!r}")
        periods = complete_periods(ag, at, history)
        by_clause = figures_by_period(ws, ag, periods, factory)
        for cl, figs in zip(ag.clauses, by_clause, strict=True):
            if clause is not None and cl.name != clause:
                continue
            candidates = tuple(_candidate(ag, cl, t, periods, figs) for t in targets)
            out.append(ClauseSimulation(name, cl.name, cl.target, ag.fee.currency, candidates))
    return out
