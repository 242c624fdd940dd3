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
from slm.sources.store import StoreSource
from slm.store.db import Store

SUPPORTED = ("File", "Store")
_LATER = {
    "prometheus": "Prometheus sources arrive with the measurement work (PromQL over HTTP)",
}
"""Types we know are coming, with a word on when."""


class SourceFactory:
    """Builds adapters; all ``File`` sources share one parse cache."""

    def __init__(self, *, store: Store | None = None, cache: FileCache | None = None):
        self.store = store
        self.cache = cache or FileCache()

    def for_query(
        self, query: MetricQuery, datasource: DataSource | None
    ) -> FileSource | StoreSource:
        kind = datasource.type if datasource is not None else query.source_type
        where = f"DataSource {datasource.name}" if datasource else "inline metric source"
        match kind.lower():
            case "file":
                return FileSource(datasource, self.cache)
            case "store":
                if self.store is None:
                    raise SourceError(f"{where}: type Store needs a store, and none is open")
                return StoreSource(self.store)
            case other:
                later = f" ({_LATER[other]})" if other in _LATER else ""
                raise SourceError(
                    f"{where}: metric source type {kind!r} is not supported yet{later}; "
                    f"supported types: {', '.join(SUPPORTED)}"
                )
