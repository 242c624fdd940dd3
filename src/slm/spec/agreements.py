"""The ``slm/v1`` kinds ``Agreement``, ``Calendar`` and ``Exclusion`` (see docs/agreements.md).

The pydantic models check shapes; the mappers check what spans fields or objects (credit
tiers in order and not overlapping, a clause bound to an SLO and objective that exist, a
calendar that exists, holiday countries and subdivisions that ``holidays`` knows, RRULEs
that parse, IANA zones) and build the domain objects of ``slm.domain.agreement``,
``slm.domain.business_calendar`` and ``slm.domain.exclusions``. Mappers of role ``object``
run after every SLO is mapped, and every name is declared before any mapper runs, so
references can be checked here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field

from slm.domain.agreement import (
    DEFAULT_MINIMUM_COVERAGE,
    Agreement,
    Attribution,
    Clause,
    CreditPolicy,
    CreditTier,
    DowntimeMeasure,
    ExitClause,
    HandlingTarget,
    IncidentMeasure,
    Measure,
    Money,
    OutageMeasure,
    SloMeasure,
    Term,
)
from slm.domain.business_calendar import (
    WEEKDAYS,
    BusinessCalendar,
    HourRange,
    check_holiday_region,
    parse_hour_range,
)
from slm.domain.credits import tier_problems
from slm.domain.durations import parse_duration
from slm.domain.exclusions import Exclusion, check_rrule
from slm.spec.common import Duration, SpecModel
from slm.spec.context import MapContext, origin_of
from slm.spec.currency import is_currency, minor_units
from slm.spec.problems import SpecObject
from slm.spec.slm_v1 import API_VERSION, Envelope
from slm.spec.yamlio import FieldPath

AGREEMENT_ROLE = f"{API_VERSION}/Agreement"
CALENDAR_ROLE = f"{API_VERSION}/Calendar"


def _decimal_text(value: Any) -> Any:
    """Numbers become ``Decimal`` through their text (``99.9`` stays exactly 99.9)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


_MAX_DIGITS = 15  # money and percents: far beyond any fee, small enough for exact sums


def _check_decimal(value: Any) -> Decimal:
    """A finite number of at most 15 digits before the point (``true``, a list, a mapping
    or ``null`` are not numbers; neither is ``1e999999``)."""
    if not isinstance(value, str):
        raise ValueError('must be a number, e.g. 99.9 or "20000.00"')
    text = value.strip()
    if len(text) > 64:
        raise ValueError(f"{text[:20]!r}... is not a number (longer than 64 characters)")
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    if d and d.adjusted() >= _MAX_DIGITS:
        raise ValueError(f"{value!r} is too large (at most {_MAX_DIGITS} digits before the point)")
    return d


def _percent(value: Decimal) -> Decimal:
    if not Decimal(0) < value <= Decimal(100):
        raise ValueError("must be a percent greater than 0 and at most 100, e.g. 99.9")
    return value


def _share_percent(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(100):
        raise ValueError("must be a percent from 0 to 100, e.g. 90")
    return value


def _str_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Dec = Annotated[Decimal, BeforeValidator(_check_decimal), BeforeValidator(_decimal_text)]
Pct = Annotated[
    Decimal,
    BeforeValidator(lambda v: _percent(_check_decimal(v))),
    BeforeValidator(_decimal_text),
]
SharePct = Annotated[
    Decimal,
    BeforeValidator(lambda v: _share_percent(_check_decimal(v))),
    BeforeValidator(_decimal_text),
]
Text = Annotated[str, Field(min_length=1)]
Names = Annotated[list[Text], BeforeValidator(_str_list)]


# --- Calendar ---------------------------------------------------------------------------


class ExtraDate(SpecModel):
    date: date
    name: Text


class HolidaysSpec(SpecModel):
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}$")] | None = None
    subdivision: Text | None = None
    extra: list[ExtraDate] = Field(default_factory=list)


class BusinessHoursSpec(SpecModel):
    monday: Names = Field(default_factory=list)
    tuesday: Names = Field(default_factory=list)
    wednesday: Names = Field(default_factory=list)
    thursday: Names = Field(default_factory=list)
    friday: Names = Field(default_factory=list)
    saturday: Names = Field(default_factory=list)
    sunday: Names = Field(default_factory=list)


class CalendarSpec(SpecModel):
    description: str | None = None
    time_zone: Text
    business_hours: BusinessHoursSpec
    holidays: HolidaysSpec = Field(default_factory=HolidaysSpec)


class CalendarModel(Envelope):
    kind: Literal["Calendar"]
    spec: CalendarSpec


# --- Exclusion --------------------------------------------------------------------------


class ApprovalSpec(SpecModel):
    state: Literal["approved", "pending", "rejected"]
    by: str | None = None
    at: datetime | date | None = None


class ExclusionSpec(SpecModel):
    description: str | None = None
    category: Literal["scheduled-maintenance", "customer-caused", "force-majeure", "third-party"]
    services: Names = Field(min_length=1)
    agreements: Names = Field(default_factory=list)
    start: datetime
    end: datetime | None = None
    duration: Duration | None = None
    rrule: Text | None = None
    time_zone: Text = "UTC"
    evidence: Names = Field(default_factory=list)
    approval: ApprovalSpec


class ExclusionModel(Envelope):
    kind: Literal["Exclusion"]
    spec: ExclusionSpec


# --- Agreement --------------------------------------------------------------------------


class MoneySpec(SpecModel):
    amount: Dec
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class TermSpec(SpecModel):
    start: date
    end: date | None = None
    renewal: str = "none"


class TierSpec(SpecModel):
    below: Dec
    credit_percent: Dec


class CreditsSpec(SpecModel):
    tiers: list[TierSpec] = Field(default_factory=list)
    cap: Pct | None = None
    claim_window: Duration | None = None


class WithinSpec(SpecModel):
    count: int = Field(ge=1)
    periods: int = Field(default=12, ge=1)


class ExitSpec(SpecModel):
    consecutive: int | None = Field(default=None, ge=1)
    within: WithinSpec | None = None


class AttributionSpec(SpecModel):
    tier: str = ""
    party: str = ""
    component: str = ""
    provider: str = ""
    responsibility: str = ""


class DowntimeSpec(SpecModel):
    slo: Text
    objective: str | None = None
    interval: Duration = "5m"
    max_error_rate: Pct
    no_data: Literal["up", "down", "ignore"] = "ignore"


class HandlingSpec(SpecModel):
    response: Duration | None = None
    resolution: Duration | None = None


class IncidentsSpec(SpecModel):
    file: Text | None = None  # None: the incidents recorded in the store
    retroactive_start: bool = True
    priorities: dict[str, HandlingSpec] = Field(min_length=1)


class OutagesSpec(SpecModel):
    services: Names | None = None  # None: the agreement's services
    priorities: list[Literal["P1", "P2", "P3", "P4"]] = Field(default_factory=list)


class ClauseSpec(SpecModel):
    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
    description: str | None = None
    slo: Text | None = None
    objective: str | None = None
    downtime: DowntimeSpec | None = None
    incidents: IncidentsSpec | None = None
    outages: OutagesSpec | None = None
    target: Pct
    regulatory_floor: Pct | None = None
    business_hours_only: bool = False
    credits: CreditsSpec | None = None
    owner: str | None = None
    budget_owner: str | None = None
    attribution: AttributionSpec = Field(default_factory=AttributionSpec)
    minimum_coverage: SharePct | None = None


class AgreementSpec(SpecModel):
    type: Literal["SLA", "OLA", "UC"]
    description: str | None = None
    provider: Text | None = None
    customer: Text | None = None
    vendor: Text | None = None
    services: Names = Field(min_length=1)
    term: TermSpec
    governing_law: str = ""
    jurisdiction: str = ""
    time_zone: Text
    measurement_period: Literal["month", "quarter"] = "month"
    fee: MoneySpec
    owner: Text
    budget_owner: Text
    calendar: Text | None = None
    underpins: Names = Field(default_factory=list)
    credits: CreditsSpec = Field(default_factory=CreditsSpec)
    exit: ExitSpec | None = None
    minimum_coverage: SharePct = DEFAULT_MINIMUM_COVERAGE
    clauses: list[ClauseSpec] = Field(min_length=1)


class AgreementModel(Envelope):
    kind: Literal["Agreement"]
    spec: AgreementSpec


# --- mapping ----------------------------------------------------------------------------


class _Mapper:
    def __init__(self, obj: SpecObject, ctx: MapContext):
        self.obj, self.ctx = obj, ctx
        self.ok = True

    def problem(self, field: FieldPath, message: str) -> None:
        self.ok = False
        self.ctx.problems.at(self.obj, field, message)

    def zone(self, field: FieldPath, name: str) -> None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(field, f"unknown IANA time zone {name!r} (e.g. Europe/Berlin)")


def map_calendar(obj: SpecObject, model: CalendarModel, ctx: MapContext) -> list[Any]:
    m = _Mapper(obj, ctx)
    spec = model.spec
    m.zone(("spec", "timeZone"), spec.time_zone)
    hours: list[tuple[HourRange, ...]] = []
    for day in WEEKDAYS:
        ranges: list[HourRange] = []
        for i, text in enumerate(getattr(spec.business_hours, day)):
            try:
                ranges.append(parse_hour_range(text))
            except ValueError as e:
                m.problem(("spec", "businessHours", day, i), str(e))
        hours.append(tuple(ranges))
    h = spec.holidays
    if h.country is None and h.subdivision is not None:
        m.problem(("spec", "holidays", "subdivision"), "a subdivision needs a country")
    if h.country is not None:
        problem = check_holiday_region(h.country.upper(), h.subdivision)
        if problem is not None:
            m.problem(("spec", "holidays", problem[0]), problem[1])
    if not m.ok:
        return []
    return [
        BusinessCalendar(
            name=model.metadata.name,
            time_zone=spec.time_zone,
            hours=tuple(hours),
            country=h.country.upper() if h.country else None,
            subdivision=h.subdivision,
            extra_closed=tuple((x.date, x.name) for x in h.extra),
            description=spec.description or "",
            origin=origin_of(obj, API_VERSION, "Calendar"),
        )
    ]


def map_exclusion(obj: SpecObject, model: ExclusionModel, ctx: MapContext) -> list[Any]:
    m = _Mapper(obj, ctx)
    spec = model.spec
    m.zone(("spec", "timeZone"), spec.time_zone)
    if not m.ok:
        return []
    start = _wall(spec.start, spec.time_zone)
    duration: timedelta | None = None
    if (spec.end is None) == (spec.duration is None):
        m.problem(("spec",), "give exactly one of end or duration")
    elif spec.end is not None:
        duration = _wall(spec.end, spec.time_zone) - start
        if duration <= timedelta():
            m.problem(("spec", "end"), "end must be after start")
    else:
        assert spec.duration is not None
        duration = parse_duration(spec.duration)
    if spec.rrule is not None:
        try:
            check_rrule(spec.rrule, start)
        except ValueError as e:
            m.problem(("spec", "rrule"), f"invalid RRULE {spec.rrule!r}: {e}")
    for i, service in enumerate(spec.services):
        if not ctx.is_declared("service", service):
            m.problem(("spec", "services", i), f"unknown Service {service!r}")
    for i, name in enumerate(spec.agreements):
        if not ctx.is_declared(AGREEMENT_ROLE, name):
            m.problem(("spec", "agreements", i), f"unknown Agreement {name!r}")
    if not m.ok or duration is None:
        return []
    return [
        Exclusion(
            name=model.metadata.name,
            category=spec.category,
            start=start,
            duration=duration,
            time_zone=spec.time_zone,
            services=tuple(spec.services),
            agreements=tuple(spec.agreements),
            rrule=spec.rrule,
            evidence=tuple(spec.evidence),
            approval=spec.approval.state,
            approved_by=spec.approval.by or "",
            description=spec.description or "",
            origin=origin_of(obj, API_VERSION, "Exclusion"),
        )
    ]


def _wall(t: datetime, zone: str) -> datetime:
    """Naive local wall time in ``zone`` (an instant with an offset is converted)."""
    return t if t.tzinfo is None else t.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def map_agreement(obj: SpecObject, model: AgreementModel, ctx: MapContext) -> list[Any]:
    m = _Mapper(obj, ctx)
    spec = model.spec
    m.zone(("spec", "timeZone"), spec.time_zone)
    provider, customer = _parties(m, spec)
    for i, service in enumerate(spec.services):
        if not ctx.is_declared("service", service):
            m.problem(("spec", "services", i), f"unknown Service {service!r}")
    if spec.calendar is not None and not ctx.is_declared(CALENDAR_ROLE, spec.calendar):
        m.problem(("spec", "calendar"), f"unknown Calendar {spec.calendar!r}")
    for i, name in enumerate(spec.underpins):
        if not ctx.is_declared(AGREEMENT_ROLE, name):
            m.problem(("spec", "underpins", i), f"unknown Agreement {name!r}")
        elif name == model.metadata.name:
            m.problem(("spec", "underpins", i), "an agreement cannot underpin itself")
    if spec.term.end is not None and spec.term.end < spec.term.start:
        m.problem(("spec", "term", "end"), "the term must end on or after its start")
    if spec.fee.amount < 0:
        m.problem(("spec", "fee", "amount"), "must not be negative")
    fee = _fee(m, spec.fee)
    credits = _credits(m, ("spec", "credits"), spec.credits)
    exit_clause = _exit(m, spec.exit)
    clauses = []
    seen: set[str] = set()
    for i, c in enumerate(spec.clauses):
        f: FieldPath = ("spec", "clauses", i)
        if c.name in seen:
            m.problem((*f, "name"), f"duplicate clause name {c.name!r}")
        seen.add(c.name)
        clause = _clause(m, f, c, obj, spec)
        if clause is not None:
            clauses.append(clause)
    if not m.ok:
        return []
    return [
        Agreement(
            name=model.metadata.name,
            type=spec.type,
            provider=provider,
            customer=customer,
            services=tuple(spec.services),
            term=Term(spec.term.start, spec.term.end, spec.term.renewal),
            time_zone=spec.time_zone,
            period=spec.measurement_period,
            fee=fee,
            owner=spec.owner,
            budget_owner=spec.budget_owner,
            clauses=tuple(clauses),
            governing_law=spec.governing_law,
            jurisdiction=spec.jurisdiction,
            calendar=spec.calendar,
            credits=credits,
            exit=exit_clause,
            underpins=tuple(spec.underpins),
            display_name=model.metadata.display_name or "",
            description=spec.description or "",
            labels=dict(model.metadata.labels),
            origin=origin_of(obj, API_VERSION, "Agreement"),
            minimum_coverage=spec.minimum_coverage,
        )
    ]


def _fee(m: _Mapper, spec: MoneySpec) -> Money:
    """The fee with its currency's ISO 4217 minor unit (credits are rounded to it)."""
    code = spec.currency
    if not is_currency(code):
        m.problem(("spec", "fee", "currency"), f"unknown ISO 4217 currency code {code!r}")
        return Money(spec.amount, code)
    units = minor_units(code)
    if spec.amount != spec.amount.quantize(Decimal(1).scaleb(-units)):
        has = "no minor unit" if units == 0 else f"{units} decimal place(s)"
        m.problem(
            ("spec", "fee", "amount"),
            f"{spec.amount} has more decimals than {code} allows ({code} has {has})",
        )
    return Money(spec.amount, code, units)


def _parties(m: _Mapper, spec: AgreementSpec) -> tuple[str, str]:
    if spec.type == "UC":
        if spec.vendor is None and spec.provider is None:
            m.problem(("spec", "vendor"), "an underpinning contract (UC) needs its vendor")
        if spec.vendor is not None and spec.provider is not None:
            m.problem(("spec", "vendor"), "give vendor or provider, not both (they are the same)")
        if spec.customer is None:
            m.problem(("spec", "customer"), "required field missing")
        return spec.vendor or spec.provider or "", spec.customer or ""
    if spec.vendor is not None:
        m.problem(("spec", "vendor"), f"only a UC has a vendor; an {spec.type} has a provider")
    for key, value in (("provider", spec.provider), ("customer", spec.customer)):
        if value is None:
            m.problem(("spec", key), "required field missing")
    return spec.provider or "", spec.customer or ""


def _credits(m: _Mapper, f: FieldPath, spec: CreditsSpec) -> CreditPolicy:
    tiers = tuple(CreditTier(t.below, t.credit_percent) for t in spec.tiers)
    for i, key, message in tier_problems(tiers):
        m.problem((*f, "tiers", i, key), message)
    return CreditPolicy(
        tiers=tiers,
        cap_percent=spec.cap,
        claim_window=parse_duration(spec.claim_window) if spec.claim_window else None,
    )


def _exit(m: _Mapper, spec: ExitSpec | None) -> ExitClause | None:
    if spec is None:
        return None
    if spec.consecutive is None and spec.within is None:
        m.problem(("spec", "exit"), "give consecutive, within, or both")
    if spec.within is not None and spec.within.count > spec.within.periods:
        m.problem(
            ("spec", "exit", "within", "count"),
            f"{spec.within.count} breached periods cannot happen within {spec.within.periods}",
        )
    return ExitClause(
        consecutive=spec.consecutive,
        within_count=spec.within.count if spec.within else None,
        within_periods=spec.within.periods if spec.within else 12,
    )


def _clause(
    m: _Mapper, f: FieldPath, c: ClauseSpec, obj: SpecObject, spec: AgreementSpec
) -> Clause | None:
    given = [k for k in ("slo", "downtime", "incidents", "outages") if getattr(c, k) is not None]
    if len(given) != 1:
        m.problem(f, "bind the clause to exactly one measure: slo, downtime, incidents or outages")
        return None
    if c.objective is not None and c.slo is None:
        m.problem((*f, "objective"), "objective goes with slo")
    if c.business_hours_only and spec.calendar is None:
        m.problem((*f, "businessHoursOnly"), "business hours need the agreement's calendar")
    if c.regulatory_floor is not None and c.regulatory_floor > c.target:
        m.problem(
            (*f, "regulatoryFloor"),
            f"the regulatory floor {c.regulatory_floor}% is above the target {c.target}%",
        )
    measure = _measure(m, f, c, obj, spec)
    credits = _credits(m, (*f, "credits"), c.credits) if c.credits is not None else None
    if credits is not None and c.credits is not None and c.credits.cap is not None:
        m.problem((*f, "credits", "cap"), "the cap is the agreement's: set it in spec.credits")
    if measure is None:
        return None
    a = c.attribution
    return Clause(
        name=c.name,
        measure=measure,
        target=c.target,
        description=c.description or "",
        business_hours_only=c.business_hours_only,
        regulatory_floor=c.regulatory_floor,
        credits=credits,
        owner=c.owner or "",
        budget_owner=c.budget_owner or "",
        attribution=Attribution(a.tier, a.party, a.component, a.provider, a.responsibility),
        minimum_coverage=c.minimum_coverage,
    )


def _outages(m: _Mapper, f: FieldPath, o: OutagesSpec, spec: AgreementSpec) -> Measure | None:
    services = o.services if o.services is not None else spec.services
    ok = True
    if o.services is not None and not o.services:
        m.problem((*f, "outages", "services"), "list at least one service (or leave it out)")
        ok = False
    for i, name in enumerate(o.services or ()):
        if name not in spec.services:
            m.problem(
                (*f, "outages", "services", i),
                f"Service {name!r} is not one of the agreement's services {spec.services}",
            )
            ok = False
    if len(set(o.priorities)) != len(o.priorities):
        m.problem((*f, "outages", "priorities"), "a priority is listed twice")
        ok = False
    return OutageMeasure(tuple(services), tuple(o.priorities)) if ok else None


def _measure(
    m: _Mapper, f: FieldPath, c: ClauseSpec, obj: SpecObject, spec: AgreementSpec
) -> Measure | None:
    if c.outages is not None:
        return _outages(m, f, c.outages, spec)
    if c.slo is not None:
        objective = _objective(m, (*f, "slo"), (*f, "objective"), c.slo, c.objective)
        if objective is None:
            return None
        bound = m.ctx.workspace.slos[c.slo]
        window = next(o for o in bound.objectives if o.name == objective).time_slice_window
        if window is not None and (window < timedelta(minutes=1) or window % timedelta(minutes=1)):
            m.problem(
                (*f, "slo"),
                f"SLO {c.slo!r} has {window.total_seconds():g}s time slices; a clause counts "
                "whole minutes, so they must be a whole number of minutes",
            )
            return None
        return SloMeasure(c.slo, objective)
    if c.downtime is not None:
        d = c.downtime
        df = (*f, "downtime")
        objective = _objective(m, (*df, "slo"), (*df, "objective"), d.slo, d.objective)
        interval = parse_duration(d.interval)
        if interval < timedelta(minutes=1) or interval % timedelta(minutes=1):
            m.problem((*df, "interval"), "must be a whole number of minutes")
        slo = m.ctx.workspace.slos.get(d.slo)
        if slo is not None and slo.indicator.threshold is not None:
            m.problem((*df, "slo"), f"SLO {d.slo!r} has a threshold metric, not good/total events")
        if objective is None:
            return None
        return DowntimeMeasure(d.slo, objective, interval, d.max_error_rate, d.no_data)
    inc = c.incidents
    assert inc is not None
    targets = []
    for prio, h in inc.priorities.items():
        if h.response is None and h.resolution is None:
            m.problem((*f, "incidents", "priorities", prio), "give response, resolution or both")
        targets.append(
            HandlingTarget(
                prio,
                parse_duration(h.response) if h.response else None,
                parse_duration(h.resolution) if h.resolution else None,
            )
        )
    if inc.file is not None:
        path = Path(obj.path).parent / inc.file
        if not path.is_file():
            m.problem((*f, "incidents", "file"), f"no such incident file: {path}")
    return IncidentMeasure(
        path=inc.file or "",  # "": the incidents recorded in the store
        targets=tuple(targets),
        retroactive_start=inc.retroactive_start,
        base_dir=str(Path(obj.path).parent),
    )


def _objective(
    m: _Mapper, slo_field: FieldPath, obj_field: FieldPath, name: str, objective: str | None
) -> str | None:
    if not m.ctx.is_declared("slo", name):
        m.problem(slo_field, f"unknown SLO {name!r}")
        return None
    slo = m.ctx.workspace.slos.get(name)
    if slo is None:  # declared but broken: its own problems are reported
        return None
    names = [o.name for o in slo.objectives]
    if objective is None:
        if len(names) != 1:
            m.problem(obj_field, f"SLO {name!r} has {len(names)} objectives: name one of {names}")
            return None
        return names[0]
    if objective not in names:
        m.problem(obj_field, f"SLO {name!r} has no objective {objective!r} (it has {names})")
        return None
    return objective
