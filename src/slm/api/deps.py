"""What the routes of ``slm serve`` are given: FastAPI dependencies.

``create_app`` keeps one ``AppState`` on the application (``app.state.slm``); a route
names what it needs by type (``board: Board``, ``incidents: Incidents`` ...) and FastAPI
hands it over. The routers are module-level (one per resource: ``ops``, ``status``,
``push``, ``alerts``, ``incidents``) and hold no state of their own.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from slm.services.alerting import AlertService
from slm.services.alertmanager import AlertmanagerReceiver
from slm.services.incidents import IncidentService
from slm.services.ports import Clock
from slm.services.status import StatusBoard
from slm.store.db import Store


@dataclass(frozen=True)
class Services:
    """The services behind the alert and incident routes; a route group is served only
    when its services are given (``slm serve`` gives all)."""

    alerts: AlertService | None = None
    incidents: IncidentService | None = None
    receiver: AlertmanagerReceiver | None = None


@dataclass
class AppState:
    board: StatusBoard
    store: Store
    clock: Clock  # the evaluation clock: "now" of results and of untimed requests
    wall: Clock  # the wall clock: staleness, bookkeeping
    future_tolerance: timedelta
    registry: CollectorRegistry
    services: Services
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # background tasks
    webhook_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # webhooks in order


def state(request: Request) -> AppState:
    found: AppState = request.app.state.slm
    return found


def _board(request: Request) -> StatusBoard:
    return state(request).board


def _store(request: Request) -> Store:
    return state(request).store


def _clock(request: Request) -> Clock:
    return state(request).clock


def _wall(request: Request) -> Clock:
    return state(request).wall


def _incidents(request: Request) -> IncidentService:
    service = state(request).services.incidents
    assert service is not None  # the routes are only there with it
    return service


def _alerts(request: Request) -> AlertService:
    service = state(request).services.alerts
    assert service is not None
    return service


def _receiver(request: Request) -> AlertmanagerReceiver:
    receiver = state(request).services.receiver
    assert receiver is not None
    return receiver


State = Annotated[AppState, Depends(state)]
Board = Annotated[StatusBoard, Depends(_board)]
StoreDep = Annotated[Store, Depends(_store)]
EvaluationClock = Annotated[Clock, Depends(_clock)]
WallClock = Annotated[Clock, Depends(_wall)]
Incidents = Annotated[IncidentService, Depends(_incidents)]
Alerts = Annotated[AlertService, Depends(_alerts)]
Receiver = Annotated[AlertmanagerReceiver, Depends(_receiver)]
