"""Keeping specs and evaluation results in the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slm.domain.results import ObjectiveResult
from slm.services.ports import Clock, SystemClock
from slm.services.specs import record_specs
from slm.services.views import result_view
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.evaluations import EvaluationRecord
from slm.store.specs import SavedSpec, SpecDocument


def save_specs(store: Store, ws: Workspace, *, at: datetime | None = None) -> list[SavedSpec]:
    """Save every document of the workspace; a new version only where the text changed."""
    docs = [SpecDocument(d.api_version, d.kind, d.name, d.path, d.text) for d in ws.documents]
    return record_specs(store, docs, at=at)


def record_evaluation(
    store: Store,
    ws: Workspace,
    results: Sequence[ObjectiveResult],
    clock: Clock | None = None,
) -> int:
    """Save the specs the results came from, then the results, in one transaction each."""
    now = (clock or SystemClock()).now()
    save_specs(store, ws, at=now)
    with store.transaction() as repos:
        for r in results:
            repos.evaluations.add(
                EvaluationRecord(
                    slo=r.slo,
                    objective=r.objective,
                    at=r.at,
                    status=r.status,
                    sli=r.sli,
                    result=result_view(r),
                    created_at=now,
                )
            )
    return len(results)
