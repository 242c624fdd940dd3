"""The FastAPI application of ``slm serve``.

``create_app(board, store, clock=...)`` builds the application from the module-level
routers, one per resource (``ops``: health and metrics, ``status``: SLO status, ``push``:
measurement push, ``alerts``: current alerts and the Alertmanager webhook, ``incidents``),
and puts what they need where FastAPI hands it to them (``slm.api.deps``): the status board
(written by the evaluation loop), the store, the clocks and the ``services`` of the alert
and incident routes (served only when given). ``background`` is the hook for long-running
work: each async callable is started as a task when the app starts (FastAPI lifespan) and
cancelled, then awaited, when it stops. The evaluation loop is one; the synthetic-probe
scheduler and the notification dispatcher plug in the same way. A background task that
ends on its own (a crash) is logged and turns ``/healthz`` to 503. ``routers`` adds more
route groups (tests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry

from slm import __version__
from slm.api import alerts, incidents, ops, problems, push, status
from slm.api.deps import AppState, Services
from slm.api.limits import BodyLimit, BodyLimits
from slm.api.metrics import StatusCollector
from slm.services.ports import Clock, SystemClock
from slm.services.push import DEFAULT_FUTURE_TOLERANCE
from slm.services.status import StatusBoard
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
    services: Services = Services(),
    routers: Sequence[APIRouter] = (),
    body_limits: BodyLimits = BodyLimits(),
) -> FastAPI:
    wall_clock = wall or SystemClock()
    state = AppState(
        board=board,
        store=store,
        clock=clock,
        wall=wall_clock,
        future_tolerance=future_tolerance,
        registry=CollectorRegistry(auto_describe=False),
        services=services,
    )
    state.registry.register(StatusCollector(board, wall_clock, clock))
    # /docs (Swagger UI) and /redoc with their scripts and styles served from the
    # fastapi-offline package (under /static-offline-docs), not a CDN: they work offline.
    app = FastAPIOffline(
        title="slm",
        version=__version__,
        description="Service level management: SLO status, metrics and measurement push.",
        lifespan=_lifespan(state, background),
    )
    app.state.slm = state
    problems.install(app, push.refused(board))
    app.add_middleware(BodyLimit, limits=body_limits, on_error=push.refused(board))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    for router in _routers(services):
        app.include_router(router)
    for router in routers:
        app.include_router(router)
    return app


def _routers(services: Services) -> list[APIRouter]:
    """The resources served: the alert and incident ones when their services are given."""
    served = [ops.router, status.router, push.router]
    if services.alerts is not None and services.receiver is not None:
        served.append(alerts.router)
    if services.incidents is not None:
        served.append(incidents.router)
    return served


def _lifespan(
    state: AppState, background: Sequence[BackgroundTask]
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Starts the background tasks with the app (``state.tasks``, read by ``/healthz``)
    and cancels, then awaits, them when it stops."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for fn in background:
            name = getattr(fn, "__qualname__", repr(fn))
            state.tasks[name] = asyncio.create_task(_guarded(name, fn), name=name)
        try:
            yield
        finally:
            for task in state.tasks.values():
                task.cancel()
            await asyncio.gather(*state.tasks.values(), return_exceptions=True)

    return lifespan


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


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, its error answers declared as problems (``slm.api.problems``)."""
    if app.openapi_schema is None:
        app.openapi_schema = problems.declare(FastAPI.openapi(app))
    return app.openapi_schema
