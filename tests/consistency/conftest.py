"""A migrated SQLite store for the serve path (its evaluation loop needs one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from slm.store.db import Store, open_store, upgrade


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'serve.db'}", tmp_path)
    upgrade(store)
    yield store
    store.close()
