"""The SQL store (SQLAlchemy 2 Core + Alembic, SQLite or PostgreSQL). All SQL of slm lives here.

Open it with ``slm.store.db.open_store``, migrate with ``slm.store.db.upgrade`` and work in
``Store.transaction()``, which yields the repositories bound to one transaction.
"""
