"""The HTTP side of the Prometheus source: ``/api/v1/query_range`` with retries.

One ``PrometheusClient`` per server configuration holds a pooled ``httpx.Client`` (safe to
share between threads) and a semaphore bounding the requests in flight. Transient failures
(connection errors, timeouts, HTTP 429/500/502/503/504) are retried with exponential backoff
and jitter, ``retry.attempts`` tries in all; everything else fails at once. Every failure is
a ``SourceError`` that says why: connection refused, no answer within the timeout, the
HTTP status with Prometheus's own ``errorType``/``error``, a body that is not JSON, or a
JSON document that is not a range-query result.
"""

from __future__ import annotations

import random
import ssl
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

if "httpx" not in sys.modules:
    # ``import httpx`` also imports its command-line client (click, rich's progress and
    # syntax, pygments) whenever those are installed, as they are with slm's server
    # extra: about a tenth of what ``slm report`` imports, for a tool slm never runs.
    # Marked absent while httpx initialises, httpx defines its stand-in ``main``; the
    # mark goes at once, so ``import httpx._main`` still works later.
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        if "httpx._main" in sys.modules and sys.modules["httpx._main"] is None:
            del sys.modules["httpx._main"]

import httpx
import numpy as np
import orjson

from slm.domain.errors import SourceError
from slm.sources.grid import FloatArray, IntArray
from slm.sources.prometheus_config import PrometheusConfig

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
_SNIPPET = 200


@dataclass(frozen=True, eq=False)
class Series:
    """One series of a range-query result; timestamps in integer milliseconds."""

    labels: tuple[tuple[str, str], ...]
    timestamps_ms: IntArray
    values: FloatArray


@dataclass(frozen=True)
class RangeResult:
    series: list[Series]
    server_seconds: float  # execTotalTime the server reported (0 without stats)


class _Transient(Exception):
    """A failure worth retrying; the message says what happened."""


class PrometheusClient:
    def __init__(
        self,
        config: PrometheusConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ):
        self.config = config
        self._sleep, self._jitter = sleep, jitter
        self._slots = threading.BoundedSemaphore(config.max_in_flight)
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests sent, retries included
        self.server_seconds = 0.0  # sum of the server-side times reported with stats
        self.collect_stats = False  # ask for server-side timings (benchmarks)
        # Prometheus gzips answers when asked; on fast links that costs more than it saves
        headers = {"Accept-Encoding": "gzip" if config.compression else "identity"}
        headers.update(config.headers)
        if config.bearer_token:
            headers["Authorization"] = f"Bearer {config.bearer_token}"
        self._http = httpx.Client(
            base_url=config.url,
            headers=headers,
            auth=httpx.BasicAuth(*config.basic_auth) if config.basic_auth else None,
            verify=_ssl_context(config),
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            limits=httpx.Limits(
                max_connections=config.max_in_flight,
                max_keepalive_connections=config.max_in_flight,
            ),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def query_range(
        self, query: str, start_ms: int, end_ms: int, step_ms: int, *, stats: bool = False
    ) -> RangeResult:
        """Evaluate ``query`` at ``start_ms, start_ms + step_ms, ... <= end_ms``."""
        form = {
            "query": query,
            "start": _seconds(start_ms),
            "end": _seconds(end_ms),
            "step": _seconds(step_ms),
            "timeout": f"{self.config.timeout:g}s",
        }
        if stats:
            form["stats"] = "all"
        body = self._post("/api/v1/query_range", form)
        result = _range_result(body, self._where())
        if result.server_seconds:
            with self._lock:
                self.server_seconds += result.server_seconds
        return result

    def _post(self, path: str, form: dict[str, str]) -> Any:
        policy = self.config.retry
        reason = ""
        for attempt in range(policy.attempts):
            try:
                return self._attempt(path, form)
            except _Transient as e:
                reason = str(e)
            if attempt + 1 < policy.attempts:
                self._sleep(policy.delay(attempt, self._jitter()))
        tries = f"{policy.attempts} attempts" if policy.attempts > 1 else "1 attempt"
        raise SourceError(f"{self._where()}: {reason} (gave up after {tries})")

    def _attempt(self, path: str, form: dict[str, str]) -> Any:
        with self._slots:
            with self._lock:
                self.requests += 1
            try:
                response = self._http.post(path, data=form)
            except httpx.TimeoutException:
                raise _Transient(f"no answer within {self.config.timeout:g}s (timeout)") from None
            except httpx.TransportError as e:
                raise _Transient(_transport_reason(e)) from None
        if response.status_code in TRANSIENT_STATUS:
            raise _Transient(_http_error(response))
        if response.status_code >= 400:
            raise SourceError(f"{self._where()}: {_http_error(response)}")
        return _json(response, self._where())

    def _where(self) -> str:
        return f"{self.config.label}: Prometheus at {self.config.url}"


def _seconds(ms: int) -> str:
    whole, frac = divmod(ms, 1000)
    return f"{whole}.{frac:03d}"


def _ssl_context(config: PrometheusConfig) -> ssl.SSLContext | bool:
    if not config.url.startswith("https://"):
        # Every request goes to ``base_url`` and redirects are not followed, so a plain
        # http:// server never needs TLS: building httpx's default context would only
        # load the CA bundle (tens of milliseconds of every command's start).
        return False
    try:
        ctx = ssl.create_default_context(cafile=config.ca_file)
        if config.cert is not None:
            ctx.load_cert_chain(*config.cert)
    except (OSError, ssl.SSLError) as e:
        raise SourceError(f"{config.label}: TLS files cannot be used: {e}") from None
    if config.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _transport_reason(e: httpx.TransportError) -> str:
    text = str(e) or type(e).__name__
    if isinstance(e, httpx.ConnectError):
        if "refused" in text.lower():
            return "connection refused"
        return f"cannot connect: {text}"
    return f"connection failed: {text}"


def _http_error(response: httpx.Response) -> str:
    head = f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        kind = body.get("errorType") or "error"
        return f"{head}: {kind}: {body.get('error') or '(no message)'}"
    text = response.text.strip()
    return f"{head}: {text[:_SNIPPET]}" if text else head


def _json(response: httpx.Response, where: str) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = response.text.strip()[:_SNIPPET]
        raise SourceError(f"{where}: the answer is not JSON (bad JSON): {text!r}") from None


def _range_result(body: Any, where: str) -> RangeResult:
    def bad(what: str) -> SourceError:
        return SourceError(f"{where}: malformed query_range answer: {what}")

    if not isinstance(body, dict):
        raise bad("the answer is not a JSON object")
    if body.get("status") != "success":
        kind = body.get("errorType") or "error"
        raise SourceError(f"{where}: {kind}: {body.get('error') or 'status is not success'}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise bad("no data object")
    if data.get("resultType") != "matrix":
        raise bad(f"resultType is {data.get('resultType')!r}, expected 'matrix'")
    result = data.get("result")
    if not isinstance(result, list):
        raise bad("data.result is not a list")
    series = [_series(item, i, bad) for i, item in enumerate(result)]
    return RangeResult(series, _server_seconds(data.get("stats")))


def _series(item: Any, i: int, bad: Callable[[str], SourceError]) -> Series:
    if not isinstance(item, dict) or not isinstance(item.get("values"), list):
        raise bad(f"data.result[{i}] has no values list")
    metric = item.get("metric") or {}
    if not isinstance(metric, dict):
        raise bad(f"data.result[{i}].metric is not an object")
    values = item["values"]
    n = len(values)
    try:
        stamps, texts = zip(*values, strict=True) if n else ((), ())
        ts = np.array(stamps, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns (not raises) on trailing garbage
            v = np.fromstring(",".join(texts), sep=",") if n else np.zeros(0)
        if ts.shape != (n,) or v.shape != (n,):
            raise ValueError("not one number per timestamp")
    except (TypeError, ValueError, DeprecationWarning):
        raise bad(f'data.result[{i}].values are not [timestamp, "number"] pairs') from None
    labels = tuple(sorted((str(k), str(val)) for k, val in metric.items()))
    return Series(labels, np.rint(ts * 1000).astype(np.int64), v)


def _server_seconds(stats: Any) -> float:
    if not isinstance(stats, dict):
        return 0.0
    timings = stats.get("timings")
    if not isinstance(timings, dict):
        return 0.0
    value = timings.get("execTotalTime", 0.0)
    return float(value) if isinstance(value, int | float) else 0.0
