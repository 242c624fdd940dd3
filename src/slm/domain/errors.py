"""The root of slm's exception tree, and every error the domain and the adapters raise.

The tree (docs/architecture.md draws it) has three homes, one per layer: this module (the
root, the domain and the adapters: sources, store, notify), ``slm.services.errors`` (what
use cases refuse) and ``slm.cli.errors`` (the command line's own). Errors say what went
wrong and carry located problems as data; they know nothing of exit codes or HTTP statuses.
The edges map classes to those, each in one table: ``slm.cli.errors.EXIT_CODES`` and
``slm.api.problems.STATUSES``. Nothing below the edges prints or exits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SlmError(Exception):
    """Base of every error slm raises on purpose."""


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


class UsageError(SlmError):
    """A value given on the command line (or in a request) that cannot be used as asked."""


class DataError(SlmError):
    """Input data that cannot be used (bad rows, unreadable files, a refused change).
    ``about`` names the field or part of the record it concerns (``end``, ``root_cause``),
    when there is one."""

    def __init__(self, message: str = "", *, about: str = ""):
        super().__init__(message)
        self.about = about


@dataclass(frozen=True)
class FieldProblem:
    """One problem at a place inside a document: ``loc`` like ``("items", 3, "timestamp")``
    (object keys and list indices from the document's root)."""

    loc: tuple[str | int, ...]
    message: str
    part: str = "body"  # of a request: ``body``, ``query``, ``path`` or ``header``

    @property
    def field(self) -> str:
        """``items[3].timestamp``; empty for the document itself."""
        return field_label(self.loc)

    @property
    def pointer(self) -> str:
        """The RFC 6901 JSON Pointer of the place: ``/items/3/timestamp``."""
        return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in self.loc)


def field_label(loc: Sequence[str | int], root: str = "") -> str:
    """``items[3].timestamp`` for ``("items", 3, "timestamp")``; ``root`` for ``()``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or root


class InvalidDocument(DataError):
    """A document (a request body, an imported file) with problems at places inside it;
    carries every one of them. ``where`` names the document (a file) in the message;
    ``root`` is the field name of a problem about the document as a whole."""

    root = "document"

    def __init__(self, problems: Sequence[FieldProblem], where: str = ""):
        self.problems = list(problems)
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(
            "\n".join(f"{prefix}{self.label(p)}: {p.message}" for p in self.problems)
            or f"{prefix}invalid {self.root}"
        )

    def label(self, problem: FieldProblem) -> str:
        return problem.field or self.root


class ConflictError(DataError):
    """A change that the current state of a record forbids (e.g. a signed-off root cause)."""


class SignedOffError(ConflictError):
    """The root-cause record of an incident was signed off: it cannot change any more."""


class SourceError(SlmError):
    """A metric source failed to answer."""


class DeliveryError(SlmError):
    """A notification channel did not accept a message. ``retryable`` says whether trying
    again later can help (timeouts, 5xx, closed connections) or not (4xx, a refused
    recipient, a missing secret); ``status`` is the short outcome for the delivery log."""

    def __init__(self, message: str, *, retryable: bool, status: str = "error"):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class NotFoundError(SlmError):
    """A named object does not exist."""


class StoreError(SlmError):
    """The store could not complete an operation."""


class StoreConflict(StoreError):
    """A constraint refused a write, often because a concurrent writer got there first
    (two new incidents numbered alike): repeating the unit of work may succeed."""


class MissingExtraError(UsageError):
    """An optional part of slm is not installed; the message names the extra to install
    (pyproject.toml, README "Install")."""

    def __init__(self, extra: str, what: str, module: str):
        self.extra = extra
        super().__init__(
            f"{what} needs {module}, which is not installed: pip install 'slm[{extra}]'"
        )


# --- signals inside the domain --------------------------------------------------------
# Not ``SlmError``: the layer that calls the domain turns them into located problems.


class TemplateError(ValueError):
    """A probe placeholder whose variable has no value."""


class CycleError(ValueError):
    """The dependency graph has a cycle; ``cycle`` lists it, first name repeated last."""

    def __init__(self, cycle: Sequence[str]):
        self.cycle = tuple(cycle)
        super().__init__("dependency cycle: " + " -> ".join(self.cycle))
