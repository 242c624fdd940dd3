"""``promtool test rules`` pins when the generated page and ticket alerts fire and resolve.

The YAML unit tests in tests/rules/promtool/ give known input series and the minutes at
which each alert must be firing or not (derived in each file's header); each runs against
rules freshly generated from tests/rules/specs/promtool-shop.yaml.
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


@pytest.mark.parametrize(
    ("test_file", "optimize"),
    [("shop-burn.yaml", "period"), ("shop-burn.yaml", "none"), ("shop-burn-cheap.yaml", "long")],
    ids=["exact-sloth-default", "exact-no-optimization", "cheap-long-windows"],
)
def test_alerts_fire_and_resolve_as_derived(
    test_file: str, optimize: Optimize, tmp_path: Path, promtool: str
) -> None:
    rules = build_rules(RulesRequest([SPEC], optimize=optimize)).text
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
    rules = build_rules(RulesRequest([SPEC])).text
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
