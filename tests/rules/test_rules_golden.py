"""Golden files pin ``slm rules generate``; promtool checks every generated file.

Regenerate the goldens after an intended change with ``SLM_UPDATE_GOLDEN=1 pytest
tests/rules`` and review the diff.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from slm.rules.pipeline import RulesRequest, build_rules
from slm.spec.catalogues import load_catalogue

HERE = Path(__file__).parent
SPECS = HERE / "specs"
GOLDEN = HERE / "golden"
SLOTH_BASE = HERE / "sloth_corpus" / "integration" / "in-base.yaml"


def _request(paths: list[Path], **kw: object) -> RulesRequest:
    return replace(RulesRequest([str(p) for p in paths]), **kw)  # type: ignore[arg-type]


CASES: dict[str, RulesRequest] = {
    "openslo-prometheus": _request([SPECS / "openslo-prometheus.yaml"], default_alerts=True),
    "openslo-prometheus-operator": _request(
        [SPECS / "openslo-prometheus.yaml"], format="prometheus-operator", default_alerts=True
    ),
    "sloth-k8s-operator": _request([SPECS / "sloth-k8s.yaml"], format="prometheus-operator"),
    "openslo-policies": _request([SPECS / "openslo-policies.yaml"], default_alerts=True),
    "openslo-policies-cheap-long-windows": _request(
        [SPECS / "openslo-policies.yaml"], optimize="long", default_alerts=True
    ),
    "shop-exact": _request([SPECS / "promtool-shop.yaml"], optimize="none", default_alerts=True),
    "shop-cheap-long-windows": _request(
        [SPECS / "promtool-shop.yaml"], optimize="long", default_alerts=True
    ),
    "sloth-base-no-alerts-labels": _request(
        [SLOTH_BASE], alerts=False, labels={"env": "prod", "region": "eu-1"}
    ),
    "sloth-base-no-recordings": _request([SLOTH_BASE], recordings=False),
    "sloth-base-7d-windows": _request(
        [SLOTH_BASE],
        period=timedelta(days=7),
        catalogue=load_catalogue(SPECS / "catalogue-7d.yaml"),
    ),
}


def _generated(case: str) -> str:
    return build_rules(CASES[case]).text


@pytest.mark.parametrize("case", sorted(CASES))
def test_rules_match_golden(case: str) -> None:
    text = _generated(case)
    golden = GOLDEN / f"{case}.yaml"
    if os.environ.get("SLM_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden {golden}; run with SLM_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8")


def _rule_files(case: str, tmp: Path) -> list[Path]:
    """The generated output as plain rule files (one per PrometheusRule's spec)."""
    text = _generated(case)
    if CASES[case].format == "prometheus":
        path = tmp / f"{case}.yaml"
        path.write_text(text, encoding="utf-8")
        return [path]
    yaml = YAML(typ="safe")
    out = []
    for i, doc in enumerate(yaml.load_all(text)):
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        assert doc["kind"] == "PrometheusRule"
        path = tmp / f"{case}-{i}.yaml"
        with path.open("w", encoding="utf-8") as f:
            yaml.dump(doc["spec"], f)
        out.append(path)
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_rules_pass_promtool_check(case: str, tmp_path: Path, promtool: str) -> None:
    files = _rule_files(case, tmp_path)
    run = subprocess.run(
        [promtool, "check", "rules", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def test_operator_format_wraps_the_same_groups_as_the_rule_file() -> None:
    yaml = YAML(typ="safe")
    plain = yaml.load(_generated("openslo-prometheus").split("\n", 3)[3])
    docs = list(yaml.load_all(_generated("openslo-prometheus-operator")))
    assert [d["metadata"]["name"] for d in docs] == ["checkout"]
    assert docs[0]["spec"]["groups"] == plain["groups"]


def test_sloth_k8s_resource_keeps_its_name_namespace_and_labels() -> None:
    doc = YAML(typ="safe").load(_generated("sloth-k8s-operator"))
    assert doc["metadata"] == {
        "name": "payments-slos",
        "namespace": "payments",
        "labels": {
            "team": "payments",
            "app.kubernetes.io/component": "SLO",
            "app.kubernetes.io/managed-by": "slm",
        },
    }
