"""The File metric source: path resolution, grid aggregation and the parse cache."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from slm.domain.errors import DataError, SourceError
from slm.domain.model import DataSource, MetricQuery
from slm.domain.series import Buckets
from slm.sources.factory import SourceFactory
from slm.sources.fake import FakeSource
from slm.sources.files import FileCache, FileSource
from slm.sources.store import StoreSource
from slm.store.db import Store

T0 = datetime(2026, 10, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
CSV = (
    "timestamp,series,value\n"
    "2026-10-01T02:00:00+02:00,good,9\n"
    "2026-10-01T00:01:00Z,good,8\n"
    "2026-10-01T00:01:30Z,good,1\n"
    "2026-10-01T00:04:00Z,good,7\n"
    "2026-10-01T00:00:00Z,total,10\n"
)


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shop.csv").write_text(CSV)
    return tmp_path


def _datasource(spec_dir: Path, path: str = "data/shop.csv") -> DataSource:
    return DataSource("shop", "File", {"path": path}, base_dir=str(spec_dir))


def _query(series: str, **spec: str) -> MetricQuery:
    return MetricQuery("shop", "File", {"series": series, **spec})


@pytest.mark.parametrize(
    ("step", "n", "values", "present"),
    [
        pytest.param(MIN, 5, [9, 9, 0, 0, 7], [1, 1, 0, 0, 1], id="one-minute"),
        pytest.param(2 * MIN, 3, [18, 0, 7], [1, 0, 1], id="two-minutes"),
    ],
)
def test_file_source_reads_a_series_on_the_grid(
    spec_dir: Path, step: timedelta, n: int, values: list[float], present: list[int]
) -> None:
    source = SourceFactory().for_query(_query("good"), _datasource(spec_dir))
    got = source.read(_query("good"), T0, T0 + n * step, step)
    assert got.values.tolist() == values
    assert got.present.tolist() == [bool(p) for p in present]


def test_many_sources_share_one_parse_per_file(spec_dir: Path) -> None:
    factory = SourceFactory()
    for series in ["good", "total", "good"]:
        source = factory.for_query(_query(series), _datasource(spec_dir))
        source.read(_query(series), T0, T0 + 5 * MIN, MIN)
    assert factory.cache.parses == 1


def test_a_changed_file_is_parsed_again(spec_dir: Path) -> None:
    cache = FileCache()
    source = FileSource(_datasource(spec_dir), cache)
    source.read(_query("total"), T0, T0 + MIN, MIN)
    path = spec_dir / "data" / "shop.csv"
    path.write_text(CSV.replace("total,10", "total,11"))
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000))
    assert source.read(_query("total"), T0, T0 + MIN, MIN).values.tolist() == [11.0]
    assert cache.parses == 2


def test_inline_path_is_relative_to_the_query(spec_dir: Path) -> None:
    query = MetricQuery(
        None, "File", {"series": "total", "path": "shop.csv"}, base_dir=str(spec_dir / "data")
    )
    source = SourceFactory().for_query(query, None)
    assert source.read(query, T0, T0 + MIN, MIN).values.tolist() == [10.0]


@pytest.mark.parametrize(
    ("datasource_path", "query", "error", "message"),
    [
        pytest.param(
            "data/shop.csv", _query("bad"), SourceError, "no series 'bad'", id="unknown-series"
        ),
        pytest.param(
            "data/shop.csv",
            MetricQuery("shop", "File", {}),
            SourceError,
            "spec.series must name",
            id="no-series",
        ),
        pytest.param("", _query("good"), SourceError, "needs connectionDetails.path", id="no-path"),
        pytest.param(
            "data/none.csv", _query("good"), SourceError, "cannot read", id="missing-file"
        ),
        pytest.param(
            "data/bad.csv", _query("good"), DataError, r"bad\.csv:3: column 'value'", id="bad-row"
        ),
    ],
)
def test_file_source_errors(
    spec_dir: Path,
    datasource_path: str,
    query: MetricQuery,
    error: type[Exception],
    message: str,
) -> None:
    (spec_dir / "data" / "bad.csv").write_text(CSV.replace("good,8", "good,x"))
    source = FileSource(_datasource(spec_dir, datasource_path))
    with pytest.raises(error, match=message):
        source.read(query, T0, T0 + MIN, MIN)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        pytest.param(
            "Prometheus",
            "DataSource/m: spec.connectionDetails.url: required field missing",
            id="prometheus-without-url",
        ),
        pytest.param(
            "Datadog",
            "type 'Datadog' is not supported yet; supported types: File, Store",
            id="unknown-type",
        ),
        pytest.param("Store", "type Store needs a store", id="store-without-store"),
    ],
)
def test_factory_refuses_unsupported_types(kind: str, message: str) -> None:
    datasource = DataSource("m", kind)
    with pytest.raises(SourceError, match=message.replace("(", r"\(")):
        SourceFactory().for_query(_query("x"), datasource)


@pytest.mark.parametrize(
    ("kind", "adapter"),
    [
        pytest.param("File", FileSource, id="file"),
        pytest.param("file", FileSource, id="case-insensitive"),
        pytest.param("Store", StoreSource, id="store"),
    ],
)
def test_factory_picks_the_adapter(tmp_path: Path, kind: str, adapter: type) -> None:
    factory = SourceFactory(store=Store.__new__(Store))
    assert isinstance(factory.for_query(MetricQuery(None, kind, {}), None), adapter)


def test_fake_source_regrids_its_buckets() -> None:
    stored = Buckets(T0, MIN, np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, True, False, True]))
    fake = FakeSource({"s": stored})
    got = fake.read(_query("s"), T0 - 2 * MIN, T0 + 4 * MIN, 2 * MIN)
    assert got.values.tolist() == [0.0, 3.0, 4.0]
    assert got.present.tolist() == [False, True, True]
    assert fake.reads == [("s", T0 - 2 * MIN, T0 + 4 * MIN, 2 * MIN)]
    with pytest.raises(SourceError):
        fake.read(_query("nope"), T0, T0 + MIN, MIN)
