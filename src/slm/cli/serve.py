"""``slm serve``: continuous evaluation, status API, /metrics and push ingest."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from slm.cli.app import (
    DbOpt,
    PathsArg,
    WorkspaceOpt,
    app,
    err,
    out,
    parse_duration_option,
    parse_instant,
)
from slm.domain.errors import MissingExtraError, SlmError

if TYPE_CHECKING:
    from slm.services.ports import Clock
    from slm.spec.workspace import Workspace
    from slm.store.db import Store

log = logging.getLogger("slm.serve")

RECOVER_WINDOW = timedelta(hours=1)
"""At start-up, alert transitions this far back without a notification are enqueued."""


INHERITED_SOCKET = "SLM_SERVE_SOCKET_FD"
"""The listening socket's file descriptor, handed over by a reloading ``slm serve``."""
RESUMED_REPLAY = "SLM_SERVE_REPLAY_RESUME"
"""The replay clock's instant when a reloading ``slm serve --replay-at`` stopped: the
new process replays on from there, never from ``--replay-at`` again."""


def _listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket first, so a taken port is a clear error before any work
    (or take over the one a reloading ``slm serve`` passed on: no connection is refused
    while it restarts)."""
    inherited = os.environ.pop(INHERITED_SOCKET, None)
    if inherited is not None:
        sock = socket.socket(fileno=int(inherited))
        sock.set_inheritable(False)
        return sock
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as e:
        err.print(f"error: cannot listen on {host}:{port}: {e.strerror or e}", markup=False)
        raise typer.Exit(1) from None
    return sock


@app.command()
def serve(
    paths: PathsArg,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 8080,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
    replay_at: Annotated[
        str | None,
        typer.Option(
            "--replay-at",
            help="Start the evaluation clock at this RFC 3339 instant; it then runs forward "
            "in real time (demos and backfilled data).",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Freeze the evaluation clock at this RFC 3339 instant."),
    ] = None,
    interval: Annotated[
        str,
        typer.Option(
            "--interval", help="Default evaluation interval (annotation overrides per SLO)."
        ),
    ] = "1m",
    source_timeout: Annotated[
        str, typer.Option("--source-timeout", help="Give up on an evaluation after this.")
    ] = "30s",
    retry_base: Annotated[
        str, typer.Option("--retry-base", help="First retry delay after a failure.")
    ] = "2s",
    retry_max: Annotated[str, typer.Option("--retry-max", help="Longest retry delay.")] = "5m",
    future_tolerance: Annotated[
        str,
        typer.Option("--future-tolerance", help="Data this far ahead of the clock is accepted."),
    ] = "5m",
    max_body: Annotated[
        int | None,
        typer.Option(
            "--max-body",
            min=1,
            help="Largest request body in bytes (default 1 MiB); larger ones get 413.",
        ),
    ] = None,
    max_bulk_body: Annotated[
        int | None,
        typer.Option(
            "--max-bulk-body",
            min=1,
            help="Largest body of a push, ITSM import or Alertmanager webhook in bytes "
            "(default 32 MiB).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning.")] = "info",
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every HTTP request.")
    ] = False,
    probes: Annotated[
        bool,
        typer.Option(
            "--probes/--no-probes", help="Run the workspace's synthetic probes in the server."
        ),
    ] = True,
    source_cache: Annotated[
        bool,
        typer.Option(
            "--source-cache/--no-source-cache",
            help="Keep Prometheus buckets between evaluations and read only the last 10 "
            "minutes and what is new (everything again every hour).",
        ),
    ] = True,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify/--no-notify",
            help="Deliver queued notifications from the server (--no-notify: they stay in "
            "the outbox for 'slm notify deliver').",
        ),
    ] = True,
    replay_speed: Annotated[
        float,
        typer.Option(
            "--replay-speed",
            help="With --replay-at: how many seconds of data time pass per wall second.",
        ),
    ] = 1.0,
) -> None:
    """Evaluate every SLO under PATH continuously and serve status, /metrics and push."""
    try:
        import uvicorn

        from slm.api.app import BackgroundTask, create_app
        from slm.api.limits import BodyLimits
    except ModuleNotFoundError as e:  # optional dependencies: slm[server]
        raise MissingExtraError("server", "slm serve", e.name or "fastapi") from e
    from slm.domain.model import MIN_EVALUATION_INTERVAL
    from slm.services.ports import FixedClock, SystemClock
    from slm.services.probing import probes_of, run_scheduler
    from slm.services.record import save_specs
    from slm.services.scheduler import (
        EvaluationLoop,
        IsolatedSources,
        LoopSettings,
        ReplayClock,
        evaluation_intervals,
    )
    from slm.services.status import StatusBoard
    from slm.sources.bucket_cache import BucketCache
    from slm.sources.factory import SourceFactory, load_adapters
    from slm.spec.loader import load_workspace
    from slm.store.db import open_store

    if replay_at is not None and at is not None:
        raise typer.BadParameter("give --replay-at or --at, not both", param_hint="--at")
    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
    settings = LoopSettings(
        default_interval=parse_duration_option(interval, "--interval", MIN_EVALUATION_INTERVAL),
        source_timeout=parse_duration_option(source_timeout, "--source-timeout"),
        retry_base=parse_duration_option(retry_base, "--retry-base"),
        retry_max=parse_duration_option(retry_max, "--retry-max"),
        future_tolerance=parse_duration_option(future_tolerance, "--future-tolerance"),
    )
    clock: Clock
    if at is not None:
        clock, clock_text = FixedClock(parse_instant(at, "--at")), f"frozen at {at}"
    elif replay_at is not None:
        if not replay_speed > 0:
            raise typer.BadParameter("must be positive", param_hint="--replay-speed")
        start = parse_instant(replay_at, "--replay-at")
        resumed = _resumed_replay()
        clock = ReplayClock(resumed or start, replay_speed)
        speed = f" at {replay_speed:g}x" if replay_speed != 1 else ""
        clock_text = f"replaying from {replay_at}{speed}"
        if resumed is not None:
            clock_text += f", resumed at {resumed.isoformat().replace('+00:00', 'Z')}"
    else:
        clock, clock_text = SystemClock(), "wall clock"

    sock = _listen(host, port)
    port = sock.getsockname()[1]
    ws = load_workspace(paths)
    load_adapters(ws.source_types())  # one-time imports never count against --source-timeout
    intervals = evaluation_intervals(ws, settings.default_interval)
    store = open_store(db, workspace)
    save_specs(store, ws)  # checks (or, for the default file, migrates) the schema first
    board = StatusBoard.of(ws.slos, intervals, settings.source_timeout)
    alerting = _alerting(ws, store, clock)
    loop = EvaluationLoop(
        ws,
        IsolatedSources(lambda: SourceFactory(store=store)),
        store,
        board,
        clock=clock,
        settings=settings,
        hooks=[alerting.pipeline],
        cache=BucketCache() if source_cache else None,
    )
    background: list[BackgroundTask] = [loop.run]
    if notify:
        background.append(alerting.dispatch)
    probe_specs = probes_of(ws) if probes else []
    if probe_specs:

        async def run_probes() -> None:
            # Probe checks are stamped with the wall clock: they happen now, whatever
            # instant the evaluation loop replays.
            await run_scheduler(probe_specs, store, asyncio.Event(), SystemClock())

        background.append(run_probes)
    application = create_app(
        board,
        store,
        clock=clock,
        future_tolerance=settings.future_tolerance,
        background=background,
        services=alerting.services,
        body_limits=BodyLimits(
            default=max_body or BodyLimits.default, bulk=max_bulk_body or BodyLimits.bulk
        ),
    )
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    shown = "[::1]" if host == "::1" else host
    err.print(
        f"slm serve: status at http://{shown}:{port}/api/v1/slos, API docs at /docs, "
        f"metrics at /metrics ({len(ws.slos)} SLOs, {len(probe_specs)} probes, "
        f"store {store.url}, clock {clock_text})",
        markup=False,
        highlight=False,
    )
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_config=None,
        log_level=level,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    received: list[str] = []
    server = uvicorn.Server(config)

    def note(signum: int, _frame: object) -> None:  # uvicorn re-raises it after shutdown
        received.append(signal.Signals(signum).name)

    def reload(_signum: int, _frame: object) -> None:
        """SIGHUP: check the specs at PATH; if they load, stop gracefully and start again
        (the same command, the listening socket handed over); if not, keep serving."""
        try:
            new = load_workspace(paths)
        except SlmError as e:
            log.error("SIGHUP: the specs were not reloaded; slm serve goes on with the old:\n%s", e)
            return
        log.warning("SIGHUP: reloading %s; restarting with the new specs", new.summary())
        received.append("SIGHUP")
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, note)
    signal.signal(signal.SIGHUP, reload)
    handover = os.dup(sock.fileno())  # uvicorn closes its socket when it stops
    server.run(sockets=[sock])
    store.close()
    if received == ["SIGHUP"]:
        err.print("slm serve: reloading (SIGHUP)", markup=False)
        os.set_inheritable(handover, True)
        env = {**os.environ, INHERITED_SOCKET: str(handover)}
        if isinstance(clock, ReplayClock):  # replay on from here: nothing is evaluated twice
            env[RESUMED_REPLAY] = clock.now().isoformat()
        os.execve(sys.executable, [sys.executable, "-m", "slm", *sys.argv[1:]], env)
    os.close(handover)
    err.print(
        f"slm serve: stopped ({', '.join(sorted(set(received))) or 'shutdown'})", markup=False
    )


def _resumed_replay() -> datetime | None:
    """The instant a reloaded ``slm serve --replay-at`` resumes at (handed over by the
    process it replaces), or ``None``."""
    text = os.environ.pop(RESUMED_REPLAY, None)
    if text is None:
        return None
    try:
        resumed = datetime.fromisoformat(text)
    except ValueError:
        log.warning("ignoring %s=%r: not an instant", RESUMED_REPLAY, text)
        return None
    return resumed if resumed.tzinfo is not None else None


class _Alerting:
    """What ``slm serve`` runs for alerts: the post-evaluation pipeline, the notification
    dispatcher (a background task) and the alert, incident and Alertmanager routes."""

    def __init__(self, ws: Workspace, store: Store):
        from slm.api.deps import Services
        from slm.services.alerting import AlertService
        from slm.services.alertmanager import AlertmanagerReceiver
        from slm.services.incidents import IncidentService
        from slm.services.notifications import Dispatcher, NotificationService
        from slm.services.ports import SystemClock
        from slm.services.scheduler import AlertPipeline

        wall = SystemClock()  # bookkeeping times; evaluations carry the evaluation clock
        alerts = AlertService(store, ws, clock=wall)
        self.notifications = NotificationService(store, ws, clock=wall)
        incidents = self.incidents = IncidentService(store, ws, clock=wall)
        self.pipeline = AlertPipeline(alerts, self.notifications, incidents)
        self.dispatcher = Dispatcher(store, clock=wall)
        receiver = AlertmanagerReceiver(
            store, ws, clock=wall, notifications=self.notifications, incidents=incidents
        )
        self.services = Services(alerts=alerts, incidents=incidents, receiver=receiver)

    def recover(self, since: datetime) -> None:
        try:
            done = self.notifications.recover(since)
        except Exception as e:  # a store problem here must not keep the server down
            log.warning("could not recover notifications of earlier alerts: %s", e)
            done = []
        if done:
            log.info("enqueued %d notification(s) of alerts logged before a restart", len(done))
        try:
            opened = self.incidents.recover(since)
        except Exception as e:
            log.warning("could not recover incidents of earlier page alerts: %s", e)
            return
        if opened:
            log.info("incident(s) %s updated from page alerts logged before a restart", opened)

    async def dispatch(self) -> None:
        """Deliver due notifications until cancelled (the delivery runs in a thread)."""
        stop = threading.Event()

        def report(e: Exception) -> None:
            log.warning("notification delivery: %s", e)

        try:
            await asyncio.to_thread(self.dispatcher.run, stop, on_error=report)
        finally:
            stop.set()


def _alerting(ws: Workspace, store: Store, clock: Clock) -> _Alerting:
    alerting = _Alerting(ws, store)
    alerting.recover(clock.now() - RECOVER_WINDOW)
    return alerting


def ingest_batches(store: Store, files: list[Path], key: str | None) -> None:
    """``slm ingest --batch``: each JSON file is one push batch (same rules as the API)."""
    from slm.domain.errors import DataError
    from slm.services.push import parse_batch, push_batch, resolve_key

    if key is not None and len(files) > 1:
        raise typer.BadParameter(
            "--idempotency-key names one batch: give one --batch file, or put an "
            "idempotency_key in each file",
            param_hint="--idempotency-key",
        )
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise DataError(f"{path}: cannot read: {e.strerror}") from e
        batch = parse_batch(data, str(path))
        try:
            receipt = push_batch(store, batch, key=resolve_key(batch, key), origin="cli")
        except DataError as e:
            raise DataError(f"{path}: {e}") from e
        if receipt.duplicate:
            out.print(f"{path}: batch {receipt.idempotency_key!r} was loaded before, nothing added")
        else:
            extra = ""
            if receipt.late_items or receipt.out_of_order_items:
                extra = f" ({receipt.late_items} late, {receipt.out_of_order_items} out of order)"
            out.print(
                f"{path}: batch {receipt.idempotency_key!r}: {receipt.items} items added to "
                f"{len(receipt.series)} series{extra}",
                markup=False,
            )
