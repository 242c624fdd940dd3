"""``promtool test rules`` pins when the generated page and ticket alerts fire and resolve.

The YAML unit tests in tests/rules/promtool/ give known input series and the minutes at
which each alert must be firing or not (derived in each file's header); each runs against
rules freshly generated from tests/rules/specs/promtool-shop.yaml, or, for the OpenSLO
AlertPolicy alerts (shop-policy.yaml), from tests/rules/specs/openslo-policies.yaml.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from slm.rules.generate import Optimize
from slm.rules.pipeline import RulesRequest, build_rules

HERE = Path(__file__).parent
SPEC = HERE / "specs" / "promtool-shop.yaml"
POLICY_SPEC = HERE / "specs" / "openslo-policies.yaml"
PAGE_414 = "- eval_time: 414m\n        alertname: ShopRequestsErrorBudgetBurn"


def promtool_test(promtool: str, rules: str, test_text: str, tmp_path: Path) -> str:
    """Run ``promtool test rules`` on ``test_text`` next to ``rules``; its output (asserted
    to say SUCCESS or FAILED, with the exit code to match)."""
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    (tmp_path / "t.yaml").write_text(test_text, encoding="utf-8")
    run = subprocess.run(
        [promtool, "test", "rules", "t.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout + run.stderr
    assert ("SUCCESS" in out) == (run.returncode == 0), out
    return out


@pytest.mark.parametrize(
    ("test_file", "optimize"),
    [("shop-burn.yaml", "period"), ("shop-burn.yaml", "none"), ("shop-burn-cheap.yaml", "long")],
    ids=["exact-sloth-default", "exact-no-optimization", "cheap-long-windows"],
)
def test_alerts_fire_and_resolve_as_derived(
    test_file: str, optimize: Optimize, tmp_path: Path, promtool: str
) -> None:
    rules = build_rules(RulesRequest([SPEC], optimize=optimize, default_alerts=True)).text
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    shutil.copy(HERE / "promtool" / test_file, tmp_path / test_file)
    run = subprocess.run(
        [promtool, "test", "rules", test_file],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def test_a_wrong_expectation_fails(tmp_path: Path, promtool: str) -> None:
    """The promtool tests can fail: the page alert moved one minute earlier does."""
    rules = build_rules(RulesRequest([SPEC], default_alerts=True)).text
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    text = (HERE / "promtool" / "shop-burn.yaml").read_text(encoding="utf-8")
    assert text.count("eval_time: 409m") == 1
    (tmp_path / "t.yaml").write_text(text.replace("eval_time: 409m", "eval_time: 408m"))
    run = subprocess.run(
        [promtool, "test", "rules", "t.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "FAILED" in run.stdout + run.stderr


def test_policy_alerts_fire_after_alert_after_and_resolve_as_derived(
    tmp_path: Path, promtool: str
) -> None:
    """An SLO with OpenSLO AlertPolicies: the page pends 5m (alertAfter) before firing, the
    alertWhenNoData ticket fires on no data; the SLO without policies gets the catalogue's
    alerts (--default-alerts)."""
    rules = build_rules(RulesRequest([POLICY_SPEC], default_alerts=True)).text
    text = (HERE / "promtool" / "shop-policy.yaml").read_text(encoding="utf-8")
    out = promtool_test(promtool, rules, text, tmp_path)
    assert "SUCCESS" in out
    # and it can fail: the page does not fire at 413m, while it is still pending
    assert text.count(PAGE_414) == 1
    early = text.replace(PAGE_414, PAGE_414.replace("414m", "413m"))
    assert "FAILED" in promtool_test(promtool, rules, early, tmp_path)
