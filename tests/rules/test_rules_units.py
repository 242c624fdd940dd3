"""The pieces of rule generation: conventions, numbers, YAML styles, SLI shapes, selection."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from slm.domain.errors import SpecError
from slm.rules import conventions as cv
from slm.rules.generate import GenerateOptions, cheap_windows, generate, windows
from slm.rules.model import AlertingRule, RecordingRule, ResourceMeta, RuleGroup, RuleSet
from slm.rules.pipeline import RulesRequest, build_rules
from slm.rules.render import render_prometheus
from slm.rules.sli import Query, SLIExpression, is_selector
from slm.rules.target import TargetOptions, select
from slm.spec.loader import load_workspace

D, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
SPECS = Path(__file__).parent / "specs"


@pytest.mark.parametrize(
    ("d", "text"),
    [
        (5 * M, "5m"),
        (30 * M, "30m"),
        (H, "1h"),
        (90 * M, "1h30m"),
        (D, "1d"),
        (3 * D, "3d"),
        (7 * D, "1w"),
        (28 * D, "4w"),
        (30 * D, "30d"),
        (90 * D, "90d"),
        (365 * D, "1y"),
        (timedelta(seconds=90), "1m30s"),
    ],
    ids=lambda v: str(v),
)
def test_durations_are_written_as_prometheus_writes_them(d: timedelta, text: str) -> None:
    assert cv.prom_duration(d) == text


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (99.9 / 100, "0.9990000000000001"),
        ((100 - 99.9) / 100, "0.0009999999999999432"),
        (14.4, "14.4"),
        (6.0, "6"),
        (30.0, "30"),
        (0.95, "0.95"),
        (0.00001, "1e-05"),
        (1234567.0, "1.234567e+06"),
        (100000.0, "100000"),
    ],
)
def test_floats_are_written_as_gos_percent_g(x: float, text: str) -> None:
    assert cv.go_float(x) == text


def test_objective_label_is_gos_fixed_format() -> None:
    assert [cv.go_float_fixed(v) for v in (99.9, 95.0, 99.95, 100.0)] == [
        "99.9",
        "95",
        "99.95",
        "100",
    ]


def test_label_filter_sorts_and_escapes() -> None:
    assert cv.label_filter({"b": 'x"y', "a": "1"}) == '{a="1", b="x\\"y"}'


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("99.9", 'v: "99.9"'),
        ("1", 'v: "1"'),
        ("yes", 'v: "yes"'),
        ("", 'v: ""'),
        ("5m", "v: 5m"),
        ("{{$labels.x}} y", "v: '{{$labels.x}} y'"),
        ("plain words", "v: plain words"),
    ],
)
def test_strings_that_read_as_other_types_are_double_quoted(value: str, line: str) -> None:
    text = render_prometheus(
        [RuleSet(ResourceMeta("x"), (RuleGroup("g", (RecordingRule("r", "1", {"v": value}),)),))]
    )
    assert line in text.splitlines()[-1]
    assert YAML(typ="safe").load(text.split("\n", 3)[3])["groups"][0]["rules"][0]["labels"] == {
        "v": value
    }


@pytest.mark.parametrize(
    ("query", "selector"),
    [
        ("http_requests_total", True),
        ('http_requests_total{code!~"5..",job="a"}', True),
        ('{__name__="x", a="}"}', True),
        ("sum(http_requests_total)", False),
        ("a + b", False),
        ("rate(x[5m])", False),
    ],
)
def test_selector_detection(query: str, selector: bool) -> None:
    assert is_selector(query) is selector


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (Query('x_total{a="b"}', counter=True), 'sum(rate(x_total{a="b"}[1h]))'),
        (Query("x_count", counter=False), "sum(sum_over_time(x_count[1h]))"),
        (Query("sum(x_count)", counter=False), "sum(sum_over_time((sum(x_count))[1h:]))"),
        (Query("sum(rate(x[{{ .window }}]))", counter=True), "sum(rate(x[1h]))"),
        (Query("ratio_gauge", raw_ratio=True), "avg_over_time(ratio_gauge[1h])"),
    ],
)
def test_queries_over_a_window(query: Query, expected: str) -> None:
    assert query.problem() is None
    assert query.over(H) == expected


def test_a_counter_that_is_not_a_selector_is_refused_with_a_hint() -> None:
    problem = Query("sum(x_total)", counter=True).problem()
    assert problem is not None and "{{.window}}" in problem


def test_good_total_shape_guards_the_denominator() -> None:
    expr = SLIExpression("good", Query("g", counter=True), Query("t", counter=True)).at(5 * M)
    assert expr == ("1 - (\n  (sum(rate(g[5m])))\n  /\n  ((sum(rate(t[5m]))) > 0)\n)\n")


def _shop(**kw: object) -> list[object]:
    ws = load_workspace([SPECS / "promtool-shop.yaml"])
    return list(select(ws, TargetOptions(**kw)).slos)  # type: ignore[arg-type]


def test_windows_are_the_catalogues_then_the_period() -> None:
    (slo,) = _shop()
    assert windows(slo) == [5 * M, 30 * M, H, 2 * H, 6 * H, D, 3 * D, 30 * D]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("optimize", "cheap"),
    [("none", set()), ("period", {30 * D}), ("long", {H, D, 3 * D, 30 * D})],
)
def test_which_windows_the_cheap_form_covers(optimize: str, cheap: set[timedelta]) -> None:
    (slo,) = _shop()
    assert cheap_windows(slo, optimize) == cheap  # type: ignore[arg-type]


def test_factors_follow_the_period_of_each_slo() -> None:
    sets = generate(_shop(default_alerts=True), GenerateOptions())  # type: ignore[arg-type]
    alerts = [r for g in sets[0].groups for r in g.rules if not isinstance(r, RecordingRule)]
    assert "(14.4 * 0.0009999999999999432)" in alerts[0].expr
    assert "(1 * 0.0009999999999999432)" in alerts[1].expr


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(text, encoding="utf-8")
    return p


SLOTH_SPEC = """\
version: prometheus/v1
service: svc
labels:
  {label}: x
slos:
  - name: s
    objective: 99
    sli:
      events:
        error_query: {query}
        total_query: sum(rate(t[{{{{.window}}}}]))
    alerting:
      name: A
"""


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("bad-name", "not a valid Prometheus label name"),
        ("sloth_id", "sloth_id is set by the generated rules"),
    ],
)
def test_bad_labels_are_reported_with_file_and_line(
    tmp_path: Path, label: str, message: str
) -> None:
    path = _write(tmp_path, SLOTH_SPEC.format(label=label, query="sum(rate(e[{{.window}}]))"))
    with pytest.raises(SpecError) as e:
        build_rules(RulesRequest([path]))
    (p,) = e.value.problems
    assert p.path == str(path) and p.line == 6 and p.name == "svc-s"
    assert message in p.message


def test_openslo_counter_expression_is_refused(tmp_path: Path) -> None:
    text = (SPECS / "promtool-shop.yaml").read_text(encoding="utf-8")
    text = text.replace('query: http_requests_total{job="shop"}', "query: sum(x_total)")
    with pytest.raises(SpecError, match="plain series selector"):
        build_rules(RulesRequest([_write(tmp_path, text)]))


def test_nothing_left_is_an_error_listing_each_skipped_slo(tmp_path: Path) -> None:
    text = (SPECS / "promtool-shop.yaml").read_text(encoding="utf-8")
    path = _write(tmp_path, text.replace("type: Prometheus", "type: Datadog"))
    with pytest.raises(SpecError) as e:
        build_rules(RulesRequest([path]))
    problems = {(p.name, p.message) for p in e.value.problems}
    assert problems == {
        ("requests", "its metric source is Datadog, not Prometheus"),
        ("", "no SLO with Prometheus metric sources is left (1 skipped)"),
    }


def test_skipped_slos_are_reported_next_to_generated_ones(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        (SPECS / "promtool-shop.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text(
        (SPECS / "promtool-shop.yaml")
        .read_text(encoding="utf-8")
        .replace("type: Prometheus", "type: Datadog")
        .replace("name: requests", "name: other")
        .replace("metadata:\n  name: shop\n", "metadata:\n  name: shop2\n")
        .replace("service: shop", "service: shop2"),
        encoding="utf-8",
    )
    result = build_rules(RulesRequest([tmp_path], default_alerts=True))
    assert [s.name for s in result.skipped] == ["other"]
    assert "Datadog, not Prometheus" in str(result.skipped[0])
    assert "sloth-slo-alerts-shop-requests-0" in result.text


def _policy_shop(tmp_path: Path, op: str, alert_after: str, no_data: bool) -> list[object]:
    spec = (SPECS / "openslo-policies.yaml").read_text()
    spec = spec.replace("    op: gt\n", f"    op: {op}\n").replace(
        "    alertAfter: 5m\n", f"    alertAfter: {alert_after}\n"
    )
    spec = spec.replace("alertWhenNoData: false", f"alertWhenNoData: {str(no_data).lower()}")
    (tmp_path / "policies.yaml").write_text(spec)
    ws = load_workspace([tmp_path / "policies.yaml"])
    return [s for s in select(ws, TargetOptions()).slos if s.name == "requests-0"]


@pytest.mark.parametrize(
    ("op", "alert_after", "no_data", "compare", "for_"),
    [
        ("gt", "5m", False, ">", "5m"),
        ("gte", "0m", False, ">=", None),
        ("lt", "1h30m", False, "<", "1h30m"),
        ("lte", "30s", True, "<=", "30s"),
    ],
)
def test_a_policy_condition_becomes_one_alert(
    tmp_path: Path, op: str, alert_after: str, no_data: bool, compare: str, for_: str | None
) -> None:
    (slo,) = _policy_shop(tmp_path, op, alert_after, no_data)
    assert windows(slo) == [5 * M, 30 * M, H, 90 * M, 2 * H, 6 * H, D, 3 * D, 30 * D]  # type: ignore[arg-type]
    (sets,) = generate([slo], GenerateOptions())  # type: ignore[list-item]
    fast, slow = sets.groups[-1].rules
    assert isinstance(fast, AlertingRule) and isinstance(slow, AlertingRule)
    ids = '{sloth_id="shop-requests-0", sloth_service="shop", sloth_slo="requests-0"}'
    head = f"max(slo:sli_error:ratio_rate1h{ids} {compare} (14.4 * 0.0009999999999999432))"
    tail = f"or\nabsent(slo:sli_error:ratio_rate1h{ids})\n" if no_data else ""
    assert fast.expr == f"{head} without (sloth_window)\n{tail}"
    assert fast.for_ == for_
    assert dict(fast.labels) == {
        "sloth_severity": "page",
        "slm_alert_policy": "fast",
        "slm_alert_condition": "fast-burn",
    }
    assert "AlertPolicy fast, AlertCondition fast-burn" in fast.annotations["title"]
    assert slow.for_ is None and slow.labels["slm_alert_policy"] == "slow"


@pytest.mark.parametrize(
    ("query", "selector"),
    [
        # the regular expression got these wrong
        ("Inf", False),  # a number, not a metric
        ('x{a="1" or b="2"}', False),  # a union of selectors
        ('http_requests_total{code="500"} # server errors', True),  # a comment
        ("x @ 1700000000", False),  # a fixed instant
    ],
)
def test_selector_detection_follows_the_parser(query: str, selector: bool) -> None:
    assert is_selector(query) is selector


def test_a_commented_query_is_windowed_without_its_comment_swallowing_the_rest() -> None:
    counter = Query('http_requests_total{code="500"} # server errors', counter=True)
    assert counter.problem() is None  # a plain selector: no {{.window}} needed
    assert counter.over(timedelta(hours=1)) == 'sum(rate(http_requests_total{code="500"}[1h]))'
    gauge = Query("sum(queue_depth) # all queues", counter=False)
    text = gauge.over(timedelta(hours=1))
    assert text == "sum(sum_over_time((sum(queue_depth) # all queues\n)[1h:]))"
    from slm.sources.promql import query_problem

    assert query_problem(text) is None
    assert query_problem(counter.over(timedelta(hours=1))) is None
