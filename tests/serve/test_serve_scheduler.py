"""The evaluation loop with fake sources: success, failure and backoff, timeouts, intervals."""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import store_workspace

from slm.domain.errors import SourceError, SpecError
from slm.domain.model import DataSource, MetricQuery
from slm.domain.series import Buckets
from slm.services.evaluate import evaluate_slo
from slm.services.ports import FixedClock
from slm.services.scheduler import (
    EvaluationLoop,
    IsolatedSources,
    LoopSettings,
    evaluation_intervals,
)
from slm.services.status import StatusBoard
from slm.sources.fake import FakeSource
from slm.spec.loader import load_workspace
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.history import HistoryRepository

AT = datetime(2026, 11, 1, tzinfo=UTC)
NAME = "api-availability"


def series(good: float) -> dict[str, Buckets]:
    start = AT - timedelta(days=3)
    n = 3 * 1440
    present = np.ones(n, dtype=bool)
    return {
        "api_availability_total": Buckets(start, timedelta(minutes=1), np.full(n, 10.0), present),
        "api_availability_good": Buckets(start, timedelta(minutes=1), np.full(n, good), present),
    }


class Switchable:
    """A SourceFactory whose source can fail, hang or answer."""

    def __init__(self, source: FakeSource):
        self.source = source
        self.error: Exception | None = None
        self.gate: threading.Event | None = None

    def for_query(self, query: MetricQuery, datasource: DataSource | None) -> FakeSource:
        if self.gate is not None:
            self.gate.wait(10)
        if self.error is not None:
            raise self.error
        return self.source


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return load_workspace([store_workspace(tmp_path)])


def make_loop(
    ws: Workspace, store: Store, factory: Switchable, **settings: object
) -> EvaluationLoop:
    s = LoopSettings(**settings)  # type: ignore[arg-type]
    board = StatusBoard.of(ws.slos, evaluation_intervals(ws, s.default_interval), s.source_timeout)
    return EvaluationLoop(
        ws, factory, store, board, clock=FixedClock(AT), settings=s, rng=random.Random(7)
    )


def test_an_attempt_records_the_engine_result_with_provenance(ws: Workspace, store: Store) -> None:
    source = FakeSource(series(9.0))
    loop = make_loop(ws, store, Switchable(source))
    asyncio.run(loop.attempt(NAME))
    state = loop.board.get(NAME)
    assert state is not None and state.error is None and state.successes == 1
    want = evaluate_slo(ws.slos[NAME], AT, lambda q, s, e: source.read(q, s, e, q_step()))
    assert [r.sli for r in state.results] == [w.sli for w in want] == [0.9]
    with store.transaction() as repos:
        rows = HistoryRepository(repos.connection).rows(NAME)
    assert len(rows) == 1 and rows[0].sli == 0.9
    assert rows[0].provenance is not None
    assert {q["role"] for q in rows[0].provenance["queries"]} == {"good", "total"}


def q_step() -> timedelta:
    return timedelta(minutes=1)


def test_a_failure_keeps_the_last_results_and_marks_the_slo_stale(
    ws: Workspace, store: Store
) -> None:
    factory = Switchable(FakeSource(series(10.0)))
    loop = make_loop(ws, store, factory)
    asyncio.run(loop.attempt(NAME))
    factory.error = SourceError("backend down")
    asyncio.run(loop.attempt(NAME))
    asyncio.run(loop.attempt(NAME))
    state = loop.board.get(NAME)
    assert state is not None
    assert state.error is not None and "backend down" in state.error
    assert state.is_stale(AT)  # stale however recent: the last attempt failed
    assert (state.consecutive_failures, state.failures, state.successes) == (2, 2, 1)
    assert [r.sli for r in state.results] == [1.0]
    factory.error = None
    asyncio.run(loop.attempt(NAME))
    state = loop.board.get(NAME)
    assert state is not None and state.error is None and state.consecutive_failures == 0


def test_an_unexpected_exception_is_contained(ws: Workspace, store: Store) -> None:
    factory = Switchable(FakeSource(series(10.0)))
    factory.error = ZeroDivisionError("oops")
    loop = make_loop(ws, store, factory)
    asyncio.run(loop.attempt(NAME))
    state = loop.board.get(NAME)
    assert state is not None and state.error is not None and "ZeroDivisionError" in state.error


def test_a_hung_source_times_out_and_is_not_started_twice(ws: Workspace, store: Store) -> None:
    factory = Switchable(FakeSource(series(10.0)))
    factory.gate = threading.Event()
    loop = make_loop(ws, store, factory, source_timeout=timedelta(milliseconds=200))

    async def scenario() -> None:
        await loop.attempt(NAME)
        state = loop.board.get(NAME)
        assert state is not None and state.error is not None and "timed out" in state.error
        assert loop._busy(NAME)
        loop._due[NAME] = 0.0
        await loop.tick()
        assert not loop._tasks  # still hung: no second attempt
        assert factory.gate is not None
        factory.gate.set()
        for _ in range(100):
            if not loop._busy(NAME):
                break
            await asyncio.sleep(0.01)
        await loop.tick()
        await loop.drain()

    asyncio.run(scenario())
    state = loop.board.get(NAME)
    assert state is not None and state.error is None and state.successes == 1


@pytest.mark.parametrize("failures", [1, 2, 3, 5, 8, 20])
def test_backoff_grows_with_jitter_and_is_capped(
    ws: Workspace, store: Store, failures: int
) -> None:
    loop = make_loop(
        ws,
        store,
        Switchable(FakeSource({})),
        retry_base=timedelta(seconds=2),
        retry_max=timedelta(seconds=30),
    )
    interval = timedelta(minutes=1)
    cap = min(2 * 2 ** (failures - 1), 30)
    delays = {loop.backoff(failures, interval).total_seconds() for _ in range(50)}
    assert all(cap * 0.5 <= d <= cap for d in delays)
    assert len(delays) > 1  # jittered
    assert loop.backoff(30, timedelta(seconds=5)) <= timedelta(seconds=5)


def test_isolated_sources_build_one_factory_per_datasource() -> None:
    made: list[Switchable] = []

    def make() -> Switchable:
        made.append(Switchable(FakeSource({})))
        return made[-1]

    sources = IsolatedSources(make)
    q = MetricQuery("a", "Store", {"series": "x"})
    a, b = DataSource("a", "Store"), DataSource("b", "Store")
    sources.for_query(q, a)
    sources.for_query(q, a)
    sources.for_query(q, b)
    assert len(made) == 2


def test_intervals_come_from_the_annotation_or_the_default(tmp_path: Path) -> None:
    ws = load_workspace([store_workspace(tmp_path, interval="45s")])
    assert evaluation_intervals(ws, timedelta(minutes=1)) == {NAME: timedelta(seconds=45)}
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(SpecError) as e:  # slm validate refuses it (issue 11) ...
        load_workspace([store_workspace(other, interval="0s")])
    (problem,) = e.value.problems
    assert problem.field == "metadata.annotations.slm.dev/evaluation-interval"
    # ... and the scheduler still guards a workspace built otherwise
    slo = ws.slos[NAME]
    ws.slos[NAME] = replace(
        slo, annotations={**slo.annotations, "slm.dev/evaluation-interval": "0s"}
    )
    with pytest.raises(SpecError) as e:
        evaluation_intervals(ws, timedelta(minutes=1))
    (problem,) = e.value.problems
    assert problem.path.endswith("api-availability.yaml") and problem.line is not None
    assert problem.field == "metadata.annotations.slm.dev/evaluation-interval"


def test_mis_shaped_data_fails_the_slo_with_the_engine_message(ws: Workspace, store: Store) -> None:
    loop = make_loop(ws, store, Switchable(FakeSource(series(11.0))))  # good > total
    asyncio.run(loop.attempt(NAME))
    state = loop.board.get(NAME)
    assert state is not None and state.results == ()
    assert state.error is not None and state.error.startswith("cannot evaluate: good > total")
