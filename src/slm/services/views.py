"""Plain-data views of results, shared by the CLI's JSON output and the API.

Every JSON document slm prints or answers follows one convention (docs/json.md): a
top-level object whose first field ``schema`` names the document type and version
(:func:`document`), lists wrapped in ``items`` (:func:`item_list`), ratios in 0..1 unless
the field name ends in ``_percent``. The shape of a result is documented in
docs/evaluate.md; keep the two in step.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from slm.domain.durations import format_duration
from slm.domain.model import CalendarWindow, RollingWindow, Window
from slm.domain.results import ObjectiveResult


def document(schema: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as the JSON document ``schema`` (``slm.<type>/v<N>``): ``schema`` first."""
    return {"schema": schema, **body}


def item_list(schema: str, items: Iterable[Any], **fields: Any) -> dict[str, Any]:
    """A list as the JSON document ``schema``: ``{"schema", **fields, "items": [...]}``."""
    return {"schema": schema, **fields, "items": list(items)}


def dumps(doc: Mapping[str, Any]) -> str:
    """A document as printed by the CLI: indented, one trailing newline."""
    return json.dumps(doc, indent=2) + "\n"


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _num(x: float | None) -> float | None:
    if x is None or math.isnan(x):
        return None
    if math.isinf(x):
        return None
    return x


def window_view(window: Window) -> dict[str, Any]:
    if isinstance(window, RollingWindow):
        return {"kind": "rolling", "duration": format_duration(window.duration)}
    assert isinstance(window, CalendarWindow)
    return {
        "kind": "calendar",
        "unit": window.unit,
        "count": window.count,
        "start": window.start.isoformat(),
        "time_zone": window.time_zone,
    }


def result_view(r: ObjectiveResult) -> dict[str, Any]:
    eb = r.error_budget
    end = r.window_end or r.at  # where counting stopped: the last bucket or slice boundary
    return {
        "slo": r.slo,
        "service": r.service,
        "objective": r.objective,
        **({"group": dict(r.group)} if r.group else {}),
        "target": r.target,
        "budgeting_method": r.budgeting_method.value,
        "window": {**window_view(r.window), "start": iso(r.window_start), "end": iso(end)}
        if isinstance(r.window, RollingWindow)
        else {**window_view(r.window), "period_start": iso(r.window_start), "end": iso(end)},
        "at": iso(r.at),
        "status": r.status,
        "good": r.good,
        "total": r.total,
        "sli": _num(r.sli),
        "error_budget": {
            "unit": eb.unit,
            "total": eb.total,
            "consumed": eb.consumed,
            "remaining": eb.remaining,
            "remaining_ratio": _num(eb.remaining_ratio),
            "total_minutes": _num(eb.total_minutes),
            "consumed_minutes": _num(eb.consumed_minutes),
            "remaining_minutes": _num(eb.remaining_minutes),
        },
        "burn_rates": {k: _num(v) for k, v in r.burn_rates.items()},
        "time_to_exhaustion_seconds": None
        if r.time_to_exhaustion is None
        else r.time_to_exhaustion.total_seconds(),
        "alerts": [
            {
                "severity": a.severity,
                "long_window": format_duration(a.long_window),
                "short_window": format_duration(a.short_window),
                "factor": a.factor,
                "long_burn_rate": _num(a.long_burn_rate),
                "short_burn_rate": _num(a.short_burn_rate),
                "firing": a.firing,
                "decided": a.decided,
            }
            for a in r.alerts
        ],
        "coverage": {
            "expected_buckets": r.coverage.expected,
            "present_buckets": r.coverage.present,
            "ratio": r.coverage.ratio,
        },
        "notes": list(r.notes),
    }
