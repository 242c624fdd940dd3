"""What a channel sends: one rendered message with its idempotency key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Message ids are UUIDv5 of the deduplication key in this namespace: enqueuing the same
# firing twice gives the same id, and a re-send carries the id the receiver already saw.
NAMESPACE = uuid.UUID("6c1f4a52-1d0e-4f57-9d3c-2f1b1f0c5a10")


def message_id(dedup_key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, dedup_key))


@dataclass(frozen=True)
class OutgoingMessage:
    """``id`` is the idempotency key (``Idempotency-Key`` header, email ``Message-ID``)."""

    id: str
    subject: str
    body: str
    to: tuple[str, ...] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)
