"""Maps an SLI's metric source (its DataSource, or an inline type) to an adapter.

Supported types (case-insensitive): ``File`` (CSV/Parquet files, ``slm.sources.files``) and
``Store`` (series loaded with ``slm ingest``, ``slm.sources.store``). Other OpenSLO types
raise ``SourceError`` naming the type. The adapters satisfy
``slm.services.ports.MetricSource`` structurally (sources do not import services).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from slm.domain.errors import SourceError
from slm.domain.model import DataSource, MetricQuery
from slm.sources.files import FileCache, FileSource

if TYPE_CHECKING:  # adapters are imported when first used: a report from Prometheus
    # should not pay for SQLAlchemy, DuckDB or the probe runner at start-up
    from slm.sources.probes.source import ProbeSource
    from slm.sources.prometheus import PrometheusSource
    from slm.sources.sql import SqlConnections, SQLSource
    from slm.sources.store import StoreSource
    from slm.store.db import Store

SUPPORTED = ("File", "Store", "SQL", "Probe", "Prometheus")
_LATER: dict[str, str] = {}
"""Types we know are coming, with a word on when."""


_ADAPTERS: dict[str, tuple[str, ...]] = {
    "file": ("slm.sources.tabular",),
    "store": ("slm.sources.store",),
    "probe": ("slm.sources.probes.source",),
    "sql": ("slm.sources.sql",),
    "prometheus": ("slm.sources.prometheus",),
}


def load_adapters(kinds: Iterable[str]) -> None:
    """Import the adapters of these source types now (unknown types are left for
    ``for_query`` to refuse). A long-running process calls this before its first
    evaluation, so that a one-time import (pyarrow alone takes most of a second) is never
    counted against a source's read timeout."""
    for kind in sorted({k.lower() for k in kinds}):
        for module in _ADAPTERS.get(kind, ()):
            try:
                importlib.import_module(module)
            except ImportError:  # a missing optional extra is reported when the source is read
                continue


class SourceFactory:
    """Builds adapters; all ``File`` sources share one parse cache."""

    def __init__(self, *, store: Store | None = None, cache: FileCache | None = None):
        self.store = store
        self.cache = cache or FileCache()
        self._sql: SqlConnections | None = None
        # a DataSource's Prometheus source (its configuration parsed once), by identity
        self._prometheus: dict[int, tuple[DataSource, PrometheusSource]] = {}

    @property
    def sql(self) -> SqlConnections:
        """Engines and query results shared by SQL sources."""
        if self._sql is None:
            from slm.sources.sql import SqlConnections

            self._sql = SqlConnections()
        return self._sql

    def for_query(
        self, query: MetricQuery, datasource: DataSource | None
    ) -> FileSource | StoreSource | SQLSource | ProbeSource | PrometheusSource:
        if datasource is None and query.source is not None:
            raise SourceError(
                f"DataSource {query.source!r} is not defined: add a DataSource of that name "
                "(a metric source that names one cannot be read without it)"
            )
        kind = datasource.type if datasource is not None else query.source_type
        where = f"DataSource {datasource.name}" if datasource else "inline metric source"
        match kind.lower():
            case "file":
                return FileSource(datasource, self.cache)
            case "store":
                from slm.sources.store import StoreSource

                if self.store is None:
                    raise SourceError(f"{where}: type Store needs a store, and none is open")
                return StoreSource(self.store)
            case "probe":
                from slm.sources.probes.source import ProbeSource

                if self.store is None:
                    raise SourceError(
                        f"{where}: type Probe reads probe checks from the store; none is open"
                    )
                return ProbeSource(self.store)
            case "sql":
                from slm.sources.sql import SQLSource

                return SQLSource(datasource, self.sql)
            case "prometheus":
                from slm.sources.prometheus import prometheus_source

                if datasource is None:  # inline: the query's spec configures it
                    return prometheus_source(datasource, query)
                found = self._prometheus.get(id(datasource))
                if found is None or found[0] is not datasource:
                    # a DataSource's configuration does not depend on the query
                    found = (datasource, prometheus_source(datasource, query))
                    self._prometheus[id(datasource)] = found
                return found[1]
            case other:
                later = f" ({_LATER[other]})" if other in _LATER else ""
                raise SourceError(
                    f"{where}: metric source type {kind!r} is not supported yet{later}; "
                    f"supported types: {', '.join(SUPPORTED)}"
                )
