"""Durations, the one grammar for specs, the CLI and the API.

A duration is one or more terms, each a whole number and a unit, with nothing between
them: ``5m``, ``1h``, ``28d``, ``2w``, ``1h30m``, ``500ms``. Fixed units are ``ms``,
``s``, ``m``, ``h``, ``d`` and ``w``. Calendar spans (``parse_span``: a window of ``1M``,
a retention of ``7y``) are a single term that may also use ``M`` (month), ``Q``
(quarter) and ``Y``/``y`` (year).

Every duration is positive (``0s`` only where a caller allows zero) and at most
``MAX_DURATION`` (100 years): ``1000000000d`` is an error here, never an overflow
further on.
"""

from __future__ import annotations

import re
from datetime import timedelta

MAX_DURATION = timedelta(days=36_525)
"""The longest duration anything in slm accepts: 100 years."""

_MAX_TEXT = 64  # longer text is not a duration (and a 5000-digit number is not parsed)

_FIXED_MS: dict[str, int] = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
}
# Calendar units by their mean length, only to bound a span to MAX_DURATION.
_MEAN_DAYS: dict[str, float] = {"M": 36_525 / 1200, "Q": 36_525 / 400, "Y": 365.25, "y": 365.25}
_TERM = re.compile(r"([0-9]+)(ms|s|m|h|d|w|M|Q|Y|y)")
_EXAMPLE = "e.g. 5m, 1h, 28d, 1h30m"


def _terms(text: str, example: str) -> list[tuple[int, str]]:
    s = text.strip()
    if len(s) > _MAX_TEXT:
        raise ValueError(f"invalid duration {s[:20]!r}... (longer than {_MAX_TEXT} characters)")
    if s.startswith("-") and _TERM.fullmatch(s[1:]):
        raise ValueError(f"duration {text!r} must be positive")
    terms: list[tuple[int, str]] = []
    pos = 0
    while pos < len(s):
        m = _TERM.match(s, pos)
        if m is None:
            terms = []
            break
        terms.append((int(m.group(1)), m.group(2)))
        pos = m.end()
    if not terms:
        raise ValueError(f"invalid duration {text!r} (expected {example})")
    return terms


def parse_duration(
    text: str,
    *,
    allow_zero: bool = False,
    minimum: timedelta | None = None,
    maximum: timedelta = MAX_DURATION,
) -> timedelta:
    """A duration of fixed units; ``ValueError`` with a readable message when ``text`` is
    not one, is zero (unless ``allow_zero``), below ``minimum`` or above ``maximum``."""
    text = str(text)
    terms = _terms(text, _EXAMPLE)
    calendar = [u for _, u in terms if u not in _FIXED_MS]
    if calendar:
        raise ValueError(
            f"invalid duration {text!r}: {calendar[0]!r} is a calendar unit of no fixed "
            f"length (use ms, s, m, h, d or w, {_EXAMPLE})"
        )
    ms = sum(n * _FIXED_MS[u] for n, u in terms)
    if ms == 0 and not allow_zero:
        raise ValueError(f"duration {text!r} must be positive")
    if ms > maximum // timedelta(milliseconds=1):
        raise ValueError(f"duration {text!r} is longer than the maximum of {_shown(maximum)}")
    value = timedelta(milliseconds=ms)
    if minimum is not None and value < minimum and not (allow_zero and ms == 0):
        raise ValueError(f"duration {text!r} is shorter than the minimum of {_shown(minimum)}")
    return value


def parse_span(text: str, units: str = "mhdwMQY") -> tuple[int, str]:
    """A calendar span: one term (``30d``, ``1M``, ``1Q``, ``7y``) as (count, unit); the
    count is at least 1, the unit one of ``units`` and the span at most 100 years."""
    text = str(text)
    allowed = ", ".join(units[:-1]) + f" or {units[-1]}" if len(units) > 1 else units
    example = f"a number followed by {allowed}"
    terms = _terms(text, example)
    if len(terms) != 1 or terms[0][1] not in units:
        raise ValueError(f"invalid duration {text!r} (expected {example})")
    count, unit = terms[0]
    if count == 0:
        raise ValueError(f"duration {text!r} must be positive")
    days = count * _MEAN_DAYS[unit] if unit in _MEAN_DAYS else count * _FIXED_MS[unit] / 86_400_000
    if days > MAX_DURATION.days:
        raise ValueError(f"duration {text!r} is longer than the maximum of {_shown(MAX_DURATION)}")
    return count, unit


def _shown(d: timedelta) -> str:
    return "100 years" if d == MAX_DURATION else format_duration(d) or "0s"


def format_duration(d: timedelta) -> str:
    """Shortest canonical form: 30d, 6h, 5m, 1h30m, 90s."""
    secs = int(d.total_seconds())
    if secs <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            n, secs = divmod(secs, size)
            out.append(f"{n}{unit}")
    return "".join(out)
