"""The HTTP part shared by the webhook and Slack senders: POST, map failures to outcomes."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from slm.domain.errors import DeliveryError

# Statuses worth retrying: the receiver is overloaded, rate-limits, or failed itself.
RETRYABLE_STATUS = frozenset({408, 425, 429})


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> str:
    """POST ``body``; return ``HTTP nnn`` on 2xx, raise ``DeliveryError`` otherwise."""
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, content=body, headers=dict(headers))
    except httpx.TimeoutException as e:
        raise DeliveryError(
            f"no answer from {_host(url)} within {timeout:g}s ({type(e).__name__})",
            retryable=True,
            status="timeout",
        ) from e
    except httpx.TransportError as e:
        raise DeliveryError(
            f"connection to {_host(url)} failed: {type(e).__name__}: {e or 'closed'}",
            retryable=True,
            status="connection",
        ) from e
    code = response.status_code
    if 200 <= code < 300:
        return f"HTTP {code}"
    text = " ".join(response.text.split())[:200]
    raise DeliveryError(
        f"{_host(url)} answered HTTP {code}" + (f": {text}" if text else ""),
        retryable=code >= 500 or code in RETRYABLE_STATUS,
        status=f"HTTP {code}",
    )


def _host(url: str) -> str:
    """The scheme, host and port only: webhook paths can hold secrets (Slack's do)."""
    try:
        u = httpx.URL(url)
    except httpx.InvalidURL:
        return "the receiver"
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}"
