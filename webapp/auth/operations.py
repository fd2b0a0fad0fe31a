"""Authentication rules: credentials check and login rate limiting."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from webapp.auth.models import LoginAttempt, User
from webapp.extensions import db
from webapp.types import utcnow

WINDOW = timedelta(minutes=15)


def too_many_attempts(keys: list[str]) -> bool:
    """True when any key (email, address) has failed LOGIN_RATE_LIMIT times in the window."""
    limit = current_app.config["LOGIN_RATE_LIMIT"]
    since = utcnow() - WINDOW
    for key in keys:
        count = db.session.scalar(sa.select(sa.func.count(LoginAttempt.id)).where(
            LoginAttempt.key == key, LoginAttempt.at >= since))
        if count >= limit:
            return True
    return False


def authenticate(email: str, password: str, keys: list[str]) -> User | None:
    """Return the user for valid credentials; record a failed attempt otherwise."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user and user.check_password(password):
        return user
    for key in keys:
        db.session.add(LoginAttempt(key=key))
    db.session.flush()
    return None


def user_in_account(account_id: int, user_id: int) -> User | None:
    """A user of this account, or None (tenant check)."""
    return db.session.scalar(sa.select(User).where(User.id == user_id,
                                                   User.account_id == account_id))
