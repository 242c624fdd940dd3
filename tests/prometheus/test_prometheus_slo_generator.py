"""An slo-generator good_bad_ratio SLO evaluated from the real Prometheus: its valid
events are the equivalent Sloth spec's total (``increase`` over the bucket is ``rate``
times the bucket), and good + bad = valid (the test data has codes 200 and 500 only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prom_helpers import History
from test_prometheus_evaluate import SLOTH, evaluate

SLO = """\
apiVersion: sre.google.com/v2
kind: ServiceLevelObjective
metadata:
  name: requests-availability
  labels: {service_name: web}
spec:
  backend: prometheus
  method: good_bad_ratio
  service_level_indicator:
    filter_good: http_requests_total{code="200"}
    filter_valid: http_requests_total
  goal: 0.99
"""
CONFIG = """\
error_budget_policies:
  default:
    steps:
      - {name: 1 hour, burn_rate_threshold: 9, alert: true, window: 3600}
      - {name: 30 days, burn_rate_threshold: 1, alert: false, window: 2592000}
"""


def test_slo_generator_ratio_evaluates_like_the_sloth_spec(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLM_PROMETHEUS_URL", history.url)
    (tmp_path / "sg").mkdir()
    (tmp_path / "sg" / "slo.yaml").write_text(SLO, encoding="utf-8")
    (tmp_path / "sg" / "config.yaml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "sloth").mkdir()
    (tmp_path / "sloth" / "slo.yaml").write_text(SLOTH, encoding="utf-8")
    at = "2026-10-31T12:00:00Z"
    [sg] = evaluate(tmp_path / "sg", at)
    [sloth] = evaluate(tmp_path / "sloth", at)
    assert sg["slo"] == "requests-availability" and sg["service"] == "web"
    assert sg["window"] == sloth["window"]  # 30d: the policy's longest step
    assert sg["total"] == pytest.approx(sloth["total"], rel=1e-9)
    assert sg["good"] == pytest.approx(sloth["good"], rel=1e-6)
    assert sg["total"] > sg["good"] > 0
