"""Recording spec documents in the store (a new version only when a document's text changes)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from slm.store.db import Store
from slm.store.specs import SavedSpec, SpecDocument


def record_specs(
    store: Store, documents: Iterable[SpecDocument], *, at: datetime | None = None
) -> list[SavedSpec]:
    """Save the documents in one transaction; returns (kind, name, version, changed) each."""
    with store.transaction() as repos:
        return repos.specs.save(documents, at=at)
