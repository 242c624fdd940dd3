"""Running synthetic probes: once, or on a schedule, and keeping their results.

``run_scheduler(probes, store, stop, clock)`` is the long-running loop (``slm probe run``
and ``slm serve`` start it): every probe runs in its own task, every ``interval``, each
check bounded by the probe's ``timeout`` (a checker that ignores it is cut off a little
later and counted as a timeout), with a random offset of up to ``jitter`` x interval so
that probes sharing an interval do not fire together. A single writer task stores the
results in batches (``record_checks``); a failing store does not stop the probes (the
batch is kept and retried). Setting ``stop`` or cancelling the task stops every probe,
stores what was already checked and returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from slm.domain.errors import NotFoundError, SlmError
from slm.domain.probe import CheckResult, Probe, timeout_reason
from slm.services.ports import Clock, SystemClock
from slm.sources.probes import run_check
from slm.spec.probe import probes_in
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.probes import ProbeRepository

Checker = Callable[[Probe, Clock], Awaitable[CheckResult]]
"""Runs one check of a probe (the default is ``slm.sources.probes.run_check``)."""

GRACE = timedelta(seconds=1)
"""How long past its timeout a checker may run before the scheduler cuts it off."""
MAX_PENDING = 100_000
"""Results kept for retry while the store fails; the oldest are dropped beyond this."""


@dataclass
class SchedulerStats:
    checks: int = 0  # checks run
    recorded: int = 0  # results stored
    dropped: int = 0  # results lost because the store failed for too long
    store_errors: int = 0


def probes_of(ws: Workspace, names: Iterable[str] | None = None) -> list[Probe]:
    """The workspace's probes (all, or the named ones in that order; ``NotFoundError``)."""
    probes = {p.name: p for p in probes_in(ws.objects)}
    if names is None:
        return list(probes.values())
    wanted = list(names)
    unknown = [n for n in wanted if n not in probes]
    if unknown:
        known = ", ".join(probes) or "none"
        raise NotFoundError(f"no Probe named {', '.join(unknown)} (probes: {known})")
    return [probes[n] for n in wanted]


def record_checks(store: Store, results: Sequence[CheckResult]) -> int:
    """Store checks and their one-minute measurements in one transaction."""
    with store.transaction() as repos:
        return ProbeRepository(repos.connection).add(results)


async def run_bounded(
    probe: Probe, clock: Clock, checker: Checker = run_check, grace: timedelta = GRACE
) -> CheckResult:
    """One check, cut off ``grace`` after the probe's timeout whatever the checker does."""
    started = clock.now()
    try:
        async with asyncio.timeout((probe.timeout + grace).total_seconds()):
            return await checker(probe, clock)
    except TimeoutError:
        return CheckResult(
            probe.name,
            probe.location,
            started,
            (probe.timeout + grace).total_seconds(),
            False,
            timeout_reason(probe.timeout),
            {"kind": probe.check.kind},
        )


async def run_once(
    probes: Sequence[Probe], clock: Clock | None = None, checker: Checker = run_check
) -> list[CheckResult]:
    """Every probe once, concurrently; results in the order of ``probes``."""
    c = clock or SystemClock()
    return list(await asyncio.gather(*(run_bounded(p, c, checker) for p in probes)))


async def _sleep_until(deadline: float, stop: asyncio.Event) -> bool:
    """Wait until the loop time ``deadline``; True when ``stop`` was set meanwhile."""
    delay = deadline - asyncio.get_running_loop().time()
    if stop.is_set():
        return True
    if delay <= 0:
        return False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)
    return stop.is_set()


async def _probe_loop(
    probe: Probe,
    clock: Clock,
    checker: Checker,
    stop: asyncio.Event,
    queue: asyncio.Queue[CheckResult | None],
    rng: random.Random,
    jitter: float,
    on_result: Callable[[CheckResult], None] | None,
    stats: SchedulerStats,
    grace: timedelta,
) -> None:
    loop = asyncio.get_running_loop()
    interval = probe.interval.total_seconds()
    anchor = loop.time()
    while True:
        if await _sleep_until(anchor + rng.uniform(0, jitter * interval), stop):
            return
        result = await run_bounded(probe, clock, checker, grace)
        stats.checks += 1
        queue.put_nowait(result)
        if on_result is not None:
            on_result(result)
        anchor += interval
        now = loop.time()
        if anchor + interval < now:  # fell behind by whole periods: skip them
            anchor = now


async def _writer(
    queue: asyncio.Queue[CheckResult | None],
    record: Callable[[Sequence[CheckResult]], int],
    stats: SchedulerStats,
    on_error: Callable[[Exception], None] | None,
) -> None:
    """Store results in batches until a ``None`` arrives; then store the rest and return."""
    pending: list[CheckResult] = []
    done = False
    while not done:
        item = await queue.get()
        while True:
            if item is None:
                done = True
            else:
                pending.append(item)
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
        if len(pending) > MAX_PENDING:
            stats.dropped += len(pending) - MAX_PENDING
            pending = pending[-MAX_PENDING:]
        try:
            stats.recorded += await asyncio.to_thread(record, list(pending))
            pending = []
        except SlmError as e:
            stats.store_errors += 1
            if on_error is not None:
                on_error(e)
    stats.dropped += len(pending)


async def run_scheduler(
    probes: Sequence[Probe],
    store: Store | None,
    stop: asyncio.Event,
    clock: Clock | None = None,
    *,
    checker: Checker = run_check,
    record: Callable[[Sequence[CheckResult]], int] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    jitter: float = 0.1,
    seed: int | None = None,
    grace: timedelta = GRACE,
) -> SchedulerStats:
    """Run ``probes`` until ``stop`` is set (or the task is cancelled); see the module doc.

    ``record`` stores a batch (default: ``record_checks`` into ``store``; with neither,
    results are only passed to ``on_result``). ``on_error`` hears about store failures.
    ``seed`` makes the jitter reproducible; ``grace`` is how long past its timeout a
    checker may run before it is cut off.
    """
    if not 0 <= jitter <= 1:
        raise ValueError("jitter must be between 0 and 1")
    c = clock or SystemClock()
    stats = SchedulerStats()
    rng = random.Random(seed)
    queue: asyncio.Queue[CheckResult | None] = asyncio.Queue()
    save = record or (
        (lambda batch: record_checks(store, batch)) if store is not None else (lambda b: len(b))
    )
    writer = asyncio.create_task(_writer(queue, save, stats, on_error), name="probe-writer")
    tasks = [
        asyncio.create_task(
            _probe_loop(p, c, checker, stop, queue, rng, jitter, on_result, stats, grace),
            name=f"probe:{p.name}",
        )
        for p in probes
    ]
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        queue.put_nowait(None)
        await asyncio.shield(writer)
    return stats
