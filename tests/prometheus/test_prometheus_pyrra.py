"""A Pyrra ServiceLevelObjective evaluated from the real Prometheus: the same events as
the Sloth spec of the same SLI (both are per-second rates over ``{{.window}}``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prom_helpers import History
from test_prometheus_evaluate import SLOTH, evaluate

PYRRA = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: requests-availability, namespace: web}
spec:
  target: '99'
  window: 30d
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{code="500"}'}
      total: {metric: http_requests_total}
"""


def test_pyrra_ratio_evaluates_as_the_equivalent_sloth_spec(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLM_PROMETHEUS_URL", history.url)
    (tmp_path / "pyrra").mkdir()
    (tmp_path / "pyrra" / "slo.yaml").write_text(PYRRA, encoding="utf-8")
    (tmp_path / "sloth").mkdir()
    (tmp_path / "sloth" / "slo.yaml").write_text(SLOTH, encoding="utf-8")
    at = "2026-10-31T12:00:00Z"
    [pyrra] = evaluate(tmp_path / "pyrra", at)
    [sloth] = evaluate(tmp_path / "sloth", at)
    assert pyrra["total"] and pyrra["total"] == sloth["total"]
    assert pyrra["good"] == sloth["good"]
    assert pyrra["sli"] == sloth["sli"]
    assert pyrra["slo"] == "requests-availability" and pyrra["service"] == "web"
