"""Authentication rules: credentials check and login rate limiting."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.auth.models import LoginThrottle, User
from webapp.extensions import db
from webapp.types import utcnow

#: A key's count starts again after this long without an attempt.
WINDOW = timedelta(minutes=15)


def _dummy_hash() -> str:
    """A hash checked when no user has the email, so that an unknown email costs the same
    time as a wrong password (the timing would otherwise tell which emails exist)."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = generate_password_hash(secrets.token_urlsafe(16))
    return _DUMMY


_DUMMY: str | None = None


def _limits(key: str) -> int:
    config = current_app.config
    return config["LOGIN_RATE_LIMIT"] if key.startswith("email:") \
        else config["LOGIN_ADDRESS_RATE_LIMIT"]


def _delay(tries: int, free: int) -> timedelta:
    """Wait before the next check once `tries` checks were made: 0 within the free ones,
    then 1 s, 2 s, 4 s ... capped."""
    cap = current_app.config["LOGIN_MAX_DELAY_SECONDS"]
    if tries < free:
        return timedelta(0)
    return timedelta(seconds=min(cap, 2 ** min(tries - free, 30)))


def reserve_check(keys: list[str]) -> float:
    """Reserve one password check for every key; 0 when allowed, else the seconds to wait.

    Each key's row is changed by one conditional UPDATE (RETURNING the new count): parallel
    attempts take turns at the row, so no more checks pass than the limit allows. The
    caller commits before checking the password, so other attempts see the reservation.
    """
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    cap = timedelta(seconds=current_app.config["LOGIN_MAX_DELAY_SECONDS"])
    for key in keys:
        free = _limits(key)
        db.session.execute(insert(LoginThrottle).values(
            key=key, tries=0, next_allowed_at=None, updated_at=now).on_conflict_do_nothing())
        lapsed = LoginThrottle.updated_at < now - WINDOW
        tries = db.session.scalar(
            sa.update(LoginThrottle)
            .where(LoginThrottle.key == key,
                   sa.or_(LoginThrottle.next_allowed_at.is_(None),
                          LoginThrottle.next_allowed_at <= now, lapsed))
            .values(tries=sa.case((lapsed, 1), else_=LoginThrottle.tries + 1),
                    # Held until the delay is known (below): parallel attempts wait.
                    next_allowed_at=now + cap, updated_at=now)
            .returning(LoginThrottle.tries))
        if tries is None:
            wait = db.session.scalar(sa.select(LoginThrottle.next_allowed_at)
                                     .where(LoginThrottle.key == key))
            return max(1.0, (wait - now).total_seconds()) if wait else 1.0
        delay = _delay(tries, free)
        db.session.execute(sa.update(LoginThrottle).where(LoginThrottle.key == key).values(
            next_allowed_at=now + delay if delay else None))
    return 0.0


def authenticate(email: str, password: str) -> User | None:
    """The user for valid credentials, else None; the same work either way."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if user.check_password(password) else None


def check_succeeded(email_key: str, address_key: str) -> None:
    """A correct password: the account starts again from its free checks; the address
    gets back the check it spent (a busy office behind one address is never slowed by its
    own successful logins, and a guesser cannot reset it with an account of their own)."""
    db.session.execute(sa.update(LoginThrottle).where(LoginThrottle.key == email_key)
                       .values(tries=0, next_allowed_at=None))
    free = _limits(address_key)
    db.session.execute(sa.update(LoginThrottle).where(LoginThrottle.key == address_key).values(
        tries=sa.case((LoginThrottle.tries > 0, LoginThrottle.tries - 1), else_=0),
        next_allowed_at=sa.case((LoginThrottle.tries - 1 < free, None),
                                else_=LoginThrottle.next_allowed_at)))


def user_in_account(account_id: int, user_id: int) -> User | None:
    """A user of this account, or None (tenant check)."""
    return db.session.scalar(sa.select(User).where(User.id == user_id,
                                                   User.account_id == account_id))
