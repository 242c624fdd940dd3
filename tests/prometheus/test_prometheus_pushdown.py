"""Window sums pushed down to a real Prometheus, against the bucket path and reference counts.

The test Prometheus holds two instances' counters (instance ``b`` restarts at START+5h37m30s,
+29h37m30s and +50h37m30s) and a gauge, all sampled exactly on minute boundaries. Windows
end at END; the data starts at START = END - 3d1h.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prom_helpers import END, FakeServer, Handler, History, reply
from typer.testing import CliRunner

from slm.cli import app
from slm.domain.model import MetricQuery
from slm.sources.prometheus import PrometheusSource, client_for
from slm.sources.prometheus_config import config_for
from slm.sources.prometheus_pushdown import (
    MergedSelector,
    _Counter,
    covers,
    is_selector,
    merge_selectors,
    selector_matchers,
)

STEP = timedelta(minutes=1)
H, D = timedelta(hours=1), timedelta(days=1)
WINDOWS = [H, 6 * H, D, 3 * D, 4 * D]
PUSHED, STARTS, RESTART = (
    "pushdown",
    "a series starts or stops in the window",
    ("a counter restarted in the window"),
)


@pytest.mark.parametrize(
    ("expr", "plain"),
    [
        ("http_requests_total", True),
        ('http_requests_total{code!~"5..", path="/a{b}"}', True),
        ('{__name__="x", job=~"a|b"}', True),
        ("  up  ", True),
        ("sum(http_requests_total)", False),
        ("http_requests_total offset 5m", False),
        ("http_requests_total[5m]", False),
        ('a{x="1"} + b', False),
        ("rate(x[5m])", False),
        # the regex took these for selectors (a number, a matcher-less "or" selector) or
        # refused them (a comment)
        ("Inf", False),
        ('x{a="1" or b="2"}', False),
        ("http_requests_total # every request", True),
        ("http_requests_total @ 1700000000", False),
        ('x{a="1"', False),
    ],
    ids=lambda v: str(v),
)
def test_plain_selectors_are_recognised(expr: str, plain: bool) -> None:
    assert is_selector(expr) is plain


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        pytest.param(
            ['x{slo="a",code="ok"}', 'x{slo="a"}', "x"], {0: 2, 1: 2, 2: 2}, id="bare-name-covers"
        ),
        pytest.param(['x{slo="a",code="ok"}', "x{slo='a'}"], {0: 1, 1: 1}, id="quote-styles"),
        pytest.param(['x{code="ok"}', 'y{code="ok"}'], {0: 0, 1: 1}, id="other-names"),
        pytest.param(['x{code=~"5.."}', 'x{code="500"}'], {0: 0, 1: 1}, id="regex-not-equal"),
        pytest.param(['{job="a", __name__="x"}', 'x{job="a"}'], {0: 0, 1: 0}, id="name-matcher"),
        pytest.param(['x{a="1"}', "sum(x)"], {0: 0}, id="expressions-stand-alone"),
    ],
)
def test_a_selector_is_covered_by_the_widest_selector_containing_it(
    texts: list[str], expected: dict[int, int]
) -> None:
    assert covers(dict(enumerate(texts))) == expected


def _covers_by_scanning(texts: dict[int, str]) -> dict[int, int]:
    """The rule of ``covers`` as a scan of every pair (how it was computed before)."""
    parsed = {i: selector_matchers(t) for i, t in texts.items()}
    out: dict[int, int] = {}
    for i, mi in parsed.items():
        if mi is None:
            continue
        name = next((v for label, op, v in mi if label == "__name__" and op == "="), "")
        candidates = []
        for j, mj in parsed.items():
            if mj is None or not mj <= mi:
                continue
            other = next((v for label, op, v in mj if label == "__name__" and op == "="), "")
            if other in (name, ""):
                candidates.append((len(mj), j))
        out[i] = min(candidates)[1]
    return out


def test_covers_equals_the_pairwise_rule_on_random_selectors() -> None:
    rng = np.random.default_rng(11)
    names = ["x", "y", None]
    labels = [("slo", ["a", "b"]), ("code", ["ok", "err"]), ("job", ["j"]), ("le", ["1"])]
    for _ in range(200):
        texts: dict[int, str] = {}
        for i in range(int(rng.integers(1, 12))):
            name = names[int(rng.integers(0, len(names)))]
            chosen = [
                f'{label}{"=" if rng.random() < 0.8 else "!="}"{rng.choice(values)}"'
                for label, values in labels
                if rng.random() < 0.5
            ]
            if name is None and not chosen:
                chosen = ['slo="a"']
            texts[i] = f"{name or ''}{{{', '.join(chosen)}}}"
        assert covers(texts) == _covers_by_scanning(texts), texts


def test_selector_matchers_parse_names_and_escapes() -> None:
    assert selector_matchers('x{a="1", b=~"2|3",}') == {
        ("__name__", "=", "x"),
        ("a", "=", "1"),
        ("b", "=~", "2|3"),
    }
    assert selector_matchers('{path="/a{b}", q!="\\"x"}') == {
        ("path", "=", "/a{b}"),
        ("q", "!=", '"x'),
    }
    assert selector_matchers("x{a='1', b=`c|d`}") == {
        ("__name__", "=", "x"),
        ("a", "=", "1"),
        ("b", "=", "c|d"),
    }
    assert selector_matchers("rate(x[5m])") is None


def test_selectors_that_differ_in_one_label_value_are_merged() -> None:
    texts = {
        0: 'x{job="a", slo="s1"}',
        1: 'x{job="a", slo="s2"}',
        2: 'x{job="a", slo="api.v2"}',
        3: 'x{job="b", slo="s1"}',  # another job: not with 0-2
        4: 'x{job="a", slo="s(1)"}',  # a regex metacharacter: stays alone
        5: 'y{job="a", slo="s1"}',  # another metric
        6: 'x{job="a", slo=~"s.*"}',  # no plain value to vary
        7: 'sum(x{job="a", slo="s3"})',  # not a selector
    }
    merged = MergedSelector(
        'x{job="a", slo=~"api\\\\.v2|s1|s2"}', "slo", {0: "s1", 1: "s2", 2: "api.v2"}
    )
    assert merge_selectors(texts, parallel=4) == [merged]  # three: no part of one
    halves = merge_selectors({i: f'x{{slo="s{i}"}}' for i in range(10)}, parallel=2)
    assert [sorted(g.members) for g in halves] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def source(history: History) -> PrometheusSource:
    return PrometheusSource(client_for(config_for(None, {"url": history.url})))


def query(text: str, *, counter: bool) -> MetricQuery:
    return MetricQuery(None, "Prometheus", {"query": text}, counter=counter)


def bucket_sum(src: PrometheusSource, q: MetricQuery, w: timedelta) -> tuple[float, float]:
    b = src.read(q, END - w, END, STEP)
    return float(b.values[b.present].sum()), float(b.present.mean())


@pytest.mark.parametrize(
    ("expr", "paths"),
    [
        pytest.param(
            'http_requests_total{instance="a"}',
            [PUSHED, PUSHED, PUSHED, PUSHED, STARTS],
            id="selector-no-restarts",
        ),
        pytest.param(
            "http_requests_total",
            [PUSHED, PUSHED, RESTART, RESTART, RESTART],
            id="selector-four-series-one-restarts",
        ),
        pytest.param(
            "sum(http_requests_total)",
            [PUSHED, PUSHED, RESTART, RESTART, RESTART],
            id="expression-subquery-check",
        ),
    ],
)
def test_counter_windows_equal_the_bucket_path_or_fall_back(
    history: History, expr: str, paths: list[str]
) -> None:
    src = source(history)
    q = query(expr, counter=True)
    [push] = src.window_totals([q], END, WINDOWS)
    assert push.error is None
    got = [PUSHED if w in push.totals else push.fallback[w] for w in WINDOWS]
    assert got == paths
    for w, total in push.totals.items():
        buckets, _ = bucket_sum(src, q, w)
        assert total.present
        assert total.value == buckets, w  # exact: C(e') - C(s') telescopes the buckets


@pytest.mark.parametrize(
    "good_text",
    ['http_requests_total{code="200"}', 'http_requests_total{code!="500", nosuch=""}'],
    ids=["equal", "not-equal-and-absent-label"],
)
def test_pushed_counter_windows_equal_the_reference_counts(
    history: History, good_text: str
) -> None:
    """Good is picked out of total's answers by its extra matchers (PromQL semantics: an
    absent label is empty), and equals the reference counts."""
    src = source(history)
    good, total = (
        query(good_text, counter=True),
        query("http_requests_total", counter=True),
    )
    pushes = src.window_totals([good, total], END, [H, 6 * H])
    end = int(END.timestamp())
    for name, push in zip(("good", "total"), pushes, strict=True):
        for w, t in push.totals.items():
            lo = end - int(w.total_seconds())
            ref = sum(v for m, v in history.counts[name].items() if lo <= m < end)
            assert t.value == ref, (name, w)
        assert len(push.totals) == 2


def test_a_covered_selector_is_rechecked_alone_where_its_cover_fails(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Instance a never restarts; the bare selector includes b, which does (inside the
    longest window). ``a`` asks no restart check of its own in round one; the bare
    selector's check over the longest window fails, so round two checks ``a`` alone over
    every window, and ``a`` is pushed down where its own series allow it, exactly as when
    it is asked alone."""
    src = source(history)
    sent: list[str] = []
    post = src.client._post

    def recording(path: str, form: dict[str, str]) -> object:
        sent.append(form["query"])
        return post(path, form)

    monkeypatch.setattr(src.client, "_post", recording)
    a, everything = (
        query('http_requests_total{instance="a"}', counter=True),
        query("http_requests_total", counter=True),
    )
    push_a, push_all = src.window_totals([a, everything], END, WINDOWS)
    checked = {
        w
        for w in WINDOWS
        for text in sent
        if f'resets(http_requests_total{{instance="a"}}[{int((w / STEP + 5) * 60_000)}ms]' in text
    }
    assert checked == set(WINDOWS)
    # a's values are picked out of the bare selector's answers, not asked again
    assert not any('http_requests_total{instance="a"} @' in text for text in sent)
    # round one: the bare selector over 4d; round two: its four shorter windows, a alone x 5
    assert sum(text.count("resets(") for text in sent) == 1 + 4 + 5
    assert [PUSHED if w in push_a.totals else push_a.fallback[w] for w in WINDOWS] == [
        PUSHED, PUSHED, PUSHED, PUSHED, STARTS,
    ]  # fmt: skip
    assert [PUSHED if w in push_all.totals else push_all.fallback[w] for w in WINDOWS] == [
        PUSHED, PUSHED, RESTART, RESTART, RESTART,
    ]  # fmt: skip
    [alone] = source(history).window_totals([a], END, WINDOWS)
    assert alone.totals == push_a.totals
    for w, total in push_a.totals.items():
        assert total.value == bucket_sum(src, a, w)[0], w


def test_merged_selectors_give_each_member_its_own_answer(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``instance="a"`` and ``instance="b"`` go out as one ``instance=~"a|b|c\\.d"``; each
    gets exactly the answer it gets alone: b restarts and is checked alone in round two,
    a never restarts and is not, c.d has no series."""
    src = source(history)
    sent: list[str] = []
    post = src.client._post

    def recording(path: str, form: dict[str, str]) -> object:
        sent.append(form["query"])
        return post(path, form)

    monkeypatch.setattr(src.client, "_post", recording)
    texts = [
        'http_requests_total{instance="a"}',
        'http_requests_total{instance="b"}',
        'http_requests_total{instance="c.d"}',
        'http_requests_total{code="200", instance="b"}',
    ]
    qs = [query(t, counter=True) for t in texts]
    pushes = src.window_totals(qs, END, WINDOWS)
    assert any('http_requests_total{instance=~"a|b|c\\\\.d"}[' in text for text in sent)
    resets = [r for text in sent for r in text.split("resets(")[1:]]
    # the merged check; b alone for its four shorter windows; b's good (inside b) alone
    # for all five, as its cover's check failed
    assert len(resets) == 1 + 4 + 5
    assert sum(r.startswith('http_requests_total{instance="b"}') for r in resets) == 4
    assert sum(r.startswith('http_requests_total{code="200", instance="b"}') for r in resets) == 5
    assert not any('{instance="a"} @' in text for text in sent)  # values split out too
    paths = [[PUSHED if w in p.totals else p.fallback[w] for w in WINDOWS] for p in pushes]
    assert paths[0] == [PUSHED, PUSHED, PUSHED, PUSHED, STARTS]
    assert paths[1] == paths[3] == [PUSHED, PUSHED, RESTART, RESTART, RESTART]
    assert all(not t.present and t.value == 0 for t in pushes[2].totals.values())
    for q, push in zip(qs, pushes, strict=True):
        [alone] = source(history).window_totals([q], END, WINDOWS)
        assert alone.totals == push.totals and alone.fallback == push.fallback


def test_splitting_a_merged_answer_by_label_equals_restricting_it_per_value() -> None:
    """A merged selector's answer is split among its members in one pass; each part is
    exactly what filtering the answer by the member's label value gives (a series
    without the label has the empty value, as in PromQL)."""
    a, b = (("instance", "a"), ("job", "x")), (("instance", "b"), ("job", "x"))
    bare = (("job", "x"),)
    merged = _Counter(
        999,
        {999: {a: 5.0, b: 7.0, bare: 1.0}, 499: {a: 2.0, bare: 1.0}},
        {1000: {a: 0.0, b: 1.0, bare: 0.0}},
    )
    parts = merged.split("instance")
    assert set(parts) == {"a", "b", ""}
    for value, part in parts.items():
        alone = merged.restricted(frozenset({("instance", "=", value)}))
        assert (part.e_ms, part.values, part.resets) == (alone.e_ms, alone.values, alone.resets)
    assert parts["b"].values == {999: {b: 7.0}, 499: {}}


@pytest.mark.parametrize(
    ("expr", "tolerance"),
    [
        # Prometheus evaluates the subquery on the minute, the bucket path 1 ms before it;
        # the test data sits exactly on minute boundaries, the worst case for that shift.
        pytest.param('sum(increase(http_requests_total{instance="a"}[1m]))', 0.005, id="increase"),
        pytest.param("max_over_time(queue_depth[1m])", 0.05, id="gauge-max"),
    ],
)
def test_per_bucket_queries_match_the_bucket_path_within_tolerance(
    history: History, expr: str, tolerance: float
) -> None:
    src = source(history)
    q = query(expr, counter=False)
    [push] = src.window_totals([q], END, WINDOWS)
    assert set(push.totals) == set(WINDOWS)
    for w, total in push.totals.items():
        buckets, coverage = bucket_sum(src, q, w)
        assert total.value == pytest.approx(buckets, rel=tolerance), w
        assert total.coverage == pytest.approx(coverage, abs=2 / (w / STEP)), w


def test_a_rejected_query_fails_alone(history: History) -> None:
    src = source(history)
    qs = [
        query('http_requests_total{instance="a"}', counter=True),
        query("nosuch(http_requests_total)", counter=True),
        query("max_over_time(queue_depth[1m])", counter=False),
    ]
    ok, bad, gauge = src.window_totals(qs, END, [H])
    assert bad.error is not None and "HTTP 400" in bad.error and "nosuch" in bad.error
    assert ok.error is None and H in ok.totals
    assert gauge.error is None and H in gauge.totals


def test_no_data_is_not_present(history: History) -> None:
    src = source(history)
    [counter, gauge] = src.window_totals(
        [query("nothing_here_total", counter=True), query("nothing_here", counter=False)],
        END,
        [H],
    )
    assert counter.totals[H].present is False and counter.totals[H].value == 0
    assert gauge.totals[H].present is False and gauge.totals[H].coverage == 0


SPEC = """\
apiVersion: openslo/v1
kind: Service
metadata: {{name: web}}
spec: {{}}
---
apiVersion: openslo/v1
kind: DataSource
metadata: {{name: metrics}}
spec:
  type: {type}
  connectionDetails: {{{details}}}
{slos}"""

SLO = """\
---
apiVersion: openslo/v1
kind: SLO
metadata: {{name: {name}}}
spec:
  service: web
  indicator:
    metadata: {{name: {name}-sli}}
    spec:
      ratioMetric:
        counter: {counter}
        good: {{metricSource: {{metricSourceRef: metrics, spec: {good}}}}}
        total: {{metricSource: {{metricSourceRef: metrics, spec: {total}}}}}
  timeWindow: [{{duration: 30d, isRolling: true}}]
  budgetingMethod: Occurrences
  objectives: [{{displayName: ok, target: 0.99}}]
"""


def prom_spec(history: History, tmp_path: Path, bad: bool = False) -> Path:
    slos = SLO.format(
        name="web",
        counter="true",
        good="{query: 'http_requests_total{code=\"200\"}'}",
        total="{query: http_requests_total}",
    )
    if bad:
        # valid PromQL (slm's parser accepts it) that Prometheus refuses: a bad regex
        bad_regex = """{query: 'label_replace(x, "nosuch", "b", "c", "(")'}"""
        slos += SLO.format(name="broken", counter="true", good=bad_regex, total="{query: y}")
    path = tmp_path / "prom.yaml"
    path.write_text(
        SPEC.format(type="Prometheus", details=f"url: '{history.url}'", slos=slos),
        encoding="utf-8",
    )
    return path


def report(path: Path, *args: str, code: int = 0) -> dict[str, object]:
    result = CliRunner().invoke(
        app,
        ["report", str(path), "--at", END.isoformat(), "--windows", "1h,6h,1d,3d", *args],
    )
    assert result.exit_code == code, result.output
    out: dict[str, object] = json.loads(result.stdout)
    return out


def windows_of(doc: dict[str, object]) -> list[dict[str, object]]:
    objectives = doc["objectives"]
    assert isinstance(objectives, list) and len(objectives) == 1
    ws: list[dict[str, object]] = objectives[0]["windows"]
    return ws


def test_report_pushdown_equals_bucket_path_and_files(history: History, tmp_path: Path) -> None:
    prom = prom_spec(history, tmp_path)
    files = tmp_path / "files.yaml"
    files.write_text(
        SPEC.format(
            type="File",
            details=f"path: '{history.csv}'",
            slos=SLO.format(
                name="web", counter="false", good="{series: good}", total="{series: total}"
            ),
        ),
        encoding="utf-8",
    )
    pushed = windows_of(report(prom, "--format", "json"))
    buckets = windows_of(report(prom, "--format", "json", "--no-pushdown"))
    from_files = windows_of(report(files, "--format", "json"))
    assert [w["path"] for w in pushed] == ["pushdown", "pushdown", "buckets", "buckets"]
    assert pushed[2]["reason"] == RESTART
    assert {w["path"] for w in buckets} == {"buckets"}
    assert {w["reason"] for w in buckets} == {"pushdown turned off"}
    assert {w["reason"] for w in from_files} == {"the source cannot sum windows"}
    keys = ("window", "good", "total", "sli", "error_budget", "burn_rate")
    for p, b, f in zip(pushed, buckets, from_files, strict=True):
        assert [p[k] for k in keys] == [b[k] for k in keys] == [f[k] for k in keys]
    w1h = pushed[0]
    assert isinstance(w1h["total"], float) and w1h["total"] > 0
    bad = w1h["total"] - w1h["good"]  # type: ignore[operator]
    assert w1h["burn_rate"] == pytest.approx(bad / w1h["total"] / 0.01)
    assert w1h["error_budget"]["consumed"] == bad  # type: ignore[index]


def test_report_names_a_failing_slo_and_reports_the_others(
    history: History, tmp_path: Path
) -> None:
    doc: Any = report(prom_spec(history, tmp_path, bad=True), "--format", "json", code=3)
    assert [o["slo"] for o in doc["objectives"]] == ["web"]
    [failure] = doc["failures"]
    assert failure["slo"] == "broken" and "regular expression" in failure["message"]


@pytest.mark.parametrize(
    ("windows", "message"),
    [("1h,soon", "soon"), ("90s", "whole minutes"), ("0m", "positive")],
)
def test_bad_windows_are_rejected(tmp_path: Path, windows: str, message: str) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, ["report", str(spec), "--windows", windows])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_table_says_which_path(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slm.cli.app import out

    monkeypatch.setattr(out, "_width", 250)  # no truncated cells
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(prom_spec(history, tmp_path)),
            "--at",
            END.isoformat(),
            "--windows",
            "1h,1d",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if " web " in line]
    assert len(lines) == 2
    assert "pushdown" in lines[0] and "buckets (a counter restarted" in lines[1]
    assert np.isfinite(float(lines[0].split("│")[4].strip().rstrip("%")))


def test_a_server_without_the_at_modifier_falls_back_to_buckets(
    http_server: Callable[[Handler], FakeServer],
) -> None:
    """Prometheus 2.25-2.32 refuse ``@`` unless a feature flag is on: every window is then
    read as buckets, saying why, instead of every SLO failing."""
    refusal = json.dumps(
        {
            "status": "error",
            "errorType": "bad_data",
            "error": "1:27: parse error: @ modifier is disabled, use "
            "--enable-feature=promql-at-modifier to enable it",
        }
    ).encode()
    server = http_server(lambda h, n: reply(h, 400, refusal))
    src = PrometheusSource(client_for(config_for(None, {"url": server.url})))
    pushes = src.window_totals(
        [query("x_total", counter=True), query("max_over_time(g[1m])", counter=False)],
        END,
        [H, D],
    )
    for push in pushes:
        assert push.error is None and push.totals == {}
        assert set(push.fallback) == {H, D}
        assert all("@ modifier" in why for why in push.fallback.values())
