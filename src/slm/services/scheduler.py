"""The continuous evaluation loop of ``slm serve``.

Each SLO is evaluated at its own interval: the annotation ``slm.dev/evaluation-interval``
(a duration such as ``30s``, ``1m``, ``5m``; at least 1s) or the server's default (1m).
The loop is an asyncio task (``EvaluationLoop.run``, started in the API's lifespan next to
any other background task); the blocking work runs in threads, so the API never waits for
an evaluation:

- reading sources and computing results runs in a daemon thread per attempt, bounded by
  ``workers`` attempts at a time and by ``source_timeout``: an attempt that does not finish
  in time fails (the SLO turns stale) and the SLO is not tried again until that thread has
  returned, so a hung source holds one thread, never the loop or the other SLOs;
- writes go through one store thread, in one transaction per SLO evaluation (all its
  objectives, with provenance), so a crash leaves whole evaluations or none.

A failed attempt (source down, slow, malformed data, store error) marks only that SLO
stale, keeps its last good results, and retries with exponential backoff and jitter:
``min(retry_max, retry_base * 2**(failures-1))`` times a random factor in ``[0.5, 1]``, but
never later than its normal interval.

Late data: each pass also reads the push batches stored since the last pass (pushed to the
API or loaded with ``slm ingest --batch``, possibly by another process). For every batch
that touches a series an SLO reads from the store, the SLO's stored evaluations whose span
holds one of the batch's buckets and that were computed before the batch arrived are
marked *superseded* (``superseded_at``/``superseded_by``), and the SLO is re-evaluated at
the next pass. A stored batch whose buckets are not representable instants (written by an
older slm, before instants were checked) is skipped with one warning and never stops the
batches after it.

After each recorded evaluation the loop calls its *hooks* (``hooks=[...]``) in the store
thread, in order; ``slm serve`` installs ``AlertPipeline`` (alerts, then notifications, then
incidents). A failing hook is logged with the SLO's name, counted on the status board
(``slm_slo_hook_failures_total{hook=...}`` on /metrics; for the pipeline, per failing
step) and never stops the loop, the later hooks, the other SLOs or marks the SLO stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from slm.domain.durations import format_duration
from slm.domain.errors import Problem, SlmError, SpecError
from slm.domain.instants import EARLIEST, LATEST, range_text
from slm.domain.model import EVALUATION_INTERVAL, SLO, DataSource, MetricQuery
from slm.domain.results import ObjectiveResult
from slm.domain.series import DEFAULT_STEP
from slm.services.errors import HookStepsFailed
from slm.services.evaluate import evaluate_slo
from slm.services.ports import Clock, MetricSource, Reader, SourceFactory, SystemClock
from slm.services.provenance import DataQuality, Traced, store_series
from slm.services.reading import BucketCached, SourceReader
from slm.services.status import StatusBoard
from slm.services.views import result_view
from slm.sources.bucket_cache import BucketCache
from slm.spec.workspace import Workspace
from slm.store.db import Store
from slm.store.history import HistoryRepository, ServedEvaluation
from slm.store.push import PushBatchRecord, PushRepository

if TYPE_CHECKING:
    from slm.domain.alert_state import AlertTransition
    from slm.services.alerting import AlertService
    from slm.services.incidents import IncidentService
    from slm.services.notifications import NotificationService

log = logging.getLogger("slm.serve")

INTERVAL_ANNOTATION = EVALUATION_INTERVAL
DEFAULT_INTERVAL = timedelta(minutes=1)

T = TypeVar("T")


@dataclass(frozen=True)
class LoopSettings:
    default_interval: timedelta = DEFAULT_INTERVAL
    source_timeout: timedelta = timedelta(seconds=30)
    retry_base: timedelta = timedelta(seconds=2)
    retry_max: timedelta = timedelta(minutes=5)
    future_tolerance: timedelta = timedelta(minutes=5)
    lookahead: timedelta = timedelta(days=1)
    tick: timedelta = timedelta(milliseconds=250)
    step: timedelta = DEFAULT_STEP
    workers: int = 4


def evaluation_intervals(ws: Workspace, default: timedelta) -> dict[str, timedelta]:
    """Each SLO's interval; ``SpecError`` naming file, line and annotation when invalid
    (``slm validate`` refuses these already; this guards a workspace built otherwise)."""
    intervals, problems = {}, []
    for name, slo in sorted(ws.slos.items()):
        try:
            intervals[name] = slo.evaluation_interval(default)
        except ValueError as e:
            origin = slo.origin
            problems.append(
                Problem(
                    origin.path if origin else "-",
                    origin.line if origin else None,
                    "SLO",
                    name,
                    f"metadata.annotations.{INTERVAL_ANNOTATION}",
                    str(e),
                )
            )
    if problems:
        raise SpecError(problems)
    return intervals


@dataclass(frozen=True)
class Computed:
    """One successful evaluation of one SLO, ready to record."""

    slo: str
    at: datetime
    results: tuple[ObjectiveResult, ...]
    provenance: tuple[dict[str, Any], ...]
    span_start: datetime
    quality: DataQuality


class ReplayClock:
    """Starts at ``start`` and runs forward with the wall clock (``slm serve --replay-at``),
    ``speed`` times as fast (``--replay-speed``; 60 replays a minute of data per second)."""

    def __init__(self, start: datetime, speed: float = 1.0):
        if start.tzinfo is None:
            raise ValueError("naive datetime: the replay start must carry a time zone")
        if not speed > 0:
            raise ValueError(f"the replay speed must be positive, got {speed}")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)


EvaluationHook = Callable[[Computed], None]
"""Called after each recorded evaluation, in the store thread (one at a time, in order)."""


def hook_name(hook: EvaluationHook) -> str:
    """The ``hook`` label of a hook's failures: its ``name`` attribute, else its
    function or class name."""
    name = getattr(hook, "name", None)
    if isinstance(name, str) and name:
        return name
    return str(getattr(hook, "__qualname__", None) or type(hook).__name__)


class AlertPipeline:
    """The post-evaluation hook of ``slm serve``: alert states, then notifications, then
    incidents, each in its own transaction. A failing step is logged and the next still
    runs (notifications get the budget levels even when alerting failed); the loop never
    stops for it. Transitions whose notification was lost (a crash between the steps) are
    enqueued at the next start by ``NotificationService.recover``. Transitions whose
    incidents step failed (it runs in one transaction, so nothing of them was written) are
    kept in memory and applied again, before the new ones, at that SLO's next evaluation
    (at most ``MAX_UNAPPLIED`` per SLO; a restart forgets them)."""

    name = "alert-pipeline"
    MAX_UNAPPLIED = 1000

    def __init__(
        self,
        alerts: AlertService | None,
        notifications: NotificationService | None,
        incidents: IncidentService | None,
    ):
        self.alerts, self.notifications, self.incidents = alerts, notifications, incidents
        self._unapplied: dict[str, list[AlertTransition]] = {}
        self._lock = threading.Lock()

    def __call__(self, c: Computed) -> None:
        """Run every step; ``HookStepsFailed`` names the steps that failed (``alerts``,
        ``notifications``, ``incidents``) once all have run."""
        failed: list[str] = []
        transitions: list[AlertTransition] = []
        if self.alerts is not None:
            try:
                transitions = self.alerts.process(c.results, c.at)
            except Exception:
                log.exception("SLO %s: alert processing failed", c.slo)
                failed.append("alerts")
        for t in transitions:
            log.info("alert %s: %s -> %s at %s", t.key, t.from_status, t.to_status, t.at)
        if self.notifications is not None:
            try:
                self.notifications.on_evaluation(c.results, transitions, c.at)
            except Exception:
                log.exception("SLO %s: enqueueing notifications failed", c.slo)
                failed.append("notifications")
        with self._lock:
            batch = [*self._unapplied.pop(c.slo, []), *transitions]
        if self.incidents is not None and batch:
            try:
                for iid in self.incidents.on_alert_transitions(batch):
                    log.info("SLO %s: incident %s updated from alerts", c.slo, iid)
            except Exception:
                log.exception(
                    "SLO %s: updating incidents failed; %d transition(s) kept for the next "
                    "evaluation",
                    c.slo,
                    len(batch),
                )
                with self._lock:
                    self._unapplied[c.slo] = batch[-self.MAX_UNAPPLIED :]
                failed.append("incidents")
        if failed:
            raise HookStepsFailed(failed)


class IsolatedSources:
    """A ``SourceFactory`` with one inner factory (and so one file cache and lock) per
    DataSource: a source that hangs blocks only the SLOs that read it."""

    def __init__(self, make: Callable[[], SourceFactory]):
        self._make = make
        self._factories: dict[str, SourceFactory] = {}
        self._lock = threading.Lock()

    def for_query(self, query: MetricQuery, datasource: DataSource | None) -> MetricSource:
        key = datasource.name if datasource is not None else f"inline:{query.source_type}"
        with self._lock:
            factory = self._factories.get(key)
            if factory is None:
                factory = self._factories[key] = self._make()
        return factory.for_query(query, datasource)


class EvaluationLoop:
    def __init__(
        self,
        ws: Workspace,
        factory: SourceFactory,
        store: Store,
        board: StatusBoard,
        *,
        clock: Clock,
        settings: LoopSettings | None = None,
        wall: Clock | None = None,
        rng: random.Random | None = None,
        hooks: Sequence[EvaluationHook] = (),
        cache: BucketCache | None = None,
    ):
        self.ws, self.factory, self.store, self.board = ws, factory, store, board
        self.cache = cache  # kept buckets of Prometheus queries between evaluations
        self.hooks = list(hooks)
        self.clock = clock
        self.wall = wall or SystemClock()
        self.settings = settings or LoopSettings()
        self.rng = rng or random.Random()
        self.started_at = self.wall.now()
        self._due: dict[str, float] = {name: 0.0 for name in board.names()}
        self._running: dict[str, threading.Event] = {}  # set when the compute thread ends
        self._tasks: set[asyncio.Task[None]] = set()
        self._watermark = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slm-store")
        self._slots: asyncio.Semaphore | None = None
        self._readers: dict[str, set[str]] = defaultdict(set)  # store series -> SLOs
        for name, slo in ws.slos.items():
            for series in store_series(ws, slo):
                self._readers[series].add(name)

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Evaluate until cancelled; on cancellation, finish the writes already started."""
        log.info("evaluation loop started: %d SLO(s)", len(self._due))
        try:
            while True:
                await self.tick()
                await asyncio.sleep(self.settings.tick.total_seconds())
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await asyncio.get_running_loop().run_in_executor(None, self._writer.shutdown, True)
            log.info("evaluation loop stopped")

    async def tick(self) -> None:
        """One pass: look for late data, then start every due SLO that is not running."""
        try:
            await self._store_call(self._late_data)
        except Exception as e:  # the store may be down: evaluation goes on regardless
            log.warning("could not read push batches: %s", e)
        now = time.monotonic()
        for name, due in sorted(self._due.items()):
            if due <= now and not self._busy(name):
                self._due[name] = float("inf")  # until the attempt reschedules it
                task = asyncio.create_task(self.attempt(name), name=f"evaluate {name}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the attempts started so far (for tests and one-shot use)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _busy(self, name: str) -> bool:
        ended = self._running.get(name)
        return ended is not None and not ended.is_set()

    # -- one attempt ------------------------------------------------------------------------

    async def attempt(self, name: str) -> None:
        """Evaluate one SLO now, record it, and schedule its next attempt."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.workers)
        slo = self.ws.slos[name]
        state = self.board.get(name)
        assert state is not None
        started = self.wall.now()
        self.board.update(name, last_attempt=started, attempts=state.attempts + 1)
        try:
            async with self._slots:
                computed = await self._compute_in_thread(slo)
            await self._store_call(self._record, computed)
        except (SlmError, TimeoutError) as e:
            self._failed(name, _message(e, self.settings.source_timeout))
        except ValueError as e:  # mis-shaped data caught by the engine (good > total ...)
            self._failed(name, f"cannot evaluate: {e}")
        except Exception as e:  # never let one SLO stop the loop
            log.exception("SLO %s: unexpected error", name)
            self._failed(name, f"{type(e).__name__}: {e}")
        else:
            self._succeeded(computed)
            await self._after(computed)

    async def _after(self, computed: Computed) -> None:
        """Run the post-evaluation hooks; a failing hook is logged with the SLO's name and
        counted, never fatal: the later hooks still run, and so does the loop."""
        for hook in self.hooks:
            name = hook_name(hook)
            try:
                await self._store_call(hook, computed)
            except HookStepsFailed as e:  # each step's traceback is logged already
                log.error("SLO %s: post-evaluation hook %s: %s", computed.slo, name, e)
                for step in e.steps:
                    self.board.count_hook_failure(computed.slo, step)
            except Exception:
                log.exception("SLO %s: post-evaluation hook %s failed", computed.slo, name)
                self.board.count_hook_failure(computed.slo, name)

    async def _compute_in_thread(self, slo: SLO) -> Computed:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Computed] = loop.create_future()
        ended = threading.Event()
        at = self.clock.now()

        def deliver(result: Computed | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                assert result is not None
                future.set_result(result)

        def work() -> None:
            result: Computed | None = None
            error: BaseException | None = None
            try:
                result = self.compute(slo, at)
            except BaseException as e:  # handed to the loop, which decides
                error = e
            finally:
                ended.set()
            with contextlib.suppress(RuntimeError):  # the event loop is gone (shutdown)
                loop.call_soon_threadsafe(deliver, result, error)

        self._running[slo.name] = ended
        threading.Thread(target=work, name=f"slm-eval-{slo.name}", daemon=True).start()
        return await asyncio.wait_for(future, self.settings.source_timeout.total_seconds())

    def compute(self, slo: SLO, at: datetime) -> Computed:
        """Read the SLO's sources and evaluate it at ``at`` (runs in a worker thread)."""
        s = self.settings
        inner: Reader = SourceReader(self.ws, self.factory, s.step)
        if self.cache is not None:
            inner = BucketCached(inner, self.cache)
        reader = Traced(inner, at, s.future_tolerance, s.lookahead)
        results = evaluate_slo(slo, at, reader.read, step=s.step, read_groups=reader.read_groups)
        if slo.grouping:  # several results (groups) per objective
            objectives = {o.name: o for o in slo.objectives}
            provenance = tuple(reader.provenance(slo, objectives[r.objective], r) for r in results)
        else:
            provenance = tuple(
                reader.provenance(slo, objective, r)
                for objective, r in zip(slo.objectives, results, strict=True)
            )
        span_start = reader.span_start() or at
        return Computed(slo.name, at, tuple(results), provenance, span_start, reader.data_quality())

    def _record(self, c: Computed) -> None:
        created = self.wall.now()
        with self.store.transaction() as repos:
            history = HistoryRepository(repos.connection)
            for r, p in zip(c.results, c.provenance, strict=True):
                history.add(
                    ServedEvaluation(
                        slo=r.slo,
                        objective=r.objective,
                        at=r.at,
                        status=r.status,
                        sli=r.sli,
                        result=result_view(r),
                        provenance=p,
                        span_start=c.span_start,
                        created_at=created,
                    )
                )

    def _succeeded(self, c: Computed) -> None:
        state = self.board.get(c.slo)
        assert state is not None
        now = self.wall.now()
        quality = c.quality
        old = state.quality
        quality = DataQuality(
            future_buckets=quality.future_buckets,
            skew_seconds=quality.skew_seconds,
            skewed=quality.skewed,
            newest_bucket=quality.newest_bucket,
            newest_by_series=quality.newest_by_series,
            late_items=old.late_items,
            out_of_order_items=old.out_of_order_items,
            superseded=old.superseded,
        )
        self._warn_quality(c.slo, old, quality)
        if state.error is not None:
            log.info("SLO %s: fresh again after %d failure(s)", c.slo, state.consecutive_failures)
        self._due[c.slo] = time.monotonic() + state.interval.total_seconds()
        self.board.update(
            c.slo,
            results=c.results,
            provenance=c.provenance,
            evaluated_at=c.at,
            last_success=now,
            error=None,
            consecutive_failures=0,
            successes=state.successes + 1,
            next_attempt=now + state.interval,
            quality=quality,
        )

    def _failed(self, name: str, message: str) -> None:
        state = self.board.get(name)
        assert state is not None
        failures = state.consecutive_failures + 1
        delay = self.backoff(failures, state.interval)
        self._due[name] = time.monotonic() + delay.total_seconds()
        log.warning(
            "SLO %s: evaluation failed (%d in a row), stale; retry in %s: %s",
            name,
            failures,
            f"{delay.total_seconds():.1f}s",
            message,
        )
        self.board.update(
            name,
            error=message,
            consecutive_failures=failures,
            failures=state.failures + 1,
            next_attempt=self.wall.now() + delay,
        )

    def backoff(self, failures: int, interval: timedelta) -> timedelta:
        """Exponential backoff with jitter, capped by ``retry_max`` and the interval."""
        s = self.settings
        base = s.retry_base * (2 ** min(failures - 1, 30))
        delay = min(base, s.retry_max, interval)
        return timedelta(seconds=delay.total_seconds() * self.rng.uniform(0.5, 1.0))

    def _warn_quality(self, name: str, old: DataQuality, new: DataQuality) -> None:
        if new.future_buckets and not old.future_buckets:
            log.warning(
                "SLO %s: %d bucket(s) more than %s in the future (newest %s): a source's "
                "clock is ahead; they are not evaluated",
                name,
                new.future_buckets,
                format_duration(self.settings.future_tolerance),
                new.newest_bucket,
            )
        if new.skewed and not old.skewed:
            log.warning(
                "SLO %s: its series end %ss apart (more than the %s tolerance): clock skew "
                "or a lagging source; newest buckets: %s",
                name,
                new.skew_seconds,
                format_duration(self.settings.future_tolerance),
                new.newest_by_series,
            )

    # -- late data --------------------------------------------------------------------------

    def _late_data(self) -> None:
        """Supersede evaluations that new push batches invalidate; make their SLOs due."""
        with self.store.transaction() as repos:
            batches = PushRepository(repos.connection).since(self._watermark)
            history = HistoryRepository(repos.connection)
            for batch in batches:
                self._apply_batch(batch, history)
                self._watermark = batch.id

    def _apply_batch(self, batch: PushBatchRecord, history: HistoryRepository) -> None:
        affected = {slo for s in batch.series for slo in self._readers.get(s, ())}
        if not affected or batch.min_bucket is None or batch.max_bucket is None:
            return
        step = int(self.settings.step.total_seconds())
        span = _bucket_span(batch.min_bucket, batch.max_bucket, step)
        if span is None:  # written by an older slm that did not check instants
            log.warning(
                "push batch %s (key %s) skipped: its buckets %s to %s (Unix seconds) lie "
                "outside the representable range %s; the SLOs reading %s are not "
                "re-evaluated for it",
                batch.id,
                batch.idempotency_key,
                batch.min_bucket,
                batch.max_bucket,
                range_text(),
                ", ".join(batch.series),
            )
            return
        first_end, last = span
        fresh = batch.received_at >= self.started_at
        for name in sorted(affected):
            superseded = history.supersede(
                [name],
                first_bucket_end=first_end,
                last_bucket=last,
                received_at=batch.received_at,
                batch_id=batch.id,
                now=self.wall.now(),
            )
            if fresh:
                self._due[name] = min(self._due.get(name, 0.0), time.monotonic())
                self.board.note_late(name, batch.late_items, batch.out_of_order_items, superseded)
            if superseded:
                log.warning(
                    "push batch %s (key %s) landed in evaluated windows of SLO %s: %d stored "
                    "evaluation(s) superseded; re-evaluating",
                    batch.id,
                    batch.idempotency_key,
                    name,
                    superseded,
                )

    async def _store_call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)


def _bucket_span(first: int, last: int, step: int) -> tuple[datetime, datetime] | None:
    """The end of the first step bucket and the start of the last stored bucket of a
    batch, or ``None`` when they are not representable instants."""
    end = first - first % step + step
    if not (EARLIEST <= first <= last < LATEST and end < LATEST):
        return None
    return datetime.fromtimestamp(end, UTC), datetime.fromtimestamp(last, UTC)


def _message(e: BaseException, timeout: timedelta) -> str:
    if isinstance(e, TimeoutError):
        return f"timed out after {format_duration(timeout)} waiting for the sources"
    return str(e)
