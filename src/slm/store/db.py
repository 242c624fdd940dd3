"""Opening the store, migrating it and running units of work against it.

``open_store(url, workspace)`` opens the default SQLite file ``<workspace>/.slm/slm.db`` or
the database at ``url`` (``sqlite:///...``, ``postgresql+psycopg://...``; a plain
``postgresql://`` URL is rewritten to psycopg 3). ``upgrade(store)`` applies the Alembic
migrations packaged in ``slm/store/migrations`` (what ``slm db upgrade`` runs).

Schema policy: the default workspace SQLite file is upgraded automatically when it is opened
(it is private to the workspace). Any store given by URL is never migrated behind the
user's back: using it while it is not at the head revision raises ``StoreError`` asking
the user to run ``slm db upgrade``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from slm.domain.errors import MissingExtraError, SlmError, StoreConflict, StoreError
from slm.store.evaluations import EvaluationRepository
from slm.store.ingests import IngestRepository
from slm.store.measurements import MeasurementRepository
from slm.store.specs import SpecRepository

MIGRATIONS = "slm.store:migrations"
DEFAULT_DB = Path(".slm") / "slm.db"


@dataclass(frozen=True)
class Repositories:
    """The repositories of one unit of work, all on the same connection and transaction."""

    connection: Connection
    specs: SpecRepository
    measurements: MeasurementRepository
    ingests: IngestRepository
    evaluations: EvaluationRepository

    @classmethod
    def on(cls, connection: Connection) -> Repositories:
        return cls(
            connection,
            SpecRepository(connection),
            MeasurementRepository(connection),
            IngestRepository(connection),
            EvaluationRepository(connection),
        )


class Store:
    """An opened store: an engine plus the schema check. Use ``transaction()`` for work."""

    def __init__(self, engine: Engine, *, auto_upgrade: bool = False):
        self.engine = engine
        self.auto_upgrade = auto_upgrade
        self._at_head = False

    @property
    def url(self) -> str:
        """The URL with any password hidden, for messages."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def revision(self) -> str | None:
        """The schema revision of the database (``None`` when never migrated)."""
        with _errors(self, "read the schema revision of"), self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head(self) -> str:
        """The newest schema revision this version of slm knows."""
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        assert head is not None
        return head

    def ensure_at_head(self) -> None:
        if self._at_head:
            return
        current, head = self.revision(), self.head()
        if current != head and self.auto_upgrade:
            upgrade(self)
            current = self.revision()
        if current is not None and not self._known(current):
            raise StoreError(
                f"the store {self.url} is at revision {current}, which this slm does not "
                f"know (it knows up to {head}): it was migrated by a newer slm; upgrade slm"
            )
        if current != head:
            state = "is empty" if current is None else f"is at revision {current}"
            raise StoreError(
                f"the store {self.url} {state}, this slm needs revision {head}: "
                f"run `slm db upgrade --db {self.url}` first"
            )
        self._at_head = True

    def _known(self, revision: str) -> bool:
        scripts = ScriptDirectory.from_config(_alembic_config())
        return any(r.revision == revision for r in scripts.walk_revisions())

    @contextmanager
    def transaction(self) -> Iterator[Repositories]:
        """One unit of work: committed when the block ends, rolled back on any error."""
        self.ensure_at_head()
        with _errors(self, "write to"), self.engine.begin() as conn:
            yield Repositories.on(conn)

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str | None, workspace: Path, *, echo: bool = False) -> Store:
    """Open (not migrate) the store at ``url``, or the workspace's default SQLite file.

    The default file and its directory are created; it is migrated on first use.
    """
    if url is None:
        path = (workspace / DEFAULT_DB).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        sa_url = URL.create("sqlite", database=str(path))
        return Store(_create_engine(sa_url, echo), auto_upgrade=True)
    return Store(_create_engine(normalise_url(url), echo))


def normalise_url(url: str) -> URL:
    """Parse a store URL; PostgreSQL URLs use the psycopg 3 driver."""
    try:
        sa_url = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"not a database URL: {url!r} ({e})") from e
    backend = sa_url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return sa_url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return sa_url
    raise StoreError(
        f"unsupported store URL {sa_url.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def upgrade(store: Store, revision: str = "head") -> str | None:
    """Apply the migrations up to ``revision``; returns the revision the store is then at."""
    with _errors(store, "migrate"), store.engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
    store._at_head = False
    return store.revision()


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def _create_engine(url: URL, echo: bool) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, echo=echo)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return sa.create_engine(url, echo=echo, pool_pre_ping=True)
    except ModuleNotFoundError as e:  # psycopg is an optional dependency: slm[postgres]
        raise MissingExtraError("postgres", "a PostgreSQL store", e.name or "psycopg") from e


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
    finally:
        cursor.close()


@contextmanager
def _errors(store: Store, action: str) -> Iterator[None]:
    """Turn driver errors into ``StoreError``; our own errors pass through unchanged."""
    try:
        yield
    except SlmError:
        raise
    except CommandError as e:
        raise StoreError(f"could not {action} the store {store.url}: {e}") from e
    except IntegrityError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        raise StoreConflict(f"could not {action} the store {store.url}: {detail}") from e
    except SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        raise StoreError(f"could not {action} the store {store.url}: {detail}") from e
