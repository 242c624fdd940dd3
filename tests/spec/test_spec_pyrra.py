"""Pyrra ``pyrra.dev/v1alpha1`` ServiceLevelObjectives: Pyrra's own examples validate,
map to slm SLOs, convert to OpenSLO and give Prometheus rules (promtool-checked in
tests/rules/test_rules_pyrra.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from slm.domain.errors import SpecError
from slm.spec.convert import to_openslo_v1
from slm.spec.loader import load_workspace

CORPUS = Path(__file__).parent / "pyrra_corpus"
EXAMPLES = sorted(CORPUS.glob("*.yaml"))
NATIVE = "pyrra-connect-latency.yaml"  # latencyNative: native histograms


def test_corpus_covers_every_indicator() -> None:
    texts = [p.read_text(encoding="utf-8") for p in EXAMPLES]
    for indicator in ("ratio:", "latency:", "latencyNative:", "bool_gauge:", "grouping:"):
        assert any(indicator in t for t in texts), indicator
    assert len(EXAMPLES) >= 25


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name != NATIVE], ids=lambda p: p.name)
def test_pyrra_example_loads(path: Path) -> None:
    ws = load_workspace([path])
    assert ws.slos
    for slo in ws.slos.values():
        assert slo.extras["pyrra"] is True
        assert 0 < slo.objectives[0].target < 1
        r = slo.indicator.ratio
        assert r is not None
        queries = [q.spec["query"] for q in (r.good, r.bad, r.total, r.raw) if q is not None]
        assert queries and all("{{.window}}" in q for q in queries)


def test_native_histograms_are_refused_with_the_field_named() -> None:
    with pytest.raises(SpecError) as e:
        load_workspace([CORPUS / NATIVE])
    assert str(e.value).startswith(
        f"{CORPUS / NATIVE}:14: ServiceLevelObjective/pyrra-connect-latency: "
        "spec.indicator.latencyNative: Pyrra latencyNative (native histogram) indicators "
        "are not supported"
    )


def test_ratio_with_grouping() -> None:
    ws = load_workspace([CORPUS / "prometheus-http.yaml"])
    slo = ws.slos["prometheus-api-query"]
    assert slo.service == "prometheus-api-query"  # no namespace: the SLO's own name
    assert slo.window.duration == timedelta(days=7)  # type: ignore[union-attr]
    assert slo.objectives[0].target == 0.99
    assert slo.extras["grouping"] == ("handler",)
    assert slo.labels == {}  # prometheus: k8s and role: alert-rules select the resource
    r = slo.indicator.ratio
    assert r is not None and r.bad is not None and r.total is not None and r.good is None
    assert r.bad.spec == {
        "query": 'sum by (handler)(rate(prometheus_http_requests_total{handler=~"/api.*",'
        'code=~"5.."}[{{.window}}]))',
        "perSecond": True,
    }
    assert r.total.spec["query"] == (
        'sum by (handler)(rate(prometheus_http_requests_total{handler=~"/api.*"}[{{.window}}]))'
    )


def test_latency_is_good_over_total_and_namespace_is_the_service() -> None:
    ws = load_workspace([CORPUS / "pyrra-connect-errors.yaml"])
    assert ws.slos["pyrra-connect-errors"].service == "monitoring"
    assert ws.slos["pyrra-connect-errors"].extras["grouping"] == ("service", "method")
    ws = load_workspace([CORPUS / "caddy-response-latency.yaml"])
    slo = ws.slos["caddy-response-latency"]
    r = slo.indicator.ratio
    assert r is not None and r.good is not None and r.bad is None
    assert r.good.spec["query"].startswith(
        'sum(rate(caddy_http_response_duration_seconds_bucket{job="caddy",handler="subroute",'
    )
    assert slo.window.duration == timedelta(weeks=4)  # type: ignore[union-attr]
    assert slo.objectives[0].target == 0.9
    assert "grouping" not in slo.extras


def test_bool_gauge_is_the_share_of_samples_at_one() -> None:
    ws = load_workspace([CORPUS / "prometheus-probe-success.yaml"])
    r = ws.slos["prometheus-blackbox-probe-success"].indicator.ratio
    assert r is not None and r.raw is not None and r.raw_type == "success"
    assert r.raw.spec == {
        "query": "sum by (target)(sum_over_time(probe_success[{{.window}}]))\n/\n"
        "sum by (target)(count_over_time(probe_success[{{.window}}]))"
    }


def test_pyrra_dev_labels_become_slo_labels() -> None:
    ws = load_workspace([CORPUS / "parca-grpc-queryrange-errors.yaml"])
    assert ws.slos["parca-grpc-queryrange-errors"].labels == {"team": "parca"}


SLO = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {{name: api}}
spec:
  target: {target}
  window: {window}
  indicator:
    ratio:
      errors: {{metric: 'http_requests_total{{code="500"}}'}}
      total: {{metric: http_requests_total}}
      grouping: [{grouping}]
"""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"target": "'100'"}, "spec.target: must be a percentage between 0 and 100"),
        ({"target": "'abc'"}, "spec.target: 'abc' is not a number"),
        ({"window": "soon"}, "spec.window:"),
        ({"grouping": "'bad-label'"}, "spec.indicator.grouping[0]: not a valid Prometheus label"),
    ],
)
def test_bad_pyrra_fields_are_located(tmp_path: Path, fields: dict[str, str], message: str) -> None:
    values = {"target": "'99.5'", "window": "28d", "grouping": ""} | fields
    p = tmp_path / "slo.yaml"
    p.write_text(SLO.format(**values), encoding="utf-8")
    with pytest.raises(SpecError) as e:
        load_workspace([p])
    assert f"{p}:" in str(e.value)
    assert message in str(e.value)


def test_numeric_target_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "slo.yaml"
    p.write_text(SLO.format(target="99.5", window="28d", grouping=""), encoding="utf-8")
    assert load_workspace([p]).slos["api"].objectives[0].target == 0.995


def test_convert_keeps_queries_grouping_and_alerting(tmp_path: Path) -> None:
    src = tmp_path / "pyrra.yaml"  # same folder: the queries' base directories compare equal
    src.write_text((CORPUS / "pyrra-connect-errors.yaml").read_text(encoding="utf-8"))
    out = tmp_path / "openslo.yaml"
    out.write_text(to_openslo_v1([src]), encoding="utf-8")
    original, again = load_workspace([src]), load_workspace([out])
    a, b = original.slos["pyrra-connect-errors"], again.slos["pyrra-connect-errors"]
    assert b.indicator.ratio == a.indicator.ratio
    assert (b.window, b.objectives[0].target, b.service) == (
        a.window,
        a.objectives[0].target,
        a.service,
    )
    assert b.extras["grouping"] == a.extras["grouping"] == ("service", "method")
    assert b.extras["sloth_alerting"] == a.extras["sloth_alerting"]
