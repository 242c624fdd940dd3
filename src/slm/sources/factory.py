"""Maps an SLI's metric source (its DataSource, or an inline type) to an adapter.

Supported types (case-insensitive): ``File`` (CSV/Parquet files, ``slm.sources.files``) and
``Store`` (series loaded with ``slm ingest``, ``slm.sources.store``). Other OpenSLO types
raise ``SourceError`` naming the type. The adapters satisfy
``slm.services.ports.MetricSource`` structurally (sources do not import services).
"""

from __future__ import annotations

from slm.domain.errors import SourceError
from slm.domain.model import DataSource, MetricQuery
from slm.sources.files import FileCache, FileSource
from slm.sources.probes.source import ProbeSource
from slm.sources.prometheus import PrometheusSource, prometheus_source
from slm.sources.sql import SqlConnections, SQLSource
from slm.sources.store import StoreSource
from slm.store.db import Store

SUPPORTED = ("File", "Store", "SQL", "Probe", "Prometheus")
_LATER: dict[str, str] = {}
"""Types we know are coming, with a word on when."""


class SourceFactory:
    """Builds adapters; all ``File`` sources share one parse cache."""

    def __init__(self, *, store: Store | None = None, cache: FileCache | None = None):
        self.store = store
        self.cache = cache or FileCache()
        self.sql = SqlConnections()  # engines and query results shared by SQL sources

    def for_query(
        self, query: MetricQuery, datasource: DataSource | None
    ) -> FileSource | StoreSource | SQLSource | ProbeSource | PrometheusSource:
        kind = datasource.type if datasource is not None else query.source_type
        where = f"DataSource {datasource.name}" if datasource else "inline metric source"
        match kind.lower():
            case "file":
                return FileSource(datasource, self.cache)
            case "store":
                if self.store is None:
                    raise SourceError(f"{where}: type Store needs a store, and none is open")
                return StoreSource(self.store)
            case "probe":
                if self.store is None:
                    raise SourceError(
                        f"{where}: type Probe reads probe checks from the store; none is open"
                    )
                return ProbeSource(self.store)
            case "sql":
                return SQLSource(datasource, self.sql)
            case "prometheus":
                return prometheus_source(datasource, query)
            case other:
                later = f" ({_LATER[other]})" if other in _LATER else ""
                raise SourceError(
                    f"{where}: metric source type {kind!r} is not supported yet{later}; "
                    f"supported types: {', '.join(SUPPORTED)}"
                )
