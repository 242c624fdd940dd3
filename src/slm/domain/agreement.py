"""Agreements: SLAs with customers, OLAs between teams, UCs with vendors, and their clauses.

SHARED MODEL: besides statements and credits (``slm sla statement|costs|simulate``), the
composite work (``Component``, composite availability, ``slm composite``, ``slm sla check``
and supplier validation) reads these classes. Keep them stable: add fields with defaults,
never rename or remove one.

Percentages (targets, credit thresholds and percents, floors, caps) are ``Decimal`` percent
values as written (``99.9`` means 99.9 %), so tier boundaries compare exactly; money is
``Money`` (``Decimal`` amount plus an ISO 4217 currency code and its minor unit).

A clause binds a target to one measure:

- ``SloMeasure``: the attainment of an SLO objective (good/total over the period; for a
  Timeslices SLO, the share of good slices; for a RatioTimeslices SLO, the mean slice
  ratio);
- ``DowntimeMeasure``: downtime by a measurement rule (an ``interval`` is down when its error
  rate exceeds ``max_error_rate`` percent), attainment = 1 - down minutes / measured minutes;
- ``IncidentMeasure``: incident response and resolution times by priority, attainment = the
  share of incidents handled within their priority's targets;
- ``OutageMeasure``: availability from the impact intervals of the incidents recorded in the
  store (the union over the clause's services, overlaps counted once), attainment = 1 -
  impacted minutes / eligible minutes.

A clause's attainment is *unknown* when it has no data or its coverage (the share of
eligible minutes that were measured) is below ``minimum_coverage`` (the clause's, else the
agreement's, default ``DEFAULT_MINIMUM_COVERAGE``): an unknown clause is neither met nor
breached and its credit is undetermined (see docs/agreements.md).

``Attribution`` names the tier, party, component, provider and responsibility a clause
measures, so that a breach can be attributed (the composite work fills in components).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from slm.domain.model import Origin

AgreementType = Literal["SLA", "OLA", "UC"]
PeriodUnit = Literal["month", "quarter"]
NoData = Literal["up", "down", "ignore"]
# The share of eligible minutes (percent) that must have been measured for a clause's
# attainment to be known, unless the agreement or the clause says otherwise.
DEFAULT_MINIMUM_COVERAGE = Decimal(90)
StopEvent = Literal["respond", "resolve"]


@dataclass(frozen=True)
class Money:
    """An amount in an ISO 4217 currency. ``minor_units`` is the currency's number of
    decimals (2 for EUR, 0 for JPY, 3 for BHD): credits are rounded to it. The spec mapper
    looks it up (``slm.spec.currency``); the domain keeps no currency table."""

    amount: Decimal
    currency: str
    minor_units: int = 2

    def __str__(self) -> str:
        return f"{self.currency} {self.amount}"


@dataclass(frozen=True)
class Term:
    """The agreement's term: ``start`` to ``end`` (inclusive dates; ``None`` = open ended)."""

    start: date
    end: date | None = None
    renewal: str = "none"  # "none", "auto", or a free text such as "12 months by notice"


@dataclass(frozen=True)
class CreditTier:
    """Attainment strictly ``below`` this percent earns ``credit_percent`` of the period fee."""

    below: Decimal
    credit_percent: Decimal


@dataclass(frozen=True)
class CreditPolicy:
    """Credit tiers ordered from the highest threshold down, a cap and a claim window.

    ``cap_percent`` bounds the credits of all clauses of one period together, as a percent
    of the period fee. ``claim_window`` is how long after the period the credit may be
    claimed.
    """

    tiers: tuple[CreditTier, ...] = ()
    cap_percent: Decimal | None = None
    claim_window: timedelta | None = None


@dataclass(frozen=True)
class ExitClause:
    """The counterparty may terminate after ``consecutive`` breached periods in a row, or
    after ``within_count`` breached periods among the last ``within_periods``."""

    consecutive: int | None = None
    within_count: int | None = None
    within_periods: int = 12


@dataclass(frozen=True)
class Attribution:
    """Who answers for a clause: tier (e.g. ``platform``), party, component, provider
    (``aws``, ``on-premises`` ...) and responsibility (``provider``, ``customer``,
    ``shared``). Reported with every breach."""

    tier: str = ""
    party: str = ""
    component: str = ""
    provider: str = ""
    responsibility: str = ""

    def is_empty(self) -> bool:
        return not any((self.tier, self.party, self.component, self.provider, self.responsibility))


@dataclass(frozen=True)
class SloMeasure:
    slo: str
    objective: str  # the objective's name in the SLO

    kind: Literal["slo"] = "slo"


@dataclass(frozen=True)
class DowntimeMeasure:
    """Downtime from an SLO's good/total events: an ``interval`` (aligned to the period
    start) is down when its error rate exceeds ``max_error_rate`` percent. An interval
    without events counts as ``no_data`` says (``ignore`` leaves it out of the measured
    time)."""

    slo: str
    objective: str
    interval: timedelta
    max_error_rate: Decimal
    no_data: NoData = "ignore"

    kind: Literal["downtime"] = "downtime"


@dataclass(frozen=True)
class HandlingTarget:
    """Response and resolution targets of one incident priority (business time if the
    clause counts business hours only)."""

    priority: str
    response: timedelta | None = None
    resolution: timedelta | None = None


@dataclass(frozen=True)
class IncidentMeasure:
    """Incident handling times from an incident file (``path``, CSV or YAML; see
    docs/agreements.md), or from the incidents recorded in the store when ``path`` is
    empty. ``retroactive_start``: the clock starts when the incident was opened even if it
    reached its priority later."""

    path: str  # as written in the spec, relative to ``base_dir``; "": the store
    targets: tuple[HandlingTarget, ...]
    retroactive_start: bool = True
    base_dir: str = "."  # directory of the spec file

    kind: Literal["incidents"] = "incidents"

    def target_for(self, priority: str) -> HandlingTarget | None:
        return next((t for t in self.targets if t.priority == priority), None)


@dataclass(frozen=True)
class OutageMeasure:
    """Availability from the incidents recorded in the store: a minute is down when an
    impact interval of an incident (kind ``incident``) on one of ``services`` covers its
    start; ``priorities`` (empty: all) limits the incidents that count. Overlapping
    impacts, of one incident or several, count once."""

    services: tuple[str, ...]
    priorities: tuple[str, ...] = ()

    kind: Literal["outages"] = "outages"


Measure = SloMeasure | DowntimeMeasure | IncidentMeasure | OutageMeasure


@dataclass(frozen=True)
class Clause:
    name: str
    measure: Measure
    target: Decimal  # percent
    description: str = ""
    business_hours_only: bool = False
    regulatory_floor: Decimal | None = None  # percent, reported beside the target
    credits: CreditPolicy | None = None  # None: the agreement's
    owner: str = ""  # "": the agreement's
    budget_owner: str = ""  # "": the agreement's
    attribution: Attribution = field(default_factory=Attribution)
    minimum_coverage: Decimal | None = None  # percent; None: the agreement's


@dataclass(frozen=True)
class Agreement:
    """One SLA, OLA or UC. ``customer`` is the counterparty receiving the service (for a UC,
    ``provider`` is the vendor). ``calendar`` names a ``Calendar`` (business hours and
    holidays); ``underpins`` names the agreements this one supports (an OLA or UC under an
    SLA)."""

    name: str
    type: AgreementType
    provider: str
    customer: str
    services: tuple[str, ...]
    term: Term
    time_zone: str
    period: PeriodUnit
    fee: Money
    owner: str
    budget_owner: str
    clauses: tuple[Clause, ...]
    governing_law: str = ""
    jurisdiction: str = ""
    calendar: str | None = None
    credits: CreditPolicy = field(default_factory=CreditPolicy)
    exit: ExitClause | None = None
    underpins: tuple[str, ...] = ()
    display_name: str = ""
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    origin: Origin | None = None
    minimum_coverage: Decimal = DEFAULT_MINIMUM_COVERAGE  # percent, see the module doc

    def clause(self, name: str) -> Clause:
        for c in self.clauses:
            if c.name == name:
                return c
        raise KeyError(name)

    def credit_policy(self, clause: Clause) -> CreditPolicy:
        """The clause's tiers (or the agreement's), always under the agreement's cap."""
        own = clause.credits
        if own is None:
            return self.credits
        return CreditPolicy(
            tiers=own.tiers or self.credits.tiers,
            cap_percent=self.credits.cap_percent,
            claim_window=own.claim_window or self.credits.claim_window,
        )

    def owner_of(self, clause: Clause) -> str:
        return clause.owner or self.owner

    def budget_owner_of(self, clause: Clause) -> str:
        return clause.budget_owner or self.budget_owner

    def minimum_coverage_of(self, clause: Clause) -> Decimal:
        """The coverage (percent) below which ``clause``'s attainment is unknown."""
        if clause.minimum_coverage is not None:
            return clause.minimum_coverage
        return self.minimum_coverage
