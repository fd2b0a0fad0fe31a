"""Hands a finished message to SMTP, or to the dev mailbox when SMTP_URL is unset."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

from flask import current_app

from webapp.extensions import db
from webapp.mail.models import CapturedMail


class PermanentMailError(Exception):
    """The server refused for good (5xx): retrying cannot help."""


class TemporaryMailError(Exception):
    """The server or network failed for now (4xx, refused, timeout): retry later."""


def send(msg: EmailMessage) -> None:
    """Deliver msg. Raises PermanentMailError or TemporaryMailError on failure."""
    url = current_app.config.get("SMTP_URL")
    recipients = [a.strip() for a in msg.get_all("To", []) if a.strip()]
    if not url:
        db.session.add(CapturedMail(recipients=", ".join(recipients),
                                    subject=str(msg.get("Subject", "")),
                                    message_id=msg.get("Message-ID"), raw=msg.as_bytes()))
        db.session.flush()
        return
    parts = urlparse(url)
    options = parse_qs(parts.query)
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    try:
        if parts.scheme == "smtps":
            client = smtplib.SMTP_SSL(parts.hostname, port, timeout=20,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(parts.hostname, port, timeout=20)
        with client:
            if options.get("starttls", ["0"])[0] in ("1", "true"):
                client.starttls(context=ssl.create_default_context())
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(500 <= c < 600 for c in codes):
            raise PermanentMailError(str(exc.recipients)) from exc
        raise TemporaryMailError(str(exc.recipients)) from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise TemporaryMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryMailError(str(exc) or exc.__class__.__name__) from exc
