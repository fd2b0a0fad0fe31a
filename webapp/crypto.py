"""Secrets at rest: MultiFernet over CALENDAR_ENCRYPTION_KEYS (newest first), so keys rotate:
new values use the first key, old values still decrypt, `rotate()` re-encrypts."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in (current_app.config.get("CALENDAR_ENCRYPTION_KEYS") or "").split(",")
            if k.strip()]
    if not keys:
        # Development: a key derived from SECRET_KEY (production sets its own keys).
        digest = hashlib.sha256(("parley-calendars:" + current_app.config["SECRET_KEY"])
                                .encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(value: str | None) -> str | None:
    return _fernet().encrypt(value.encode()).decode() if value else None


def decrypt(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("a stored secret cannot be decrypted with the configured keys") from exc


def rotate(value: str | None) -> str | None:
    """Re-encrypt with the newest key."""
    return _fernet().rotate(value.encode()).decode() if value else None
