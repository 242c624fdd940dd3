"""Fixtures of the notification tests (defined in notify_helpers)."""

from notify_helpers import notify_env, notify_ws, receiver, smtp_server  # noqa: F401
