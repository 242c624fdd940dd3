"""The ``slm`` command end to end, as a user runs it: a real process, real files, real stores."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "spec" / "corpus"
AT = "2026-11-01T00:00:00Z"


def slm(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slm", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_validate_good_workspace_exits_zero(examples_dir: Path) -> None:
    r = slm("validate", str(examples_dir))
    assert r.returncode == 0, r.stderr
    assert "4 SLOs" in r.stdout


def test_validate_reports_every_problem_and_exits_one() -> None:
    bad = CORPUS / "bad"
    r = slm("validate", str(bad / "name-rfc1123.yaml"), str(bad / "rolling-month.yaml"))
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.startswith(str(bad))]
    expected = [
        line
        for name in ("name-rfc1123", "rolling-month")
        for line in (bad / f"{name}.expected").read_text().splitlines()
        if line.strip()
    ]
    assert len(lines) == len(expected)
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().endswith("problem(s) in 2 file(s)")


def test_evaluate_json_has_the_documented_keys(examples_dir: Path) -> None:
    r = slm("evaluate", str(examples_dir), "--at", AT, "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["schema"], doc["at"], doc["failures"]) == ("slm.evaluate/v1", AT, [])
    results = doc["items"]
    assert len(results) == 5  # four SLOs, one with two objectives
    for item in results:
        for key in (
            "slo", "service", "objective", "target", "window", "at", "good", "total", "sli",
            "error_budget", "burn_rates", "alerts", "coverage",
        ):  # fmt: skip
            assert key in item, key
        assert set(item["error_budget"]) >= {"total", "consumed", "remaining", "remaining_ratio"}
        assert item["window"]["kind"] in ("rolling", "calendar")
        assert item["at"] == AT
        for alert in item["alerts"]:
            assert set(alert) >= {"severity", "long_window", "short_window", "factor", "firing"}
    avail = next(i for i in results if i["slo"] == "checkout-availability")
    assert list(avail["burn_rates"]) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert [a["factor"] for a in avail["alerts"]] == pytest.approx([14.4, 6, 3, 1])


def test_evaluate_table_lists_every_objective(examples_dir: Path) -> None:
    r = slm("evaluate", str(examples_dir), "--at", AT, env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    for slo in ("checkout-availability", "checkout-latency", "checkout-uptime"):
        assert slo in r.stdout
    assert r.stdout.count("payments-availability") == 2


def test_evaluate_rejects_an_instant_without_offset(examples_dir: Path) -> None:
    r = slm("evaluate", str(examples_dir), "--at", "2026-11-01T00:00:00")
    assert r.returncode == 2
    assert "no UTC offset" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_data_file_fails_that_slo_only(examples_dir: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(examples_dir / "shop", ws / "shop")
    (ws / "data").mkdir()
    r = slm("evaluate", str(ws), "--at", AT, "--format", "json")
    assert r.returncode == 3
    assert "Traceback" not in r.stderr
    assert "shop.parquet" in r.stderr
    doc = json.loads(r.stdout)
    assert (doc["schema"], doc["items"]) == ("slm.evaluate/v1", [])
    assert len(doc["failures"]) == 4  # every SLO of the example reads the missing file
    assert all("shop.parquet" in f["message"] for f in doc["failures"])


def test_convert_sloth_writes_openslo_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "converted.yaml"
    r = slm(
        "convert",
        str(CORPUS / "good" / "sloth-prometheus-v1.yaml"),
        "--to",
        "openslo",
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert "apiVersion: openslo/v1" in out.read_text()
    v = slm("validate", str(out))
    assert v.returncode == 0, v.stderr


CSV = """timestamp,series,value
2026-10-01T00:00:00+02:00,api_total,100
2026-10-01T00:01:00+02:00,api_total,120
2026-09-30T22:00:00Z,api_good,99
1790805660,api_good,119
"""


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_ingest_is_idempotent_and_atomic(store_url: str, tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text(CSV)
    assert slm("db", "upgrade", "--db", store_url).returncode == 0
    first = slm("ingest", str(data), "--db", store_url)
    assert first.returncode == 0, first.stderr
    assert "4 rows, 2 series, 4 new buckets" in first.stdout
    again = slm("ingest", str(data), "--db", store_url)
    assert again.returncode == 0
    assert "already loaded" in again.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV + "2026-10-01T00:02:00Z,api_total,-5\n")
    r = slm("ingest", str(bad), "--db", store_url)
    assert r.returncode != 0
    assert "bad.csv:6" in r.stderr and "value" in r.stderr
    assert "Traceback" not in r.stderr


def test_apply_versions_specs_in_the_default_store(examples_dir: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(examples_dir / "shop", ws / "shop")
    first = slm("apply", "shop", cwd=ws)
    assert first.returncode == 0, first.stderr
    assert "SLO/checkout-availability: version 1 (changed)" in first.stdout
    assert (ws / ".slm" / "slm.db").exists()
    second = slm("apply", "shop", cwd=ws)
    assert "SLO/checkout-availability: version 1 (unchanged)" in second.stdout
    spec = ws / "shop" / "checkout.yaml"
    spec.write_text(spec.read_text().replace("target: 0.999", "target: 0.9995"))
    third = slm("apply", "shop", cwd=ws)
    assert "SLO/checkout-availability: version 2 (changed)" in third.stdout


DATASOURCES = """\
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom-ok}
spec:
  type: Prometheus
  connectionDetails: {url: "http://prometheus:9090", bearerTokenFile: /run/secrets/none}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom-bad}
spec:
  type: Prometheus
  connectionDetails:
    url: "http://prometheus:9090"
    bearerToken: abc
    basicAuth: {username: u, password: p}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom-nourl}
spec:
  type: Prometheus
  connectionDetails: {timeout: soon}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: sql-env}
spec:
  type: SQL
  connectionDetails: {urlFromEnv: SLM_TEST_UNSET_URL}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {name: sql-bad}
spec:
  type: SQL
  connectionDetails: {url: "not a url"}
"""


def test_validate_checks_datasource_connection_details(tmp_path: Path) -> None:
    spec = tmp_path / "sources.yaml"
    spec.write_text(DATASOURCES, encoding="utf-8")
    r = slm("validate", str(spec))
    assert r.returncode == 1, r.stdout
    problems = [line for line in r.stderr.splitlines() if line.startswith(str(spec))]
    assert problems == [
        f"{spec}:8: DataSource/prom-bad: spec.connectionDetails.basicAuth: "
        "use either basicAuth or a bearer token, not both",
        f"{spec}:18: DataSource/prom-nourl: spec.connectionDetails.url: "
        "required field missing (e.g. http://prometheus:9090)",
        f"{spec}:32: DataSource/sql-bad: spec.connectionDetails.url is not a SQLAlchemy URL",
    ]
    assert "3 problem(s)" in r.stderr
    assert "Traceback" not in r.stderr


UPSTREAM = ROOT / "tests" / "spec" / "upstream"

PROM_RULES = """\
groups:
  - name: slm-generated
    rules:
      - record: slo:sli_error:ratio_rate5m
        expr: sum(rate(http_requests_total{code=~"5.."}[5m]))
"""

K8S_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {}
"""


def test_validate_warns_on_undefined_references_and_strict_refuses() -> None:
    folder = str(UPSTREAM / "go-sdk" / "v1")
    r = slm("validate", folder)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("OK: ") and "(10 warning(s))" in r.stdout
    warnings = [line for line in r.stderr.splitlines() if ": warning: " in line]
    assert len(warnings) == 10
    assert any("spec.service: warning: unknown Service 'web'" in w for w in warnings)
    strict = slm("validate", "--strict", folder)
    assert strict.returncode == 1
    assert strict.stderr.strip().endswith("10 problem(s) in 4 file(s)")
    assert "Traceback" not in strict.stderr


def test_validate_directory_skips_non_specs_and_honours_exclude(tmp_path: Path) -> None:
    shutil.copy(CORPUS / "good" / "openslo-v1-readme.yaml", tmp_path / "slos.yaml")
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "rules.yaml").write_text(PROM_RULES, encoding="utf-8")
    (tmp_path / "deploy.yaml").write_text(K8S_DEPLOYMENT, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("apiVersion: openslo/v9\nkind: SLO\n", encoding="utf-8")
    r = slm("validate", str(tmp_path))
    assert r.returncode == 1
    assert f"note: {tmp_path / 'deploy.yaml'}: skipped: not a spec file" in r.stderr
    assert f"note: {tmp_path / 'generated' / 'rules.yaml'}: skipped: not a spec file" in r.stderr
    assert "broken.yaml:1: SLO: apiVersion: unknown apiVersion 'openslo/v9'" in r.stderr
    ok = slm("validate", str(tmp_path), "--exclude", "broken.yaml", "--exclude", "generated/*")
    assert ok.returncode == 0, ok.stderr
    assert "rules.yaml" not in ok.stderr and "broken" not in ok.stderr
    assert "deploy.yaml: skipped" in ok.stderr


def test_validate_empty_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    r = slm("validate", str(tmp_path / "empty"))
    assert r.returncode == 1
    assert f"{tmp_path / 'empty'}: -: -: no spec files in this directory" in r.stderr
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(PROM_RULES, encoding="utf-8")
    r = slm("validate", str(tmp_path / "rules"))
    assert r.returncode == 1
    assert "no spec files in this directory (1 YAML file(s) that are not specs)" in r.stderr


def test_validate_json_and_github_formats(tmp_path: Path) -> None:
    r = slm("validate", str(CORPUS / "warn" / "service-unknown.yaml"), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "slm.validate/v1" and doc["valid"] is True
    assert doc["errors"] == [] and doc["skipped"] == []
    assert doc["warnings"] == [
        {
            "path": str(CORPUS / "warn" / "service-unknown.yaml"),
            "line": 6,
            "kind": "SLO",
            "name": "checkout-slo",
            "field": "spec.service",
            "message": "unknown Service 'checkout': kept as a name "
            "(OpenSLO: service may refer to a Service object)",
            "severity": "warning",
        }
    ]
    bad = CORPUS / "bad" / "rolling-month.yaml"
    r = slm("validate", str(bad), "--format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["valid"] is False and doc["summary"] is None
    expected = (bad.with_suffix(".expected")).read_text().splitlines()
    assert len(doc["errors"]) == len(expected)
    warn = CORPUS / "warn" / "v2alpha-refs.yaml"
    r = slm("validate", str(bad), str(warn), "--format", "github")
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0] == (
        f"::error file={bad},line=20,title=SLO/checkout-slo::spec.timeWindow[0].duration: "
        "rolling windows need a fixed length: use m, h, d or w, not '1M'"
    )
    assert (
        f"::warning file={warn},line=8,title=SLO/web-availability::spec.serviceRef: "
        "unknown Service 'web': kept as a name (OpenSLO: service may refer to a Service object)"
    ) in lines
    assert len(lines) == 1 + 4
    assert all(line.startswith(("::error ", "::warning ")) for line in lines)


def test_rules_generate_refuses_an_unclosed_parenthesis_with_its_location(tmp_path: Path) -> None:
    bad = CORPUS / "bad" / "promql.yaml"
    r = slm("rules", "generate", str(bad), "-o", str(tmp_path / "rules.yaml"))
    assert r.returncode == 1
    assert (
        f"{bad}:23: SLO/api-availability: spec.indicator.spec.ratioMetric.good.metricSource"
        ".spec.query: invalid PromQL: unclosed left parenthesis"
    ) in r.stderr
    assert not (tmp_path / "rules.yaml").exists()
    assert "Traceback" not in r.stderr
