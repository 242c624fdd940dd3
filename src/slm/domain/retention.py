"""Retention: how long measurements are kept, at which resolution, and what may not go.

A ``RetentionPolicy`` is a list of tiers, finest first: the first tier describes the
buckets as stored (one minute for 35 days), each later tier a coarser roll-up and how long
it is kept (one hour for 400 days, one day for seven years). Roll-ups are sums of the
counts of the tier below, so ratio SLIs (good/total) stay exact at the coarser resolution.
A ``LegalHold`` protects the data of a period (at every resolution) from deletion.

Roll-up buckets are aligned to the Unix epoch in UTC, like every bucket. A roll-up bucket
is *sealed* once rows of the tier below it were deleted: from then on it is the only
complete record of its span, it is never recomputed, and reads use it instead of what is
left of the finer rows (``merge_rollups``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from slm.domain.model import Origin
from slm.domain.series import BoolArray, Buckets, FloatArray

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Keep:
    """A retention length: calendar ``months`` (a year is 12) plus a fixed ``duration``."""

    months: int = 0
    duration: timedelta = timedelta(0)

    def before(self, at: datetime) -> datetime:
        """The instant ``at`` minus this length (calendar months counted in UTC)."""
        utc = at.astimezone(UTC)
        if self.months:
            index = utc.year * 12 + (utc.month - 1) - self.months
            year, month0 = divmod(index, 12)
            day = min(utc.day, _days_in_month(year, month0 + 1))
            utc = utc.replace(year=year, month=month0 + 1, day=day)
        return utc - self.duration

    def approx_days(self) -> float:
        return self.months * 30.436875 + self.duration / timedelta(days=1)


def _days_in_month(year: int, month: int) -> int:
    nxt = datetime(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


@dataclass(frozen=True)
class Tier:
    resolution: timedelta
    keep: Keep

    @property
    def seconds(self) -> int:
        return int(self.resolution.total_seconds())


@dataclass(frozen=True)
class Selector:
    """Series picked by service (through the SLOs that read them) or by name pattern.

    A series is selected when it belongs to any listed service *or* matches any listed
    glob pattern (``*``, ``?``, ``[abc]``). An empty selector selects every series.
    """

    services: tuple[str, ...] = ()
    series: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not self.services and not self.series

    def matches(self, series: str, services_of: Mapping[str, frozenset[str]]) -> bool:
        if self.everything:
            return True
        if set(self.services) & services_of.get(series, frozenset()):
            return True
        return any(fnmatch.fnmatchcase(series, pattern) for pattern in self.series)


@dataclass(frozen=True)
class RetentionPolicy:
    name: str
    tiers: tuple[Tier, ...]
    selector: Selector = field(default_factory=Selector)
    description: str = ""
    origin: Origin | None = None


@dataclass(frozen=True)
class LegalHold:
    """Nothing measured in ``[start, end)`` of the selected series may be deleted."""

    name: str
    selector: Selector
    start: datetime
    end: datetime
    reason: str
    set_by: str
    set_at: datetime | None = None
    origin: Origin | None = None

    def span(self) -> tuple[int, int]:
        return int(self.start.timestamp()), int(self.end.timestamp())


def tier_problems(tiers: Sequence[Tier]) -> list[tuple[int, str, str]]:
    """(tier index, field, message) for every rule the tiers break."""
    out: list[tuple[int, str, str]] = []
    for i, t in enumerate(tiers):
        secs = t.resolution.total_seconds()
        if secs < 1 or secs != int(secs):
            out.append((i, "resolution", "must be a whole number of seconds, at least 1s"))
            continue
        if t.keep.approx_days() <= 0:
            out.append((i, "keep", "must be longer than zero"))
        if i == 0:
            continue
        prev = tiers[i - 1]
        if int(secs) <= prev.seconds or int(secs) % max(prev.seconds, 1):
            out.append((i, "resolution", "must be a multiple of the previous tier's resolution"))
        if t.keep.approx_days() <= prev.keep.approx_days():
            out.append((i, "keep", "must be longer than the previous tier's keep"))
    return out


@dataclass(frozen=True)
class Step:
    """One step of applying a policy to a series at an instant.

    Rows of resolution ``source`` (``0``: the stored measurements, whose buckets span
    ``span`` seconds) that start before ``before`` are rolled up into ``target`` (``None``:
    the last tier, whose old rows simply expire) and then deleted, except where held.
    """

    source: int
    span: int
    target: int | None
    before: int


def plan(policy: RetentionPolicy, at: datetime) -> list[Step]:
    """The steps of ``policy`` at ``at``, finest tier first.

    Each cutoff is ``at - keep`` floored to the next tier's resolution, so only whole
    roll-up buckets lose their finer rows.
    """
    steps = []
    tiers = policy.tiers
    for i, tier in enumerate(tiers):
        nxt = tiers[i + 1].seconds if i + 1 < len(tiers) else tier.seconds
        cutoff = int(tier.keep.before(at).timestamp())
        steps.append(
            Step(
                source=0 if i == 0 else tier.seconds,
                span=tier.seconds,
                target=tiers[i + 1].seconds if i + 1 < len(tiers) else None,
                before=cutoff - cutoff % nxt,
            )
        )
    return steps


def policy_for(
    series: str,
    policies: Iterable[RetentionPolicy],
    services_of: Mapping[str, frozenset[str]],
) -> list[RetentionPolicy]:
    """Every policy whose selector picks ``series`` (more than one is a conflict)."""
    return [p for p in policies if p.selector.matches(series, services_of)]


def holds_for(
    series: str, holds: Iterable[LegalHold], services_of: Mapping[str, frozenset[str]]
) -> list[LegalHold]:
    return [h for h in holds if h.selector.matches(series, services_of)]


# --- reading across resolutions -------------------------------------------------------


@dataclass(frozen=True)
class RollupSpan:
    """``[start, end)`` was read from roll-ups of ``resolution``."""

    start: datetime
    end: datetime
    resolution: timedelta


@dataclass(frozen=True, eq=False)
class StoredBuckets(Buckets):
    """``Buckets`` read from the store, saying which spans came from roll-ups.

    Where ``rollups`` is not empty, the finer rows of those spans were removed by
    retention: each roll-up bucket's sum sits in the grid bucket that holds its start and
    the other grid buckets it spans are present with 0, so window sums (ratio SLIs) are
    exact when the window's bounds fall on roll-up boundaries.
    """

    rollups: tuple[RollupSpan, ...] = ()

    @property
    def from_rollups(self) -> bool:
        return bool(self.rollups)

    @property
    def resolution(self) -> timedelta:
        """The coarsest resolution of any data in the result (the step when none)."""
        return max((r.resolution for r in self.rollups), default=self.step)


def _covered(starts: IntArray, by_res: IntArray, by_start: IntArray, res: int) -> BoolArray:
    """Mask of ``starts`` that fall in a bucket of resolution ``res`` listed in ``by_*``."""
    keys = by_start[by_res == res]
    if len(keys) == 0:
        return np.zeros(len(starts), dtype=np.bool_)
    return np.isin(starts - starts % res, keys)


def merge_rollups(
    fine_ts: IntArray,
    fine_values: FloatArray,
    sealed_res: IntArray,
    sealed_start: IntArray,
    sealed_values: FloatArray,
    start: datetime,
    end: datetime,
    step: timedelta,
) -> StoredBuckets:
    """Buckets of ``[start, end)`` from fine rows and sealed roll-ups.

    The authoritative record of an instant is the coarsest sealed roll-up that covers it,
    else the fine rows. A roll-up counts in the grid bucket holding its start (roll-ups
    that start before ``start`` are left out).
    """
    resolutions = sorted({int(r) for r in sealed_res.tolist()})
    fine_keep = np.ones(len(fine_ts), dtype=np.bool_)
    for r in resolutions:
        fine_keep &= ~_covered(fine_ts, sealed_res, sealed_start, r)
    roll_keep = np.ones(len(sealed_start), dtype=np.bool_)
    for r in resolutions:
        finer = sealed_res < r
        roll_keep[finer] &= ~_covered(sealed_start[finer], sealed_res, sealed_start, r)
    s0, secs = int(start.timestamp()), int(step.total_seconds())
    roll_keep &= (sealed_start >= s0) & (sealed_start < int(end.timestamp()))
    out = Buckets.empty(start.astimezone(UTC), end, step)
    n = len(out)
    ts = np.concatenate([fine_ts[fine_keep], sealed_start[roll_keep]])
    values = np.concatenate([fine_values[fine_keep], sealed_values[roll_keep]])
    idx = (ts - s0) // secs
    inside = (idx >= 0) & (idx < n)
    out.values[:] = np.bincount(idx[inside], weights=values[inside], minlength=n)[:n]
    out.present[:] = np.bincount(idx[inside], minlength=n)[:n] > 0
    spans = []
    for r_start, r_res in zip(
        sealed_start[roll_keep].tolist(), sealed_res[roll_keep].tolist(), strict=True
    ):
        lo = max((r_start - s0) // secs, 0)
        hi = min(-((s0 - r_start - r_res) // secs), n)
        out.present[lo:hi] = True
        spans.append((r_start, r_start + r_res, r_res))
    return StoredBuckets(out.start, out.step, out.values, out.present, _spans(spans))


def _spans(rows: list[tuple[int, int, int]]) -> tuple[RollupSpan, ...]:
    """Adjacent roll-up buckets of one resolution joined into spans, in time order."""
    merged: list[list[int]] = []
    for lo, hi, res in sorted(rows):
        if merged and merged[-1][2] == res and merged[-1][1] == lo:
            merged[-1][1] = hi
        else:
            merged.append([lo, hi, res])
    return tuple(
        RollupSpan(
            datetime.fromtimestamp(lo, UTC),
            datetime.fromtimestamp(hi, UTC),
            timedelta(seconds=res),
        )
        for lo, hi, res in merged
    )
