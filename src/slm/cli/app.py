"""The Typer application, shared options and the consoles every command module uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, ConsoleDimensions

from slm import __version__

app = typer.Typer(
    name="slm",
    help="Service level management: SLOs, error budgets, burn-rate alerts.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

# Wide enough for any table slm prints: nothing wraps or is cut short.
FULL_WIDTH = 10_000


class StreamConsole(Console):
    """A console on stdout or stderr that, when its stream is not a terminal (a pipe, a
    file), prints tables at their natural width: no wrapping, no ellipsis, greppable lines.
    On a terminal it follows the terminal's width (``COLUMNS`` overrides)."""

    @property
    def size(self) -> ConsoleDimensions:
        if not self.is_terminal and self._width is None:
            return ConsoleDimensions(FULL_WIDTH, 25)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


out = StreamConsole(soft_wrap=True)
err = StreamConsole(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"slm {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress bars (they show only on a terminal anyway)."
        ),
    ] = False,
) -> None:
    """Service level management: SLOs, error budgets, burn-rate alerts."""
    from slm.cli.progress import set_quiet

    set_quiet(quiet)


PathsArg = Annotated[list[Path], typer.Argument(help="Spec files or directories (recursive).")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="SLM_DB_URL",
        help="Store URL (sqlite:///..., postgresql://...). Default: .slm/slm.db in the workspace.",
    ),
]
WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace", envvar="SLM_WORKSPACE", help="Workspace directory for the default store."
    ),
]


def parse_duration_option(value: str, param: str, minimum: timedelta | None = None) -> timedelta:
    """A duration option in slm's one grammar (``slm.domain.durations``): positive, at
    most 100 years, at least ``minimum`` when given."""
    from slm.domain.durations import parse_duration

    try:
        return parse_duration(value, minimum=minimum)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint=param) from None


def parse_instant(value: str | None, param: str = "--at") -> datetime:
    """An RFC 3339 instant with an offset (``Z`` allowed); ``None`` means now."""
    if value is None:
        return datetime.now(UTC)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an RFC 3339 instant (e.g. 2026-11-01T00:00:00Z)", param_hint=param
        ) from None
    if t.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no UTC offset; add Z or +HH:MM", param_hint=param)
    return t.astimezone(UTC)
