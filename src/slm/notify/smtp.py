"""Email over SMTP with the standard library (``smtplib``, ``email``).

The message's ``Message-ID`` is ``<MESSAGE-ID@slm>`` with the outbox message id, the same
on every re-send, so a mail system or a reader can recognise a duplicate. ``security`` is
``starttls`` (port 587), ``ssl`` (implicit TLS, port 465) or ``none`` (a local relay).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate

from slm.domain.errors import DeliveryError
from slm.notify.channels import EmailChannel, secret
from slm.notify.message import OutgoingMessage


def email_message(channel: EmailChannel, message: OutgoingMessage) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.sender
    mail["To"] = ", ".join(message.to)
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{message.id}@slm>"
    mail["X-Slm-Message-Id"] = message.id
    mail.set_content(message.body)
    return mail


def send_email(
    channel: EmailChannel,
    message: OutgoingMessage,
    *,
    env: Mapping[str, str] | None = None,
    tls_context: ssl.SSLContext | None = None,
) -> str:
    if not message.to:
        raise DeliveryError("no email recipients", retryable=False, status="config")
    user = secret(env, channel.username_env, "SMTP user name") if channel.username_env else None
    password = secret(env, channel.password_env, "SMTP password") if channel.password_env else None
    mail = email_message(channel, message)
    context = tls_context or ssl.create_default_context()
    where = f"{channel.host}:{channel.port}"
    try:
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(channel.host, channel.port, timeout=channel.timeout, context=context)
            if channel.security == "ssl"
            else smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout)
        )
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=context)
            if user is not None and password is not None:
                smtp.login(user, password)
            refused = smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(
            f"{where} refused every recipient: {_refusals(e.recipients)}",
            retryable=all(code < 500 for code, _ in e.recipients.values()),
            status="refused",
        ) from e
    except smtplib.SMTPResponseException as e:
        text = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else ""
        raise DeliveryError(
            f"{where} answered {e.smtp_code} {text}".strip(),
            retryable=e.smtp_code < 500,
            status=f"SMTP {e.smtp_code}",
        ) from e
    except TimeoutError as e:
        raise DeliveryError(
            f"no answer from {where} within {channel.timeout:g}s", retryable=True, status="timeout"
        ) from e
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryError(
            f"SMTP delivery to {where} failed: {type(e).__name__}: {e}",
            retryable=True,
            status="connection",
        ) from e
    if refused:
        return f"SMTP 250 (refused: {_refusals(refused)})"
    return "SMTP 250"


def _refusals(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return ", ".join(
        f"{addr} ({code} {text.decode('utf-8', 'replace')})"
        for addr, (code, text) in sorted(recipients.items())
    )
