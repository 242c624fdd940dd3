"""Grouped SLOs in rules: one objective per value of the grouping labels (Pyrra's
``grouping``, slm's ``slm.dev/grouping`` annotation on OpenSLO). Every recording keeps the
group's labels and the alerts fire per group: promtool drives two regions, one burning."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_rules_promtool import promtool_test

from slm.domain.errors import SpecError
from slm.rules.pipeline import RulesRequest, build_rules

HERE = Path(__file__).parent
SHOP = (HERE / "specs" / "promtool-shop.yaml").read_text(encoding="utf-8")
GROUPED = SHOP.replace(
    "metadata:\n  name: requests\n",
    "metadata:\n  name: requests\n  annotations:\n    slm.dev/grouping: region\n",
)
PYRRA = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: requests, namespace: shop}
spec:
  target: '99.9'
  window: 30d
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{job="shop",code=~"5.."}'}
      total: {metric: 'http_requests_total{job="shop"}'}
      grouping: [region]
"""

# shop-burn.yaml's traffic in region eu (10% errors from minute 400 to 460), none failing
# in region us: the page fires at 409m and the ticket at 405m for eu only.
TEST = """\
rule_files: [rules.yaml]
evaluation_interval: 1m
group_eval_order:
  - sloth-slo-sli-recordings-shop-requests-0
  - sloth-slo-meta-recordings-shop-requests-0
  - sloth-slo-alerts-shop-requests-0
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{{job="shop", code="200", region="eu"}}'
        values: '100000+1000x400 500900+900x59 555000+1000x379'
      - series: 'http_requests_total{{job="shop", code="500", region="eu"}}'
        values: '100000x400 100100+100x59 106000x379'
      - series: 'http_requests_total{{job="shop", code="200", region="us"}}'
        values: '100000+1000x840'
      - series: 'http_requests_total{{job="shop", code="500", region="us"}}'
        values: '100000x840'
    promql_expr_test:
      - expr: slo:sli_error:ratio_rate5m
        eval_time: 430m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{{region="eu", {ids}, sloth_window="5m"}}'
            value: {sli}
          - labels: 'slo:sli_error:ratio_rate5m{{region="us", {ids}, sloth_window="5m"}}'
            value: 0
      - expr: slo:current_burn_rate:ratio
        eval_time: 430m
        exp_samples:
          - labels: 'slo:current_burn_rate:ratio{{region="eu", {ids}, sloth_window="5m"}}'
            value: {burn}
          - labels: 'slo:current_burn_rate:ratio{{region="us", {ids}, sloth_window="5m"}}'
            value: 0
    alert_rule_test:
      - eval_time: 404m
        alertname: {alert}
        exp_alerts: []
      - eval_time: 405m
        alertname: {alert}
        exp_alerts:
          - exp_labels: {{region: eu, sloth_severity: ticket, {labels}}}
            exp_annotations: {ticket}
      - eval_time: 409m
        alertname: {alert}
        exp_alerts:
          - exp_labels: {{region: eu, sloth_severity: page, {labels}}}
            exp_annotations: {page}
          - exp_labels: {{region: eu, sloth_severity: ticket, {labels}}}
            exp_annotations: {ticket}
"""


GOOD_TOTAL = ("0.09999999999999998", "100.00000000001098")


def _annotations(severity: str) -> str:
    return (
        f"{{title: '({severity}) shop requests-0 SLO error budget burn rate is too fast.', "
        "summary: 'shop requests-0 SLO error budget burn rate is over expected.'}"
    )


def _test(alert: str, sli: str, burn: str) -> str:
    """``sli``, ``burn``: eu's 5m error ratio and burn rate at 430m (0.1 and 100 but for
    the last bits, which differ between ``1 - good/total`` and ``errors/total``)."""
    ids = 'sloth_id="shop-requests-0", sloth_service="shop", sloth_slo="requests-0"'
    labels = "sloth_id: shop-requests-0, sloth_service: shop, sloth_slo: requests-0"
    return TEST.format(
        ids=ids,
        labels=labels,
        alert=alert,
        sli=sli,
        burn=burn,
        page=_annotations("page"),
        ticket=_annotations("ticket"),
    )


def test_grouped_recordings_sum_by_the_group_labels(tmp_path: Path) -> None:
    (tmp_path / "slo.yaml").write_text(GROUPED, encoding="utf-8")
    text = build_rules(RulesRequest([tmp_path], default_alerts=True)).text
    assert text.count("sum by (region) (rate(") == 2 * 7  # good and total, 7 raw windows
    assert "sum(rate(" not in text


def test_alerts_fire_per_group(tmp_path: Path, promtool: str) -> None:
    (tmp_path / "slo.yaml").write_text(GROUPED, encoding="utf-8")
    rules = build_rules(RulesRequest([tmp_path / "slo.yaml"], default_alerts=True)).text
    out = promtool_test(
        promtool, rules, _test("ShopRequestsErrorBudgetBurn", *GOOD_TOTAL), tmp_path
    )
    assert "SUCCESS" in out
    # and it can fail: without the grouping the alert has no region label
    (tmp_path / "slo.yaml").write_text(SHOP, encoding="utf-8")
    plain = build_rules(RulesRequest([tmp_path / "slo.yaml"], default_alerts=True)).text
    assert "FAILED" in promtool_test(
        promtool, plain, _test("ShopRequestsErrorBudgetBurn", *GOOD_TOTAL), tmp_path
    )


def test_pyrra_grouped_alerts_fire_per_group(tmp_path: Path, promtool: str) -> None:
    (tmp_path / "slo.yaml").write_text(PYRRA, encoding="utf-8")
    rules = build_rules(RulesRequest([tmp_path / "slo.yaml"])).text
    test = _test("ErrorBudgetBurn", "0.09999999999999999", "100.000000000011").replace(
        "severity: page,", "severity: page, severity: critical,"
    )
    test = test.replace("severity: ticket,", "severity: ticket, severity: warning,")
    out = promtool_test(promtool, rules, test, tmp_path)
    assert "SUCCESS" in out, out


@pytest.mark.parametrize("value", ["", "region, 9x", "a-b"])
def test_bad_grouping_annotation_is_located(tmp_path: Path, value: str) -> None:
    (tmp_path / "slo.yaml").write_text(
        GROUPED.replace("slm.dev/grouping: region", f"slm.dev/grouping: '{value}'")
    )
    with pytest.raises(SpecError) as e:
        build_rules(RulesRequest([tmp_path]))
    assert (
        f"{tmp_path / 'slo.yaml'}:15: SLO/requests: metadata.annotations.slm.dev/grouping:"
        in str(e.value)
    )
