"""SLO status routes of ``slm serve`` (docs/api.md): every SLO with a summary, and the
latest results of one with provenance, staleness and data quality."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from slm.api.deps import Board, EvaluationClock, WallClock
from slm.api.problems import responses
from slm.domain.errors import NotFoundError
from slm.services.status import status_view, summary_view
from slm.services.views import document, iso, item_list

router = APIRouter(prefix="/api/v1/slos", tags=["status"])


@router.get("")
def list_slos(board: Board, clock: EvaluationClock, wall: WallClock) -> dict[str, Any]:
    """Every SLO with its state and a summary of each objective."""
    now = wall.now()
    views = [summary_view(s, now) for s in board.snapshot()]
    return item_list("slm.slos/v1", views, at=iso(clock.now()))


@router.get("/{name}/status", responses=responses(404, 422))
def slo_status(name: str, board: Board, wall: WallClock) -> dict[str, Any]:
    """The latest results of one SLO with provenance, staleness and data quality."""
    state = board.get(name)
    if state is None:
        known = ", ".join(board.names()) or "none"
        raise NotFoundError(f"no SLO named {name!r} (known: {known})")
    return document("slm.slo-status/v1", status_view(state, wall.now()))
