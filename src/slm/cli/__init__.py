"""The ``slm`` command line: parse input, call services, render output.

Each command group lives in its own module and registers itself on ``app`` when imported.
Errors of slm's exception tree become a message on stderr and the exit code that
``slm.cli.errors.EXIT_CODES`` gives their class; bad input never prints a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

from slm import __version__
from slm.cli.app import app as _app
from slm.cli.app import err, out
from slm.cli.errors import exit_code
from slm.domain.errors import SlmError, SpecError, sort_problems

if TYPE_CHECKING:
    from slm.cli.app import app

# Importing the submodule bound ``slm.cli.app`` to it; ``app`` is the complete
# application, given by ``__getattr__`` below once every command is registered.
globals().pop("app", None)

# The modules that register each top-level command (importing one registers it). A
# command runs with only its own modules imported: start-up is most of a short command's
# time, and the other commands' modules pull in what it does not need.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "alerts": ("alerts",),
    "apply": ("specs",),
    "backfill": ("backfill",),
    "composite": ("composite",),
    "convert": ("specs",),
    "db": ("data",),
    "evaluate": ("evaluate",),
    "incident": ("incidents",),
    "ingest": ("data",),
    "notify": ("notify",),
    "probe": ("probe",),
    "reconcile": ("reconcile",),
    "report": ("report",),
    "retention": ("retention",),
    "rules": ("rules",),
    "serve": ("serve",),
    "sla": ("sla", "sla_check"),
    "validate": ("specs",),
    "version": (),
}
_ALL_MODULES = (
    "alerts",
    "backfill",
    "composite",
    "data",
    "evaluate",
    "incidents",
    "notify",
    "probe",
    "reconcile",
    "report",
    "retention",
    "rules",
    "serve",
    "sla",
    "sla_check",
    "specs",
)


def register(command: str | None = None) -> None:
    """Import the modules of ``command`` (a top-level command name), or of every command
    when it is ``None`` or unknown (help, completion, a typo click should name)."""
    modules = COMMAND_MODULES.get(command, _ALL_MODULES) if command else _ALL_MODULES
    for name in modules:
        importlib.import_module(f"slm.cli.{name}")
    if not any(c.callback is version for c in _app.registered_commands):
        _app.command()(version)  # last, where help has always listed it


def _command(args: list[str]) -> str | None:
    """The top-level command of a command line (the global options take no value)."""
    if os.environ.get("_SLM_COMPLETE"):
        return None
    return next((a for a in args if not a.startswith("-")), None)


def __getattr__(name: str) -> Any:
    """``from slm.cli import app``: the application with every command registered."""
    if name == "app":
        register()
        globals()["app"] = _app
        return _app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def version() -> None:
    """Print the slm version."""
    out.print(__version__)


# Exit code of a failure slm did not foresee (a bug): BSD's EX_SOFTWARE.
INTERNAL_ERROR = 70


def main() -> None:
    register(_command(sys.argv[1:]))
    try:
        _app()
    except SpecError as e:
        for path, why in e.skipped:
            err.print(f"note: {path}: skipped: {why}", markup=False, highlight=False)
        for p in sort_problems([*e.problems, *e.warnings]):
            err.print(str(p), markup=False, highlight=False)
        files = len({p.path for p in e.problems})
        err.print(f"{len(e.problems)} problem(s) in {files} file(s)", markup=False)
        sys.exit(exit_code(e))
    except SlmError as e:
        err.print(f"error: {e}", markup=False, highlight=False)
        sys.exit(exit_code(e))
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (``slm ... | head``): nothing more to say to it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        sys.exit(1)
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        err.print(f"error:{where}: {e.strerror or e}", markup=False, highlight=False)
        sys.exit(1)
    except Exception as e:
        if os.environ.get("SLM_DEBUG"):
            raise
        err.print(
            f"internal error: {type(e).__name__}: {e} (a bug in slm; SLM_DEBUG=1 shows where)",
            markup=False,
            highlight=False,
        )
        sys.exit(INTERNAL_ERROR)


__all__ = ["app", "main"]
