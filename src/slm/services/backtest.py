"""Backtest alert policies over the history of a workspace's SLOs.

``run_backtest(ws, factory, start, end, policies, incidents)`` reads every objective's data
through the same sources as ``slm evaluate`` (one read per query, covering ``[start - max(
period, longest alert window), end)``), replays it through each policy
(``slm.domain.backtest``) and returns one ``PolicyResult`` per policy, side by side.

A policy is an ``AlertWindowCatalogue`` (multi-window, multi-burn-rate rows; thresholds
derived from the SLO period) or an OpenSLO ``AlertPolicy`` with its ``AlertCondition``\\ s
(single-window burn-rate conditions). Without policies, the shipped default catalogue for
each SLO's period is used. Incidents come from a CSV or YAML file (``load_incidents``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slm.domain.alert_state import AlertRule, AlertSettings, catalogue_rules
from slm.domain.backtest import BurnHistory, Incident, PolicyResult, PolicyRun
from slm.domain.errors import DataError, Problem, SourceError, SpecError
from slm.domain.indicators import events_for
from slm.domain.model import SLO, Objective
from slm.domain.series import DEFAULT_STEP, EventSeries, floor_to_step
from slm.domain.windows import period_length
from slm.services.alerting import policy_rules
from slm.services.evaluate import Failure, read_span, ungrouped_use
from slm.services.ports import Reader, SourceFactory
from slm.services.reading import SourceReader
from slm.spec.catalogues import default_catalogue
from slm.spec.checks import CATALOGUE_KEY
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.spec.yamlio import parse_file

DEFAULT_POLICY = "default"


@dataclass(frozen=True)
class BacktestPolicy:
    """A named set of rules; ``rules=None`` is the default catalogue of each SLO's period."""

    name: str
    rules: tuple[AlertRule, ...] | None
    source: str = ""

    def rules_for(self, slo: SLO, at: datetime) -> tuple[AlertRule, ...]:
        if self.rules is not None:
            return self.rules
        return catalogue_rules(default_catalogue(period_length(slo.window, at)))


DEFAULT = BacktestPolicy(DEFAULT_POLICY, None, "the shipped catalogue for the SLO period")


def load_policies(paths: Sequence[str | Path]) -> list[BacktestPolicy]:
    """Every catalogue and OpenSLO AlertPolicy in ``paths`` (one policy each)."""
    out: list[BacktestPolicy] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in paths:
        ws = load_workspace([path])
        found = [
            BacktestPolicy(cat.name, catalogue_rules(cat), str(path))
            for cat in ws.objects.get(CATALOGUE_KEY, {}).values()
        ]
        found += [
            BacktestPolicy(name, policy_rules(ws, [name]), str(path))
            for name in sorted(ws.alert_policies)
        ]
        if not found:
            msg = "no AlertWindowCatalogue or AlertPolicy in file"
            problems.append(Problem(str(path), None, "", "", "", msg))
        for p in found:
            if p.name in seen:
                problems.append(
                    Problem(
                        str(path),
                        None,
                        "AlertPolicy",
                        p.name,
                        "metadata.name",
                        f"policy name {p.name!r} is also defined in {seen[p.name]}",
                    )
                )
            seen[p.name] = str(path)
        out += found
    if problems:
        raise SpecError(problems)
    return out


# --- incidents ------------------------------------------------------------------------

_FIELDS = ("slo", "start", "end", "objective", "id", "description")


def load_incidents(path: str | Path, slos: Collection[str] | None = None) -> list[Incident]:
    """Incidents from a CSV (header ``slo,start,end[,objective,id,description]``) or YAML
    file (a list of mappings with those keys, or ``{incidents: [...]}``).

    ``start``/``end`` are RFC 3339 instants with an offset; ``end`` after ``start``. Every
    problem is reported at once with its file and line (``SpecError``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problem = Problem(str(p), None, "Incident", "", "", f"cannot read file: {e}")
        raise SpecError([problem]) from None
    rows = _csv_rows(p, text) if p.suffix.lower() == ".csv" else _yaml_rows(p, text)
    problems: list[Problem] = []
    out = []
    for line, row in rows:
        incident = _incident(str(p), line, row, slos, problems)
        if incident is not None:
            out.append(incident)
    if problems:
        raise SpecError(problems)
    return out


def _csv_rows(p: Path, text: str) -> list[tuple[int | None, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in _FIELDS]
    missing = [h for h in ("slo", "start", "end") if h not in header]
    if unknown or missing or not header:
        msg = "; ".join(
            [f"unknown column(s) {', '.join(unknown)}"] * bool(unknown)
            + [f"missing column(s) {', '.join(missing)}"] * bool(missing)
        )
        raise SpecError([Problem(str(p), 1, "Incident", "", "header", msg or "empty file")])
    rows: list[tuple[int | None, dict[str, Any]]] = []
    for raw in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            row["__extra__"] = raw[None]
        rows.append((reader.line_num, {k: v for k, v in row.items() if v != ""}))
    return rows


def _yaml_rows(p: Path, text: str) -> list[tuple[int | None, dict[str, Any]]]:
    docs, errors = parse_file(str(p), text)
    if errors:
        raise SpecError([Problem(e.path, e.line, "Incident", "", "", e.message) for e in errors])
    rows: list[tuple[int | None, dict[str, Any]]] = []
    for doc in docs:
        data = doc.data
        prefix: tuple[str, ...] = ()
        if isinstance(data, dict) and "incidents" in data:
            data, prefix = data["incidents"], ("incidents",)
        if not isinstance(data, list):
            line = doc.line_of(prefix)
            msg = "expected a list of incidents (or a mapping with an 'incidents' list)"
            raise SpecError([Problem(str(p), line, "Incident", "", "", msg)])
        for i, item in enumerate(data):
            line = doc.line_of((*prefix, i))
            if not isinstance(item, dict):
                raise SpecError([Problem(str(p), line, "Incident", "", "", "must be a mapping")])
            rows.append((line, item))
    return rows


def _incident(
    path: str,
    line: int | None,
    row: dict[str, Any],
    slos: Collection[str] | None,
    problems: list[Problem],
) -> Incident | None:
    name = str(row.get("id", ""))
    before = len(problems)

    def bad(field: str, message: str) -> None:
        problems.append(Problem(path, line, "Incident", name, field, message))

    if "__extra__" in row:
        bad("-", "more values than columns")
    for key in row:
        if key not in _FIELDS and key != "__extra__":
            bad(key, f"unknown field (known: {', '.join(_FIELDS)})")
    slo = row.get("slo")
    if not isinstance(slo, str) or not slo:
        bad("slo", "required field missing")
    elif slos is not None and slo not in slos:
        bad("slo", f"unknown SLO {slo!r}")
    start, end = _instant(row.get("start"), "start", bad), _instant(row.get("end"), "end", bad)
    if start is not None and end is not None and end <= start:
        bad("end", "must be after start")
    if len(problems) > before or start is None or end is None:
        return None
    objective = row.get("objective")
    return Incident(
        slo=str(slo),
        start=start,
        end=end,
        objective=None if objective is None else str(objective),
        id=name or f"{Path(path).name}:{line}",
        description=str(row.get("description", "")),
    )


def _instant(value: Any, field: str, bad: Any) -> datetime | None:
    if value is None:
        bad(field, "required field missing")
        return None
    if isinstance(value, datetime):
        t = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            bad(field, f"{value!r} is not an RFC 3339 instant (e.g. 2026-11-01T00:00:00Z)")
            return None
    if t.tzinfo is None:
        bad(field, f"{value!r} has no UTC offset; add Z or +HH:MM")
        return None
    return t.astimezone(UTC)


# --- running --------------------------------------------------------------------------


@dataclass
class BacktestReport:
    start: datetime
    end: datetime
    step: timedelta
    settings: AlertSettings
    policies: list[PolicyResult] = field(default_factory=list)
    slos: list[str] = field(default_factory=list)
    incidents: list[Incident] | None = None
    failures: list[Failure] = field(default_factory=list)
    # every objective replayed; ``history.result(t)`` is ``slm evaluate`` at ``t``
    histories: list[BurnHistory] = field(default_factory=list)


def run_backtest(
    ws: Workspace,
    factory: SourceFactory,
    start: datetime,
    end: datetime,
    policies: Sequence[BacktestPolicy] = (DEFAULT,),
    incidents: Sequence[Incident] | None = None,
    *,
    slos: Sequence[str] | None = None,
    step: timedelta = DEFAULT_STEP,
    settings: AlertSettings | None = None,
    advance: Callable[[int], None] | None = None,
) -> BacktestReport:
    """Replay ``[start, end]`` of every SLO (or of ``slos``) through every policy;
    ``advance(1)`` as each SLO starts (a progress bar)."""
    if end <= start:
        raise DataError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
    settings = settings or AlertSettings()
    names = sorted(ws.slos) if slos is None else list(slos)
    report = BacktestReport(
        start,
        end,
        step,
        settings,
        slos=names,
        incidents=None if incidents is None else list(incidents),
    )
    runs = [PolicyRun(p.name, floor_to_step(end, step)) for p in policies]
    reader = SourceReader(ws, factory, step)
    for name in names:
        if advance is not None:
            advance(1)  # this SLO is under way
        slo = ws.slos[name]
        rules = [p.rules_for(slo, end) for p in policies]
        longest = max(
            [period_length(slo.window, end, step)]
            + [w for rs in rules for r in rs for w in r.windows]
        )
        # the windows at the first instant, back to their first whole slice (read_span)
        span = (read_span(slo, start, longest, step)[0], floor_to_step(end, step))
        try:
            histories = [
                BurnHistory(slo, o, _events(slo, o, reader, span), start, end)
                for o in slo.objectives
            ]
        except (SourceError, DataError) as e:
            report.failures.append(Failure(name, str(e)))
            continue
        except ValueError as e:
            report.failures.append(Failure(name, f"cannot backtest: {e}"))
            continue
        report.histories += histories
        for run, rs in zip(runs, rules, strict=True):
            for h in histories:
                run.add(h, rs, settings)
    report.policies = [run.result(incidents) for run in runs]
    return report


def _events(
    slo: SLO, objective: Objective, reader: Reader, span: tuple[datetime, datetime]
) -> EventSeries:
    if slo.grouping:
        raise DataError(ungrouped_use(slo, "slm alerts backtest"))
    indicator = slo.indicator_for(objective)
    buckets = {role: reader.read(q, *span) for role, q in indicator.queries().items()}
    return events_for(indicator, objective, buckets)


# --- views ----------------------------------------------------------------------------


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _seconds(d: timedelta | None) -> float | None:
    return None if d is None else d.total_seconds()


def policy_view(p: PolicyResult, with_incidents: bool) -> dict[str, Any]:
    detected = [d for d in p.detections if d.time_to_detect is not None]
    ttd = [d.time_to_detect.total_seconds() for d in detected if d.time_to_detect is not None]
    return {
        "name": p.policy,
        "alerts_fired": p.alerts_fired,
        "by_severity": p.by_severity(),
        "alert_hours": p.alert_hours,
        "incidents": len(p.detections) if with_incidents else None,
        "detected": len(detected) if with_incidents else None,
        "missed": len(p.missed) if with_incidents else None,
        "alerts_without_incident": len(p.unmatched) if with_incidents else None,
        "mean_time_to_detect_seconds": sum(ttd) / len(ttd) if ttd else None,
        "detections": [
            {
                "incident": d.incident.id,
                "slo": d.incident.slo,
                "objective": d.incident.objective,
                "start": _iso(d.incident.start),
                "end": _iso(d.incident.end),
                "detected_at": _iso(d.detected_at),
                "time_to_detect_seconds": _seconds(d.time_to_detect),
                "rule": d.rule,
                "severity": d.severity,
                "budget_consumed": d.budget_consumed,
            }
            for d in p.detections
        ],
        "episodes": [
            {
                "rule": e.rule,
                "severity": e.severity,
                "slo": e.slo,
                "objective": e.objective,
                "pending_at": _iso(e.pending_at),
                "fired_at": _iso(e.fired_at),
                "resolved_at": _iso(e.resolved_at),
                "incident": e not in p.unmatched if with_incidents else None,
            }
            for e in p.episodes
        ],
    }


def backtest_view(report: BacktestReport) -> dict[str, Any]:
    """Plain JSON of a backtest (``slm alerts backtest --format json``)."""
    s = report.settings
    with_incidents = report.incidents is not None
    return {
        "from": _iso(report.start),
        "to": _iso(report.end),
        "step_seconds": report.step.total_seconds(),
        "hysteresis": {
            "resolve_ratio": s.resolve_ratio,
            "min_firing_seconds": _seconds(s.min_firing),
        },
        "slos": report.slos,
        "policies": [policy_view(p, with_incidents) for p in report.policies],
        "failures": [{"slo": f.slo, "message": f.message} for f in report.failures],
    }
