"""Shared database fixtures: every store test runs on SQLite and on PostgreSQL.

PostgreSQL: one fresh database per test session (``slm_test_<random>``, dropped at the
end) on ``SLM_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``),
and one fresh schema per test inside it (selected through ``search_path``), so every test
starts from an empty database. When the server does not answer, the PostgreSQL tests fail
with a clear message under ``CI=true`` and are skipped otherwise (also when
``SLM_SKIP_PG=1``); ``scripts/ensure-postgres.sh`` starts the local server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import URL

from slm.store.db import Store, normalise_url, open_store, upgrade

# Property tests check results, not speed: on a loaded 2-core CI machine example generation
# and single examples can be slow, which says nothing about correctness.
settings.register_profile("slm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("slm")

PG_ADMIN_URL = os.environ.get("SLM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[URL]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    admin_url = normalise_url(PG_ADMIN_URL)
    shown = admin_url.render_as_string(hide_password=True)
    if os.environ.get("SLM_SKIP_PG") == "1":
        _unavailable("SLM_SKIP_PG=1: PostgreSQL tests skipped")
    admin = sa.create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"slm_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as e:
        admin.dispose()
        _unavailable(
            f"PostgreSQL is not reachable at {shown}: {' '.join(str(e.orig).split())}; "
            "start it with scripts/ensure-postgres.sh or set SLM_TEST_PG_URL"
        )
    try:
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_database: URL) -> Iterator[str]:
    """The session database with a fresh, empty schema first on the search path."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = pg_database.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def empty_store(store_url: str, tmp_path: Path) -> Iterator[Store]:
    """An opened store with no schema (never migrated)."""
    store = open_store(store_url, tmp_path)
    yield store
    store.close()


@pytest.fixture
def store(empty_store: Store) -> Store:
    """An opened store migrated to the head revision."""
    upgrade(empty_store)
    return empty_store


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The bundled example workspace, its data generated (deterministically) if missing."""
    import subprocess
    import sys

    data = EXAMPLES / "data" / "shop.parquet"
    if not data.exists():
        subprocess.run(
            [sys.executable, str(EXAMPLES / "generate_data.py"), "--out", str(data)], check=True
        )
    return EXAMPLES


JSON_DOC = Path(__file__).resolve().parents[1] / "docs" / "json.md"


@pytest.fixture(scope="session")
def json_schemas() -> dict[str, list[str]]:
    """The JSON documents listed in docs/json.md: schema id -> its top-level fields.

    A row of the table there reads ``| `slm.x/v1` | who prints it | `schema`, `a`, ... |``;
    a field written ``a?`` is present in some documents of the type only."""
    import re

    schemas: dict[str, list[str]] = {}
    for line in JSON_DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `(slm\.[a-z-]+/v[0-9]+)` \|[^|]*\|([^|]*)\|", line)
        if m:
            assert m.group(1) not in schemas, f"docs/json.md lists {m.group(1)} twice"
            schemas[m.group(1)] = re.findall(r"`([a-z_0-9]+\??)`", m.group(2))
    return schemas


@pytest.fixture(scope="session")
def check_document(json_schemas: dict[str, list[str]]) -> Any:
    """``check_document(doc, schema)``: ``doc`` follows docs/json.md as ``schema`` (an
    object, ``schema`` first, exactly the documented top-level fields, lists in ``items``,
    no percent field without ``_percent`` in its name)."""

    def check(doc: Any, schema: str) -> None:
        assert isinstance(doc, dict), f"{schema}: a top-level object, not {type(doc).__name__}"
        assert next(iter(doc)) == "schema" and doc["schema"] == schema, doc.get("schema")
        assert schema in json_schemas, f"{schema} is not listed in docs/json.md"
        fields = json_schemas[schema]
        required = {f for f in fields if not f.endswith("?")}
        allowed = required | {f.rstrip("?") for f in fields}
        assert required <= set(doc) <= allowed, (schema, sorted(doc), fields)
        if "items" in allowed:
            assert isinstance(doc["items"], list)
        _no_percent_names(doc, schema)

    return check


def _no_percent_names(value: Any, where: str) -> None:
    """Keys that say percent end in ``_percent``; ``_pp`` (percentage points) is gone."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                assert not key.endswith("_pp") and not key.endswith("_pct"), (where, key)
                assert "percent" not in key or key.endswith("_percent"), (where, key)
            _no_percent_names(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _no_percent_names(item, where)
