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
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from slm import __version__
from slm.api import problems
from slm.api.limits import BodyLimit, BodyLimits
from slm.api.metrics import StatusCollector
from slm.api.problems import responses
from slm.domain.errors import NotFoundError
from slm.services.errors import IdempotencyConflict
from slm.services.ports import Clock, SystemClock
from slm.services.push import (
    DEFAULT_FUTURE_TOLERANCE,
    PushBatch,
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
    body_limits: BodyLimits = BodyLimits(),
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
    problems.install(app, _push_outcomes(board))
    app.add_middleware(BodyLimit, limits=body_limits, on_error=_push_outcomes(board))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.get(
        "/healthz",
        tags=["ops"],
        responses={
            503: {
                "description": "A background task ended or crashed: the same body, "
                "with `status: failing`."
            }
        },
    )
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

    @app.get("/api/v1/slos/{name}/status", tags=["status"], responses=responses(404, 422))
    def slo_status(name: str) -> dict[str, Any]:
        """The latest results of one SLO with provenance, staleness and data quality."""
        state = board.get(name)
        if state is None:
            known = ", ".join(board.names()) or "none"
            raise NotFoundError(f"no SLO named {name!r} (known: {known})")
        return status_view(state, wall_clock.now())

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=PlainTextResponse,
        responses={
            200: {
                "content": {"text/plain": {"schema": {"type": "string"}}},
                "description": f"The Prometheus text format (`{CONTENT_TYPE_LATEST}`).",
            }
        },
    )
    def metrics() -> Response:
        """Prometheus text format; names in docs/metrics.md."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.post(
        "/api/v1/measurements",
        tags=["ingest"],
        status_code=201,
        responses={
            200: {"description": "A retry: the first receipt, with `duplicate: true`."},
            **responses(400, 409, 413, 422, 503),
        },
    )
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


PUSH_PATH = "/api/v1/measurements"


def _push_outcomes(board: StatusBoard) -> problems.OnError:
    """Counts a refused push (``slm_push_batches_total{outcome="rejected"}``)."""

    def on_error(request: Request, status: int) -> None:
        if request.url.path == PUSH_PATH and status in (413, 422):
            board.count_push("rejected")

    return on_error


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, its error answers declared as problems (``slm.api.problems``)."""
    if app.openapi_schema is None:
        app.openapi_schema = problems.declare(FastAPI.openapi(app))
    return app.openapi_schema
