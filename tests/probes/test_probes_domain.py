"""Pure probe arithmetic: series names, per-minute aggregation, templates, reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from slm.domain.errors import TemplateError
from slm.domain.probe import (
    CheckResult,
    HttpRequest,
    aggregate,
    certificate_reason,
    format_seconds,
    latency_reason,
    placeholders,
    probe_series,
    render,
    request_texts,
    timeout_reason,
)

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def result(second: int, ok: bool, latency: float, location: str = "eu") -> CheckResult:
    return CheckResult("home", location, T0 + timedelta(seconds=second), latency, ok)


def test_aggregate_counts_checks_per_minute_bucket() -> None:
    rows = aggregate(
        [
            result(0, True, 0.2),
            result(59, False, 0.5),
            result(60, True, 0.1),
            result(5, True, 1, "us"),
        ]
    )
    t0 = int(T0.timestamp())
    assert rows == sorted(
        [
            ('probe:home:good{location="eu"}', t0, 1.0),
            ('probe:home:total{location="eu"}', t0, 2.0),
            ('probe:home:latency{location="eu"}', t0, 0.5),
            ('probe:home:good{location="eu"}', t0 + 60, 1.0),
            ('probe:home:total{location="eu"}', t0 + 60, 1.0),
            ('probe:home:latency{location="eu"}', t0 + 60, 0.1),
            ('probe:home:good{location="us"}', t0, 1.0),
            ('probe:home:total{location="us"}', t0, 1.0),
            ('probe:home:latency{location="us"}', t0, 1.0),
        ]
    )
    assert aggregate([]) == []


def test_series_names() -> None:
    assert probe_series("shop-home", "total", "eu-west-1") == (
        'probe:shop-home:total{location="eu-west-1"}'
    )


@pytest.mark.parametrize(
    ("text", "variables", "env", "expected"),
    [
        pytest.param(
            "{{ base }}/cart/{{cart}}",
            {"base": "http://x", "cart": "c1"},
            {},
            "http://x/cart/c1",
            id="vars",
        ),
        pytest.param("Bearer {{ env.TOKEN }}", {}, {"TOKEN": "t"}, "Bearer t", id="env"),
        pytest.param("no placeholders {x}", {}, {}, "no placeholders {x}", id="plain"),
        pytest.param('{"a": "{{ v }}"}', {"v": "1"}, {}, '{"a": "1"}', id="json-body"),
    ],
)
def test_render(text: str, variables: dict[str, str], env: dict[str, str], expected: str) -> None:
    assert render(text, variables, env) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{{ cart }}", "variable 'cart' has no value", id="variable"),
        pytest.param("{{ env.SECRET }}", "environment variable SECRET is not set", id="env"),
    ],
)
def test_render_names_what_is_missing(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render(text, {}, {})


def test_placeholders_of_a_request() -> None:
    req = HttpRequest("{{ base }}/x", headers={"A": "{{ env.K }}"}, body="{{ b }}{{ c }}")
    assert [(f, placeholders(t)) for f, t in request_texts(req)] == [
        ("url", ["base"]),
        ("headers.A", ["env.K"]),
        ("body", ["b", "c"]),
    ]


@pytest.mark.parametrize(
    ("days", "minimum", "reason"),
    [
        pytest.param(30.5, 14, "", id="plenty"),
        pytest.param(14.0, 14, "", id="exactly"),
        pytest.param(3.5, 14, "certificate expires in 3 days < 14", id="soon"),
        pytest.param(0.5, 1, "certificate expires in 0 days < 1", id="today"),
        pytest.param(-2.5, 0, "certificate expired 3 day(s) ago", id="expired"),
    ],
)
def test_certificate_reason(days: float, minimum: int, reason: str) -> None:
    assert certificate_reason(T0 + timedelta(days=days), T0, minimum) == reason


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.25, "250ms"), (2.0, "2s"), (1.5, "1.5s"), (10.0, "10s"), (0.0004, "0ms")],
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_reasons() -> None:
    assert timeout_reason(timedelta(seconds=2)) == "timeout after 2s"
    assert latency_reason(0.75, timedelta(milliseconds=500)) == "latency 750ms > 500ms"
    assert latency_reason(0.25, timedelta(milliseconds=500)) == ""


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CheckResult("p", "l", datetime(2026, 1, 1), 0.1, True)
