"""The one reading path: every use case reads an indicator's measurements through it.

``SourceReader`` is the reader (the ``Reader`` port of ``services/ports.py``): it finds a
query's DataSource in the workspace, builds its adapter through the ``SourceFactory``,
reads buckets on its step grid, and holds what it read by ``MetricQuery.key``. A span that
lies inside one already held is sliced from it, so a use case that asks for the same query
over several spans (an SLO's window and its alert windows, a report's windows, a composite's
window after its SLO's evaluation) reads the source once. An error is labelled once, here,
with the source it came from (``DataSource NAME (TYPE): ...`` or ``inline TYPE source:
...``); an error that a source already labelled is left as it is.

Cross-cutting concerns wrap a reader and are readers themselves (``ReaderDecorator``):
``BucketCached`` (the serve loop's cache across evaluations, ``sources/bucket_cache.py``),
``provenance.Traced`` (what the serve loop stores with each evaluation) and
``statements.InputHashing`` (the inputs a statement records).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slm.domain.errors import DataError, SlmError, SourceError
from slm.domain.model import DataSource, Group, MetricQuery
from slm.domain.series import DEFAULT_STEP, Buckets
from slm.services.ports import GroupedSource, MetricSource, Reader, SourceFactory
from slm.sources.bucket_cache import BucketCache
from slm.spec.workspace import Workspace

log = logging.getLogger("slm.reading")


class SourceReader:
    """Reads metric queries of ``ws`` through ``factory`` on ``step`` buckets, once each."""

    def __init__(self, ws: Workspace, factory: SourceFactory, step: timedelta = DEFAULT_STEP):
        self.ws, self.factory, self._step = ws, factory, step
        self._held: dict[str, list[Buckets]] = {}
        self._groups: dict[tuple[str, tuple[str, ...]], list[tuple[Buckets, dict[Group, Buckets]]]]
        self._groups = {}

    @property
    def step(self) -> timedelta:
        return self._step

    def datasource(self, query: MetricQuery) -> DataSource | None:
        return self.ws.datasources.get(query.source) if query.source else None

    def source_type(self, query: MetricQuery) -> str:
        ds = self.datasource(query)
        return ds.type if ds is not None else query.source_type

    def label(self, query: MetricQuery) -> str:
        """Which source a query reads, as errors name it."""
        ds = self.datasource(query)
        kind = self.source_type(query)
        return f"DataSource {ds.name} ({kind})" if ds is not None else f"inline {kind} source"

    def source(self, query: MetricQuery) -> MetricSource:
        """The adapter of ``query`` (for its optional ports, e.g. ``WindowSource``)."""
        with self._labelled(query):
            return self.factory.for_query(query, self.datasource(query))

    def read(self, query: MetricQuery, start: datetime, end: datetime) -> Buckets:
        held = self._held.setdefault(query.key, [])
        for b in held:
            inside = _sub_span(b, start, end, self._step)
            if inside is not None:
                return inside
        with self._labelled(query):
            source = self.factory.for_query(query, self.datasource(query))
            got = source.read(query, start, end, self._step)
        held.append(got)
        return got

    def read_groups(
        self, query: MetricQuery, labels: tuple[str, ...], start: datetime, end: datetime
    ) -> dict[Group, Buckets]:
        """``query``'s buckets per group of ``labels`` (a grouped SLO); a source without
        the ``GroupedSource`` port is refused, never summed across groups."""
        held = self._groups.setdefault((query.key, labels), [])
        for span, groups in held:
            if _sub_span(span, start, end, self._step) is not None:
                return {
                    g: b2
                    for g, b in groups.items()
                    if (b2 := _sub_span(b, start, end, self._step)) is not None
                }
        with self._labelled(query):
            source = self.factory.for_query(query, self.datasource(query))
            if not isinstance(source, GroupedSource):
                raise DataError(
                    f"a {self.source_type(query)} source cannot tell groups apart: a grouped "
                    f"SLO (by {', '.join(labels)}) needs Prometheus, or File or SQL data "
                    "with a column per grouping label"
                )
            got = source.read_groups(query, labels, start, end, self._step)
        held.append((Buckets.empty(start, end, self._step), got))
        return got

    def held(self) -> list[Buckets]:
        """Everything read so far (to say when retention roll-ups stood in)."""
        return [b for spans in self._held.values() for b in spans]

    def _labelled(self, query: MetricQuery) -> _Labelled:
        return _Labelled(self.label(query))


class _Labelled:
    """Re-raises a source's error with the source's label (once)."""

    def __init__(self, label: str):
        self.label = label

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: object
    ) -> None:
        if e is None or not isinstance(e, Exception):
            return
        if isinstance(e, SourceError | DataError):
            text = str(e)
            if text.startswith(("DataSource ", "inline ")):
                return
            raise type(e)(f"{self.label}: {text}") from e
        if isinstance(e, SlmError):  # e.g. a missing optional extra: its own exit code
            return
        # an adapter bug or a library error: still only the SLOs that read this source
        log.debug("read failed for %s", self.label, exc_info=True)
        raise SourceError(f"{self.label}: {type(e).__name__}: {e}") from e


def _sub_span(b: Buckets, start: datetime, end: datetime, step: timedelta) -> Buckets | None:
    """``[start, end)`` sliced from ``b`` when it lies inside on the same grid."""
    if b.step != step or start < b.start or end > b.end:
        return None
    if start == b.start and end == b.end:
        return b
    offset, misaligned = divmod(start - b.start, step)
    length, partial = divmod(end - start, step)
    if misaligned or partial:
        return None
    cut = slice(offset, offset + length)
    return Buckets(start, step, b.values[cut], b.present[cut])


class ReaderDecorator:
    """A reader that wraps another (the same port); subclasses override ``read``."""

    def __init__(self, inner: Reader):
        self.inner = inner

    @property
    def step(self) -> timedelta:
        return self.inner.step

    def datasource(self, query: MetricQuery) -> DataSource | None:
        return self.inner.datasource(query)

    def source_type(self, query: MetricQuery) -> str:
        return self.inner.source_type(query)

    def label(self, query: MetricQuery) -> str:
        return self.inner.label(query)

    def read(self, query: MetricQuery, start: datetime, end: datetime) -> Buckets:
        return self.inner.read(query, start, end)

    def read_groups(
        self, query: MetricQuery, labels: tuple[str, ...], start: datetime, end: datetime
    ) -> dict[Group, Buckets]:
        return self.inner.read_groups(query, labels, start, end)


class BucketCached(ReaderDecorator):
    """Reads of the given source types go through a ``BucketCache`` kept between
    evaluations (``slm serve``): only the recent tail of a span is read again. Reads per
    group (grouped SLOs) are not kept: they go to the reader it wraps."""

    def __init__(self, inner: Reader, cache: BucketCache, types: tuple[str, ...] = ("prometheus",)):
        super().__init__(inner)
        self.cache, self.types = cache, tuple(t.lower() for t in types)

    def read(self, query: MetricQuery, start: datetime, end: datetime) -> Buckets:
        if self.source_type(query).lower() not in self.types:
            return self.inner.read(query, start, end)
        return self.cache.read(_OnGrid(self.inner), query, start, end, self.step)


class _OnGrid:
    """A reader seen as a ``MetricSource`` (the bucket cache's side of it)."""

    def __init__(self, reader: Reader):
        self.reader = reader

    def read(self, query: MetricQuery, start: datetime, end: datetime, step: timedelta) -> Buckets:
        if step != self.reader.step:
            raise ValueError(f"read on a {step} grid from a reader of {self.reader.step}")
        return self.reader.read(query, start, end)
