"""Channel configurations: where a message goes and how, without any secret in them.

Secrets (the webhook HMAC key, the Slack webhook URL, SMTP credentials) are read from the
environment when a message is sent; the configurations name the variables. A
configuration is stored with every outbox row (``to_json``/``from_json``) so the
dispatcher delivers what was enqueued without reading the specs again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from slm.domain.errors import DeliveryError
from slm.domain.escalation import RetryPolicy

SmtpSecurity = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True)
class WebhookChannel:
    name: str
    url: str
    secret_env: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    type: Literal["webhook"] = "webhook"


@dataclass(frozen=True)
class SlackChannel:
    name: str
    url_env: str
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    type: Literal["slack"] = "slack"


@dataclass(frozen=True)
class EmailChannel:
    name: str
    host: str
    sender: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    type: Literal["email"] = "email"


Channel = WebhookChannel | SlackChannel | EmailChannel


def secret(env: Mapping[str, str] | None, name: str, what: str) -> str:
    """The value of environment variable ``name`` (a missing secret is not retried)."""
    value = (os.environ if env is None else env).get(name)
    if not value:
        raise DeliveryError(
            f"environment variable {name} ({what}) is not set", retryable=False, status="config"
        )
    return value


def _retry_json(r: RetryPolicy) -> dict[str, Any]:
    return {
        "max_attempts": r.max_attempts,
        "initial_backoff_s": r.initial_backoff.total_seconds(),
        "max_backoff_s": r.max_backoff.total_seconds(),
        "multiplier": r.multiplier,
        "jitter": r.jitter,
    }


def _retry_from(d: Mapping[str, Any]) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=int(d["max_attempts"]),
        initial_backoff=timedelta(seconds=float(d["initial_backoff_s"])),
        max_backoff=timedelta(seconds=float(d["max_backoff_s"])),
        multiplier=float(d["multiplier"]),
        jitter=float(d["jitter"]),
    )


def to_json(ch: Channel) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": ch.type,
        "name": ch.name,
        "timeout": ch.timeout,
        "retry": _retry_json(ch.retry),
    }
    if isinstance(ch, WebhookChannel):
        return {**base, "url": ch.url, "secret_env": ch.secret_env, "headers": dict(ch.headers)}
    if isinstance(ch, SlackChannel):
        return {**base, "url_env": ch.url_env}
    return {
        **base,
        "host": ch.host,
        "port": ch.port,
        "security": ch.security,
        "sender": ch.sender,
        "username_env": ch.username_env,
        "password_env": ch.password_env,
    }


def from_json(d: Mapping[str, Any]) -> Channel:
    name, timeout, retry = str(d["name"]), float(d["timeout"]), _retry_from(d["retry"])
    kind = d["type"]
    if kind == "webhook":
        return WebhookChannel(
            name, str(d["url"]), d.get("secret_env"), dict(d.get("headers") or {}), timeout, retry
        )
    if kind == "slack":
        return SlackChannel(name, str(d["url_env"]), timeout, retry)
    if kind == "email":
        return EmailChannel(
            name,
            host=str(d["host"]),
            sender=str(d["sender"]),
            port=int(d["port"]),
            security=d["security"],
            username_env=d.get("username_env"),
            password_env=d.get("password_env"),
            timeout=timeout,
            retry=retry,
        )
    raise ValueError(f"unknown channel type {kind!r}")
