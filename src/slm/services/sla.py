"""SLA use cases beyond one statement: storing statements, credits per cost centre and team,
and the negotiation aid that replays candidate targets over past periods."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from slm.domain.agreement import Agreement, Clause, CreditTier, IncidentMeasure
from slm.domain.credits import apply_cap, credit_amount, percent_fraction, tier_for, zero
from slm.domain.errors import NotFoundError
from slm.domain.statement import Figures, Period, Statement, verdict
from slm.services.errors import OutsideTermError, PeriodError, UndeterminedError
from slm.services.ports import Clock, SourceFactory
from slm.services.statements import (
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


def undetermined_message(st: Statement) -> str | None:
    """Why ``st``'s credits are undetermined (``None`` when they are determined)."""
    unknown = st.unknown_clauses
    if not unknown:
        return None
    parts = "; ".join(f"{c.clause.name}: {c.status_reason}" for c in unknown)
    return (
        f"Agreement {st.agreement.name!r} {st.period.label}: the credits are undetermined, "
        f"the attainment of {len(unknown)} clause(s) is unknown ({parts})"
    )


def record_statement(store: Store, st: Statement, clock: Clock) -> SaveState:
    """Store the statement's bytes with its inputs (a no-op when already stored). A
    statement whose credits are undetermined is refused: it is not a statement of record."""
    why = undetermined_message(st)
    if why is not None:
        raise UndeterminedError(f"not recorded: {why}")
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
    amount: Decimal | None  # None: undetermined (the clause's attainment is unknown)


@dataclass(frozen=True)
class Costs:
    period: str
    lines: tuple[CostLine, ...]
    skipped: tuple[str, ...]  # agreements measured per another unit or outside their term

    def by(self, key: str) -> list[tuple[str, str, Decimal | None]]:
        """``(name, currency, total)`` per ``cost_centre`` or ``team``, sorted; the total
        is ``None`` (undetermined) when a line of it is."""
        sums: dict[tuple[str, str], Decimal | None] = {}
        for line in self.lines:
            k = (str(getattr(line, key)), line.currency)
            if k not in sums:
                sums[k] = line.amount
            else:
                before = sums[k]
                sums[k] = None if before is None or line.amount is None else before + line.amount
        return [(n, c, v) for (n, c), v in sorted(sums.items())]

    @property
    def undetermined(self) -> tuple[CostLine, ...]:
        return tuple(line for line in self.lines if line.amount is None)


def costs(ws: Workspace, period: str, factory: SourceFactory) -> Costs:
    lines: list[CostLine] = []
    skipped: list[str] = []
    for name, ag in sorted(agreements(ws).items()):
        try:
            st = compute_statement(ws, name, period, factory)
        except OutsideTermError as e:
            skipped.append(f"{name} ({e})")
            continue
        except PeriodError:
            skipped.append(f"{name} (measured per {ag.period})")
            continue
        sign = Decimal(-1) if ag.type == "UC" else Decimal(1)
        for c in st.clauses:
            if c.credit is None or c.credit:
                lines.append(
                    CostLine(
                        cost_centre=c.budget_owner,
                        team=c.owner,
                        agreement=name,
                        agreement_type=ag.type,
                        clause=c.clause.name,
                        currency=ag.fee.currency,
                        amount=None if c.credit is None else sign * c.credit,
                    )
                )
    return Costs(period, tuple(lines), tuple(skipped))


# --- simulate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodOutcome:
    """One replayed period; ``breached`` and ``credit`` are ``None`` when its attainment is
    unknown (no data, or coverage below the minimum)."""

    period: str
    attainment: Fraction | None
    breached: bool | None
    credit: Decimal | None
    budget_minutes: float | None


@dataclass(frozen=True)
class Candidate:
    target: Decimal
    periods: tuple[PeriodOutcome, ...]

    @property
    def breached_periods(self) -> int:
        return sum(1 for p in self.periods if p.breached)

    @property
    def unknown_periods(self) -> int:
        return sum(1 for p in self.periods if p.breached is None)

    @property
    def total_credit(self) -> Decimal:
        """The credits of the periods whose attainment is known."""
        credits = [p.credit for p in self.periods if p.credit is not None]
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
    candidate = replace(clause, target=target)
    for p, f in zip(periods, figs, strict=True):
        a = f.adjusted
        budget = None
        if not isinstance(clause.measure, IncidentMeasure):
            budget = float((1 - percent_fraction(target)) * f.eligible_minutes)
        status = verdict(ag, candidate, f).status
        if status == "unknown":
            outcomes.append(PeriodOutcome(p.label, a, None, None, budget))
            continue
        breached = status == "breached"
        tier = tier_for(a, tiers) if breached and a is not None else None
        credit = credit_amount(ag.fee.amount, tier.credit_percent, units) if tier else zero(units)
        credit = apply_cap([credit], cap_amount)[0].after
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
