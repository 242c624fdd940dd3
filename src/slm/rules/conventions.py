"""Sloth's published Prometheus conventions: record names, labels, group names, numbers.

Everything here follows Sloth (https://github.com/slok/sloth, ``pkg/common/conventions``
and the core SLO plugins ``sli_rules_v1``, ``metadata_rules_v1`` and ``alert_rules_v1``)
so that dashboards and alert routes written for Sloth keep working on slm's rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

SLI_ERROR_METRIC = "slo:sli_error:ratio_rate{window}"
OBJECTIVE_METRIC = "slo:objective:ratio"
ERROR_BUDGET_METRIC = "slo:error_budget:ratio"
TIME_PERIOD_METRIC = "slo:time_period:days"
CURRENT_BURN_RATE_METRIC = "slo:current_burn_rate:ratio"
PERIOD_BURN_RATE_METRIC = "slo:period_burn_rate:ratio"
BUDGET_REMAINING_METRIC = "slo:period_error_budget_remaining:ratio"
INFO_METRIC = "sloth_slo_info"

ID_LABEL = "sloth_id"
SERVICE_LABEL = "sloth_service"
SLO_LABEL = "sloth_slo"
WINDOW_LABEL = "sloth_window"
SEVERITY_LABEL = "sloth_severity"
VERSION_LABEL = "sloth_version"
MODE_LABEL = "sloth_mode"
SPEC_LABEL = "sloth_spec"
OBJECTIVE_LABEL = "sloth_objective"

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*\.window\s*\}\}")


def sli_error_metric(window: timedelta) -> str:
    """``slo:sli_error:ratio_rate5m`` for a 5 minute window."""
    return SLI_ERROR_METRIC.format(window=prom_duration(window))


def sli_group(slo_id: str) -> str:
    return f"sloth-slo-sli-recordings-{slo_id}"


def meta_group(slo_id: str) -> str:
    return f"sloth-slo-meta-recordings-{slo_id}"


def alert_group(slo_id: str) -> str:
    return f"sloth-slo-alerts-{slo_id}"


def is_label_name(name: str) -> bool:
    return bool(_LABEL_NAME.match(name))


def has_window_placeholder(query: str) -> bool:
    return bool(_WINDOW_PLACEHOLDER.search(query))


def render_window(query: str, window: timedelta) -> str:
    """Substitute Sloth's ``{{.window}}`` placeholder (any spacing) with ``window``."""
    return _WINDOW_PLACEHOLDER.sub(prom_duration(window), query)


def prom_duration(d: timedelta) -> str:
    """Prometheus' own duration string (``model.Duration.String``): 30d, 4w, 1y, 1h30m.

    Years and weeks are used only when they divide the duration exactly, so 28d is
    ``4w`` and 30d stays ``30d`` (as Sloth's record names show).
    """
    ms = int(d / timedelta(milliseconds=1))
    if ms <= 0:
        return "0s"
    out = []
    day = 24 * 3600 * 1000
    for unit, size, exact in (
        ("y", 365 * day, True),
        ("w", 7 * day, True),
        ("d", day, False),
        ("h", 3600 * 1000, False),
        ("m", 60 * 1000, False),
        ("s", 1000, False),
        ("ms", 1, False),
    ):
        if exact and ms % size:
            continue
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def go_float(x: float) -> str:
    """A float as Go's ``%g``/``%v`` prints it (shortest digits; exponent from 1e+06)."""
    if x == 0:
        return "0"
    d = Decimal(repr(float(x))).normalize()
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    x_exp = len(digits) + exp - 1
    if -4 <= x_exp < 6:
        return format(d, "f")
    mant = "".join(map(str, digits))
    mant = mant[0] + ("." + mant[1:] if len(mant) > 1 else "")
    return f"{'-' if sign else ''}{mant}e{'-' if x_exp < 0 else '+'}{abs(x_exp):02d}"


def go_float_fixed(x: float) -> str:
    """Go's ``strconv.FormatFloat(x, 'f', -1, 64)``: shortest digits, never an exponent."""
    return format(Decimal(repr(float(x))).normalize(), "f")


def label_filter(labels: Mapping[str, str]) -> str:
    """``{a="1", b="2"}`` with sorted names, as Sloth's ``LabelsToPromFilter``."""
    parts = [f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())]
    return "{" + ", ".join(parts) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def merge_labels(*maps: Mapping[str, str]) -> dict[str, str]:
    """Later maps win, as Sloth's ``MergeLabels``."""
    out: dict[str, str] = {}
    for m in maps:
        out.update(m)
    return out
