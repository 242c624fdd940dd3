"""Alert routes of ``slm serve``: the read-only view of current alerts and the
Alertmanager webhook receiver (docs/serve.md, docs/api.md)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from slm.api.deps import Alerts, EvaluationClock, Receiver, State
from slm.api.problems import responses
from slm.domain.alert_state import AlertStatus
from slm.services.alerting import alert_view, transition_view
from slm.services.alertmanager import WebhookPayload
from slm.services.views import iso, item_list

_CURRENT = (AlertStatus.PENDING, AlertStatus.FIRING)

router = APIRouter(tags=["alerts"])


@router.get("/api/v1/alerts", responses=responses(503))
def list_alerts(alerts: Alerts, clock: EvaluationClock) -> dict[str, Any]:
    """Pending and firing alerts, one group per SLO (``service/slo``), each led by its
    most severe, earliest firing alert."""
    current = alerts.alerts(statuses=_CURRENT)
    firing = {g.key: g for g in alerts.groups()}
    by_group: dict[str, list[dict[str, Any]]] = {}
    for a in current:
        by_group.setdefault(f"{a.service}/{a.slo}", []).append(alert_view(a))
    groups = []
    for key in sorted(by_group):
        g = firing.get(key)
        groups.append(
            {
                "group": key,
                "leader": g.leader if g else None,
                "severity": g.severity if g else None,
                "firing": sum(1 for v in by_group[key] if v["status"] == "firing"),
                "alerts": by_group[key],
            }
        )
    return item_list("slm.alert-groups/v1", groups, at=iso(clock.now()))


@router.post("/api/v1/alertmanager", responses=responses(413, 422, 503))
async def alertmanager(payload: WebhookPayload, receiver: Receiver, state: State) -> dict[str, Any]:
    """Alertmanager webhook (payload version 4); see docs/serve.md."""
    async with state.webhook_lock:  # one webhook at a time: its transactions stay in order
        receipt = await asyncio.to_thread(receiver.handle, payload)
    return {
        "schema": "slm.alertmanager-receipt/v1",
        "received": receipt.received,
        "accepted": receipt.received - len(receipt.ignored),
        "duplicates": receipt.duplicates,
        "transitions": [transition_view(t) for t in receipt.transitions],
        "incidents": receipt.incidents,
        "ignored": [i.view() for i in receipt.ignored],
    }
