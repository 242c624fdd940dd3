"""The ``slm`` command line: parse input, call services, render output.

Each command group lives in its own module and registers itself on ``app`` when imported.
Errors from ``slm.domain.errors`` become a message on stderr and the error's exit code;
bad input never prints a traceback.
"""

from __future__ import annotations

import os
import sys

from slm import __version__
from slm.cli import (  # noqa: F401  (registers the commands)
    alerts,
    backfill,
    composite,
    data,
    evaluate,
    incidents,
    notify,
    probe,
    reconcile,
    report,
    retention,
    rules,
    serve,
    sla,
    sla_check,
    specs,
)
from slm.cli.app import app, err, out
from slm.domain.errors import SlmError, SpecError, sort_problems


@app.command()
def version() -> None:
    """Print the slm version."""
    out.print(__version__)


# Exit code of a failure slm did not foresee (a bug): BSD's EX_SOFTWARE.
INTERNAL_ERROR = 70


def main() -> None:
    try:
        app()
    except SpecError as e:
        for path, why in e.skipped:
            err.print(f"note: {path}: skipped: {why}", markup=False, highlight=False)
        for p in sort_problems([*e.problems, *e.warnings]):
            err.print(str(p), markup=False, highlight=False)
        files = len({p.path for p in e.problems})
        err.print(f"{len(e.problems)} problem(s) in {files} file(s)", markup=False)
        sys.exit(e.exit_code)
    except SlmError as e:
        err.print(f"error: {e}", markup=False, highlight=False)
        sys.exit(e.exit_code)
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
