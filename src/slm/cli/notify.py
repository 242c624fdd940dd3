"""``slm notify ...``: deliver the outbox, show the delivery log, send a test message."""

from __future__ import annotations

import signal
import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from slm.cli.app import DbOpt, PathsArg, WorkspaceOpt, app, err, out, parse_duration_option

notify_app = typer.Typer(
    help="Notifications: deliver the outbox, inspect the delivery log, send test messages.",
    no_args_is_help=True,
)
app.add_typer(notify_app, name="notify")


class LogFormat(StrEnum):
    table = "table"
    json = "json"


@notify_app.command("deliver")
def deliver(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
    poll: Annotated[str, typer.Option("--poll", help="Wait between empty polls.")] = "1s",
    lease: Annotated[
        str,
        typer.Option(
            "--lease", help="How long a claimed message is held (longer than any timeout)."
        ),
    ] = "5m",
    batch: Annotated[int, typer.Option("--batch", min=1, help="Messages per claim.")] = 20,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Run the dispatcher: send due outbox messages with retries, until interrupted."""
    from slm.cli.store import open_store
    from slm.services.notifications import DeliveryReport, Dispatcher

    poll_s = parse_duration_option(poll, "--poll").total_seconds()
    dispatcher = Dispatcher(
        open_store(db, workspace), lease=parse_duration_option(lease, "--lease"), batch=batch
    )
    if once:
        total = DeliveryReport()
        while True:
            report = dispatcher.deliver_due()
            total += report
            if report.claimed < batch:
                break
        _summary(total)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    err.print(f"delivering as {dispatcher.worker} (Ctrl-C to stop)", markup=False)
    total = dispatcher.run(
        stop, poll=poll_s, on_error=lambda e: err.print(f"error: {e}", markup=False)
    )
    _summary(total)


def _summary(r: Any) -> None:
    out.print(
        f"claimed {r.claimed}, delivered {r.delivered}, retry scheduled {r.retried}, "
        f"dead-lettered {r.dead}, lost leases recovered {r.lost}",
        markup=False,
        highlight=False,
    )


@notify_app.command("log")
def log(
    fmt: Annotated[LogFormat, typer.Option("--format", help="table or json.")] = LogFormat.table,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Only pending, sending, delivered or dead (repeatable)."),
    ] = None,
    message: Annotated[
        str | None, typer.Option("--message", help="Only the message with this id (prefix).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many messages.")] = 50,
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Show the outbox messages, newest first, with every delivery attempt."""
    from slm.cli.store import open_store
    from slm.services.notifications import delivery_log
    from slm.store.outbox import STATUSES

    bad = sorted(set(status or ()) - set(STATUSES))
    if bad:
        raise typer.BadParameter(
            f"unknown status {', '.join(bad)} (use {', '.join(STATUSES)})", param_hint="--status"
        )
    view = delivery_log(open_store(db, workspace), statuses=status, message=message, limit=limit)
    if fmt is LogFormat.json:
        from slm.services.views import dumps, item_list

        sys.stdout.write(dumps(item_list("slm.notifications/v1", view)))
        return
    if not view:
        out.print("no notifications")
        return
    out.print(_messages_table(view))
    out.print(_attempts_table(view))


def _messages_table(view: list[dict[str, Any]]) -> Table:
    t = Table(title="Notifications (newest first)")
    for col in ("id", "status", "tries", "policy/level", "slo", "recipient", "subject", "next"):
        t.add_column(col, overflow="fold")
    for m in view:
        t.add_row(
            m["id"][:8],
            m["status"],
            f"{m['attempts']}/{m['max_attempts']}",
            f"{m['policy']}/{m['level']} {m['level_name']}",
            f"{m['service']}/{m['slo']}",
            f"{m['recipient']} ({m['channel']}, {m['channel_type']})",
            m["subject"],
            m["next_attempt_at"] or m["delivered_at"] or "-",
        )
    return t


def _attempts_table(view: list[dict[str, Any]]) -> Table:
    t = Table(title="Delivery log")
    for col in ("id", "try", "at", "outcome", "status", "ms", "error"):
        t.add_column(col, overflow="fold")
    for m in view:
        for a in m["log"]:
            t.add_row(
                m["id"][:8],
                str(a["attempt"]),
                a["at"],
                a["outcome"],
                a["status"],
                f"{a['duration_ms']:.0f}",
                a["error"] or "",
            )
    return t


@notify_app.command("requeue")
def requeue_cmd(
    ids: Annotated[list[str], typer.Argument(help="Message ids of dead-lettered messages.")],
    db: DbOpt = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Put dead-lettered messages back into the outbox (after fixing the receiver)."""
    from slm.cli.store import open_store
    from slm.services.notifications import requeue

    n = requeue(open_store(db, workspace), ids)
    out.print(f"requeued {n} message(s)")
    if n < len(ids):
        err.print(f"{len(ids) - n} id(s) are not dead-lettered messages", markup=False)
        raise typer.Exit(4)


@notify_app.command("test")
def test(
    paths: PathsArg,
    policy: Annotated[str, typer.Option("--policy", help="EscalationPolicy name.")],
    level: Annotated[int, typer.Option("--level", min=1, help="Level number (1-based).")],
    slo: Annotated[
        str | None, typer.Option("--slo", help="SLO to describe (default: the first selected).")
    ] = None,
    resolved: Annotated[
        bool, typer.Option("--resolved", help="For alert levels: the resolved message.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Render and print only; send nothing.")
    ] = False,
) -> None:
    """Render a sample message of one level and send it to the level's recipients now
    (marked [TEST]; not through the outbox)."""
    from slm.domain.errors import DeliveryError
    from slm.notify.sender import ChannelNotifier
    from slm.services.notifications import NotificationService
    from slm.spec.loader import load_workspace

    ws = load_workspace(paths)
    service = NotificationService(None, ws)
    messages = service.test_messages(policy, level, slo=slo, resolved=resolved)
    notifier = ChannelNotifier()
    failed = 0
    for channel, msg in messages:
        to = f" to {', '.join(msg.to)}" if msg.to else ""
        out.print(f"--- {channel.type} channel {channel.name}{to}", markup=False)
        out.print(f"Subject: {msg.subject}\n\n{msg.body}", markup=False, highlight=False)
        if dry_run:
            continue
        try:
            outcome = notifier.send(channel, msg)
        except DeliveryError as e:
            failed += 1
            err.print(f"error: {channel.name}: {e}", markup=False, highlight=False)
            continue
        out.print(f"sent: {outcome} (message id {msg.id})", markup=False, highlight=False)
    if failed:
        raise typer.Exit(3)
