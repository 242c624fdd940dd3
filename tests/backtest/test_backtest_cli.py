"""``slm alerts backtest`` end to end on the example workspace (a real process, real files).

The example data has two built-in outages (examples/generate_data.py): checkout errors
2026-10-14 13:00-13:45 UTC and payments degraded 2026-10-27 08:00-10:00 UTC.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from slm.domain.alert_state import PROMETHEUS_SEMANTICS, AlertSettings
from slm.domain.errors import SpecError
from slm.services.backtest import load_incidents, run_backtest
from slm.services.evaluate import evaluate_workspace
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace

FROM, TO = "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"

INCIDENTS_CSV = """slo,start,end,id,description
checkout-availability,2026-10-14T13:00:00Z,2026-10-14T13:45:00Z,INC-1,checkout errors
payments-availability,2026-10-27T08:00:00Z,2026-10-27T10:00:00Z,INC-2,payments degraded
checkout-availability,2026-10-20T00:00:00Z,2026-10-20T01:00:00Z,INC-3,"reported, not seen"
"""

INCIDENTS_YAML = """incidents:
  - {slo: checkout-availability, start: "2026-10-14T13:00:00Z", end: "2026-10-14T13:45:00Z",
     id: INC-1, description: checkout errors}
  - {slo: payments-availability, start: "2026-10-27T08:00:00Z", end: "2026-10-27T10:00:00Z",
     id: INC-2, description: payments degraded}
  - slo: checkout-availability
    start: "2026-10-20T00:00:00Z"
    end: "2026-10-20T01:00:00Z"
    id: INC-3
    description: "reported, not seen"
"""

PAGES_ONLY = """apiVersion: slm/v1
kind: AlertWindowCatalogue
metadata:
  name: pages-only
spec:
  period: 30d
  windows:
    - {severity: page, longWindow: 1h, shortWindow: 5m, budgetPercent: 2}
    - {severity: page, longWindow: 6h, shortWindow: 30m, budgetPercent: 5}
"""

OPENSLO_POLICY = """apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: fast-burn-for-5m
spec:
  conditions:
    - conditionRef: fast-burn
  notificationTargets: []
---
apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: fast-burn
spec:
  severity: page
  condition:
    kind: burnrate
    op: gt
    threshold: 14.4
    lookbackWindow: 1h
    alertAfter: 5m
"""


def slm(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=180,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("backtest")
    out = {}
    for name, text in (
        ("incidents.csv", INCIDENTS_CSV),
        ("incidents.yaml", INCIDENTS_YAML),
        ("pages.yaml", PAGES_ONLY),
        ("openslo.yaml", OPENSLO_POLICY),
    ):
        (d / name).write_text(text)
        out[name] = d / name
    return out


def backtest(examples: Path, *extra: str) -> dict[str, Any]:
    r = slm(
        "alerts", "backtest", str(examples), "--from", FROM, "--to", TO,
        "--slo", "checkout-availability", "--slo", "payments-availability",
        "--format", "json", *extra,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    view: dict[str, Any] = json.loads(r.stdout)
    return view


@pytest.fixture(scope="module")
def compared(examples_dir: Path, files: dict[str, Path]) -> dict[str, Any]:
    return backtest(
        examples_dir,
        "--policy", str(files["pages.yaml"]),
        "--policy", str(files["openslo.yaml"]),
        "--incidents", str(files["incidents.csv"]),
    )  # fmt: skip


def by_name(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in view["policies"]}


def test_policies_are_compared_side_by_side(compared: dict[str, Any]) -> None:
    policies = by_name(compared)
    assert list(policies) == ["pages-only", "fast-burn-for-5m"]
    for p in policies.values():
        assert (p["incidents"], p["detected"], p["missed"]) == (3, 2, 1)
        ttd = {d["incident"]: d["time_to_detect_seconds"] for d in p["detections"]}
        assert ttd["INC-3"] is None
        matched = [e for e in p["episodes"] if e["incident"]]
        assert p["alerts_without_incident"] == p["alerts_fired"] - len(matched)
        hours = sum((_t(e["resolved_at"] or TO) - _t(e["fired_at"])) / 3600 for e in p["episodes"])
        assert p["alert_hours"] == pytest.approx(hours)
    pages = {d["incident"]: d for d in policies["pages-only"]["detections"]}
    fast = {d["incident"]: d for d in policies["fast-burn-for-5m"]["detections"]}
    for inc in ("INC-1", "INC-2"):
        # the same 1h/14.4 burn, but held for 5 minutes and without the short window: later
        assert fast[inc]["time_to_detect_seconds"] >= pages[inc]["time_to_detect_seconds"] + 300
        assert fast[inc]["budget_consumed"] > pages[inc]["budget_consumed"] > 0
    assert pages["INC-1"]["severity"] == "page"
    assert pages["INC-1"]["rule"] == "page-1h-5m"


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_detection_instants_agree_with_slm_evaluate(
    compared: dict[str, Any], examples_dir: Path
) -> None:
    """The backtest's first firing of the 1h/5m page is the first minute the evaluation
    engine (``slm evaluate``) reports that row firing."""
    p = by_name(compared)["pages-only"]
    first = next(
        e
        for e in p["episodes"]
        if e["slo"] == "checkout-availability" and e["rule"] == "page-1h-5m"
    )
    fired = datetime.fromisoformat(first["fired_at"].replace("Z", "+00:00"))
    ws = load_workspace([examples_dir])
    for at, firing in ((fired - timedelta(minutes=1), False), (fired, True)):
        report = evaluate_workspace(ws, at, SourceFactory(), names=["checkout-availability"])
        (result,) = report.results
        assert result.alerts[0].severity == "page"
        assert result.alerts[0].firing is firing, at


def test_yaml_and_csv_incidents_are_the_same(files: dict[str, Path]) -> None:
    csv_incidents = load_incidents(files["incidents.csv"])
    assert csv_incidents == load_incidents(files["incidents.yaml"])
    assert [i.id for i in csv_incidents] == ["INC-1", "INC-2", "INC-3"]
    assert csv_incidents[2].description == "reported, not seen"


def test_hysteresis_never_adds_alerts_on_the_examples(examples_dir: Path) -> None:
    ws = load_workspace([examples_dir])
    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (FROM, TO))
    runs = {
        name: run_backtest(ws, SourceFactory(), start, end, settings=settings).policies[0]
        for name, settings in (("slm", AlertSettings()), ("prometheus", PROMETHEUS_SEMANTICS))
    }
    slm_run, prom = runs["slm"], runs["prometheus"]
    assert slm_run.policy == prom.policy == "default"
    assert slm_run.by_severity()["page"] >= 4  # both outages page, on several SLOs
    assert prom.alerts_fired >= slm_run.alerts_fired
    assert slm_run.alert_hours >= prom.alert_hours
    prom_starts = {(e.slo, e.objective, e.rule, e.fired_at) for e in prom.episodes}
    for e in slm_run.episodes:  # every slm alert starts when the Prometheus rule does
        assert (e.slo, e.objective, e.rule, e.fired_at) in prom_starts


def test_table_output(examples_dir: Path, files: dict[str, Path]) -> None:
    r = slm(
        "alerts", "backtest", str(examples_dir), "--from", FROM, "--to", TO,
        "--policy", str(files["pages.yaml"]), "--incidents", str(files["incidents.csv"]),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    for text in ("pages-only", "alerts fired", "incidents missed", "INC-1", "missed"):
        assert text in r.stdout


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param(
            "bad.csv",
            "slo,start,end\nnope,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z\n"
            "checkout-availability,yesterday,2026-10-01T01:00:00Z\n"
            "checkout-availability,2026-10-01T02:00:00Z,2026-10-01T01:00:00Z\n"
            "checkout-availability,2026-10-01T00:00:00,2026-10-01T01:00:00Z\n",
            [
                "bad.csv:2: Incident: slo: unknown SLO 'nope'",
                "bad.csv:3: Incident: start: 'yesterday' is not an RFC 3339 instant",
                "bad.csv:4: Incident: end: must be after start",
                "bad.csv:5: Incident: start: '2026-10-01T00:00:00' has no UTC offset",
            ],
            id="csv-rows",
        ),
        pytest.param(
            "header.csv",
            "slo,begin,end\n",
            ["header.csv:1: Incident: header: unknown column(s) begin; missing column(s) start"],
            id="csv-header",
        ),
        pytest.param(
            "bad.yaml",
            "- slo: checkout-availability\n  start: '2026-10-01T00:00:00Z'\n  colour: red\n",
            [
                "bad.yaml:1: Incident: colour: unknown field",
                "bad.yaml:1: Incident: end: required field missing",
            ],
            id="yaml-fields",
        ),
        pytest.param("syntax.yaml", "- slo: [unclosed\n", ["syntax.yaml:"], id="yaml-syntax"),
    ],
)
def test_bad_incident_files_are_reported_by_line(
    tmp_path: Path, name: str, text: str, expected: list[str]
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(SpecError) as info:
        load_incidents(tmp_path / name, {"checkout-availability"})
    lines = [str(p).removeprefix(str(tmp_path) + "/") for p in info.value.problems]
    assert len(lines) == len(expected), lines
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, lines)


def test_a_bad_incident_file_exits_one_without_traceback(
    examples_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "bad.csv").write_text("slo,start,end\nnope,2026-10-01T00:00:00Z,soon\n")
    r = slm(
        "alerts", "backtest", str(examples_dir), "--from", FROM, "--to", TO,
        "--incidents", str(tmp_path / "bad.csv"),
    )  # fmt: skip
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"{tmp_path}/bad.csv:2: Incident: slo: unknown SLO 'nope'" in r.stderr
    assert f"{tmp_path}/bad.csv:2: Incident: end: 'soon' is not an RFC 3339 instant" in r.stderr
    assert r.stdout == ""


def test_bad_policy_and_range_are_refused(examples_dir: Path, files: dict[str, Path]) -> None:
    r = slm(
        "alerts", "backtest", str(examples_dir), "--from", FROM, "--to", TO,
        "--policy", str(examples_dir / "shop" / "services.yaml"),
    )  # fmt: skip
    assert r.returncode == 1
    assert "no AlertWindowCatalogue or AlertPolicy in file" in r.stderr
    r = slm("alerts", "backtest", str(examples_dir), "--from", TO, "--to", FROM)
    assert r.returncode == 2
    assert "must be after --from" in r.stderr
    assert "Traceback" not in r.stderr
