"""The command line's errors and the one table from error class to exit code.

docs/cli.md documents the codes. A class not in the table takes the code of its nearest
ancestor that is (``SignedOffError`` is a ``ConflictError`` is a ``DataError``: 1).
"""

from __future__ import annotations

from slm.domain.errors import (
    DataError,
    DeliveryError,
    NotFoundError,
    SlmError,
    SourceError,
    SpecError,
    StoreError,
    UsageError,
)
from slm.services.errors import UndeterminedError


class OutputError(UsageError):
    """An output file that cannot be written."""


EXIT_CODES: dict[type, int] = {
    SlmError: 2,  # a usage error unless said otherwise
    SpecError: 1,  # invalid specs
    DataError: 1,  # invalid data, a refused change, a failed check
    UsageError: 2,  # a bad option value, an -o path, a missing extra, a period
    SourceError: 3,  # a metric source failed
    DeliveryError: 3,  # a notification channel failed
    NotFoundError: 4,
    StoreError: 5,
    UndeterminedError: 8,  # attainment unknown: credits undetermined
}
"""Exit codes of the errors slm raises on purpose (docs/cli.md, "Exit codes")."""


def exit_code(error: SlmError) -> int:
    """The exit code of ``error``: that of the nearest class in ``EXIT_CODES``."""
    return next(EXIT_CODES[c] for c in type(error).__mro__ if c in EXIT_CODES)
