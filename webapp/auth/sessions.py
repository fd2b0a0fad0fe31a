"""Server-side sessions: the cookie is signed, and a row in user_sessions must also exist.

A cookie captured before logout is dead after it; "log out everywhere" and a new password
end the other sessions; a session ends after SESSION_IDLE_SECONDS without a request and
SESSION_MAX_SECONDS after login whatever happens. Login starts a new session (and with it
a new CSRF token), so nothing from before login carries over.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, g, session

from webapp.auth.models import User, UserSession
from webapp.extensions import db
from webapp.types import utcnow

SID = "_parley_sid"
#: Marks a session whose last_seen_at load() changed, for the loader to commit.
SEEN_WRITTEN = "parley_session_seen_written"
#: last_seen_at is written at most this often (not on every request).
SEEN_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _limits() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (timedelta(seconds=config["SESSION_IDLE_SECONDS"]),
            timedelta(seconds=config["SESSION_MAX_SECONDS"]))


def start(user: User) -> None:
    """A fresh session for user: everything in the old cookie but the language goes, the
    CSRF token included; a new server-side row."""
    lang = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)
    if lang:
        session["lang"] = lang
    token = secrets.token_urlsafe(32)
    now = utcnow()
    idle, longest = _limits()
    # Sessions of this user that ran out are removed as a new one starts.
    db.session.execute(sa.delete(UserSession).where(
        UserSession.user_id == user.id,
        sa.or_(UserSession.created_at < now - longest, UserSession.last_seen_at < now - idle)))
    db.session.add(UserSession(user_id=user.id, token_hash=_hash(token), created_at=now,
                               last_seen_at=now))
    session[SID] = token
    session.permanent = True


@cache
def _load_statement():
    """The user loader's SELECT, built once a process (every request runs it, #24): the
    user (with the account) as an entity, of the session row only what load() reads."""
    return (sa.select(User, UserSession.id, UserSession.created_at, UserSession.last_seen_at)
            .join(UserSession, UserSession.user_id == User.id)
            .where(User.id == sa.bindparam("user_id"),
                   UserSession.token_hash == sa.bindparam("token_hash"))
            .options(so.joinedload(User.account)))


def load(user_id: str) -> User | None:
    """Flask-Login's user loader: the user, when this cookie's session is alive (one
    query, the account joined as before)."""
    token = session.get(SID)
    if not token or not str(user_id).isdigit():
        return None
    row = db.session.execute(_load_statement(), {"user_id": int(user_id),
                                                 "token_hash": _hash(token)}).first()
    if row is None:
        return None
    user, live_id, created_at, last_seen_at = row
    now = utcnow()
    idle, longest = _limits()
    if created_at + longest < now or last_seen_at + idle < now:
        return None
    if now - last_seen_at >= SEEN_EVERY:
        # Committed by the user loader (auth/routes.py), before the route's unit of work.
        db.session.execute(sa.update(UserSession).where(UserSession.id == live_id)
                           .values(last_seen_at=now))
        db.session.info[SEEN_WRITTEN] = True
    return user


def end_this() -> None:
    """Logout: this browser's session ends on the server too."""
    token = session.get(SID)
    if token:
        db.session.execute(sa.delete(UserSession).where(UserSession.token_hash == _hash(token)))


def end_others(user: User) -> int:
    """End every session of user but this one; returns how many ended."""
    token = session.get(SID)
    query = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if token:
        query = query.where(UserSession.token_hash != _hash(token))
    return db.session.execute(query).rowcount or 0


def end_all(user: User) -> None:
    """Log out everywhere, this browser included."""
    db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
