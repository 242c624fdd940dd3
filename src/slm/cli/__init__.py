"""The ``slm`` command line: parse input, call services, render output.

Each command group lives in its own module and registers itself on ``app`` when imported.
Errors from ``slm.domain.errors`` become a message on stderr and the error's exit code;
bad input never prints a traceback.
"""

from __future__ import annotations

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
from slm.domain.errors import SlmError, SpecError


@app.command()
def version() -> None:
    """Print the slm version."""
    out.print(__version__)


def main() -> None:
    try:
        app()
    except SpecError as e:
        for p in e.problems:
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


__all__ = ["app", "main"]
