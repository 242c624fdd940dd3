"""PromQL as the parser reads it: what a query is, and why it cannot be a metric query."""

from __future__ import annotations

import pytest

from slm.sources import promql


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('sum(rate(http_requests_total{code=~"5.."}[5m]))', None),
        ("sum(rate(http_requests_total[{{.window}}]))", None),  # Sloth's template
        (
            "sum(rate(http_requests_total[{{ .window }}])",
            "invalid PromQL: unclosed left parenthesis",
        ),
        ('x{a="1"', "invalid PromQL: unexpected end of input inside braces"),
        ("http_requests_total[5m]", "the query returns a range vector"),
        ("rate(x[5m])[1h:]", "the query returns a range vector"),
        ('"text"', "the query returns a string"),
        ("nosuch(x)", "unknown function with name 'nosuch'"),
    ],
)
def test_query_problem(text: str, problem: str | None) -> None:
    found = promql.query_problem(text)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem), found


def test_only_an_unknown_function_is_left_to_the_server() -> None:
    assert promql.unknown_function(promql.query_problem("holt_winters(x[5m], 0.5, 0.5)") or "")
    assert not promql.unknown_function(promql.query_problem("sum(x") or "")


def test_selector_keeps_the_text_unless_a_comment_would_swallow_what_follows() -> None:
    plain = promql.selector(' x{a="1"}  ')
    assert plain is not None and plain.text == 'x{a="1"}' and plain.name == "x"
    commented = promql.selector("x{a='1', b=~\"c.d\"} # why")
    assert commented is not None
    assert commented.text == 'x{a="1", b=~"c.d"}'
    assert commented.matchers == {("__name__", "=", "x"), ("a", "=", "1"), ("b", "=~", "c.d")}
    assert promql.enclosable("sum(x) # why") == "sum(x) # why\n"
    assert promql.enclosable(" sum(x) ") == "sum(x)"


def test_render_selector_quotes_values_as_promql_reads_them() -> None:
    text = promql.render_selector("x", [("path", "=", 'a"b\\c'), ("code", "=~", "5..")])
    found = promql.selector(text)
    assert found is not None
    assert found.matchers == {
        ("__name__", "=", "x"),
        ("path", "=", 'a"b\\c'),
        ("code", "=~", "5.."),
    }
    assert promql.render_selector(None, [("a", "=", "1")]) == '{a="1"}'
    assert promql.render_selector("x", []) == "x"
