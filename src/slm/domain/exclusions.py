"""Exclusions: windows that do not count against an agreement (scheduled maintenance,
customer-caused, force majeure, third party), one-off or recurring by an RFC 5545 RRULE.

Only ``approved`` exclusions are subtracted; pending and rejected ones are listed in the
statement's explanation as not counted. Windows are local wall time in the exclusion's
IANA zone (a weekly Sunday 02:00 window stays at 02:00 local across DST); a local time in
a DST gap resolves with ``fold=0``. Recurrences are expanded with python-dateutil (a pure
library).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from slm.domain.intervals import Span
from slm.domain.model import Origin

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
            walls = list(rrule_of(self.rrule, self.start).between(lo, hi, inc=True))
        out = []
        for wall in walls:
            s = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
            e = (wall + self.duration).replace(tzinfo=zone, fold=0).astimezone(UTC)
            if e > start and s < end:
                out.append((s, e))
        return out


def rrule_of(rule: str, dtstart: datetime) -> rrule | rruleset:
    """Parse an RRULE (with or without the ``RRULE:`` prefix) anchored at ``dtstart``.

    Raises ``ValueError`` with dateutil's message for a rule it cannot read."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper():
        raise ValueError("give the first occurrence in start, not DTSTART in the rule")
    return rrulestr(text, dtstart=dtstart)
