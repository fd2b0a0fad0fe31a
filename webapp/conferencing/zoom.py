"""Zoom per-user connection: OAuth 2.0 (Authlib, PKCE S256, state in the session),
tokens kept and renewed by the grant store (webapp.grants), as calendars' are."""

from __future__ import annotations

import requests
import sqlalchemy as sa
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from webapp import grants
from webapp.conferencing.errors import ConferenceError
from webapp.conferencing.models import ZoomConnection
from webapp.extensions import db

#: Zoom connections in the grant store.
GRANTS = grants.GrantKind(ZoomConnection, prefix="ZOOM")


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
                           "token_endpoint_auth_method": app.config["ZOOM_TOKEN_AUTH_METHOD"]})
    app.extensions["parley_zoom_oauth"] = oauth


def configured() -> bool:
    return bool(current_app.config.get("ZOOM_CLIENT_ID"))


def client():
    return current_app.extensions["parley_zoom_oauth"].create_client("zoom")


def connection_for(user_id: int) -> ZoomConnection | None:
    return db.session.scalar(sa.select(ZoomConnection).where(ZoomConnection.user_id == user_id))


def connect(user, token: dict, email: str | None) -> ZoomConnection:
    """Store a fresh grant (encrypted)."""
    conn = connection_for(user.id)
    if conn is None:
        conn = ZoomConnection(account_id=user.account_id, user_id=user.id)
        db.session.add(conn)
    conn.external_email = email
    grants.store(conn, token)
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


def access_token(conn: ZoomConnection, force: bool = False) -> str:
    """A usable token (webapp.grants: refreshed near expiry or after a 401, by one caller
    only, in a session of its own)."""
    if conn.status != "active":
        raise ConferenceError(_l("Zoom needs to be connected again."), retryable=False)
    try:
        return grants.fresh_access_token(GRANTS, conn.id, force)
    except grants.GrantRevoked as exc:
        raise ConferenceError(_l("Access to Zoom was revoked: connect it again."),
                              retryable=False) from exc
    except grants.GrantError as exc:
        if exc.retryable:
            raise ConferenceError(_l("Zoom sign-in is unreachable; Parley will try again."),
                                  status=exc.status) from exc
        raise ConferenceError(_l("Zoom token refresh failed: %(error)s", error=str(exc)),
                              retryable=False, status=exc.status) from exc
