"""The one exception tree of slm.

Edges (CLI, API) map these to exit codes and HTTP statuses; nothing below the edges
prints or exits.
"""

from __future__ import annotations

from dataclasses import dataclass


class SlmError(Exception):
    """Base of every error slm raises on purpose."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem found in an input, located as precisely as we can."""

    path: str
    line: int | None
    kind: str
    name: str
    field: str
    message: str
    severity: str = "error"  # or "warning": reported, but the input is still accepted

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        obj = f"{self.kind}/{self.name}" if self.name else (self.kind or "-")
        field = self.field or "-"
        note = "warning: " if self.severity == "warning" else ""
        return f"{where}: {obj}: {field}: {note}{self.message}"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"


class SpecError(SlmError):
    """One or more problems in spec files; carries all of them."""

    exit_code = 1

    def __init__(
        self,
        problems: list[Problem],
        warnings: list[Problem] | None = None,
        skipped: list[tuple[str, str]] | None = None,
    ):
        self.problems = sort_problems(problems)
        self.warnings = sort_problems(warnings or [])
        self.skipped = list(skipped or [])  # (path, why): files read past as not specs
        super().__init__("\n".join(str(p) for p in self.problems))


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """By file, line, object and field: the order every listing of problems uses."""
    return sorted(problems, key=lambda p: (p.path, p.line or 0, p.kind, p.name, p.field))


class DataError(SlmError):
    """Measurement data that cannot be used (bad rows, unreadable files)."""

    exit_code = 1


class SourceError(SlmError):
    """A metric source failed to answer."""

    exit_code = 3


class NotFoundError(SlmError):
    """A named object does not exist."""

    exit_code = 4


class StoreError(SlmError):
    """The store could not complete an operation."""

    exit_code = 5


class ConflictError(DataError):
    """A change that the current state of a record forbids (e.g. a signed-off root cause);
    HTTP 409 at the API, exit code 1 at the CLI."""


class StoreConflict(StoreError):
    """A constraint refused a write, often because a concurrent writer got there first
    (two new incidents numbered alike): repeating the unit of work may succeed."""


class MissingExtraError(SlmError):
    """An optional part of slm is not installed; the message names the extra to install
    (pyproject.toml, README "Install"). A usage error: exit code 2."""

    exit_code = 2

    def __init__(self, extra: str, what: str, module: str):
        self.extra = extra
        super().__init__(
            f"{what} needs {module}, which is not installed: pip install 'slm[{extra}]'"
        )
