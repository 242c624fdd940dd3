"""A Prometheus that is down, slow, failing or talking nonsense: a clear SourceError."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from prom_helpers import FakeServer, Handler, History, PrometheusServer, create_blocks, reply

from slm.domain.errors import SourceError
from slm.domain.model import MetricQuery
from slm.sources.prometheus import PrometheusSource
from slm.sources.prometheus_config import config_for
from slm.sources.prometheus_http import PrometheusClient

START = datetime(2026, 10, 1, tzinfo=UTC)
STEP = timedelta(minutes=1)
Q = MetricQuery(None, "Prometheus", {"query": "up"}, counter=True)
OK = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}}).encode()


def client(url: str, sleeps: list[float] | None = None, **details: object) -> PrometheusClient:
    config = config_for(None, {"url": url, **details})
    waits = sleeps if sleeps is not None else []
    return PrometheusClient(config, sleep=waits.append, jitter=lambda: 0.5)


def read(c: PrometheusClient) -> None:
    PrometheusSource(c).read(Q, START, START + 10 * STEP, STEP)


def test_a_stopped_prometheus_is_connection_refused(tmp_path: Path) -> None:
    create_blocks("# TYPE x counter\nx_total 1 1790000000\n# EOF\n", tmp_path / "data")
    server = PrometheusServer(tmp_path / "data")
    server.start()
    c = client(server.url)
    read(c)  # answers while it runs
    server.stop()
    sleeps: list[float] = []
    c = client(server.url, sleeps, retry={"attempts": 3, "initialBackoff": "100ms"})
    with pytest.raises(SourceError, match="connection refused \\(gave up after 3 attempts\\)"):
        read(c)
    assert sleeps == pytest.approx([0.075, 0.15])  # 100ms * 2**n; jitter 0.5 -> 3/4 of it
    assert c.requests == 3


def test_a_slow_server_times_out(http_server: Callable[[Handler], FakeServer]) -> None:
    def slow(h: BaseHTTPRequestHandler, n: int) -> None:
        state.release.wait(10)
        reply(h, 200, OK)

    state = http_server(slow)
    c = client(state.url, timeout="200ms", retry={"attempts": 2})
    with pytest.raises(SourceError, match=r"no answer within 0.2s \(timeout\).*2 attempts"):
        read(c)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        pytest.param(200, b"<html>oops</html>", "not JSON \\(bad JSON\\)", id="garbage"),
        pytest.param(200, b'{"status": "success"', "not JSON", id="truncated-json"),
        pytest.param(
            200,
            b'{"status":"success","data":{"resultType":"vector","result":[]}}',
            "resultType is 'vector'",
            id="wrong-result-type",
        ),
        pytest.param(
            200,
            b'{"status":"success","data":{"resultType":"matrix",'
            b'"result":[{"metric":{},"values":[[1,2]]}]}}',
            'are not \\[timestamp, "number"\\] pairs',
            id="numbers-not-strings",
        ),
        pytest.param(
            200,
            b'{"status":"success","data":{"resultType":"matrix",'
            b'"result":[{"metric":{},"values":[[1.5,"1"]]}]}}',
            "off the requested grid",
            id="timestamps-off-grid",
        ),
        pytest.param(
            400,
            b'{"status":"error","errorType":"bad_data","error":"parse error at char 3"}',
            "HTTP 400: bad_data: parse error at char 3",
            id="http-400-prometheus-error",
        ),
        pytest.param(401, b"Unauthorized", "HTTP 401: Unauthorized", id="http-401-text"),
    ],
)
def test_bad_answers_fail_at_once(
    http_server: Callable[[Handler], FakeServer], status: int, body: bytes, message: str
) -> None:
    state = http_server(lambda h, n: reply(h, status, body))
    with pytest.raises(SourceError, match=message):
        read(client(state.url))
    assert len(state.calls) == 1  # not retried


def test_transient_errors_are_retried_with_backoff(
    http_server: Callable[[Handler], FakeServer],
) -> None:
    unavailable = b'{"status":"error","errorType":"unavailable","error":"try later"}'
    state = http_server(lambda h, n: reply(h, 503, unavailable) if n < 3 else reply(h, 200, OK))
    sleeps: list[float] = []
    c = client(
        state.url, sleeps, retry={"attempts": 4, "initialBackoff": "1s", "maxBackoff": "1500ms"}
    )
    read(c)
    assert len(state.calls) == 3
    assert sleeps == pytest.approx([0.75, 1.125])  # 1s, then min(2s, 1.5s); jitter 0.5


def test_retries_are_bounded(http_server: Callable[[Handler], FakeServer]) -> None:
    state = http_server(lambda h, n: reply(h, 502, b"bad gateway", "text/plain"))
    with pytest.raises(SourceError, match="HTTP 502: bad gateway \\(gave up after 3 attempts\\)"):
        read(client(state.url))
    assert len(state.calls) == 3


def test_a_bad_query_shows_prometheus_s_message(history: History) -> None:
    c = client(history.url)
    q = MetricQuery(None, "Prometheus", {"query": "sum(rate(x[5m]"})
    with pytest.raises(SourceError, match=r"HTTP 400: bad_data: .*parse error"):
        PrometheusSource(c).read(q, START, START + STEP, STEP)


def test_auth_and_headers_reach_the_server(
    http_server: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    seen: list[dict[str, str]] = []

    def record(h: BaseHTTPRequestHandler, n: int) -> None:
        seen.append(dict(h.headers))
        reply(h, 200, OK)

    state = http_server(record)
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    read(client(state.url, bearerTokenFile=str(token), headers={"X-Scope-OrgID": "team-a"}))
    read(client(state.url, basicAuth={"username": "u", "password": "p"}))
    assert seen[0]["Authorization"] == "Bearer s3cret"
    assert seen[0]["X-Scope-OrgID"] == "team-a"
    assert seen[1]["Authorization"] == "Basic dTpw"
    assert "stats=all" not in state.calls[0] and "timeout=30s" in state.calls[0]
