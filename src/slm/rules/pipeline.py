"""From spec paths to rule text: load, select, generate, render."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from slm.domain.errors import Problem, SpecError
from slm.domain.model import AlertCatalogue
from slm.rules.generate import GenerateOptions, Optimize, generate
from slm.rules.model import RuleSet
from slm.rules.render import Format, render
from slm.rules.target import Compat, Skipped, TargetOptions, select
from slm.spec.loader import load_workspace


@dataclass(frozen=True)
class RulesRequest:
    paths: Sequence[str | Path]
    format: Format = "prometheus"
    period: timedelta | None = None
    catalogue: AlertCatalogue | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    alerts: bool = True
    recordings: bool = True
    optimize: Optimize = "period"
    default_alerts: bool = False
    compat: Compat = "slm"


@dataclass(frozen=True)
class RulesResult:
    text: str
    sets: tuple[RuleSet, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...]


def build_rules(req: RulesRequest) -> RulesResult:
    """Rules for every Prometheus SLO under ``req.paths``.

    Raises ``SpecError`` for invalid specs, and when no SLO is left to generate rules for
    (each skipped SLO is then listed with its reason).
    """
    if not req.alerts and not req.recordings:
        raise SpecError(
            [Problem("-", None, "", "", "", "--no-alerts and --no-recordings leave nothing")]
        )
    ws = load_workspace(req.paths)
    # without alerts, "no alerting configured" is no news: say nothing about it
    default_alerts = req.default_alerts or not req.alerts
    opts = TargetOptions(req.period, req.catalogue, dict(req.labels), default_alerts, req.compat)
    sel = select(ws, opts)
    if sel.problems:
        raise SpecError(list(sel.problems))
    if not sel.slos:
        problems = [
            Problem(s.where.rsplit(":", 1)[0], _line(s.where), "SLO", s.name, "", s.reason)
            for s in sel.skipped
        ]
        where = ", ".join(map(str, req.paths))
        msg = (
            f"no SLO with Prometheus metric sources is left ({len(sel.skipped)} skipped)"
            if sel.skipped
            else "no SLOs found"
        )
        problems.append(Problem(where, None, "", "", "", msg))
        raise SpecError(problems)
    sets = generate(sel.slos, GenerateOptions(req.alerts, req.recordings, req.optimize))
    text = render(sets, req.format)
    return RulesResult(text, sets, sel.skipped, sel.notes)


def _line(where: str) -> int | None:
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
