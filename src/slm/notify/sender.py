"""``ChannelNotifier``: the adapter that sends a message over whichever channel it names."""

from __future__ import annotations

import ssl
from collections.abc import Mapping

from slm.notify.channels import Channel, EmailChannel, SlackChannel, WebhookChannel
from slm.notify.message import OutgoingMessage
from slm.notify.slack import send_slack
from slm.notify.smtp import send_email
from slm.notify.webhook import send_webhook


class ChannelNotifier:
    """Sends to webhook, Slack and email channels; secrets from ``env`` (default: the
    process environment). Returns a short outcome (``HTTP 200``, ``SMTP 250``) or raises
    ``DeliveryError``."""

    def __init__(
        self, env: Mapping[str, str] | None = None, tls_context: ssl.SSLContext | None = None
    ):
        self.env = env
        self.tls_context = tls_context

    def send(self, channel: Channel, message: OutgoingMessage) -> str:
        if isinstance(channel, WebhookChannel):
            return send_webhook(channel, message, env=self.env)
        if isinstance(channel, SlackChannel):
            return send_slack(channel, message, env=self.env)
        assert isinstance(channel, EmailChannel)
        return send_email(channel, message, env=self.env, tls_context=self.tls_context)
