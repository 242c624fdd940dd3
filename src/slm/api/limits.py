"""Request body size limits of ``slm serve`` (docs/api.md, "Limits").

``BodyLimit`` is an ASGI middleware: a request whose ``Content-Length`` is over the limit
of its route is answered ``413`` (a problem) before any of its body is read; a body sent
without a length (chunked) is counted as it arrives and refused with ``413`` as soon as it
passes the limit. Bulk routes (push, ITSM import, the Alertmanager webhook) have their own,
larger limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from slm.api import problems

MiB = 1024 * 1024
DEFAULT_MAX_BODY = 1 * MiB
DEFAULT_MAX_BULK_BODY = 32 * MiB
BULK_PATHS = ("/api/v1/measurements", "/api/v1/incidents/import", "/api/v1/alertmanager")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class BodyLimits:
    """The largest body, in bytes, of a request to a bulk route and to any other."""

    default: int = DEFAULT_MAX_BODY
    bulk: int = DEFAULT_MAX_BULK_BODY

    def of(self, path: str) -> int:
        return self.bulk if path in BULK_PATHS else self.default


def too_large(limit: int) -> str:
    return f"the body is larger than {limit} bytes, the most this route takes"


class BodyLimit:
    """Refuses bodies over ``limits`` with ``413`` without reading them whole."""

    def __init__(self, app: ASGIApp, limits: BodyLimits, on_error: problems.OnError | None = None):
        self.app = app
        self.limits = limits
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.of(scope["path"])
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            request = Request(scope)
            if self.on_error is not None:
                self.on_error(request, 413)
            answer = problems.answer(
                request, 413, too_large(limit), headers={"Connection": "close"}
            )
            await answer(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # the route's handler answers it (slm.api.problems)
                    raise HTTPException(413, too_large(limit))
            return message

        await self.app(scope, counted, send)
