"""Generic webhook: a JSON POST signed with HMAC-SHA256.

Headers: ``Idempotency-Key`` (the message id, the same on every re-send),
``X-Slm-Timestamp`` (Unix seconds) and, when the channel names a secret,
``X-Slm-Signature: sha256=<hex>`` = HMAC-SHA256(secret, ``<timestamp>.<body>``). A receiver
recomputes the HMAC over the raw body, compares in constant time, and rejects timestamps
older than a few minutes (replay protection).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from slm import __version__
from slm.notify.channels import WebhookChannel, secret
from slm.notify.message import OutgoingMessage
from slm.notify.posting import post

SIGNATURE_HEADER = "X-Slm-Signature"
TIMESTAMP_HEADER = "X-Slm-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(key: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(key: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (constant-time comparison)."""
    return hmac.compare_digest(sign(key, timestamp, body), signature)


def webhook_body(message: OutgoingMessage) -> bytes:
    doc: dict[str, Any] = {
        "id": message.id,
        "subject": message.subject,
        "text": message.body,
        **dict(message.payload),
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def send_webhook(
    channel: WebhookChannel,
    message: OutgoingMessage,
    *,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> str:
    body = webhook_body(message)
    timestamp = str(int(clock()))
    headers = {
        **dict(channel.headers),
        "Content-Type": "application/json",
        "User-Agent": f"slm/{__version__}",
        IDEMPOTENCY_HEADER: message.id,
        TIMESTAMP_HEADER: timestamp,
    }
    if channel.secret_env:
        key = secret(env, channel.secret_env, "webhook signing secret")
        headers[SIGNATURE_HEADER] = sign(key, timestamp, body)
    return post(channel.url, body, headers, channel.timeout)
