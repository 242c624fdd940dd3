"""Spec documents, versioned by text: a new version only when the text of (kind, name) changes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from slm.store.schema import spec_documents as t


@dataclass(frozen=True)
class SpecDocument:
    """One YAML document as read from a spec file (``text`` is that document's source)."""

    api_version: str
    kind: str
    name: str
    path: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SavedSpec:
    kind: str
    name: str
    version: int
    changed: bool


@dataclass(frozen=True)
class StoredSpec:
    api_version: str
    kind: str
    name: str
    version: int
    path: str
    sha256: str
    text: str
    created_at: datetime


class SpecRepository:
    def __init__(self, connection: Connection):
        self._conn = connection

    def save(
        self, documents: Iterable[SpecDocument], *, at: datetime | None = None
    ) -> list[SavedSpec]:
        """Store each document; a new version only when its text differs from the latest."""
        created = at or datetime.now(UTC)
        saved = []
        for doc in documents:
            latest = self.latest(doc.kind, doc.name)
            if latest is not None and latest.sha256 == doc.sha256:
                saved.append(SavedSpec(doc.kind, doc.name, latest.version, changed=False))
                continue
            version = 1 if latest is None else latest.version + 1
            self._conn.execute(
                t.insert().values(
                    api_version=doc.api_version,
                    kind=doc.kind,
                    name=doc.name,
                    version=version,
                    path=doc.path,
                    sha256=doc.sha256,
                    text=doc.text,
                    created_at=created,
                )
            )
            saved.append(SavedSpec(doc.kind, doc.name, version, changed=True))
        return saved

    def latest(self, kind: str, name: str) -> StoredSpec | None:
        row = self._conn.execute(
            sa.select(t)
            .where(t.c.kind == kind, t.c.name == name)
            .order_by(t.c.version.desc())
            .limit(1)
        ).first()
        return None if row is None else _stored(row)

    def history(self, kind: str, name: str) -> list[StoredSpec]:
        """Every version of (kind, name), oldest first."""
        rows = self._conn.execute(
            sa.select(t).where(t.c.kind == kind, t.c.name == name).order_by(t.c.version)
        )
        return [_stored(r) for r in rows]


def _stored(row: sa.Row[tuple[object, ...]]) -> StoredSpec:
    m = row._mapping
    return StoredSpec(
        api_version=m["api_version"],
        kind=m["kind"],
        name=m["name"],
        version=m["version"],
        path=m["path"],
        sha256=m["sha256"],
        text=m["text"],
        created_at=m["created_at"],
    )
