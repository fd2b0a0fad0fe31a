"""Hands a finished message to SMTP, or to the dev mailbox when SMTP_URL is unset."""

from __future__ import annotations

import smtplib
import ssl
import threading
from contextlib import contextmanager
from email.message import Message
from urllib.parse import parse_qs, unquote, urlparse

from flask import current_app

from webapp.extensions import db
from webapp.mail.models import CapturedMail


class PermanentMailError(Exception):
    """The server refused for good (5xx): retrying cannot help."""


class TemporaryMailError(Exception):
    """The server or network failed for now (4xx, refused, timeout): retry later."""


_local = threading.local()


@contextmanager
def one_connection():
    """Send every message of the block over one SMTP connection (a worker's batch):
    connecting, greeting and logging in once instead of once per message. A failed send
    drops the connection; the next message opens a new one."""
    if getattr(_local, "batch", None) is not None:
        yield  # already inside a batch
        return
    _local.batch = {}
    try:
        yield
    finally:
        client = _local.batch.pop("client", None)
        _local.batch = None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


def _connect(url: str) -> smtplib.SMTP:
    parts = urlparse(url)
    options = parse_qs(parts.query)
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(parts.hostname, port, timeout=20,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(parts.hostname, port, timeout=20)
    try:
        if options.get("starttls", ["0"])[0] in ("1", "true"):
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        client.close()
        raise
    return client


def _drop(batch: dict) -> None:
    """Close and forget the batch's connection, if it has one."""
    client = batch.pop("client", None)
    if client is not None:
        client.close()


def _send_smtp(url: str, msg: Message) -> None:
    batch = getattr(_local, "batch", None)
    if batch is None:
        with _connect(url) as client:
            client.send_message(msg)
        return
    if batch.get("client") is not None and batch.get("url") == url:
        try:
            batch["client"].send_message(msg)
            return
        except smtplib.SMTPServerDisconnected:
            _drop(batch)  # the server closed an idle connection: open a new one, once
        except BaseException:
            _drop(batch)
            raise
    _drop(batch)
    batch["client"], batch["url"] = _connect(url), url
    try:
        batch["client"].send_message(msg)
    except BaseException:
        _drop(batch)
        raise


def send(msg: Message, account_id: int | None = None) -> None:
    """Deliver msg, mail of account_id. Raises PermanentMailError or TemporaryMailError on
    failure."""
    url = current_app.config.get("SMTP_URL")
    recipients = [a.strip() for a in msg.get_all("To", []) if a.strip()]
    if not url:
        db.session.add(CapturedMail(account_id=account_id, recipients=", ".join(recipients),
                                    subject=str(msg.get("Subject", "")),
                                    message_id=msg.get("Message-ID"), raw=msg.as_bytes()))
        db.session.flush()
        return
    try:
        _send_smtp(url, msg)
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
