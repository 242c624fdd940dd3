"""What the store can hold: the representable range of instants, epoch units, and counts.

Every measurement written to the store (``slm ingest``, the push API) is checked against
these limits before anything is written, so that a stored row can always be turned back
into a date and summed without overflow:

- instants (bucket starts) lie in ``[EARLIEST, LATEST)``: from 1970-01-01T00:00:00Z
  (Unix 0) up to, not including, 9999-01-01T00:00:00Z, whatever offset they were written
  with (``0001-01-01T00:00:00+14:00`` is in year 0 in UTC and is refused);
- values are finite, at least 0 and at most ``MAX_VALUE`` (2**53, the largest count a
  float64 holds exactly); the sum of a bucket (rows of one file summed, or pushed counts
  added to a stored bucket) must stay within it too.

Numeric timestamps are Unix time in an *epoch unit*: seconds, milliseconds, microseconds
or nanoseconds. ``detect_unit`` tells it from the magnitude: seconds below 1e10 (up to the
year 2286), milliseconds from 1e11 to 1e13, microseconds from 1e14 to 1e16, nanoseconds
from 1e17 to 1e19. The magnitudes in between are refused as ambiguous (1e10 to 1e11 is
the year 2286 to 5138 in seconds, or 1970 to 1973 in milliseconds), as are negative
numbers and anything above: declare the unit instead.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Literal

EARLIEST = 0
"""The first representable instant, Unix seconds (1970-01-01T00:00:00Z)."""
LATEST = 253_370_764_800
"""The first instant after the representable range, Unix seconds (9999-01-01T00:00:00Z)."""
MAX_VALUE = float(2**53)
"""The largest value (count) the store accepts in one bucket."""

EpochUnit = Literal["s", "ms", "us", "ns"]
EpochOption = Literal["auto", "s", "ms", "us", "ns"]
EPOCH_OPTIONS: tuple[EpochOption, ...] = ("auto", "s", "ms", "us", "ns")
PER_SECOND: dict[EpochUnit, int] = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
UNIT_NAMES: dict[EpochUnit, str] = {
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
}
DETECTION: tuple[tuple[float, float, EpochUnit], ...] = (
    (0.0, 1e10, "s"),
    (1e11, 1e13, "ms"),
    (1e14, 1e16, "us"),
    (1e17, 1e19, "ns"),
)
"""``[low, high)`` magnitudes of Unix time read as each unit when the unit is detected."""


def iso(seconds: float) -> str:
    """``2026-11-01T00:00:00Z`` for an instant in the representable range."""
    return datetime.fromtimestamp(math.floor(seconds), UTC).isoformat().replace("+00:00", "Z")


def range_text() -> str:
    return f"{iso(EARLIEST)} to {iso(LATEST)} (exclusive)"


def instant_problem(seconds: float) -> str | None:
    """Why Unix time ``seconds`` cannot be stored, or ``None`` when it can."""
    if not math.isfinite(seconds):
        return "is not a finite number"
    if EARLIEST <= seconds < LATEST:
        return None
    return f"is outside the representable range {range_text()}"


def detect_unit(value: float) -> EpochUnit | None:
    """The epoch unit a number of that magnitude is written in; ``None`` when no unit fits."""
    for low, high, unit in DETECTION:
        if low <= value < high:
            return unit
    return None


def detection_text() -> str:
    return (
        "seconds below 1e10, milliseconds 1e11 to 1e13, microseconds 1e14 to 1e16, "
        "nanoseconds 1e17 to 1e19"
    )


def undetectable(value: object) -> str:
    """The message for a number whose epoch unit cannot be detected."""
    return (
        f"{value!r} is not a plausible Unix time in any epoch unit ({detection_text()}; "
        "the magnitudes in between are ambiguous): declare the unit with --epoch-unit"
    )


def value_problem(value: float) -> str | None:
    """Why ``value`` cannot be stored as a count (to follow the value), or ``None``."""
    if not math.isfinite(value) or value < 0:
        return "is not a count (a finite number >= 0)"
    if value > MAX_VALUE:
        return f"is above the largest storable value 2**53 ({MAX_VALUE:.0f})"
    return None
