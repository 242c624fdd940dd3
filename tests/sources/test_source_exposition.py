"""Prometheus text / OpenMetrics exports: counters become per-minute increases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slm.domain.errors import DataError
from slm.sources.exposition import read_exposition, series_name

T = 1_790_812_800  # 2026-10-01T00:00:00Z, on a minute boundary
MS = 1000


@pytest.mark.parametrize(
    ("metric", "labels", "name"),
    [
        pytest.param("up_total", {}, "up_total", id="no-labels"),
        pytest.param(
            "http_requests_total",
            {"method": "GET", "code": "200"},
            'http_requests_total{code="200",method="GET"}',
            id="labels-sorted",
        ),
        pytest.param("m", {"path": 'a"b\\c\nd'}, 'm{path="a\\"b\\\\c\\nd"}', id="values-escaped"),
    ],
)
def test_series_names_are_promql_selectors(metric: str, labels: dict[str, str], name: str) -> None:
    assert series_name(metric, labels) == name


def _write(tmp_path: Path, text: str, name: str = "export.prom") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _increases(path: Path, series: str) -> dict[int, float]:
    table = read_exposition(path)
    ts, values = table.rows_of(series)
    out: dict[int, float] = {}
    for t, v in zip(ts.tolist(), values.tolist(), strict=True):
        out[t - T] = out.get(t - T, 0.0) + v
    return out


def test_text_format_counter_with_a_reset(tmp_path: Path) -> None:
    # 100 -> 110 -> 130 -> (restart) 5 -> 15, timestamps in milliseconds
    text = "# TYPE http_requests_total counter\n" + "".join(
        f'http_requests_total{{code="200"}} {v} {(T + s) * MS}\n'
        for s, v in [(0, 100), (30, 110), (60, 130), (90, 5), (120, 15)]
    )
    path = _write(tmp_path, text)
    assert _increases(path, 'http_requests_total{code="200"}') == {0: 10, 60: 25, 120: 10}


def test_openmetrics_counters_float_seconds_and_several_series(tmp_path: Path) -> None:
    text = (
        "# TYPE http_requests counter\n"
        f'http_requests_total{{method="GET",code="500"}} 1 {T}.5\n'
        f'http_requests_total{{method="GET",code="500"}} 3 {T + 61}.25\n'
        f'http_requests_total{{code="200",method="GET"}} 40 {T}\n'
        f'http_requests_total{{code="200",method="GET"}} 10 {T + 59.9}\n'
        "# EOF\n"
    )
    path = _write(tmp_path, text, "export.om.txt")
    table = read_exposition(path)
    assert table.series == (
        'http_requests_total{code="200",method="GET"}',
        'http_requests_total{code="500",method="GET"}',
    )
    assert _increases(path, 'http_requests_total{code="500",method="GET"}') == {60: 2}
    assert _increases(path, 'http_requests_total{code="200",method="GET"}') == {0: 10}  # reset


def test_histogram_samples_are_counters_in_text_format(tmp_path: Path) -> None:
    text = "# TYPE latency histogram\n" + "".join(
        f"latency_{name} {v} {(T + s) * MS}\n"
        for s in (0, 60)
        for name, v in [('bucket{le="+Inf"}', 7 + s // 30), ("count", 7 + s // 30), ("sum", 1)]
    )
    path = _write(tmp_path, text)
    assert read_exposition(path).series == (
        'latency_bucket{le="+Inf"}',
        "latency_count",
        "latency_sum",
    )
    assert _increases(path, "latency_count") == {60: 2}


def test_untyped_samples_are_counters_and_created_is_skipped(tmp_path: Path) -> None:
    text = (
        "# TYPE jobs counter\n"
        f"jobs_total 1 {T}\n"
        f"jobs_created {T - 100} {T}\n"
        f"jobs_total 4 {T + 60}\n"
        f"jobs_created {T - 100} {T + 60}\n"
        f"orphans 2 {T}\n"
        f"orphans 3 {T + 60}\n"
        "# EOF\n"
    )
    table = read_exposition(_write(tmp_path, text))
    assert table.series == ("jobs_total", "orphans")


# exposition text -> message after "<path>:"
BAD = [
    pytest.param(
        f"a_total 1 {T * MS}\na_total 2\n", "2: sample has no timestamp", id="missing-timestamp"
    ),
    pytest.param(
        f"# TYPE g gauge\ng 1 {T * MS}\n",
        "2: gauge sample 'g' is not a counter",
        id="gauge-refused",
    ),
    pytest.param(
        f"a_total 1 {T * MS}\na_total{{x=1}} 2 {T * MS}\n",
        "2: not valid Prometheus text",
        id="syntax-error",
    ),
    pytest.param(
        f"a_total 1 {T * MS}\na_total -2 {T * MS}\n",
        "2: counter value -2 is not",
        id="negative-value",
    ),
    pytest.param(
        f"a_total 1 {T}\n", "1: timestamp 1790812.8s is before 2000", id="seconds-in-text-format"
    ),
    pytest.param(
        f"# TYPE a counter\na_total 1 {T}\n",
        "2: not valid OpenMetrics: Missing # EOF",
        id="openmetrics-without-eof",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_lines_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    om = "openmetrics" in message.lower()
    with pytest.raises(DataError, match="^" + re.escape(f"{path}:{message}")):
        read_exposition(path, openmetrics=om)
