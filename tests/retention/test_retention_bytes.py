"""The bytes ``slm retention apply`` reports are honest: the per-row estimate of each
dialect is within 25% of what rows really take in a real SQLite file and a real
PostgreSQL table (heap, primary-key index and page overhead included)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from slm.store.db import Store
from slm.store.retention import row_bytes
from slm.store.schema import measurement_rollups, measurements

N = 12_000
T0 = 1_790_812_800


def _size(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            page_size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
            return int(pages) * int(page_size)
        return int(conn.execute(sa.text(f"SELECT pg_total_relation_size('{table}')")).scalar_one())


@pytest.mark.parametrize("name_length", [12, 48, 110])
@pytest.mark.parametrize("table", ["measurements", "rollups"])
def test_row_estimate_is_within_a_quarter_of_the_real_size(
    store: Store, name_length: int, table: str
) -> None:
    sa_table = measurements if table == "measurements" else measurement_rollups
    names = [f"{'s' * (name_length - 1)}{k}" for k in range(3)]
    rows = []
    for i in range(N):
        row = {
            "series": names[i % 3],
            "bucket_start": T0 + 60 * (i // 3),
            "value": float(i % 40) if i % 2 else (i % 97) / 7,
        }
        if table == "rollups":
            row |= {"resolution": 3600, "samples": 60, "sealed": True}
        rows.append(row)
    before = _size(store, sa_table.name)
    with store.engine.begin() as conn:
        conn.execute(sa.insert(sa_table), rows)
    real = _size(store, sa_table.name) - before
    estimate = sum(row_bytes(store.dialect, table, r["series"]) for r in rows)
    assert 0.75 <= estimate / real <= 1.33, (estimate / N, real / N)
