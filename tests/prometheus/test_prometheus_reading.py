"""``slm serve`` reads through one reader with the bucket cache as a decorator: against the
real Prometheus, its evaluations equal ``slm evaluate``'s while only the recent tail of each
query is asked again."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prom_helpers import END, History

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "consistency"))

from consistency_helpers import evaluated
from test_prometheus_consistency import SPEC

from slm.services.ports import FixedClock
from slm.services.scheduler import EvaluationLoop, IsolatedSources, LoopSettings
from slm.services.status import StatusBoard
from slm.sources.bucket_cache import BucketCache
from slm.sources.factory import SourceFactory
from slm.spec.loader import load_workspace
from slm.store.db import Store, open_store, upgrade

MIN = timedelta(minutes=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'serve.db'}", tmp_path)
    upgrade(s)
    yield s
    s.close()


def test_serve_evaluations_through_the_cached_reader_equal_evaluate(
    history: History, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "prom.yaml"
    path.write_text(SPEC.format(url=history.url), encoding="utf-8")
    ws = load_workspace([path])
    at = END - timedelta(hours=5, minutes=3)
    want = evaluated(ws, at, SourceFactory())
    settings = LoopSettings()
    board = StatusBoard.of(
        ws.slos, {n: settings.default_interval for n in ws.slos}, settings.source_timeout
    )
    cache = BucketCache()
    loop = EvaluationLoop(
        ws,
        IsolatedSources(SourceFactory),
        store,
        board,
        clock=FixedClock(at),
        settings=settings,
        rng=random.Random(1),
        cache=cache,
    )
    try:
        for name, slo in sorted(ws.slos.items()):
            loop.compute(slo, at - 7 * MIN)
            computed = loop.compute(slo, at)
            assert computed.results
            for r in computed.results:
                assert r == want[(name, r.objective)], name
            (p,) = computed.provenance[:1]
            assert p["queries"] and all(q["datasource"] == "prom" for q in p["queries"])
    finally:
        loop._writer.shutdown(wait=True)
    # each SLO's first evaluation reads its two queries whole (it ends before what the SLO
    # before it left in the cache), its second only the tail; look-ahead reads pass through
    s = cache.stats
    assert (s.full_reads, s.partial_reads, s.bypassed) == (8, 8, 16)
