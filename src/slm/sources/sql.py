"""The ``SQL`` metric source: counts per bucket aggregated inside any SQLAlchemy database.

A DataSource of ``type: SQL`` names the database in ``connectionDetails.url`` (a SQLAlchemy
URL) or in the environment variable ``connectionDetails.urlFromEnv`` (so passwords stay out
of specs). A metric source gives ``spec.query``: SQL that receives the bind parameters

- ``:start`` / ``:end`` -- the range ``[start, end)`` as timezone-aware UTC timestamps,
- ``:start_epoch`` / ``:end_epoch`` -- the same range as integer Unix seconds,
- ``:bucket`` -- the bucket width in whole seconds,

and returns one row per bucket: a bucket-start column (``bucket`` unless
``spec.bucketColumn`` says otherwise) and one or more value columns. ``spec.column`` picks
the value column of this metric source (it may be left out when the query returns only one
value column). One query returning ``bucket, good, total`` therefore serves both roles of a
ratio SLI: the good and total metric sources give the same query text and ``column: good``
/ ``column: total``; the query runs once per evaluation range (results are shared).

Bucket starts may be timestamps with a zone, naive timestamps (read as UTC), dates
(midnight UTC), ISO 8601 strings or Unix seconds (numbers). Rows whose bucket start falls
in the same grid bucket are summed; a NULL value means "no data" for that row. The query
runs in a transaction that is rolled back: a source never writes. See docs/sql.md.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from slm.domain.errors import DataError, MissingExtraError, SourceError
from slm.domain.model import DataSource, Group, MetricQuery
from slm.domain.series import Buckets
from slm.sources.grid import FloatArray, IntArray, step_seconds, to_buckets, unix_seconds

SPEC_FIELDS = ("query", "column", "bucketColumn")
CONNECTION_FIELDS = ("url", "urlFromEnv")
DEFAULT_BUCKET_COLUMN = "bucket"
_FILE_DIALECTS = ("sqlite", "duckdb")


@dataclass
class _Result:
    """The rows one query returned, with parsed columns memoised by name."""

    keys: tuple[str, ...]
    rows: Sequence[Sequence[Any]]
    parsed: dict[tuple[str, str], tuple[IntArray, FloatArray]] = field(default_factory=dict)


class SqlConnections:
    """Engines by URL and recent query results, shared by every SQL source of a factory.

    Results are kept per (database, query, range, bucket) so that the good and total
    metric sources of one SLI that share a query cost one round trip. At most
    ``max_results`` results are kept (least recently used first out).
    """

    def __init__(self, max_results: int = 32):
        self._engines: dict[tuple[str, str], Engine] = {}
        self._results: OrderedDict[tuple[Any, ...], _Result] = OrderedDict()
        self._max = max_results
        self._lock = threading.Lock()
        self.queries = 0  # how many queries were actually sent

    def engine(self, url: URL, base_dir: str) -> Engine:
        key = (url.render_as_string(hide_password=False), base_dir)
        with self._lock:
            if key not in self._engines:
                self._engines[key] = _create_engine(url, base_dir)
            return self._engines[key]

    def result(self, key: tuple[Any, ...], run: Callable[[], _Result]) -> _Result:
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        result = run()
        with self._lock:
            self.queries += 1
            self._results[key] = result
            while len(self._results) > self._max:
                self._results.popitem(last=False)
        return result

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
            self._results.clear()


class SQLSource:
    """Reads ``spec.column`` of ``spec.query`` from the database of a ``SQL`` DataSource."""

    def __init__(self, datasource: DataSource | None, connections: SqlConnections | None = None):
        self.datasource = datasource
        self.connections = connections or SqlConnections()

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        label = self._label(query)
        _, column, bucket_column = _query_spec(query, label, inline=self.datasource is None)
        result = self._result(query, label, start, end, step)
        timestamps, values = _column(result, column, bucket_column, label)
        keep = ~np.isnan(values)
        return to_buckets(timestamps[keep], values[keep], start, end, step)

    def read_groups(
        self,
        query: MetricQuery,
        labels: tuple[str, ...],
        start: datetime,
        end: datetime,
        step: timedelta,
    ) -> dict[Group, Buckets]:
        """Per group of the values in the result's ``labels`` columns (``GroupedSource``);
        a NULL label is the empty value."""
        label = self._label(query)
        _, column, bucket_column = _query_spec(query, label, inline=self.datasource is None)
        result = self._result(query, label, start, end, step)
        where = []
        for name in labels:
            i = _index(result.keys, name)
            if i is None:
                raise DataError(
                    f"{label}: the query returned no column {name!r} to group by (columns: "
                    f"{', '.join(result.keys) or 'none'}); a grouped SLO needs a column per "
                    "grouping label"
                )
            where.append(i)
        timestamps, values = _column(result, column, bucket_column, label, exclude=labels)
        rows: dict[tuple[str, ...], list[int]] = {}
        for n, r in enumerate(result.rows):
            key = tuple("" if r[i] is None else str(r[i]) for i in where)
            rows.setdefault(key, []).append(n)
        out = {}
        for key, picked in sorted(rows.items()):
            idx = np.asarray(picked, dtype=np.int64)
            ts, vs = timestamps[idx], values[idx]
            keep = ~np.isnan(vs)
            group = tuple(zip(labels, key, strict=True))
            out[group] = to_buckets(ts[keep], vs[keep], start, end, step)
        return out

    def _result(
        self, query: MetricQuery, label: str, start: datetime, end: datetime, step: timedelta
    ) -> _Result:
        sql, _, _ = _query_spec(query, label, inline=self.datasource is None)
        url, base_dir = self._url(query, label)
        engine = self.connections.engine(url, base_dir)
        params = {
            "start": start.astimezone(UTC),
            "end": end.astimezone(UTC),
            "start_epoch": unix_seconds(start),
            "end_epoch": unix_seconds(end),
            "bucket": step_seconds(step),
        }
        key = (url.render_as_string(hide_password=False), base_dir, sql, start, end, step)
        return self.connections.result(key, lambda: _run(engine, sql, params, label))

    def _url(self, query: MetricQuery, label: str) -> tuple[URL, str]:
        if self.datasource is not None:
            details, base_dir = self.datasource.connection_details, self.datasource.base_dir
            where = "connectionDetails"
        else:
            details, base_dir, where = query.spec, query.base_dir, "spec"
        return resolve_url(details, base_dir, label, where), base_dir

    def _label(self, query: MetricQuery) -> str:
        name = self.datasource.name if self.datasource else query.source
        return f"DataSource {name}" if name else "inline SQL source"


def resolve_url(
    details: Mapping[str, Any], base_dir: str, label: str, where: str = "connectionDetails"
) -> URL:
    """The SQLAlchemy URL of ``url`` or ``urlFromEnv``; relative file paths of SQLite and
    DuckDB resolve against ``base_dir``; plain PostgreSQL URLs use psycopg 3."""
    literal, env = details.get("url"), details.get("urlFromEnv")
    if (literal is None) == (env is None):
        raise SourceError(f"{label}: a SQL source needs exactly one of {where}.url or .urlFromEnv")
    if env is not None:
        if not isinstance(env, str) or not env:
            raise SourceError(f"{label}: {where}.urlFromEnv must name an environment variable")
        text = os.environ.get(env)
        if not text:
            raise SourceError(f"{label}: environment variable {env} ({where}.urlFromEnv) is unset")
        shown = f"the URL in ${env}"
    else:
        if not isinstance(literal, str) or not literal:
            raise SourceError(f"{label}: {where}.url must be a SQLAlchemy URL")
        text, shown = literal, f"{where}.url"
    try:
        url = make_url(text)
    except ArgumentError:
        raise SourceError(f"{label}: {shown} is not a SQLAlchemy URL") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres") and "+" not in url.drivername:
        url = url.set(drivername="postgresql+psycopg")
    db = url.database
    if backend in _FILE_DIALECTS and db and db != ":memory:" and not Path(db).is_absolute():
        url = url.set(database=str(Path(base_dir) / db))
    return url


def _query_spec(query: MetricQuery, label: str, *, inline: bool) -> tuple[str, str | None, str]:
    allowed = SPEC_FIELDS + (CONNECTION_FIELDS if inline else ())
    unknown = sorted(set(query.spec) - set(allowed))
    if unknown:
        raise SourceError(
            f"{label}: unknown field spec.{unknown[0]} of a SQL metric source "
            f"(known: {', '.join(allowed)})"
        )
    sql = query.spec.get("query")
    if not isinstance(sql, str) or not sql.strip():
        raise SourceError(f"{label}: a SQL metric source needs spec.query (the SQL text)")
    column = query.spec.get("column")
    if column is not None and (not isinstance(column, str) or not column):
        raise SourceError(f"{label}: spec.column must name a column of the query's result")
    bucket = query.spec.get("bucketColumn", DEFAULT_BUCKET_COLUMN)
    if not isinstance(bucket, str) or not bucket:
        raise SourceError(f"{label}: spec.bucketColumn must name a column of the query's result")
    return sql, column, bucket


def _create_engine(url: URL, base_dir: str) -> Engine:
    shown = _shown(url)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "duckdb":
        search = str(Path(base_dir).resolve())
        kwargs["connect_args"] = {"config": {"file_search_path": search}}
    elif url.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    try:
        return sa.create_engine(url, **kwargs)
    except (ModuleNotFoundError, NoSuchModuleError) as e:
        # duckdb and psycopg are optional dependencies (slm[duckdb], slm[postgres]).
        extra = {"duckdb": "duckdb", "postgresql": "postgres"}.get(url.get_backend_name())
        if extra is not None:
            module = getattr(e, "name", None) or {"duckdb": "duckdb-engine"}.get(extra, "psycopg")
            raise MissingExtraError(extra, f"the SQL source {shown}", module) from e
        raise SourceError(
            f"no SQLAlchemy dialect for {url.drivername!r} ({shown}): install its driver"
        ) from None
    except (ArgumentError, ImportError) as e:
        raise SourceError(f"cannot use the database {shown}: {e}") from None


def _run(engine: Engine, sql: str, params: Mapping[str, Any], label: str) -> _Result:
    shown = _shown(engine.url)
    try:
        conn = engine.connect()
    except SQLAlchemyError as e:
        raise SourceError(f"{label}: cannot connect to {shown}: {_first_line(e)}") from None
    try:
        with conn:
            result = conn.execute(sa.text(sql), dict(params))
            if not result.returns_rows:
                raise SourceError(f"{label}: the query returned no rows (is it a SELECT?)")
            keys = tuple(str(k) for k in result.keys())  # noqa: SIM118 (a Result, not a dict)
            rows = result.all()
            conn.rollback()  # a source never writes
    except SQLAlchemyError as e:
        raise SourceError(f"{label}: the query failed on {shown}: {_first_line(e)}") from None
    return _Result(keys, rows)


def _shown(url: URL) -> str:
    """The URL for messages: password hidden, percent-escapes undone."""
    return unquote(url.render_as_string(hide_password=True))


def _first_line(e: SQLAlchemyError) -> str:
    orig = getattr(e, "orig", None)
    text = str(orig if orig is not None else e).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(e).__name__


def _index(keys: Sequence[str], name: str) -> int | None:
    lowered = [k.lower() for k in keys]
    if name in keys:
        return keys.index(name)
    return lowered.index(name.lower()) if name.lower() in lowered else None


def _column(
    result: _Result,
    column: str | None,
    bucket_column: str,
    label: str,
    exclude: Sequence[str] = (),
) -> tuple[IntArray, FloatArray]:
    """(bucket starts as Unix seconds, values with NaN for NULL) of one result column."""
    names = ", ".join(result.keys) or "none"
    b = _index(result.keys, bucket_column)
    if b is None:
        raise SourceError(
            f"{label}: the query returned no column {bucket_column!r} "
            f"(columns: {names}); name the bucket start column {bucket_column!r} "
            "or set spec.bucketColumn"
        )
    if column is None:
        skip = {x.lower() for x in exclude}
        others = [k for i, k in enumerate(result.keys) if i != b and k.lower() not in skip]
        if len(others) != 1:
            raise SourceError(
                f"{label}: the query returned the value columns {', '.join(others) or 'none'}; "
                "set spec.column to the one this metric source reads"
            )
        column = others[0]
    c = _index(result.keys, column)
    if c is None or c == b:
        raise SourceError(f"{label}: the query returned no column {column!r} (columns: {names})")
    cache_key = (result.keys[b], result.keys[c])
    if cache_key not in result.parsed:
        starts = np.fromiter(
            (_epoch(r[b], i, result.keys[b], label) for i, r in enumerate(result.rows, 1)),
            dtype=np.int64,
            count=len(result.rows),
        )
        values = np.fromiter(
            (_number(r[c], i, result.keys[c], label) for i, r in enumerate(result.rows, 1)),
            dtype=np.float64,
            count=len(result.rows),
        )
        result.parsed[cache_key] = (starts, values)
    return result.parsed[cache_key]


def _epoch(value: Any, row: int, column: str, label: str) -> int:
    """A bucket start as Unix seconds (floored); naive timestamps are UTC."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return math.floor(aware.timestamp())
    if isinstance(value, date):
        return math.floor(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return math.floor(number)
    if isinstance(value, str):
        try:
            return _epoch(datetime.fromisoformat(value.strip()), row, column, label)
        except ValueError:
            pass
    shown = "NULL" if value is None else f"{type(value).__name__} {value!r}"
    raise DataError(
        f"{label}: row {row}, column {column}: the bucket start must be a timestamp or "
        f"Unix seconds, not {shown}"
    )


def _number(value: Any, row: int, column: str, label: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = float(value)
        if not math.isnan(number):
            return number
    raise DataError(
        f"{label}: row {row}, column {column}: expected a number, "
        f"not {type(value).__name__} {value!r}"
    )
