"""The probe scheduler: concurrent, bounded by timeouts, jittered, stoppable, never stuck.

Unit tests drive it with checkers behind the ``Checker`` port; the last test runs real
probes against the loopback HTTP server into a real store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from probe_servers import ProbeHTTPServer

from slm.domain.errors import StoreError
from slm.domain.probe import CheckResult, HttpCheck, HttpRequest, Probe, TcpCheck
from slm.services.ports import Clock, FixedClock
from slm.services.probing import SchedulerStats, run_once, run_scheduler
from slm.store.db import open_store
from slm.store.probes import ProbeRepository

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def probe(name: str, interval: float = 0.05, timeout: float = 0.05) -> Probe:
    return Probe(
        name,
        TcpCheck("127.0.0.1", 1),
        interval=timedelta(seconds=interval),
        timeout=timedelta(seconds=timeout),
    )


async def fake_check(p: Probe, clock: Clock) -> CheckResult:
    if p.name.startswith("stuck"):
        await asyncio.Event().wait()  # ignores its timeout: the scheduler must cut it off
    await asyncio.sleep(0)
    return CheckResult(p.name, p.location, clock.now(), 0.001, True)


class Recorder:
    def __init__(self, fail_first: int = 0):
        self.batches: list[list[CheckResult]] = []
        self.fail_first = fail_first

    def __call__(self, batch: Sequence[CheckResult]) -> int:
        if self.fail_first:
            self.fail_first -= 1
            raise StoreError("database is locked")
        self.batches.append(list(batch))
        return len(batch)

    @property
    def results(self) -> list[CheckResult]:
        return [r for b in self.batches for r in b]


def scheduler(
    probes: Sequence[Probe],
    until: Callable[[list[CheckResult]], bool],
    record: Recorder,
    **kw: object,
) -> tuple[SchedulerStats, list[CheckResult]]:
    seen: list[CheckResult] = []

    async def main() -> SchedulerStats:
        stop = asyncio.Event()

        def on_result(r: CheckResult) -> None:
            seen.append(r)
            if until(seen):
                stop.set()

        stats = await asyncio.wait_for(
            run_scheduler(
                probes,
                None,
                stop,
                FixedClock(AT),
                checker=fake_check,
                record=record,
                on_result=on_result,
                **kw,  # type: ignore[arg-type]
            ),
            timeout=30,
        )
        assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing left running
        return stats

    return asyncio.run(main()), seen


def test_a_stuck_probe_times_out_without_holding_up_the_others() -> None:
    probes = [probe(f"fast-{i}") for i in range(20)] + [probe("stuck", interval=0.2)]
    record = Recorder()
    stats, seen = scheduler(
        probes,
        lambda seen: sum(r.probe == "stuck" for r in seen) >= 2,
        record,
        grace=timedelta(milliseconds=100),
    )
    stuck = [r for r in seen if r.probe == "stuck"]
    assert [r.reason for r in stuck] == ["timeout after 50ms"] * 2
    assert not any(r.success for r in stuck)
    first_stuck = seen.index(stuck[0])
    assert {r.probe for r in seen[:first_stuck]} == {f"fast-{i}" for i in range(20)}
    assert stats.checks == len(seen) == stats.recorded == len(record.results)


def test_stop_stores_every_result_already_checked() -> None:
    record = Recorder()
    stats, seen = scheduler([probe(f"p{i}") for i in range(5)], lambda s: len(s) >= 25, record)
    assert record.results == seen
    assert (stats.checks, stats.recorded, stats.dropped) == (len(seen), len(seen), 0)


def test_a_failing_store_is_retried_and_reported() -> None:
    record, errors = Recorder(fail_first=2), list[Exception]()
    stats, seen = scheduler([probe("p")], lambda s: len(s) >= 6, record, on_error=errors.append)
    assert [str(e) for e in errors] == ["database is locked"] * 2
    assert stats.store_errors == 2
    assert record.results == seen  # kept and written later, in order


def test_jitter_spreads_the_first_checks() -> None:
    probes = [probe(f"p{i}", interval=10, timeout=1) for i in range(50)]
    stats, _seen = scheduler(probes, lambda s: len(s) >= 1, Recorder(), jitter=1.0, seed=3)
    assert 1 <= stats.checks < 10  # without jitter all 50 fire at once (next test)
    stats, _ = scheduler(probes, lambda s: len(s) >= 50, Recorder(), jitter=0.0)
    assert stats.checks == 50


def test_cancelling_the_scheduler_stops_it_and_flushes() -> None:
    record = Recorder()
    seen: list[CheckResult] = []

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_scheduler(
                [probe("a"), probe("b"), probe("stuck")],
                None,
                stop,
                FixedClock(AT),
                checker=fake_check,
                record=record,
                on_result=seen.append,
            )
        )
        while len(seen) < 6:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())
    assert record.results == seen
    assert "stuck" not in {r.probe for r in seen}


def test_bad_jitter_is_refused() -> None:
    with pytest.raises(ValueError, match="jitter"):
        scheduler([probe("p")], lambda s: True, Recorder(), jitter=2.0)


def test_real_probes_into_a_real_store(http_server: ProbeHTTPServer, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'probes.db'}", tmp_path)
    from slm.store.db import upgrade

    upgrade(store)

    def http(name: str, path: str) -> Probe:
        return Probe(
            name,
            HttpCheck(HttpRequest(http_server.base + path)),
            interval=timedelta(milliseconds=100),
            timeout=timedelta(milliseconds=300),
            location="lab",
        )

    probes = [http("health", "/health"), http("hang", "/hang"), http("broken", "/status/500")]
    seen: list[CheckResult] = []

    async def main() -> SchedulerStats:
        stop = asyncio.Event()

        def on_result(r: CheckResult) -> None:
            seen.append(r)
            if any(x.probe == "hang" for x in seen):
                stop.set()

        return await run_scheduler(probes, store, stop, on_result=on_result)

    stats = asyncio.run(main())
    assert stats.recorded == stats.checks == len(seen)
    with store.transaction() as repos:
        stored = ProbeRepository(repos.connection).recent(limit=1000)
        total = repos.measurements.count()
    assert sorted(r.reason for r in stored) == sorted(r.reason for r in seen)
    assert {r.reason for r in stored if r.probe == "hang"} == {"timeout after 300ms"}
    assert {r.reason for r in stored if r.probe == "broken"} == {"status 500 != 200"}
    assert {r.success for r in stored if r.probe == "health"} == {True}
    assert total >= 3 * 2  # good/total/latency of at least two probes
    store.close()

    once = asyncio.run(run_once(probes[:1]))
    assert once[0].success
