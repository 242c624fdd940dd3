"""Period statements: per clause attainment, downtime, exclusions, breach, credit, exit count.

Everything is counted per minute of the period (``slm.domain.intervals``): the *eligible*
minutes are the period (or its business hours, for a business-hours clause); approved
exclusions form one union mask, so overlapping exclusions, and exclusions that overlap
downtime, are never subtracted twice. Raw attainment counts every eligible minute;
adjusted attainment leaves the excluded minutes out of numerator and denominator alike.

- Event clauses (an Occurrences SLO objective): attainment = good / total events in the
  eligible minutes; ``downtime_minutes`` is ``None`` (the unit is events).
- Downtime clauses (a measurement rule, or a Timeslices SLO objective whose slice is good
  when ``good/total >= timeSliceTarget``): intervals aligned to the period start; a down
  interval's eligible minutes are downtime; attainment = 1 - downtime / measured minutes.
- RatioTimeslices clauses: slices aligned to the period start; each measured minute carries
  its slice's ratio, so attainment is the mean slice ratio (the SLO's own SLI); downtime
  is the measured minutes of slices below the slice threshold.
- Incident clauses: attainment = incidents within target / incidents counted.

A clause's status is ``unknown`` when it has no attainment (no data) or its coverage is
below its minimum coverage; otherwise it is ``breached`` when its adjusted attainment is
below its target, else ``met``. Credits use the adjusted attainment
(``slm.domain.credits``) and are only due for a breached clause: a tier above the clause's
target never applies. An unknown clause's credit is undetermined (``None``), not 0, and so
is the statement's total; the exit count takes an unknown period as not breached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from slm.domain.agreement import Agreement, Clause, CreditTier, ExitClause, NoData
from slm.domain.attribution import BreachShare
from slm.domain.credits import (
    apply_cap,
    credit_amount,
    percent_fraction,
    rounding_rule,
    tier_for,
    zero,
)
from slm.domain.exclusions import Exclusion
from slm.domain.intervals import MINUTE, clip, mask, merge, minute_range, runs
from slm.domain.series import BoolArray, EventSeries, FloatArray

EntryType = Literal["measure", "downtime", "exclusion", "not-counted", "incident", "note"]


@dataclass(frozen=True)
class Entry:
    """One line of a clause's explanation."""

    type: EntryType
    reason: str
    source: str = ""
    start: datetime | None = None
    end: datetime | None = None
    minutes: int | None = None


@dataclass(frozen=True)
class Figures:
    """What was measured for one clause in one period."""

    attainment: Fraction | None
    adjusted: Fraction | None
    eligible_minutes: int
    excluded_minutes: int
    downtime_minutes: int | None = None
    excluded_downtime_minutes: int | None = None
    coverage: Fraction | None = None
    entries: tuple[Entry, ...] = ()
    # the minutes that counted against the clause (for breach attribution); None for
    # incident clauses
    bad: BoolArray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # UTC
    end: datetime  # UTC
    time_zone: str

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) // MINUTE)


# --- exclusions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExclusionMask:
    mask: BoolArray  # approved exclusions, union
    entries: tuple[Entry, ...]


def exclusion_mask(
    exclusions: Sequence[Exclusion], period: Period, eligible: BoolArray
) -> ExclusionMask:
    """The union of approved exclusion windows (eligible minutes only), and one entry per
    occurrence, approved or not."""
    n = period.minutes
    union = np.zeros(n, dtype=np.bool_)
    entries: list[Entry] = []
    for ex in exclusions:
        for s, e in clip(ex.occurrences(period.start, period.end), period.start, period.end):
            i, j = minute_range((s, e), period.start, n)  # a slice: O(occurrence), not O(n)
            m = eligible[i:j] if j > i else eligible[:0]
            source = _origin(ex)
            why = f"{ex.category}: {ex.description or ex.name}"
            if ex.evidence:
                why += f" (evidence: {', '.join(ex.evidence)})"
            if ex.counts:
                union[i : i + len(m)] |= m
                by = f", approved by {ex.approved_by}" if ex.approved_by else ""
                entries.append(Entry("exclusion", why + by, source, s, e, int(m.sum())))
            else:
                entries.append(
                    Entry("not-counted", f"{why}: {ex.approval}, not counted", source, s, e, 0)
                )
    entries.sort(key=lambda e: (e.start or period.start, e.source))
    counted = sum(e.minutes or 0 for e in entries if e.type == "exclusion")
    overlap = counted - int(union.sum())
    if overlap > 0:
        entries.append(
            Entry("note", f"{overlap} minute(s) lie in more than one exclusion; counted once")
        )
    return ExclusionMask(union, tuple(entries))


def _origin(ex: Exclusion) -> str:
    where = f" ({ex.origin.path}:{ex.origin.line})" if ex.origin else ""
    return f"Exclusion/{ex.name}{where}"


# --- event clauses ----------------------------------------------------------------------


def event_figures(
    events: EventSeries, eligible: BoolArray, excluded: ExclusionMask, source: str
) -> Figures:
    """good/total over the eligible minutes; adjusted leaves excluded minutes out."""
    keep = eligible & ~excluded.mask
    good, total = float(events.good[eligible].sum()), float(events.total[eligible].sum())
    adj_good, adj_total = float(events.good[keep].sum()), float(events.total[keep].sum())
    present = int((events.present & eligible).sum())
    n_eligible = int(eligible.sum())
    entries = [
        Entry(
            "measure",
            f"{_num(good)} good of {_num(total)} events in {n_eligible} eligible minutes; "
            f"after exclusions {_num(adj_good)} of {_num(adj_total)}",
            source,
        ),
        *excluded.entries,
    ]
    if present < n_eligible:
        entries.append(Entry("note", f"{n_eligible - present} eligible minute(s) had no data"))
    return Figures(
        attainment=_ratio(good, total),
        adjusted=_ratio(adj_good, adj_total),
        eligible_minutes=n_eligible,
        excluded_minutes=int((excluded.mask & eligible).sum()),
        coverage=Fraction(present, n_eligible) if n_eligible else None,
        entries=tuple(entries),
        bad=keep & (events.total > events.good),
    )


def _ratio(good: float, total: float) -> Fraction | None:
    return Fraction(good) / Fraction(total) if total > 0 else None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


# --- downtime clauses -------------------------------------------------------------------


@dataclass(frozen=True)
class DowntimeRule:
    """An ``interval_minutes`` interval is down when bad/total > ``max_error`` (a ratio)."""

    interval_minutes: int
    max_error: Fraction
    no_data: NoData = "ignore"
    # an SLO's Timeslices objective: a slice with data (a bucket present) but no events is
    # measured and up, as ``slm evaluate`` counts it; ``no_data`` is for slices without data
    by_presence: bool = False

    def describe(self) -> str:
        rate = _percent_text(self.max_error)
        return f"{self.interval_minutes}-minute interval with error rate above {rate}%"


def _down_entries(
    down: BoolArray,
    start: datetime,
    excluded: BoolArray,
    source: str,
    worst: Callable[[int, int], str],
) -> list[Entry]:
    """One ``downtime`` entry per run of down minutes: ``worst(i, j)`` says how bad the
    minutes ``[i, j)`` were; minutes of it that an exclusion covers are counted."""
    out = []
    for s, e in runs(down, start):
        i, j = int((s - start) // MINUTE), int((e - start) // MINUTE)
        why = f"down: {worst(i, j)}"
        overlap = int((down[i:j] & excluded[i:j]).sum())
        if overlap:
            why += f"; {overlap} minute(s) of it excluded"
        out.append(Entry("downtime", why, source, s, e, j - i))
    return out


def _percent_text(r: Fraction) -> str:
    d = Decimal(r.numerator) / Decimal(r.denominator) * 100
    return format(d.normalize(), "f")


def downtime_figures(
    events: EventSeries,
    rule: DowntimeRule,
    eligible: BoolArray,
    excluded: ExclusionMask,
    source: str,
) -> Figures:
    n = len(events)
    w = rule.interval_minutes
    good, total = _interval_sums(events, w)
    k = len(total)
    bad = total - good
    num, den = rule.max_error.numerator, rule.max_error.denominator
    has_data = _interval_present(events, w) if rule.by_presence else total > 0
    down_iv = has_data & (bad * den > total * num)
    if rule.no_data == "down":
        down_iv |= ~has_data
    decided_iv = has_data if rule.no_data == "ignore" else np.ones(k, dtype=np.bool_)
    down = np.repeat(down_iv, w)[:n] & eligible
    measured = np.repeat(decided_iv, w)[:n] & eligible
    keep = measured & ~excluded.mask
    rate = np.divide(bad, total, out=np.zeros(k), where=has_data & (total > 0))
    entries = [
        Entry(
            "measure",
            f"{rule.describe()} counts as down; {int(measured.sum())} of "
            f"{int(eligible.sum())} eligible minutes measured",
            source,
        )
    ]
    limit = _percent_text(rule.max_error)
    entries += _down_entries(
        down,
        events.start,
        excluded.mask,
        source,
        lambda i, j: (
            f"error rate up to {float(rate[i // w : -(-j // w)].max()) * 100:.2f}% (> {limit}%)"
        ),
    )
    entries += excluded.entries
    n_down, n_meas = int(down.sum()), int(measured.sum())
    adj_down, adj_meas = int((down & keep).sum()), int(keep.sum())
    return Figures(
        attainment=1 - Fraction(n_down, n_meas) if n_meas else None,
        adjusted=1 - Fraction(adj_down, adj_meas) if adj_meas else None,
        eligible_minutes=int(eligible.sum()),
        excluded_minutes=int((excluded.mask & eligible).sum()),
        downtime_minutes=n_down,
        excluded_downtime_minutes=n_down - adj_down,
        coverage=Fraction(n_meas, int(eligible.sum())) if eligible.any() else None,
        entries=tuple(entries),
        bad=down & keep,
    )


def _interval_sums(events: EventSeries, width: int) -> tuple[FloatArray, FloatArray]:
    """good and total events per ``width``-minute interval aligned to the series start (the
    last interval may be shorter)."""
    n = len(events)
    k = -(-n // width)
    pad = k * width - n
    good = np.concatenate((events.good, np.zeros(pad))).reshape(k, width).sum(axis=1)
    total = np.concatenate((events.total, np.zeros(pad))).reshape(k, width).sum(axis=1)
    return good, total


# --- RatioTimeslices clauses ------------------------------------------------------------


@dataclass(frozen=True)
class RatioSliceRule:
    """A RatioTimeslices SLO objective behind a clause: every ``slice_minutes`` slice
    (aligned to the period start) counts by its ratio good/total, and a slice whose ratio
    is below ``down_below`` is down. A slice without events counts as ``no_data`` says
    (``up``: ratio 1, ``down``: ratio 0 and down, ``ignore``: not measured)."""

    slice_minutes: int
    down_below: Fraction
    no_data: NoData = "ignore"
    by_presence: bool = False  # as ``DowntimeRule.by_presence`` (ratio 1 with no events)

    def describe(self) -> str:
        return (
            f"{self.slice_minutes}-minute slices count by their good/total ratio; a slice "
            f"below {_percent_text(self.down_below)}% counts as down"
        )


def _interval_present(events: EventSeries, width: int) -> BoolArray:
    """Whether each ``width``-minute interval (as ``_interval_sums``) has a bucket with data."""
    n = len(events)
    k = -(-n // width)
    pad = np.zeros(k * width - n, dtype=np.bool_)
    table = np.concatenate((events.present, pad)).reshape(k, width)
    return np.asarray(table.any(axis=1), dtype=np.bool_)


def ratio_slice_figures(
    events: EventSeries,
    rule: RatioSliceRule,
    eligible: BoolArray,
    excluded: ExclusionMask,
    source: str,
) -> Figures:
    """Attainment = the mean of the slice ratios over the measured minutes (each measured
    minute carries its slice's ratio, so business hours and exclusions act per minute as
    for time-slice clauses); downtime = the measured minutes of down slices."""
    n, w = len(events), rule.slice_minutes
    good, total = _interval_sums(events, w)
    k = len(total)
    has_data = _interval_present(events, w) if rule.by_presence else total > 0
    bad = np.clip(total - good, 0.0, None)
    num, den = rule.down_below.numerator, rule.down_below.denominator
    lost = ~has_data if rule.no_data == "down" else np.zeros(k, dtype=np.bool_)
    down_sl = (has_data & (good * den < total * num)) | lost
    decided = has_data if rule.no_data == "ignore" else np.ones(k, dtype=np.bool_)
    of = np.arange(n) // w  # the slice of each minute
    measured = decided[of] & eligible
    keep = measured & ~excluded.mask
    down = down_sl[of] & measured
    n_meas, n_keep = int(measured.sum()), int(keep.sum())
    per_measured = _per_slice(measured, of, k)
    lost_meas = _deficit(bad, total, lost, per_measured)
    # the excluded minutes' part is small: subtract it rather than sum everything again
    lost_keep = lost_meas - _deficit(bad, total, lost, per_measured - _per_slice(keep, of, k))
    ratio = np.divide(good, total, out=np.where(lost, 0.0, 1.0), where=has_data & (total > 0))
    entries = [
        Entry(
            "measure",
            f"{rule.describe()}; attainment is the mean slice ratio over {n_meas} measured "
            f"of {int(eligible.sum())} eligible minutes",
            source,
        )
    ]
    floor = _percent_text(rule.down_below)
    entries += _down_entries(
        down,
        events.start,
        excluded.mask,
        source,
        lambda i, j: (
            f"slice ratio down to {float(ratio[i // w : -(-j // w)].min()) * 100:.2f}% (< {floor}%)"
        ),
    )
    entries += excluded.entries
    n_down, adj_down = int(down.sum()), int((down & keep).sum())
    failing = (has_data & (bad > 0)) | lost  # slices that count against the clause
    return Figures(
        attainment=1 - lost_meas / n_meas if n_meas else None,
        adjusted=1 - lost_keep / n_keep if n_keep else None,
        eligible_minutes=int(eligible.sum()),
        excluded_minutes=int((excluded.mask & eligible).sum()),
        downtime_minutes=n_down,
        excluded_downtime_minutes=n_down - adj_down,
        coverage=Fraction(n_meas, int(eligible.sum())) if eligible.any() else None,
        entries=tuple(entries),
        bad=keep & failing[of],
    )


def _per_slice(minutes: BoolArray, of: npt.NDArray[np.intp], k: int) -> npt.NDArray[np.int64]:
    """How many of each slice's minutes are set."""
    return np.bincount(of[minutes], minlength=k).astype(np.int64)


def _deficit(
    bad: FloatArray, total: FloatArray, lost: BoolArray, weights: npt.NDArray[np.int64]
) -> Fraction:
    """Exactly the sum over slices of ``weight x (1 - ratio)``: ``bad/total`` for a slice
    with events, 1 for a slice lost to missing data. Summed per distinct total and then
    pairwise, which keeps the common denominators small enough to be fast."""
    by_total: dict[float, Fraction] = {}
    for i in np.flatnonzero((weights > 0) & (bad > 0) & (total > 0)).tolist():
        t = float(total[i])
        by_total[t] = by_total.get(t, Fraction(0)) + Fraction(float(bad[i])) * int(weights[i])
    terms = [part / Fraction(t) for t, part in by_total.items()]
    while len(terms) > 1:
        terms = [sum(terms[i : i + 2], Fraction(0)) for i in range(0, len(terms), 2)]
    return Fraction(int(weights[lost].sum())) + (terms[0] if terms else Fraction(0))


# --- outages (incident impacts) --------------------------------------------------------


@dataclass(frozen=True)
class Impact:
    """One impact interval of a recorded incident; ``end`` None: still open."""

    incident: str
    service: str
    start: datetime
    end: datetime | None
    source: str


def outage_figures(
    impacts: Sequence[Impact],
    period: Period,
    eligible: BoolArray,
    excluded: ExclusionMask,
    source: str,
    describe: str,
) -> Figures:
    """Down minutes = the union of the impact intervals (a minute is down when its start
    lies in one; an open interval lasts to the period end), so overlaps count once. Every
    eligible minute is measured (the store records every incident): attainment = 1 -
    down / eligible minutes; adjusted leaves excluded minutes out of both."""
    n = period.minutes
    spans = [(i.start, i.end if i.end is not None else period.end) for i in impacts]
    down = mask(merge(clip(spans, period.start, period.end)), period.start, n) & eligible
    keep = eligible & ~excluded.mask
    n_eligible, n_keep = int(eligible.sum()), int(keep.sum())
    n_down, adj_down = int(down.sum()), int((down & keep).sum())
    entries = [
        Entry(
            "measure",
            f"{describe}; {n_down} of {n_eligible} eligible minutes impacted "
            "(overlapping impacts counted once)",
            source,
        )
    ]
    own: list[tuple[Impact, BoolArray]] = []
    for imp, (s, e) in zip(impacts, spans, strict=True):
        m = mask(clip([(s, e)], period.start, period.end), period.start, n) & eligible
        own.append((imp, m))

    def worst(i: int, j: int) -> str:
        ids = sorted({imp.incident for imp, m in own if m[i:j].any()})
        return "impacted by " + ", ".join(ids)

    entries += _down_entries(down, period.start, excluded.mask, source, worst)
    for imp, m in own:
        still = "; still open: counted to the end of the period" if imp.end is None else ""
        entries.append(
            Entry(
                "incident",
                f"{imp.incident} impact on {imp.service}{still}",
                imp.source,
                max(imp.start, period.start),
                min(imp.end or period.end, period.end),
                int(m.sum()),
            )
        )
    entries += excluded.entries
    return Figures(
        attainment=1 - Fraction(n_down, n_eligible) if n_eligible else None,
        adjusted=1 - Fraction(adj_down, n_keep) if n_keep else None,
        eligible_minutes=n_eligible,
        excluded_minutes=int((excluded.mask & eligible).sum()),
        downtime_minutes=n_down,
        excluded_downtime_minutes=n_down - adj_down,
        coverage=Fraction(1) if n_eligible else None,
        entries=tuple(entries),
        bad=down & keep,
    )


# --- incidents --------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentOutcome:
    """One incident's clocks in a period: ``met`` is None while a clock runs undecided."""

    incident: str
    priority: str
    met: bool | None
    entry: Entry


def incident_figures(
    outcomes: Sequence[IncidentOutcome], source: str, *, complete: bool = False
) -> Figures:
    """Incidents within target / incidents decided. ``complete``: ``outcomes`` are every
    incident there was (the store records them all), so a period in which none was
    recorded is met (100 %) instead of unmeasured."""
    decided = [o for o in outcomes if o.met is not None]
    running = [o for o in outcomes if o.met is None and o.entry.type == "incident"]
    met = sum(1 for o in decided if o.met)
    ratio = Fraction(met, len(decided)) if decided else None
    text = f"{met} of {len(decided)} incident(s) handled within target"
    if running:
        text += f"; {len(running)} still running, not decided"
    elif complete and not decided:
        ratio = Fraction(1)
        which = "with a handling target " if outcomes else ""
        text = (
            f"no incidents {which}of the agreement's services were recorded in this period: "
            "nothing to handle, 100% within target"
        )
    head = Entry("measure", text, source)
    return Figures(
        attainment=ratio,
        adjusted=ratio,
        eligible_minutes=0,
        excluded_minutes=0,
        entries=(head, *(o.entry for o in outcomes)),
    )


# --- the statement ----------------------------------------------------------------------


@dataclass(frozen=True)
class ExitCount:
    consecutive: int
    in_window: int
    window_periods: int
    triggered: bool


def exit_count(rule: ExitClause | None, breaches: Sequence[bool]) -> ExitCount | None:
    """Running count over ``breaches`` (oldest first, the statement's period last)."""
    if rule is None:
        return None
    consecutive = 0
    for b in reversed(breaches):
        if not b:
            break
        consecutive += 1
    in_window = sum(1 for b in list(breaches)[-rule.within_periods :] if b)
    triggered = (rule.consecutive is not None and consecutive >= rule.consecutive) or (
        rule.within_count is not None and in_window >= rule.within_count
    )
    return ExitCount(consecutive, in_window, rule.within_periods, triggered)


ClauseStatus = Literal["met", "breached", "unknown"]


@dataclass(frozen=True)
class Verdict:
    """A clause's status in a period and, when ``unknown``, why."""

    status: ClauseStatus
    reason: str = ""


def verdict(agreement: Agreement, clause: Clause, figures: Figures) -> Verdict:
    """``unknown`` without an attainment or with coverage below the clause's minimum;
    else ``breached`` when the adjusted attainment is strictly below the target."""
    minimum = agreement.minimum_coverage_of(clause)
    cov = figures.coverage
    if figures.adjusted is None:
        if cov is not None:
            why = f"no data: coverage {_cov_text(cov)}% of the eligible minutes"
            if figures.eligible_minutes and figures.eligible_minutes == figures.excluded_minutes:
                why = "every eligible minute is excluded"
            elif not figures.eligible_minutes:
                why = "no eligible minutes in this period"
        elif clause.measure.kind == "incidents":
            why = (
                "no data: no incident of the agreement's services with a handling target "
                "was decided in this period"
            )
        else:
            why = "no data: nothing was measured in this period"
        return Verdict("unknown", f"attainment unknown ({why})")
    if cov is not None and cov < percent_fraction(minimum):
        return Verdict(
            "unknown",
            f"attainment unknown (insufficient coverage: {_cov_text(cov)}% of the eligible "
            f"minutes were measured, the minimum is {minimum}%)",
        )
    if figures.adjusted < percent_fraction(clause.target):
        return Verdict("breached")
    return Verdict("met")


def _cov_text(r: Fraction) -> str:
    d = (Decimal(r.numerator) * 100 / Decimal(r.denominator)).quantize(
        Decimal("0.001"), rounding=ROUND_HALF_EVEN
    )
    return format(d.normalize(), "f")


def is_breached(agreement: Agreement, clause: Clause, figures: Figures) -> bool:
    """Whether the clause is breached (an unknown attainment is not a breach)."""
    return verdict(agreement, clause, figures).status == "breached"


@dataclass(frozen=True)
class ClauseResult:
    """One clause's result. ``credit_percent``, ``credit_before_cap`` and ``credit`` are
    ``None`` (undetermined) when the status is ``unknown``."""

    clause: Clause
    figures: Figures
    breached: bool
    floor_met: bool | None
    tier: CreditTier | None
    credit_percent: Decimal | None
    credit_before_cap: Decimal | None
    credit: Decimal | None
    cap_applied: bool
    owner: str
    budget_owner: str
    exit: ExitCount | None
    breach_attribution: tuple[BreachShare, ...] | None = None  # None: not breached
    status: ClauseStatus = "met"
    status_reason: str = ""
    minimum_coverage: Decimal | None = None

    @property
    def unknown(self) -> bool:
        return self.status == "unknown"


@dataclass(frozen=True)
class Statement:
    agreement: Agreement
    period: Period
    clauses: tuple[ClauseResult, ...]
    cap: Decimal | None
    claim_deadline: date | None
    inputs: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # e.g. retention roll-ups stood in for removed buckets

    @property
    def determined_credit(self) -> Decimal:
        """The credits of the clauses whose attainment is known."""
        known = (c.credit for c in self.clauses if c.credit is not None)
        return sum(known, zero(self.agreement.fee.minor_units))

    @property
    def credits_determined(self) -> bool:
        return not any(c.unknown for c in self.clauses)

    @property
    def total_credit(self) -> Decimal | None:
        """The period's credit; ``None`` (undetermined) when a clause's attainment is
        unknown."""
        return self.determined_credit if self.credits_determined else None

    @property
    def unknown_clauses(self) -> tuple[ClauseResult, ...]:
        return tuple(c for c in self.clauses if c.unknown)

    @property
    def exit_triggered(self) -> bool:
        return any(c.exit is not None and c.exit.triggered for c in self.clauses)


def build_statement(
    agreement: Agreement,
    period: Period,
    figures: Sequence[Figures],
    history: Sequence[Sequence[bool]],
    claim_deadline: date | None,
    inputs: dict[str, Any] | None = None,
    attributions: Sequence[tuple[BreachShare, ...] | None] | None = None,
    notes: Sequence[str] = (),
) -> Statement:
    """Breach, floor, tier, credit (capped) and exit count per clause.

    ``history[i]`` holds clause ``i``'s breaches of earlier periods, oldest first;
    ``attributions[i]`` clause ``i``'s breach attribution (kept for breached clauses only)."""
    fee, units = agreement.fee.amount, agreement.fee.minor_units
    cap_pct = agreement.credits.cap_percent
    cap = credit_amount(fee, cap_pct, units) if cap_pct is not None else None
    pre: list[tuple[Verdict, CreditTier | None, Decimal]] = []
    for clause, fig in zip(agreement.clauses, figures, strict=True):
        v = verdict(agreement, clause, fig)
        breached = v.status == "breached"
        tiers = agreement.credit_policy(clause).tiers
        tier = tier_for(fig.adjusted, tiers) if breached and fig.adjusted is not None else None
        amount = credit_amount(fee, tier.credit_percent, units) if tier else zero(units)
        pre.append((v, tier, amount))
    # the cap is shared by the clauses whose credit is determined, in clause order
    known = [i for i, (v, _, _) in enumerate(pre) if v.status != "unknown"]
    capped = dict(zip(known, apply_cap([pre[i][2] for i in known], cap), strict=True))
    results = []
    for i, (clause, fig) in enumerate(zip(agreement.clauses, figures, strict=True)):
        v, tier, _ = pre[i]
        breached = v.status == "breached"
        floor = clause.regulatory_floor
        c = capped.get(i)
        results.append(
            ClauseResult(
                clause=clause,
                figures=fig,
                breached=breached,
                floor_met=(
                    None
                    if floor is None or fig.adjusted is None or v.status == "unknown"
                    else fig.adjusted >= percent_fraction(floor)
                ),
                tier=tier,
                credit_percent=None if c is None else (tier.credit_percent if tier else Decimal(0)),
                credit_before_cap=None if c is None else c.before,
                credit=None if c is None else c.after,
                cap_applied=c is not None and c.applied,
                owner=agreement.owner_of(clause),
                budget_owner=agreement.budget_owner_of(clause),
                exit=exit_count(agreement.exit, [*history[i], breached]),
                breach_attribution=attributions[i] if attributions and breached else None,
                status=v.status,
                status_reason=v.reason,
                minimum_coverage=(
                    None if fig.coverage is None else agreement.minimum_coverage_of(clause)
                ),
            )
        )
    return Statement(
        agreement, period, tuple(results), cap, claim_deadline, dict(inputs or {}), tuple(notes)
    )


# --- the JSON view (the stored, hashed form) --------------------------------------------


STATEMENT_SCHEMA = "slm.statement/v1"
"""The document type and version of :func:`statement_dict` (docs/json.md)."""


def attainment_value(r: Fraction, places: int = 8) -> float:
    """A ratio (0..1) rounded half to even to ``places`` decimals (8: a millionth of a
    percent), so the JSON carries no float noise."""
    d = Decimal(r.numerator) / Decimal(r.denominator)
    return float(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def ratio_value(percent: Decimal) -> float:
    """A percent written in a spec (``99.9``) as the exact ratio it means (``0.999``)."""
    return float(percent.scaleb(-2))


def ratio_text(percent: Decimal) -> str:
    """A percent (``99.95``) as a decimal ratio string (``"0.9995"``), exactly."""
    return format(percent.scaleb(-2), "f")


def _attainment(r: Fraction | None, places: int = 8) -> float | None:
    return None if r is None else attainment_value(r, places)


def _iso_local(t: datetime | None, zone: Any) -> str | None:
    return None if t is None else t.astimezone(zone).isoformat()


def statement_dict(st: Statement) -> dict[str, Any]:
    """The statement as plain JSON data, in a fixed key order (see docs/agreements.md)."""
    from zoneinfo import ZoneInfo

    ag = st.agreement
    zone = ZoneInfo(ag.time_zone)
    return {
        "schema": STATEMENT_SCHEMA,
        "agreement": {
            "name": ag.name,
            "type": ag.type,
            "provider": ag.provider,
            "customer": ag.customer,
            "services": list(ag.services),
            "governing_law": ag.governing_law,
            "jurisdiction": ag.jurisdiction,
            "time_zone": ag.time_zone,
            "measurement_period": ag.period,
            "fee": {"amount": str(ag.fee.amount), "currency": ag.fee.currency},
            "owner": ag.owner,
            "budget_owner": ag.budget_owner,
        },
        "period": {
            "label": st.period.label,
            "start": _iso_local(st.period.start, zone),
            "end": _iso_local(st.period.end, zone),
            "minutes": st.period.minutes,
        },
        "currency": ag.fee.currency,
        "rounding": rounding_rule(ag.fee.currency, ag.fee.minor_units),
        "clauses": [_clause_dict(c, zone) for c in st.clauses],
        "cap": None if st.cap is None else str(st.cap),
        "credits_determined": st.credits_determined,
        "total_credit": None if st.total_credit is None else str(st.total_credit),
        "determined_credit": str(st.determined_credit),
        "claim_deadline": None if st.claim_deadline is None else st.claim_deadline.isoformat(),
        "exit_triggered": st.exit_triggered,
        "notes": list(st.notes),
        "inputs": st.inputs,
    }


def _clause_dict(c: ClauseResult, zone: Any) -> dict[str, Any]:
    f, cl = c.figures, c.clause
    return {
        "clause": cl.name,
        "description": cl.description,
        "measure": _measure_dict(cl),
        "business_hours_only": cl.business_hours_only,
        "target": ratio_value(cl.target),
        "attainment": _attainment(f.attainment),
        "adjusted_attainment": _attainment(f.adjusted),
        "eligible_minutes": f.eligible_minutes,
        "downtime_minutes": f.downtime_minutes,
        "excluded_minutes": f.excluded_minutes,
        "excluded_downtime_minutes": f.excluded_downtime_minutes,
        "coverage": _attainment(f.coverage, 5),
        "minimum_coverage": None if c.minimum_coverage is None else ratio_value(c.minimum_coverage),
        "status": c.status,
        "status_reason": c.status_reason or None,
        "breached": None if c.unknown else c.breached,
        "regulatory_floor": (
            None if cl.regulatory_floor is None else ratio_value(cl.regulatory_floor)
        ),
        "regulatory_floor_met": c.floor_met,
        "credit_tier": (
            None
            if c.tier is None
            else {"below": ratio_text(c.tier.below), "credit_percent": str(c.tier.credit_percent)}
        ),
        "credit_percent": _text(c.credit_percent),
        "credit_before_cap": _text(c.credit_before_cap),
        "cap_applied": c.cap_applied,
        "credit_amount": _text(c.credit),
        "owner": c.owner,
        "budget_owner": c.budget_owner,
        "attribution": {
            k: v
            for k, v in (
                ("tier", cl.attribution.tier),
                ("party", cl.attribution.party),
                ("component", cl.attribution.component),
                ("provider", cl.attribution.provider),
                ("responsibility", cl.attribution.responsibility),
            )
            if v
        },
        "breach_attribution": (
            None if c.breach_attribution is None else [_share_dict(s) for s in c.breach_attribution]
        ),
        "exit": (
            None
            if c.exit is None
            else {
                "consecutive_breaches": c.exit.consecutive,
                "breaches_in_window": c.exit.in_window,
                "window_periods": c.exit.window_periods,
                "triggered": c.exit.triggered,
            }
        ),
        "explanation": [
            {
                "type": e.type,
                "start": _iso_local(e.start, zone),
                "end": _iso_local(e.end, zone),
                "minutes": e.minutes,
                "reason": e.reason,
                "source": e.source,
            }
            for e in f.entries
        ],
    }


def _text(d: Decimal | None) -> str | None:
    """A decimal as a string; ``None`` (undetermined) stays ``null``."""
    return None if d is None else str(d)


def _share_dict(s: BreachShare) -> dict[str, Any]:
    return {
        "component": s.component,
        "tier": s.tier,
        "party": s.party,
        "provider": s.provider,
        "hosting": s.hosting,
        "responsibility": s.responsibility,
        "minutes": s.minutes,
        "share": share_value(s.share),
        "basis": s.basis,
    }


def share_value(r: Fraction) -> float:
    """A share (0..1) rounded to 6 decimals, half to even (for display only)."""
    d = Decimal(r.numerator) / Decimal(r.denominator)
    return float(d.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def _measure_dict(cl: Clause) -> dict[str, Any]:
    m = cl.measure
    if m.kind == "slo":
        return {"kind": "slo", "slo": m.slo, "objective": m.objective}
    if m.kind == "downtime":
        return {
            "kind": "downtime",
            "slo": m.slo,
            "objective": m.objective,
            "interval_minutes": int(m.interval // MINUTE),
            "max_error_rate": ratio_text(m.max_error_rate),
            "no_data": m.no_data,
        }
    if m.kind == "outages":
        return {"kind": "outages", "services": list(m.services), "priorities": list(m.priorities)}
    return {
        "kind": "incidents",
        "file": m.path or None,  # None: the incidents recorded in the store
        "targets": {
            t.priority: {
                "response_minutes": None if t.response is None else int(t.response // MINUTE),
                "resolution_minutes": (
                    None if t.resolution is None else int(t.resolution // MINUTE)
                ),
            }
            for t in m.targets
        },
    }


# --- statements recorded before the JSON convention (docs/json.md) ----------------------

_PERCENT_NUMBERS = (
    "target",
    "attainment",
    "adjusted_attainment",
    "coverage",
    "minimum_coverage",
    "regulatory_floor",
)


def upgrade_statement(body: dict[str, Any]) -> dict[str, Any]:
    """A statement as :func:`statement_dict` gives it today, from the JSON of any earlier
    version (parsed with ``parse_float=Decimal``). Version 0 (no ``schema``) carried
    percents where v1 carries ratios; nothing else changed, so the upgrade is exact."""
    if "schema" in body:
        return body
    clauses = []
    for clause in body.get("clauses", []):
        c = dict(clause)
        for key in _PERCENT_NUMBERS:
            if c.get(key) is not None:
                c[key] = Decimal(c[key]).scaleb(-2)
        if c.get("credit_tier") is not None:
            c["credit_tier"] = {
                **c["credit_tier"],
                "below": ratio_text(Decimal(c["credit_tier"]["below"])),
            }
        if isinstance(c.get("measure"), dict) and "max_error_rate" in c["measure"]:
            rate = Decimal(c["measure"]["max_error_rate"])
            c["measure"] = {**c["measure"], "max_error_rate": ratio_text(rate)}
        clauses.append(c)
    return {"schema": STATEMENT_SCHEMA, **body, "clauses": clauses}
