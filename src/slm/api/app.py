"""The FastAPI application of ``slm serve``.

``create_app(board, store, clock=...)`` wires the routes to the status board (written by
the evaluation loop) and the push service. ``background`` is the hook for long-running
work: each async callable is started as a task when the app starts (FastAPI lifespan) and
cancelled, then awaited, when it stops. The evaluation loop is one; the synthetic-probe
scheduler and the notification dispatcher plug in the same way. ``routers`` adds route
groups (``slm.api.alertmanager``: alerts, incidents and the Alertmanager webhook). A
background task that ends on its own (a crash) is logged and turns ``/healthz`` to 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from slm import __version__
from slm.api.metrics import StatusCollector
from slm.domain.errors import (
    ConflictError,
    DataError,
    NotFoundError,
    SlmError,
    SourceError,
    StoreError,
)
from slm.services.ports import Clock, SystemClock
from slm.services.push import (
    DEFAULT_FUTURE_TOLERANCE,
    BatchError,
    IdempotencyConflict,
    ItemProblem,
    MissingIdempotencyKey,
    PushBatch,
    field_label,
    push_batch,
    resolve_key,
)
from slm.services.status import StatusBoard, status_view, summary_view
from slm.services.views import iso
from slm.store.db import Store

log = logging.getLogger("slm.api")

BackgroundTask = Callable[[], Awaitable[None]]
"""A long-running coroutine function started with the app and cancelled at shutdown."""


def create_app(
    board: StatusBoard,
    store: Store,
    *,
    clock: Clock,
    wall: Clock | None = None,
    future_tolerance: timedelta = DEFAULT_FUTURE_TOLERANCE,
    background: Sequence[BackgroundTask] = (),
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    wall_clock = wall or SystemClock()
    tasks: dict[str, asyncio.Task[None]] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for fn in background:
            name = getattr(fn, "__qualname__", repr(fn))
            task = asyncio.create_task(_guarded(name, fn), name=name)
            tasks[name] = task
        try:
            yield
        finally:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)

    # /docs (Swagger UI) and /redoc with their scripts and styles served from the
    # fastapi-offline package (under /static-offline-docs), not a CDN: they work offline.
    app = FastAPIOffline(
        title="slm",
        version=__version__,
        description="Service level management: SLO status, metrics and measurement push.",
        lifespan=lifespan,
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(board, wall_clock, clock))
    _install_error_handlers(app, board)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """Liveness: 200 while every background task runs (stale SLOs do not count)."""
        dead = {n: _ended(t) for n, t in tasks.items() if t.done()}
        now = wall_clock.now()
        states = board.snapshot()
        body = {
            "status": "failing" if dead else "ok",
            "version": __version__,
            "slos": len(states),
            "stale": sum(1 for s in states if s.is_stale(now)),
            "tasks": {n: dead.get(n, "running") for n in tasks},
        }
        return JSONResponse(body, status_code=503 if dead else 200)

    @app.get("/api/v1/slos", tags=["status"])
    def list_slos() -> dict[str, Any]:
        """Every SLO with its state and a summary of each objective."""
        now = wall_clock.now()
        return {
            "at": iso(clock.now()),
            "slos": [summary_view(s, now) for s in board.snapshot()],
        }

    @app.get("/api/v1/slos/{name}/status", tags=["status"])
    def slo_status(name: str) -> dict[str, Any]:
        """The latest results of one SLO with provenance, staleness and data quality."""
        state = board.get(name)
        if state is None:
            known = ", ".join(board.names()) or "none"
            raise NotFoundError(f"no SLO named {name!r} (known: {known})")
        return status_view(state, wall_clock.now())

    @app.get("/metrics", tags=["ops"])
    def metrics() -> Response:
        """Prometheus text format; names in docs/metrics.md."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/api/v1/measurements", tags=["ingest"], status_code=201)
    def push(
        batch: PushBatch,
        response: Response,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> dict[str, Any]:
        """Add a batch of bucket counts once per idempotency key (see docs/api.md)."""
        key = resolve_key(batch, idempotency_key)
        try:
            receipt = push_batch(
                store,
                batch,
                key=key,
                clock=clock,
                wall=wall_clock,
                future_tolerance=future_tolerance,
                origin="api",
            )
        except IdempotencyConflict:
            board.count_push("conflict")
            raise
        if receipt.duplicate:
            board.count_push("duplicate")
            response.status_code = 200
        else:
            board.count_push("accepted", receipt.items)
        return receipt.view()

    for router in routers:  # alerts, incidents, the Alertmanager receiver (api/alertmanager)
        app.include_router(router)
    return app


async def _guarded(name: str, fn: BackgroundTask) -> None:
    try:
        await fn()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("background task %s crashed", name)
        raise
    else:
        log.error("background task %s ended on its own", name)


def _ended(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "cancelled"
    error = task.exception()
    return "ended" if error is None else f"crashed: {type(error).__name__}: {error}"


def _problem_body(problems: Sequence[ItemProblem], message: str) -> dict[str, Any]:
    return {
        "error": message,
        "detail": [{"loc": list(p.loc), "field": p.field, "msg": p.message} for p in problems],
    }


def _install_error_handlers(app: FastAPI, board: StatusBoard) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        push = request.url.path == "/api/v1/measurements"
        problems = []
        for e in exc.errors():
            loc = tuple(p for p in e.get("loc", ()) if p != "body")
            msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
            if e.get("type") == "json_invalid":
                ctx = e.get("ctx") or {}
                at = f" at character {loc[0]}" if loc else ""
                loc, msg = (), f"invalid JSON{at}: {ctx.get('error', msg)}"
            problems.append(ItemProblem(loc or (() if push else ("body",)), msg))
        if push:
            board.count_push("rejected")
        first = problems[0] if problems else ItemProblem((), "invalid request")
        return JSONResponse(
            _problem_body(problems, f"{field_label(first.loc)}: {first.message}"),
            status_code=422,
        )

    @app.exception_handler(SlmError)
    async def slm_error(request: Request, exc: SlmError) -> JSONResponse:
        if isinstance(exc, BatchError):
            board.count_push("rejected")
            return JSONResponse(_problem_body(exc.problems, str(exc)), status_code=422)
        status = _status_of(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"error": str(exc), "detail": str(exc)}, status_code=status)


def _status_of(exc: SlmError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, IdempotencyConflict | ConflictError):
        return 409
    if isinstance(exc, MissingIdempotencyKey):
        return 400
    if isinstance(exc, DataError):
        return 422
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, SourceError):
        return 502
    return 400
