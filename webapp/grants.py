"""The one OAuth grant store: calendar connections (Google, Microsoft) and Zoom keep their
tokens the same way, encrypted (webapp.crypto), and renew them through here.

fresh_access_token() gives a usable access token, refreshed when near expiry (or when
`force`, after a 401). Many jobs may find the token expired at once: a process lock, a row
lock on PostgreSQL, a re-check after taking them and a compare-and-swap on token_version
make exactly one of them call the token endpoint. The refresh runs in a session of its own
and commits there, never in the caller's transaction: a meeting half-way through being
saved is not committed by it, and a failed refresh does not spoil the caller's work.

The exchange goes through Authlib's OAuth 2 client, with each provider's client
authentication method from config (<PREFIX>_TOKEN_AUTH_METHOD: client_secret_post or
client_secret_basic).
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app

from webapp import crypto
from webapp.extensions import db
from webapp.types import utcnow

#: Token endpoint errors that mean the grant is gone: the user must connect again.
REVOKED = {"invalid_grant", "unauthorized_client", "invalid_client"}
#: A token this close to expiry is refreshed before use.
MARGIN = timedelta(seconds=60)


class GrantError(Exception):
    """The grant gave no token. retryable: the token endpoint may answer later."""

    def __init__(self, message: str, retryable: bool, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class GrantRevoked(GrantError):
    """The provider refused the grant (or it has no refresh token): connect again. The
    connection is marked reconnect_needed, with last_error, before this is raised."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


@dataclasses.dataclass(frozen=True)
class GrantKind:
    """A model holding a grant: access_token_enc, refresh_token_enc, expires_at,
    token_version, status and last_error columns."""

    model: type
    #: The config prefix of the row's provider ("GOOGLE", "MICROSOFT", "ZOOM").
    prefix: str | None = None

    def config_prefix(self, row) -> str:
        return self.prefix or row.provider.upper()


_deferring = threading.local()


class deferred:
    """Within it, a token that needs a refresh is not refreshed: GrantError (retryable)
    instead, so the caller hands the work to its retried job. For provider calls made
    while a save holds its transaction: the job refreshes, and the save never waits on a
    token endpoint (nor, on SQLite, on its own write lock)."""

    def __enter__(self):
        _deferring.depth = getattr(_deferring, "depth", 0) + 1
        return self

    def __exit__(self, *exc):
        _deferring.depth -= 1
        return False


_locks: dict[tuple[str, int], threading.Lock] = {}
_guard = threading.Lock()


def _lock_for(kind: GrantKind, row_id: int) -> threading.Lock:
    with _guard:
        return _locks.setdefault((kind.model.__tablename__, row_id), threading.Lock())


def expiry(token: dict) -> datetime | None:
    """When a token from a token endpoint expires (expires_at or expires_in), or None."""
    if token.get("expires_at"):
        return datetime.fromtimestamp(float(token["expires_at"]), UTC)
    if token.get("expires_in"):
        return utcnow() + timedelta(seconds=int(token["expires_in"]))
    return None


def store(row, token: dict) -> None:
    """Put a fresh grant (from the authorization code flow) on a connection row: tokens
    encrypted, a refresh token kept when the new grant has none, version raised."""
    row.access_token_enc = crypto.encrypt(token.get("access_token"))
    row.refresh_token_enc = crypto.encrypt(token.get("refresh_token")) or row.refresh_token_enc
    row.expires_at = expiry(token)
    row.token_version = (row.token_version or 0) + 1
    row.status, row.last_error = "active", None


def mark_revoked(kind: GrantKind, row_id: int, message: str) -> None:
    """The provider refused the stored credential: reconnect needed (in a session of its
    own, so a page that found out while reading marks it without committing its work)."""
    with so.Session(db.engine) as session:
        session.execute(sa.update(kind.model).where(kind.model.id == row_id)
                        .values(status="reconnect_needed", last_error=message[:2000]))
        session.commit()


def _valid(row) -> bool:
    return row.expires_at is None or row.expires_at > utcnow() + MARGIN


def needs_refresh(row) -> bool:
    """True when using the row's grant now would call the token endpoint first."""
    return not _valid(row)


def fresh_access_token(kind: GrantKind, row_id: int, force: bool = False) -> str:
    """A usable access token for the grant on row row_id (see the module docstring).
    Raises GrantRevoked or GrantError; the caller's session is not committed."""
    with so.Session(db.engine, expire_on_commit=False) as session:
        row = session.get(kind.model, row_id)
        if row is None:
            raise GrantError("The connection was removed.", retryable=False)
        if row.status != "active":
            raise GrantRevoked(row.last_error or "Connect it again.")
        seen = row.token_version
        if _valid(row) and not force:
            return crypto.decrypt(row.access_token_enc)
        if getattr(_deferring, "depth", 0):
            raise GrantError("The access token needs renewing; Parley will do it shortly.",
                             retryable=True)
        session.rollback()  # hold no connection while waiting for the lock
        try:
            return _refresh(kind, session, row_id, seen, force)
        except sa.exc.OperationalError as exc:  # the database busy or away: try later
            session.rollback()
            raise GrantError("The token could not be stored; Parley will try again.",
                             retryable=True) from exc


def _refresh(kind: GrantKind, session: so.Session, row_id: int, seen: int,
             force: bool) -> str:
    """The locked part of fresh_access_token()."""
    with _lock_for(kind, row_id):
        stmt = sa.select(kind.model).where(kind.model.id == row_id)
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = session.execute(stmt.execution_options(populate_existing=True)).scalar_one()
        if row.status != "active":
            session.rollback()
            raise GrantRevoked(row.last_error or "Connect it again.")
        if row.token_version != seen or (_valid(row) and not force):
            token = crypto.decrypt(row.access_token_enc)
            session.rollback()
            return token  # someone else refreshed while we waited
        try:
            fresh = _exchange(kind.config_prefix(row), crypto.decrypt(row.refresh_token_enc))
        except GrantRevoked as exc:
            row.status, row.last_error = "reconnect_needed", str(exc)
            session.commit()
            raise
        except GrantError:
            session.rollback()
            raise
        result = session.execute(
            sa.update(kind.model)
            .where(kind.model.id == row_id, kind.model.token_version == row.token_version)
            .values(access_token_enc=crypto.encrypt(fresh["access_token"]),
                    refresh_token_enc=crypto.encrypt(fresh.get("refresh_token"))
                    or row.refresh_token_enc,
                    expires_at=expiry(fresh), token_version=row.token_version + 1)
            .execution_options(synchronize_session=False))
        session.commit()
        if result.rowcount != 1:  # lost the race after all: use the winner's token
            return crypto.decrypt(session.get(kind.model, row_id, populate_existing=True)
                                  .access_token_enc)
        return fresh["access_token"]


def _exchange(prefix: str, refresh_token: str | None) -> dict:
    """The refresh_token grant at the provider's token endpoint, through Authlib."""
    if not refresh_token:
        raise GrantRevoked("No refresh token: connect again.")
    cfg = current_app.config
    client = OAuth2Session(
        cfg[f"{prefix}_CLIENT_ID"], cfg[f"{prefix}_CLIENT_SECRET"],
        token_endpoint_auth_method=cfg.get(f"{prefix}_TOKEN_AUTH_METHOD",
                                           "client_secret_post"))
    try:
        with client:
            token = client.refresh_token(cfg[f"{prefix}_TOKEN_URL"],
                                         refresh_token=refresh_token, timeout=10)
    except OAuthError as exc:
        if exc.error in REVOKED:
            raise GrantRevoked("Access was revoked: connect again.") from exc
        raise GrantError(f"Token refresh refused ({exc.error}).", retryable=False) from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        raise GrantError(f"Token refresh failed ({status}).", retryable=True,
                         status=status) from exc
    except requests.RequestException as exc:
        raise GrantError("The sign-in service is unreachable.", retryable=True) from exc
    except ValueError as exc:  # not a JSON object
        raise GrantError("The sign-in service sent no token.", retryable=False) from exc
    if "access_token" not in token:
        raise GrantError("The sign-in service sent no token.", retryable=False)
    return dict(token)
