"""Durations as written in specs: ``5m``, ``1h``, ``28d``, ``2w``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS: dict[str, int] = {
    "ms": 0,  # handled separately (sub-second)
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w))+$")


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus-style duration; raise ``ValueError`` with a readable message."""
    s = str(text).strip()
    if not s or not _WHOLE.match(s):
        raise ValueError(f"invalid duration {text!r} (expected e.g. 5m, 1h, 28d, 1h30m)")
    total = timedelta()
    for num, unit in _PART.findall(s):
        if unit == "ms":
            total += timedelta(milliseconds=int(num))
        else:
            total += timedelta(seconds=int(num) * _UNITS[unit])
    if total <= timedelta():
        raise ValueError(f"duration {text!r} must be positive")
    return total


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
