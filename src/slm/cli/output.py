"""Where a command's result goes: ``-o/--output FILE`` or stdout, the same in every command.

The rules (docs/cli.md, "Output files"):

- the path is checked when the command line is parsed, before any work: a directory, a
  missing folder, a folder that is not one, or a place slm may not write is a usage error
  (exit code 2) naming the path and the problem. Missing folders are *not* created: a typo
  in a folder name should not silently make a new tree;
- the file is written through a temporary file in the same folder and renamed over the
  target: readers see the old file or the whole new one, never half of it, and a failure
  leaves no temporary file behind. An existing file keeps its permissions; a new one gets
  the usual ``0666 & ~umask``;
- a target that exists and is not a regular file (``/dev/stdout``, a named pipe) is written
  in place (it cannot be renamed over);
- a symbolic link is followed: the file it points to is replaced, the link stays.
"""

from __future__ import annotations

import io
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, RenderableType

from slm.cli.errors import OutputError


def output_problem(path: Path) -> str | None:
    """Why ``path`` cannot take a command's output, or ``None`` when it can."""
    target = _target(path)
    if target.is_dir():
        return "is a directory; give a file name"
    if target.exists():
        if target.is_file() and not os.access(target, os.W_OK):
            return "is not writable (permission denied)"
        if not target.is_file():
            return None if os.access(target, os.W_OK) else "is not writable (permission denied)"
    folder = target.parent
    if not folder.exists():
        return f"folder {folder} does not exist (slm does not create folders)"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot create files in folder {folder} (permission denied)"
    return None


def _target(path: Path) -> Path:
    """The file a write to ``path`` lands in: links are followed, ``''`` parent is ``.``."""
    if path.is_symlink():
        return path.resolve()
    return path if str(path.parent) else Path(".") / path


def _check(value: Path | None) -> Path | None:
    if value is None:
        return None
    problem = output_problem(value)
    if problem is not None:
        raise typer.BadParameter(f"{value}: {problem}", param_hint="'-o' / '--output'")
    return value


OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        help="Write the result to this file (atomically; the folder must exist), not stdout.",
        callback=_check,
    ),
]


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (see the module docstring).

    Raises :class:`OutputError` with the path and the reason when it cannot.
    """
    problem = output_problem(path)
    if problem is not None:
        raise OutputError(f"cannot write {path}: {problem}")
    target = _target(path)
    data = text.encode("utf-8")
    if target.exists() and not target.is_file():
        try:
            with target.open("wb") as f:
                f.write(data)
        except OSError as e:
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
        return
    if target.exists():
        mode = stat.S_IMODE(target.stat().st_mode)
    else:
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def emit(text: str, output: Path | None, *, note: str = "") -> None:
    """The result ``text`` to ``output`` (atomically, then ``wrote PATH`` on stderr) or stdout."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomically(output, text)
    from slm.cli.app import err

    suffix = f" ({note})" if note else ""
    err.print(f"wrote {output}{suffix}", markup=False, highlight=False)


def plain_text(renderable: RenderableType) -> str:
    """A Rich renderable (a table) as plain text at its natural width: no colour, no
    wrapping, no ellipsis; what a file given with ``-o`` receives."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=10_000,
        color_system=None,
        force_terminal=False,
        soft_wrap=True,
        no_color=True,
    )
    console.print(renderable)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
