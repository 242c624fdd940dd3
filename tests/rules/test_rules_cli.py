"""``slm rules generate`` as a user runs it: a real process, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

HERE = Path(__file__).parent
SPECS = HERE / "specs"
SHOP = SPECS / "promtool-shop.yaml"


def slm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slm", "rules", "generate", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def test_writes_the_rule_file_to_stdout() -> None:
    r = slm(str(SHOP), "--default-alerts")
    assert r.returncode == 0, r.stderr
    groups = YAML(typ="safe").load(r.stdout)["groups"]
    assert [g["name"] for g in groups] == [
        "sloth-slo-sli-recordings-shop-requests-0",
        "sloth-slo-meta-recordings-shop-requests-0",
        "sloth-slo-alerts-shop-requests-0",
    ]
    assert "no alert rules" not in r.stderr


def test_an_slo_without_alert_policies_gets_no_alerts_unless_asked() -> None:
    """As Sloth: an OpenSLO SLO that configures no alerting gets recordings only, and a
    note says so and how to get the catalogue's alerts."""
    r = slm(str(SHOP))
    assert r.returncode == 0, r.stderr
    groups = YAML(typ="safe").load(r.stdout)["groups"]
    assert [g["name"] for g in groups] == [
        "sloth-slo-sli-recordings-shop-requests-0",
        "sloth-slo-meta-recordings-shop-requests-0",
    ]
    assert "alert:" not in r.stdout
    assert (
        f"note: {SHOP}:10: SLO/requests: no alertPolicies: no alert rules "
        "(--default-alerts adds the catalogue's page and ticket alerts)"
    ) in r.stderr


def test_output_file_and_options_reach_the_rules(tmp_path: Path) -> None:
    out = tmp_path / "rules.yaml"
    r = slm(
        str(SHOP),
        "-o",
        str(out),
        "--format",
        "prometheus-operator",
        "--period",
        "28d",
        "--label",
        "env=prod",
        "--no-alerts",
        "--cheap-long-windows",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert f"wrote {out} (2 groups)" in r.stderr
    doc = YAML(typ="safe").load(out.read_text(encoding="utf-8"))
    assert doc["kind"] == "PrometheusRule"
    rules = [rule for g in doc["spec"]["groups"] for rule in g["rules"]]
    assert all(rule["labels"]["env"] == "prod" for rule in rules)
    one_hour = next(x for x in rules if x["record"] == "slo:sli_error:ratio_rate1h")
    assert one_hour["expr"].startswith("sum_over_time(slo:sli_error:ratio_rate5m{")
    assert not any("alert" in x for x in rules)


def test_custom_windows_file(tmp_path: Path) -> None:
    r = slm(str(SHOP), "--windows", str(SPECS / "catalogue-7d.yaml"), "--default-alerts")
    assert r.returncode == 0, r.stderr
    assert "slo:sli_error:ratio_rate12h" in r.stdout
    assert "ratio_rate3d" not in r.stdout


def test_skipped_slos_are_noted_on_stderr() -> None:
    r = slm(str(SPECS / "openslo-prometheus.yaml"))
    assert r.returncode == 0, r.stderr
    assert "calendar window (1 month) approximated by a rolling 30d window" in r.stderr


def test_bad_input_exits_non_zero_without_traceback_or_output(tmp_path: Path) -> None:
    out = tmp_path / "rules.yaml"
    out.write_text("old rules\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        SHOP.read_text(encoding="utf-8").replace("type: Prometheus", "type: Datadog"),
        encoding="utf-8",
    )
    r = slm(str(bad), "-o", str(out))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"{bad}:10: SLO/requests: -: its metric source is Datadog, not Prometheus" in r.stderr
    assert out.read_text(encoding="utf-8") == "old rules\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "rules.yaml"]


def test_bad_options_are_usage_errors() -> None:
    for args in (
        ["--period", "soon"],
        ["--label", "novalue"],
        ["--format", "nagios"],
        ["--no-alerts", "--no-recordings"],
        ["--compat", "pyrra"],
    ):
        r = slm(str(SHOP), *args)
        assert r.returncode == 2, args
        assert "Traceback" not in r.stderr
