"""Every error answer of the API as one shape: RFC 9457 ``application/problem+json``.

``{"type", "title", "status", "detail", "instance", "errors": [...]}``: ``type`` names the
kind of problem (a ``tag:`` URI per error class of slm's tree, ``about:blank`` for plain
HTTP ones such as an unknown route), ``title`` is the status's reason phrase, ``detail``
the one-line message, ``instance`` the request path, and ``errors`` the located problems,
each with ``message`` and where it is: ``in`` (``body``, ``query``, ``path``,
``header``), ``field`` (``items[3].timestamp``, a parameter's name) and ``pointer`` (the
RFC 6901 JSON Pointer into the body, ``/items/3/timestamp``) — or, for spec problems,
``file``, ``line``, ``object`` and ``field``. docs/api.md describes it.

``STATUSES`` is the one table from error class to HTTP status; a class not in it takes
the status of its nearest ancestor that is. ``install`` puts the handlers on an app and
``declare`` writes the problem responses into its OpenAPI document.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from slm.domain.errors import (
    ConflictError,
    DataError,
    DeliveryError,
    FieldProblem,
    InvalidDocument,
    NotFoundError,
    SlmError,
    SourceError,
    SpecError,
    StoreError,
    UsageError,
)
from slm.services.errors import MissingIdempotencyKey, UndeterminedError

log = logging.getLogger("slm.api")

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "tag:slm.dev,2026:problem:"
"""Problem types are ``tag:`` URIs (RFC 4151): names, not addresses to fetch."""

STATUSES: dict[type, int] = {
    SlmError: 400,
    UsageError: 400,
    MissingIdempotencyKey: 400,
    NotFoundError: 404,
    ConflictError: 409,
    DataError: 422,
    SpecError: 422,
    UndeterminedError: 422,
    SourceError: 502,
    DeliveryError: 502,
    StoreError: 503,
}
"""HTTP statuses of the errors slm raises on purpose (docs/api.md, "Errors")."""

INVALID_REQUEST = "invalid-request"  # the type of a request FastAPI's validation refused


class Located(BaseModel):
    """One located problem of a problem answer."""

    model_config = ConfigDict(populate_by_name=True)

    message: str
    in_: Literal["body", "query", "path", "header", "cookie"] | None = Field(
        default=None, alias="in"
    )
    field: str | None = None
    pointer: str | None = None
    file: str | None = None
    line: int | None = None
    object: str | None = None


class Problem(BaseModel):
    """An error answer (RFC 9457)."""

    type: str = Field(description="the kind of problem: a tag: URI of slm, or about:blank")
    title: str = Field(description="the HTTP status's reason phrase")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="what went wrong, in one or more lines")
    instance: str = Field(description="the request path")
    errors: list[Located] = Field(
        default=[], description="the located problems (body fields, parameters, spec lines)"
    )


def status_of(error: SlmError) -> int:
    """The HTTP status of ``error``: that of the nearest class in ``STATUSES``."""
    return next(STATUSES[c] for c in type(error).__mro__ if c in STATUSES)


_NAMES: dict[type, str] = {
    SlmError: "error",
    DataError: "invalid-data",
    UsageError: "invalid-usage",
    InvalidDocument: "invalid-document",
    SourceError: "source-failed",
    StoreError: "store-unavailable",
}


def type_of(error: BaseException) -> str:
    """The problem type of ``error``: its class's name in kebab case without ``Error``
    (``tag:slm.dev,2026:problem:signed-off`` for ``SignedOffError``), or for the bases of
    the tree the name in ``_NAMES``."""
    name = _NAMES.get(type(error)) or re.sub(
        r"(?<!^)(?=[A-Z])", "-", type(error).__name__.removesuffix("Error")
    )
    return TYPE_PREFIX + name.lower()


def answer(
    request: Request,
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    errors: Iterable[Located] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=type_,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=list(errors),
    )
    return JSONResponse(
        body.model_dump(by_alias=True, exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def located(error: SlmError) -> list[Located]:
    """The located problems ``error`` carries, as data (never parsed from its message)."""
    if isinstance(error, InvalidDocument):
        return [_field(p, error.label(p)) for p in error.problems]
    if isinstance(error, SpecError):
        return [
            Located(
                message=p.message,
                file=p.path,
                line=p.line,
                object=f"{p.kind}/{p.name}" if p.name else (p.kind or None),
                field=p.field or None,
            )
            for p in error.problems
        ]
    if isinstance(error, DataError) and error.about:  # a refused change: what it is about
        return [Located(message=str(error), field=error.about)]
    return []


def _field(p: FieldProblem, label: str) -> Located:
    if p.part == "body":
        return Located(message=p.message, in_="body", field=label, pointer=p.pointer)
    return Located.model_validate({"message": p.message, "in": p.part, "field": label})


def _validation(exc: RequestValidationError) -> list[Located]:
    """FastAPI's validation errors as located problems."""
    out = []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        part, path = (loc[0], loc[1:]) if loc and loc[0] in _PARTS else ("body", loc)
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") == "json_invalid":
            ctx = e.get("ctx") or {}
            at = f" at character {path[0]}" if path else ""
            path, msg = (), f"invalid JSON{at}: {ctx.get('error', msg)}"
        p = FieldProblem(tuple(path), msg, str(part))
        out.append(_field(p, p.field or str(part)))
    return out


_PARTS = ("body", "query", "path", "header", "cookie")


OnError = Callable[[Request, int], None]
"""Told of every error answer (the request and its status): ``/metrics`` counters."""


def install(app: FastAPI, on_error: OnError | None = None) -> None:
    """Answer every error of ``app`` with a problem: slm's errors by ``STATUSES``,
    FastAPI's validation as ``422``, Starlette's (unknown route, method) as they are, and
    anything unforeseen as ``500`` without its message (logged with its traceback)."""

    def told(request: Request, response: JSONResponse) -> JSONResponse:
        if on_error is not None:
            on_error(request, response.status_code)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation(exc)
        detail = "\n".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
        return told(
            request,
            answer(request, 422, detail, type_=TYPE_PREFIX + INVALID_REQUEST, errors=errors),
        )

    @app.exception_handler(SlmError)
    async def slm_error(request: Request, exc: SlmError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return told(
            request, answer(request, status, str(exc), type_=type_of(exc), errors=located(exc))
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        cause = exc.__cause__
        if exc.status_code == 400 and cause is not None:  # FastAPI could not read the body
            why = "nested too deeply" if isinstance(cause, RecursionError) else str(cause)
            errors = [
                Located(message=f"cannot be read: {why}", in_="body", field="body", pointer="")
            ]
            kind = TYPE_PREFIX + INVALID_REQUEST
            return told(
                request,
                answer(request, 422, f"body: cannot be read: {why}", type_=kind, errors=errors),
            )
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return told(request, answer(request, exc.status_code, detail, headers=exc.headers))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s: internal error", request.method, request.url.path, exc_info=exc)
        text = "internal error (a bug in slm; the server's log has the details)"
        return told(request, answer(request, 500, text))


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation that can answer ``statuses`` with a problem."""
    return {s: {"model": Problem, "description": _DESCRIPTIONS[s]} for s in statuses}


_DESCRIPTIONS = {
    400: "The request cannot be used as sent (a missing idempotency key).",
    404: "No such object.",
    409: "The current state of the record forbids the change.",
    413: "The body is larger than the server takes.",
    422: "The request is invalid: every problem is in `errors`, located.",
    502: "A source the answer needs failed.",
    503: "The store is unavailable: nothing was changed; retry.",
}


def declare(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (an OpenAPI document) with every problem response served as
    ``application/problem+json``, and FastAPI's own validation-error schemas gone."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in schema.get("paths", {}).values():
        for op in path.values():
            for status, resp in op.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    content = resp.get("content", {})
                    if any(_is_problem(c.get("schema")) for c in content.values()):
                        resp["content"] = {MEDIA_TYPE: {"schema": ref}}
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def _is_problem(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("$ref", "").endswith(
        ("/Problem", "/HTTPValidationError")
    )
