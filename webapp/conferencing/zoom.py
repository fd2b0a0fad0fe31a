"""Zoom per-user connection: OAuth 2.0 (Authlib, PKCE S256, state in the session),
encrypted tokens, and one-refresh token renewal (the calendars' pattern)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from webapp.calendars import crypto
from webapp.conferencing.models import ZoomConnection
from webapp.conferencing.providers import ConferenceError
from webapp.extensions import db
from webapp.types import utcnow

_locks: dict[int, threading.Lock] = {}
_guard = threading.Lock()


def init_app(app: Flask) -> None:
    """Register the Zoom OAuth client when ZOOM_CLIENT_ID is configured."""
    oauth = OAuth(app)
    if app.config.get("ZOOM_CLIENT_ID"):
        oauth.register(
            "zoom", client_id=app.config["ZOOM_CLIENT_ID"],
            client_secret=app.config["ZOOM_CLIENT_SECRET"],
            authorize_url=app.config["ZOOM_AUTHORIZE_URL"],
            access_token_url=app.config["ZOOM_TOKEN_URL"],
            client_kwargs={"code_challenge_method": "S256", "timeout": 10,
                           "token_endpoint_auth_method": "client_secret_basic"})
    app.extensions["parley_zoom_oauth"] = oauth


def configured() -> bool:
    return bool(current_app.config.get("ZOOM_CLIENT_ID"))


def client():
    return current_app.extensions["parley_zoom_oauth"].create_client("zoom")


def connection_for(user_id: int) -> ZoomConnection | None:
    return db.session.scalar(sa.select(ZoomConnection).where(ZoomConnection.user_id == user_id))


def _expiry(token: dict) -> datetime | None:
    if token.get("expires_at"):
        return datetime.fromtimestamp(float(token["expires_at"]), UTC)
    if token.get("expires_in"):
        return utcnow() + timedelta(seconds=int(token["expires_in"]))
    return None


def connect(user, token: dict, email: str | None) -> ZoomConnection:
    """Store a fresh grant (encrypted)."""
    conn = connection_for(user.id)
    if conn is None:
        conn = ZoomConnection(account_id=user.account_id, user_id=user.id)
        db.session.add(conn)
    conn.external_email, conn.status, conn.last_error = email, "active", None
    conn.access_token_enc = crypto.encrypt(token.get("access_token"))
    conn.refresh_token_enc = crypto.encrypt(token.get("refresh_token")) or conn.refresh_token_enc
    conn.expires_at = _expiry(token)
    conn.token_version = (conn.token_version or 0) + 1
    db.session.flush()
    return conn


def disconnect(user) -> bool:
    conn = connection_for(user.id)
    if conn is None:
        return False
    db.session.delete(conn)
    db.session.flush()
    return True


def fetch_email(token: str) -> str | None:
    """GET /users/me with a fresh token: the Zoom account's address."""
    base = current_app.config["ZOOM_API_BASE"].rstrip("/")
    response = requests.get(f"{base}/users/me", timeout=10,
                            headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json().get("email")


def _valid(conn: ZoomConnection) -> bool:
    return conn.expires_at is None or conn.expires_at > utcnow() + timedelta(seconds=60)


def access_token(connection_id: int, force: bool = False) -> str:
    """A usable token; refreshed near expiry or after a 401 (force), by one caller only."""
    conn = db.session.get(ZoomConnection, connection_id)
    if conn is None or conn.status != "active":
        raise ConferenceError(_l("Zoom needs to be connected again."), retryable=False)
    seen = conn.token_version
    if _valid(conn) and not force:
        return crypto.decrypt(conn.access_token_enc)
    with _guard:
        lock = _locks.setdefault(connection_id, threading.Lock())
    with lock:
        stmt = sa.select(ZoomConnection).where(ZoomConnection.id == connection_id)
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        conn = db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()
        if conn.token_version != seen or (_valid(conn) and not force):
            return crypto.decrypt(conn.access_token_enc)
        cfg = current_app.config
        try:
            response = requests.post(cfg["ZOOM_TOKEN_URL"], timeout=10, data={
                "grant_type": "refresh_token",
                "refresh_token": crypto.decrypt(conn.refresh_token_enc) or ""},
                auth=(cfg["ZOOM_CLIENT_ID"], cfg["ZOOM_CLIENT_SECRET"]))
        except requests.RequestException as exc:
            raise ConferenceError(_l("Zoom sign-in is unreachable; Parley will try again.")) \
                from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code in (400, 401):
            conn.status = "reconnect_needed"
            conn.last_error = str(_l("Access to Zoom was revoked: connect it again."))
            db.session.flush()
            raise ConferenceError(conn.last_error, retryable=False)
        if response.status_code >= 400 or "access_token" not in body:
            raise ConferenceError(_l("Zoom token refresh failed (%(status)d).",
                                     status=response.status_code),
                                  retryable=response.status_code >= 500)
        result = db.session.execute(
            sa.update(ZoomConnection)
            .where(ZoomConnection.id == conn.id, ZoomConnection.token_version == conn.token_version)
            .values(access_token_enc=crypto.encrypt(body["access_token"]),
                    refresh_token_enc=crypto.encrypt(body.get("refresh_token"))
                    or conn.refresh_token_enc,
                    expires_at=_expiry(body), token_version=conn.token_version + 1)
            .execution_options(synchronize_session=False))
        db.session.flush()
        if result.rowcount != 1:
            db.session.expire(conn)
            return crypto.decrypt(db.session.get(ZoomConnection, connection_id).access_token_enc)
        return body["access_token"]
