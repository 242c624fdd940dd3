"""Notification channels (the adapters): generic webhook, Slack-compatible webhook, SMTP email.

``channels`` holds the channel configurations (no secrets: only the names of the
environment variables that hold them), ``message`` what is sent, ``rendering`` the
sandboxed Jinja templates, and ``webhook``/``slack``/``email`` the senders that
``sender.ChannelNotifier`` dispatches to. See docs/notifications.md.
"""
