"""Alembic environment of the slm store, run programmatically by ``slm.store.db.upgrade``.

The caller passes an open SQLAlchemy ``Connection`` in ``config.attributes["connection"]``;
there is no ``alembic.ini`` and no URL here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from slm.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through slm.store.db.upgrade (no connection given)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite needs batch mode for ALTER TABLE
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
