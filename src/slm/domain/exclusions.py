"""Exclusions: windows that do not count against an agreement (scheduled maintenance,
customer-caused, force majeure, third party), one-off or recurring by an RFC 5545 RRULE.

Only ``approved`` exclusions are subtracted; pending and rejected ones are listed in the
statement's explanation as not counted. Windows are local wall time in the exclusion's
IANA zone (a weekly Sunday 02:00 window stays at 02:00 local across DST); a local time in
a DST gap resolves with ``fold=0``. Recurrences are expanded with python-dateutil (a pure
library).

Work is bounded: ``check_rrule`` (run by ``slm validate``) refuses sub-minute rules
(``FREQ=SECONDLY``, ``BYSECOND``), an ``INTERVAL`` below 1, a rule without any occurrence
and one with more than ``MAX_OCCURRENCES`` occurrences in a year; expanding a rule for a
period stops with a ``SpecError`` past ``MAX_OCCURRENCES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from slm.domain.errors import Problem, SpecError
from slm.domain.intervals import Span
from slm.domain.model import Origin

MAX_OCCURRENCES = 10_000
"""Occurrences of one exclusion in one period (a year of hourly windows is 8,784)."""

Category = Literal["scheduled-maintenance", "customer-caused", "force-majeure", "third-party"]
CATEGORIES: tuple[Category, ...] = (
    "scheduled-maintenance",
    "customer-caused",
    "force-majeure",
    "third-party",
)
Approval = Literal["approved", "pending", "rejected"]


@dataclass(frozen=True)
class Exclusion:
    name: str
    category: Category
    start: datetime  # naive local wall time in ``time_zone`` (the first occurrence)
    duration: timedelta
    time_zone: str
    services: tuple[str, ...]
    agreements: tuple[str, ...] = ()  # empty: every agreement covering one of the services
    rrule: str | None = None
    evidence: tuple[str, ...] = ()
    approval: Approval = "pending"
    approved_by: str = ""
    description: str = ""
    origin: Origin | None = None

    @property
    def counts(self) -> bool:
        return self.approval == "approved"

    def applies_to(self, agreement: str, services: tuple[str, ...]) -> bool:
        if self.agreements and agreement not in self.agreements:
            return False
        return any(s in services for s in self.services)

    def occurrences(self, start: datetime, end: datetime) -> list[Span]:
        """UTC spans of every occurrence that overlaps ``[start, end)``, unclipped."""
        zone = ZoneInfo(self.time_zone)
        lo = start.astimezone(zone).replace(tzinfo=None) - self.duration - timedelta(days=1)
        hi = end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
        if self.rrule is None:
            walls = [self.start] if lo <= self.start <= hi else []
        else:
            walls = self._walls(lo, hi)
        out = []
        for wall in walls:
            s = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
            e = (wall + self.duration).replace(tzinfo=zone, fold=0).astimezone(UTC)
            if e > start and s < end:
                out.append((s, e))
        return out

    def _walls(self, lo: datetime, hi: datetime) -> list[datetime]:
        """Occurrences in ``[lo, hi]``, read one at a time and at most ``MAX_OCCURRENCES``."""
        assert self.rrule is not None
        walls: list[datetime] = []
        for wall in rrule_of(self.rrule, self.start).xafter(lo, inc=True):
            if wall > hi:
                break
            if len(walls) == MAX_OCCURRENCES:
                origin = self.origin
                raise SpecError(
                    [
                        Problem(
                            origin.path if origin else "-",
                            origin.line if origin else None,
                            "Exclusion",
                            self.name,
                            "spec.rrule",
                            f"more than {MAX_OCCURRENCES:,} occurrences between {lo} and {hi}",
                        )
                    ]
                )
            walls.append(wall)
        return walls


def check_rrule(rule: str, dtstart: datetime) -> None:
    """``ValueError`` for a rule slm cannot use: unreadable, finer than a minute, an
    ``INTERVAL`` below 1, without any occurrence, or with more than ``MAX_OCCURRENCES``
    occurrences in the year from its first one.

    dateutil finds that a rule has no occurrence by scanning to the year 9999, a day at a
    time for daily and finer rules (seconds). A yearly rule with the same day filters is
    scanned first (a year at a time): when no day matches those, neither does the rule."""
    parts = _parts(rule)
    if parts.get("FREQ") == "SECONDLY":
        raise ValueError("FREQ=SECONDLY is finer than the minutes slm counts (MINUTELY at most)")
    if "BYSECOND" in parts:
        raise ValueError("BYSECOND is finer than the minutes slm counts")
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or int(interval) < 1:
        raise ValueError(f"INTERVAL must be a whole number of at least 1, not {interval!r}")
    r = rrule_of(rule, dtstart)
    days = _days_of(parts)
    if days is not None and rrule_of(days, dtstart).after(dtstart, inc=True) is None:
        raise ValueError("the rule has no occurrence (no day matches its BY parts)")
    first = r.after(dtstart, inc=True)
    if first is None:
        raise ValueError("the rule has no occurrence")
    year_end = first + timedelta(days=366)
    for n, wall in enumerate(r.xafter(first, inc=True)):
        if wall >= year_end:
            break
        if n == MAX_OCCURRENCES:
            raise ValueError(
                f"more than {MAX_OCCURRENCES:,} occurrences in a year (a statement counts "
                "at most that many of one exclusion per period); use a coarser rule"
            )


_DAY_FILTERS = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY", "WKST")


def _days_of(parts: dict[str, str]) -> str | None:
    """A yearly rule whose days include every day the rule can fall on (``BYDAY``
    ordinals dropped: ``1MO`` of a month is a Monday), or ``None`` without day filters."""
    kept = {k: v for k, v in parts.items() if k in _DAY_FILTERS}
    if "BYDAY" in kept:
        kept["BYDAY"] = ",".join(
            sorted({d.strip().lstrip("+-0123456789") for d in kept["BYDAY"].split(",")})
        )
    if not kept.keys() - {"WKST"}:
        return None
    return ";".join(["FREQ=YEARLY", *(f"{k}={v}" for k, v in kept.items())])


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts: dict[str, str] = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        parts[key.strip().upper()] = value.strip().upper()
    return parts


def rrule_of(rule: str, dtstart: datetime) -> rrule | rruleset:
    """Parse an RRULE (with or without the ``RRULE:`` prefix) anchored at ``dtstart``.

    Raises ``ValueError`` with dateutil's message for a rule it cannot read."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper():
        raise ValueError("give the first occurrence in start, not DTSTART in the rule")
    return rrulestr(text, dtstart=dtstart)
