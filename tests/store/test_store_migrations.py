"""The schema: migrations from empty, the head check, URLs and the default SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from slm.domain.errors import StoreError
from slm.store.db import Store, normalise_url, open_store, upgrade
from slm.store.schema import metadata

TABLES = {"alembic_version", "spec_documents", "measurements", "ingests", "evaluations"}


def test_upgrade_from_empty_creates_every_table(empty_store: Store) -> None:
    assert empty_store.revision() is None
    assert upgrade(empty_store) == empty_store.head()
    tables = set(sa.inspect(empty_store.engine).get_table_names())
    assert tables >= TABLES


def test_migrated_schema_matches_the_metadata(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_upgrade_twice_is_a_no_op(store: Store) -> None:
    assert upgrade(store) == store.head()


def test_using_a_store_below_head_asks_for_slm_db_upgrade(empty_store: Store) -> None:
    with pytest.raises(StoreError, match=r"run `slm db upgrade"), empty_store.transaction():
        pass


def test_default_sqlite_file_is_created_and_migrated_on_first_use(tmp_path: Path) -> None:
    store = open_store(None, tmp_path)
    with store.transaction() as repos:
        assert repos.measurements.series_names() == []
    assert (tmp_path / ".slm" / "slm.db").is_file()
    assert store.revision() == store.head()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        pytest.param("postgresql://u@db/slm", "postgresql+psycopg", id="postgresql-to-psycopg"),
        pytest.param("postgres://u@db/slm", "postgresql+psycopg", id="postgres-alias"),
        pytest.param("postgresql+psycopg://u@db/slm", "postgresql+psycopg", id="psycopg-kept"),
        pytest.param("sqlite:///x.db", "sqlite", id="sqlite-kept"),
    ],
)
def test_store_urls_are_normalised(url: str, driver: str) -> None:
    assert normalise_url(url).drivername == driver


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("mysql://u@db/slm", id="unsupported-backend"),
        pytest.param("not a url", id="not-a-url"),
    ],
)
def test_bad_store_urls_are_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="URL"):
        open_store(url, tmp_path)


def test_unreachable_postgresql_is_a_store_error(tmp_path: Path) -> None:
    store = open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", tmp_path)
    with pytest.raises(StoreError, match="could not"):
        store.revision()


def test_a_store_from_a_newer_slm_is_refused(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    reopened = Store(store.engine)
    with pytest.raises(StoreError, match="migrated by a newer slm"), reopened.transaction():
        pass
    with pytest.raises(StoreError, match="could not migrate"):
        upgrade(reopened)
