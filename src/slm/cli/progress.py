"""Progress bars for commands that can take more than a second (report, backtest,
simulate, backfill): a Rich bar on stderr when stderr is a terminal, nothing otherwise
or with ``slm --quiet``. stdout never sees it, so piped results stay clean."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from slm.cli.app import err

if TYPE_CHECKING:
    from rich.progress import Progress

_quiet = False


def set_quiet(value: bool) -> None:
    """``slm --quiet``: no progress bars for the rest of the process."""
    global _quiet
    _quiet = value


class Tracker:
    """What a command tells the bar: how much there is, how much is done."""

    def __init__(self, progress: Progress | None, description: str, total: int | None):
        self._progress = progress
        self._task = None if progress is None else progress.add_task(description, total=total)

    @property
    def shown(self) -> bool:
        return self._progress is not None

    def total(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=n)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Tracker]:
    """A bar on stderr while the block runs (removed when it ends); a silent tracker when
    stderr is not a terminal or ``--quiet`` was given."""
    if _quiet or not err.is_terminal:
        yield Tracker(None, description, total)
        return
    # imported only when a bar is shown: every command imports this module
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        yield Tracker(bar, description, total)
