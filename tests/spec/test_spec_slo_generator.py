"""slo-generator v2 ``ServiceLevelObjective``s and the shared config: its public samples
validate; Prometheus SLIs become windowed queries; the error budget policy gives the
window and the alerts; other backends validate and convert but do not evaluate."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.rules.pipeline import RulesRequest, build_rules
from slm.spec.convert import to_openslo_v1
from slm.spec.loader import load_workspace

CORPUS = Path(__file__).parent / "slo_generator_corpus"
CONFIG = CORPUS / "config.yaml"
SAMPLES = sorted(p for p in CORPUS.glob("*.yaml") if not p.name.startswith("config"))
GOAL_ONE = "elasticsearch__slo_elk_test_ratio.yaml"  # goal: 1, no error budget
RATIO = CORPUS / "prometheus__slo_prom_metrics_availability_ratio.yaml"
CUT = CORPUS / "prometheus__slo_prom_metrics_latency_distribution_cut.yaml"
QUERY_SLI = CORPUS / "prometheus__slo_prom_metrics_availability_query_sli.yaml"
DATADOG = CORPUS / "datadog__slo_dd_app_availability_ratio.yaml"


def test_corpus_has_every_backend() -> None:
    backends = {p.name.split("__")[0] for p in SAMPLES}
    assert {"prometheus", "datadog", "cloud_monitoring", "dynatrace", "splunk"} <= backends
    assert len(SAMPLES) >= 38


@pytest.mark.parametrize("path", [p for p in SAMPLES if p.name != GOAL_ONE], ids=lambda p: p.name)
def test_sample_validates_with_the_shared_config(path: Path) -> None:
    ws = load_workspace([CONFIG, path])
    [slo] = ws.slos.values()
    assert 0 < slo.objectives[0].target < 1


def test_both_configs_load() -> None:
    for name in ("config.yaml", "config_export.yaml"):
        assert load_workspace([CORPUS / name]).slos == {}


def test_goal_one_is_refused_with_the_field_named() -> None:
    with pytest.raises(SpecError) as e:
        load_workspace([CORPUS / GOAL_ONE])
    assert (
        f"{CORPUS / GOAL_ONE}:27: ServiceLevelObjective/elk-test-errors: spec.goal: "
        "must be less than 1"
    ) in str(e.value)


def test_good_bad_ratio_is_increases_of_good_over_valid() -> None:
    slo = load_workspace([CONFIG, RATIO]).slos["prom-metrics-availability"]
    assert slo.service == "prom"  # metadata.labels.service_name
    r = slo.indicator.ratio
    assert r is not None and r.good is not None and r.total is not None
    assert r.good.spec == {
        "query": 'sum(increase(prometheus_http_requests_total{handler="/metrics", '
        'code=~"2.."}[{{.window}}]))'
    }
    assert r.total.spec == {
        "query": 'sum(increase(prometheus_http_requests_total{handler="/metrics"}[{{.window}}]))'
    }


def test_distribution_cut_is_the_le_bucket_over_the_count() -> None:
    r = load_workspace([CUT]).slos["prom-metrics-latency"].indicator.ratio
    assert r is not None and r.good is not None and r.total is not None
    assert r.good.spec["query"] == (
        'sum(increase(http_request_duration_seconds_bucket{handler="/metrics", code=~"2..", '
        'le="0.25"}[{{.window}}]))'
    )
    assert r.total.spec["query"] == (
        'sum(increase(http_request_duration_seconds_count{handler="/metrics", code=~"2.."}'
        "[{{.window}}]))"
    )


def test_query_sli_is_a_raw_success_ratio() -> None:
    r = load_workspace([QUERY_SLI]).slos["prom-metrics-availability"].indicator.ratio
    assert r is not None and r.raw is not None and r.raw_type == "success"
    assert "[{{.window}}])) / sum(rate(" in r.raw.spec["query"]


def test_error_budget_policy_gives_window_and_alert_steps() -> None:
    ws = load_workspace([CONFIG, RATIO])
    slo = ws.slos["prom-metrics-availability"]
    assert slo.window.duration == timedelta(days=28)  # type: ignore[union-attr]
    assert slo.alert_policies == ("slo-generator-default-1-hour", "slo-generator-default-12-hours")
    cond = ws.alert_conditions["slo-generator-default-12-hours"]
    assert (cond.threshold, cond.lookback_window, cond.op, cond.severity) == (
        3.0,
        timedelta(hours=12),
        "gt",
        "page",
    )
    # the 7 days and 28 days steps have alert: false
    assert "slo-generator-default-7-days" not in ws.alert_conditions


def test_without_config_the_window_is_28d_and_there_are_no_alerts() -> None:
    slo = load_workspace([RATIO]).slos["prom-metrics-availability"]
    assert slo.window.duration == timedelta(days=28)  # type: ignore[union-attr]
    assert slo.alert_policies == ()


def test_unknown_policy_is_a_located_problem(tmp_path: Path) -> None:
    p = tmp_path / "slo.yaml"
    p.write_text(
        RATIO.read_text().replace("  goal: 0.999", "  goal: 0.999\n  error_budget_policy: fast")
    )
    with pytest.raises(SpecError) as e:
        load_workspace([CONFIG, p])
    assert (
        f"{p}:20: ServiceLevelObjective/prom-metrics-availability: spec.error_budget_policy: "
        "error budget policy 'fast' is not in the slo-generator config"
    ) in str(e.value)


def test_rules_alert_on_the_policy_steps() -> None:
    text = build_rules(RulesRequest([CONFIG, RATIO, CUT])).text
    assert text.count("- alert: PromPromMetricsAvailabilityErrorBudgetBurn") == 2
    assert "slo:sli_error:ratio_rate1h{" in text and "> (9 * 0.0009999999999999432)" in text
    assert "slo:sli_error:ratio_rate12h{" in text and "> (3 * 0.0009999999999999432)" in text


def test_other_backends_validate_convert_and_refuse_to_evaluate(tmp_path: Path) -> None:
    ws = load_workspace([CONFIG, DATADOG])
    r = ws.slos["dd-app-availability"].indicator.ratio
    assert r is not None and r.good is not None
    assert r.good.source_type == "datadog"
    out = tmp_path / "openslo.yaml"
    out.write_text(to_openslo_v1([CONFIG, DATADOG]), encoding="utf-8")
    again = load_workspace([out]).slos["dd-app-availability"]
    assert again.indicator.ratio is not None
    assert again.indicator.ratio.good == r.good.__class__(
        None, "datadog", r.good.spec, base_dir=again.indicator.ratio.good.base_dir
    )
    run = subprocess.run(
        [sys.executable, "-m", "slm", "evaluate", str(DATADOG), "--at", "2026-10-01T00:00:00Z"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 3
    assert "Traceback" not in run.stderr
    assert "metric source type 'datadog' is not supported" in run.stderr


def test_converted_config_and_slo_give_the_same_rules(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for p in (CONFIG, RATIO):
        (src / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "openslo.yaml"
    out.write_text(to_openslo_v1([src]), encoding="utf-8")
    # the same rules; only sloth_slo_info's sloth_spec names the converted apiVersion
    converted = build_rules(RulesRequest([out])).text
    original = build_rules(RulesRequest([src])).text
    assert converted.count("sloth_spec: openslo/v1") == 1
    assert converted == original.replace("sloth_spec: sre.google.com/v2", "sloth_spec: openslo/v1")


def test_config_in_a_directory_is_read_with_the_slos(tmp_path: Path) -> None:
    """A folder with config.yaml and an SLO: the config is a spec file, not skipped as
    "not a spec" (it has no apiVersion), so the policy gives the window and alerts."""
    for p in (CONFIG, RATIO):
        (tmp_path / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    ws = load_workspace([tmp_path])
    assert ws.skipped == []
    slo = ws.slos["prom-metrics-availability"]
    assert slo.alert_policies == ("slo-generator-default-1-hour", "slo-generator-default-12-hours")
