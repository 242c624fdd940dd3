"""Slack-compatible incoming webhook: ``{"text": ...}`` to the URL held in an env variable.

Slack (and Mattermost, Rocket.Chat, Google Chat's compatible mode) take a JSON object with
``text`` in mrkdwn. Incoming webhooks have no idempotency support; slm still sends the
``Idempotency-Key`` header for proxies and compatible receivers that deduplicate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from slm import __version__
from slm.notify.channels import SlackChannel, secret
from slm.notify.message import OutgoingMessage
from slm.notify.posting import post
from slm.notify.webhook import IDEMPOTENCY_HEADER


def slack_body(message: OutgoingMessage) -> bytes:
    text = f"*{message.subject}*\n{message.body}".strip()
    return json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")


def send_slack(
    channel: SlackChannel, message: OutgoingMessage, *, env: Mapping[str, str] | None = None
) -> str:
    url = secret(env, channel.url_env, "Slack incoming webhook URL")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"slm/{__version__}",
        IDEMPOTENCY_HEADER: message.id,
    }
    return post(url, slack_body(message), headers, channel.timeout)
