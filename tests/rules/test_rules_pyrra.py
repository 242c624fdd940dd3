"""Rules for Pyrra's own example SLOs (tests/spec/pyrra_corpus/): every file gives rules
promtool accepts; grouped ones keep their labels; Pyrra's alert defaults."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from slm.rules.pipeline import RulesRequest, build_rules

CORPUS = Path(__file__).parents[1] / "spec" / "pyrra_corpus"
EXAMPLES = [p for p in sorted(CORPUS.glob("*.yaml")) if p.name != "pyrra-connect-latency.yaml"]


def _rules(path: Path) -> list[dict[str, object]]:
    text = build_rules(RulesRequest([path])).text
    return [r for g in YAML(typ="safe").load(text)["groups"] for r in g["rules"]]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_pyrra_example_rules_pass_promtool(path: Path, tmp_path: Path, promtool: str) -> None:
    out = tmp_path / "rules.yaml"
    out.write_text(build_rules(RulesRequest([path])).text, encoding="utf-8")
    run = subprocess.run(
        [promtool, "check", "rules", str(out)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_pyrra_alerts_have_pyrras_name_and_severities() -> None:
    rules = _rules(CORPUS / "prometheus-http.yaml")
    alerts = [r for r in rules if "alert" in r]
    assert [(a["alert"], a["labels"]) for a in alerts] == [
        ("ErrorBudgetBurn", {"severity": "critical", "sloth_severity": "page"}),
        ("ErrorBudgetBurn", {"severity": "warning", "sloth_severity": "ticket"}),
    ]
    records = [r for r in rules if "record" in r and r["record"].startswith("slo:sli_error")]
    assert records and all("sum by (handler)(rate(" in str(r["expr"]) for r in records[:7])


def test_pyrra_alerting_disabled_or_without_burnrates_gives_no_alerts(tmp_path: Path) -> None:
    base = (CORPUS / "prometheus-http.yaml").read_text(encoding="utf-8")
    for block in ("  alerting:\n    disabled: true\n", "  alerting:\n    burnrates: false\n"):
        p = tmp_path / "slo.yaml"
        p.write_text(base.replace("spec:\n", "spec:\n" + block), encoding="utf-8")
        result = build_rules(RulesRequest([p], default_alerts=True))
        assert "alert:" not in result.text
        assert result.notes == ()


def test_pyrra_alert_name_and_severities_are_taken(tmp_path: Path) -> None:
    base = (CORPUS / "prometheus-http.yaml").read_text(encoding="utf-8")
    block = "  alerting:\n    name: ApiBurn\n    severities: {fastBurn: p1, slowBurn: p3}\n"
    p = tmp_path / "slo.yaml"
    p.write_text(base.replace("spec:\n", "spec:\n" + block), encoding="utf-8")
    alerts = [r for r in _rules(p) if "alert" in r]
    assert [(a["alert"], a["labels"]["severity"]) for a in alerts] == [  # type: ignore[index]
        ("ApiBurn", "p1"),
        ("ApiBurn", "p3"),
    ]
