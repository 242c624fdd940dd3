"""Operations routes of ``slm serve``: ``/healthz`` (liveness) and ``/metrics``
(Prometheus text format, names in docs/metrics.md)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from slm import __version__
from slm.api.deps import State

router = APIRouter(tags=["ops"])


@router.get(
    "/healthz",
    responses={
        503: {
            "description": "A background task ended or crashed: the same body, with "
            "`status: failing`."
        }
    },
)
def healthz(state: State) -> JSONResponse:
    """Liveness: 200 while every background task runs (stale SLOs do not count)."""
    tasks = state.tasks
    dead = {n: ended(t) for n, t in tasks.items() if t.done()}
    now = state.wall.now()
    states = state.board.snapshot()
    body = {
        "schema": "slm.health/v1",
        "status": "failing" if dead else "ok",
        "version": __version__,
        "slos": len(states),
        "stale": sum(1 for s in states if s.is_stale(now)),
        "tasks": {n: dead.get(n, "running") for n in tasks},
    }
    return JSONResponse(body, status_code=503 if dead else 200)


def ended(task: asyncio.Task[None]) -> str:
    """How a background task that is done ended."""
    if task.cancelled():
        return "cancelled"
    error = task.exception()
    return "ended" if error is None else f"crashed: {type(error).__name__}: {error}"


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": f"The Prometheus text format (`{CONTENT_TYPE_LATEST}`).",
        }
    },
)
def metrics(state: State) -> Response:
    """Prometheus text format; names in docs/metrics.md."""
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
