"""HTTP(S) checks and transactions with httpx (async).

One client per check (a fresh connection measures what a user sees; a transaction's steps
share the client, so cookies carry over). Transport failures become reasons: connection
refused or reset, invalid HTTP, TLS verification, timeouts. Bodies are read up to
``MAX_BODY`` bytes.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

from slm.domain.errors import TemplateError
from slm.domain.probe import (
    HttpCheck,
    HttpRequest,
    TlsOptions,
    TransactionCheck,
    render,
    timeout_reason,
)
from slm.sources.probes.assertions import Response, extract, response_reasons
from slm.sources.probes.outcome import Outcome, failed, passed

MAX_BODY = 4 * 1024 * 1024
USER_AGENT = "slm-probe/1"


class _Failed(Exception):
    """A step failed for ``reason`` (internal control flow); ``info`` what it saw."""

    def __init__(self, reason: str, info: dict[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.info = info or {}


@lru_cache(maxsize=64)
def _ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    """One context per trust setting (building one costs tens of milliseconds)."""
    if not verify:
        return httpx.create_ssl_context(verify=False)
    if ca_file is not None:
        return ssl.create_default_context(cafile=ca_file)
    return httpx.create_ssl_context()


def make_client(tls: TlsOptions, base_dir: str, timeout: timedelta) -> httpx.AsyncClient:
    ca = str((Path(base_dir) / tls.ca_file).resolve()) if tls.ca_file is not None else None
    try:
        context = _ssl_context(tls.verify, ca if tls.verify else None)
    except (OSError, ssl.SSLError) as e:
        raise _Failed(f"cannot use caFile {ca}: {getattr(e, 'strerror', None) or e}") from e
    return httpx.AsyncClient(
        verify=context,
        timeout=httpx.Timeout(timeout.total_seconds()),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
        max_redirects=10,
    )


def describe(exc: httpx.HTTPError, timeout: timedelta) -> str:
    """A transport error as a check's reason."""
    if isinstance(exc, httpx.TimeoutException):
        return timeout_reason(timeout)
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL: {exc}"
    chain = _causes(exc)
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate verify failed: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by peer"
    text = str(exc) or type(exc).__name__
    text = text if len(text) <= 160 else text[:157] + "..."
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending" in text or "disconnected" in text.lower():
            return "connection closed without a response"
        return f"invalid HTTP response: {text}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return f"connection error: {text}"
    return f"HTTP error: {text}"


def _causes(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _not_after(resp: httpx.Response) -> datetime | None:
    stream = resp.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    text = cert.get("notAfter") if cert else None
    if not isinstance(text, str):
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), tz=UTC)


async def send(client: httpx.AsyncClient, req: HttpRequest, timeout: timedelta) -> Response:
    """Send a rendered request and read the response (raises ``_Failed``)."""
    content = req.body.encode() if req.body is not None else None
    t0 = time.perf_counter()
    try:
        async with client.stream(
            req.method,
            req.url,
            headers=dict(req.headers),
            content=content,
            follow_redirects=req.follow_redirects,
        ) as resp:
            not_after = _not_after(resp)
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise _Failed(f"response body larger than {MAX_BODY // (1024 * 1024)} MiB")
    except httpx.HTTPError as e:
        raise _Failed(describe(e, timeout)) from e
    latency = time.perf_counter() - t0
    text = bytes(body).decode(resp.encoding or "utf-8", errors="replace")
    return Response(resp.status_code, resp.headers, text, latency, str(resp.url), not_after)


def _rendered(
    req: HttpRequest, variables: Mapping[str, str], env: Mapping[str, str]
) -> HttpRequest:
    try:
        return replace(
            req,
            url=render(req.url, variables, env),
            headers={k: render(v, variables, env) for k, v in req.headers.items()},
            body=None if req.body is None else render(req.body, variables, env),
        )
    except TemplateError as e:
        raise _Failed(str(e)) from e


async def _step(
    client: httpx.AsyncClient,
    req: HttpRequest,
    tls: TlsOptions,
    timeout: timedelta,
    now: datetime,
    variables: dict[str, str],
    env: Mapping[str, str],
) -> dict[str, Any]:
    """Run one request, check it, extract into ``variables``; raise ``_Failed``."""
    rendered = _rendered(req, variables, env)
    resp = await send(client, rendered, timeout)
    info: dict[str, Any] = {
        "url": resp.url,
        "status": resp.status,
        "latency_seconds": round(resp.latency, 6),
    }
    if req.name:
        info = {"name": req.name, **info}
    # plain http:// steps of a transaction are not checked (unless redirected to https)
    https = rendered.url.startswith("https://") or resp.cert_not_after is not None
    wants_cert = tls.min_days_left is not None and https
    reasons = response_reasons(
        resp, req.expect, now=now, min_days_left=tls.min_days_left if wants_cert else None
    )
    if reasons:
        raise _Failed("; ".join(reasons), info)
    values, problem = extract(resp, req.extract)
    if problem:
        raise _Failed(problem, info)
    variables.update(values)
    return info


async def check_http(
    check: HttpCheck, timeout: timedelta, now: datetime, env: Mapping[str, str], base_dir: str
) -> Outcome:
    try:
        async with make_client(check.tls, base_dir, timeout) as client:
            info = await _step(client, check.request, check.tls, timeout, now, {}, env)
    except _Failed as e:
        return failed(e.reason, e.info.get("latency_seconds"), **e.info)
    return passed(info["latency_seconds"], **info)


async def check_transaction(
    check: TransactionCheck,
    timeout: timedelta,
    now: datetime,
    env: Mapping[str, str],
    base_dir: str,
) -> Outcome:
    variables = dict(check.variables)
    steps: list[dict[str, Any]] = []
    current = ""
    try:
        async with make_client(check.tls, base_dir, timeout) as client:
            for req in check.steps:
                current = req.name
                steps.append(await _step(client, req, check.tls, timeout, now, variables, env))
    except _Failed as e:
        where = f"step {current!r}: " if current else ""
        if e.info:
            steps.append(e.info)
        return failed(where + e.reason, _total(steps), steps=steps, failed_step=current)
    return passed(_total(steps), steps=steps)


def _total(steps: list[dict[str, Any]]) -> float | None:
    """The summed latency of the steps that got a response (``None`` if none did)."""
    times = [s["latency_seconds"] for s in steps if "latency_seconds" in s]
    return sum(times) if times else None
