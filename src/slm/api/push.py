"""Measurement push of ``slm serve``: ``POST /api/v1/measurements`` (docs/api.md), with
its outcomes counted for ``slm_push_batches_total``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from slm.api import problems
from slm.api.deps import State
from slm.api.problems import responses
from slm.services.errors import IdempotencyConflict
from slm.services.push import PushBatch, push_batch, resolve_key
from slm.services.status import StatusBoard
from slm.services.views import document

PATH = "/api/v1/measurements"

router = APIRouter(tags=["ingest"])


@router.post(
    PATH,
    status_code=201,
    responses={
        200: {"description": "A retry: the first receipt, with `duplicate: true`."},
        **responses(400, 409, 413, 422, 503),
    },
)
def push(
    batch: PushBatch,
    response: Response,
    state: State,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Add a batch of bucket counts once per idempotency key (see docs/api.md)."""
    key = resolve_key(batch, idempotency_key)
    try:
        receipt = push_batch(
            state.store,
            batch,
            key=key,
            clock=state.clock,
            wall=state.wall,
            future_tolerance=state.future_tolerance,
            origin="api",
        )
    except IdempotencyConflict:
        state.board.count_push("conflict")
        raise
    if receipt.duplicate:
        state.board.count_push("duplicate")
        response.status_code = 200
    else:
        state.board.count_push("accepted", receipt.items)
    return document("slm.push-receipt/v1", receipt.view())


def refused(board: StatusBoard) -> problems.OnError:
    """Counts a refused push (``slm_push_batches_total{outcome="rejected"}``)."""

    def on_error(request: Request, status: int) -> None:
        if request.url.path == PATH and status in (413, 422):
            board.count_push("rejected")

    return on_error
