"""What use cases refuse: the services' part of slm's exception tree (its root and the
domain's and adapters' errors are in ``slm.domain.errors``; docs/architecture.md draws it).
The edges map each class to an exit code or an HTTP status; these know neither."""

from __future__ import annotations

from collections.abc import Sequence

from slm.domain.errors import ConflictError, DataError, InvalidDocument, SlmError, UsageError


class PeriodError(UsageError):
    """A period label that does not fit the agreement."""


class OutsideTermError(PeriodError):
    """A period that lies wholly outside the agreement's term: there is no statement."""


class PeriodTextError(UsageError):
    """A ``--period`` that cannot be read."""


class UndeterminedError(SlmError):
    """A statement whose attainment is unknown for some clause: its credits are
    undetermined (see docs/agreements.md)."""


class InvalidBatch(InvalidDocument):
    """A push batch that cannot be used; names each bad field and item index."""

    root = "batch"


class MissingIdempotencyKey(DataError):
    """Neither the ``Idempotency-Key`` header nor ``idempotency_key`` was given."""


class IdempotencyConflict(ConflictError):
    """The idempotency key was used before for a batch with different items."""


class HookStepsFailed(Exception):
    """Raised by a hook that ran all its steps although some failed (each already logged
    with its traceback); the loop counts one failure per step. Not an ``SlmError``: it
    never leaves the evaluation loop."""

    def __init__(self, steps: Sequence[str]):
        self.steps = tuple(steps)
        super().__init__(f"failed step(s): {', '.join(self.steps)}")
