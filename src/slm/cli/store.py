"""The store a command works on, checked before any work is done (a preflight).

``--db`` that cannot be reached, that was never migrated (``slm db upgrade``), or that a
newer slm migrated is reported at once (exit code 5, docs/cli.md), not after minutes of
evaluation. The workspace's default SQLite file is created and migrated on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slm.store.db import Store


def open_store(db: str | None, workspace: Path) -> Store:
    """Open the store and check that it answers and is at the schema this slm needs."""
    from slm.store.db import open_store as open_unchecked

    store = open_unchecked(db, workspace)
    store.ensure_at_head()
    return store
