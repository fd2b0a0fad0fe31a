"""Authlib OAuth 2.0 clients for Google and Microsoft: authorization code + PKCE (S256),
`state` kept in the session (Authlib removes it on use, so a replay fails)."""

from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

SCOPES = {
    "google": "openid email https://www.googleapis.com/auth/calendar.events "
              "https://www.googleapis.com/auth/calendar.freebusy",
    "microsoft": "openid email offline_access User.Read Calendars.ReadWrite",
}
EXTRA = {"google": {"access_type": "offline", "prompt": "consent"}, "microsoft": {}}


def init_app(app: Flask) -> None:
    """One OAuth registry per app, with the providers whose client id is configured."""
    oauth = OAuth(app)
    for name in ("google", "microsoft"):
        prefix = name.upper()
        if not app.config.get(f"{prefix}_CLIENT_ID"):
            continue
        oauth.register(
            name, client_id=app.config[f"{prefix}_CLIENT_ID"],
            client_secret=app.config[f"{prefix}_CLIENT_SECRET"],
            authorize_url=app.config[f"{prefix}_AUTHORIZE_URL"],
            access_token_url=app.config[f"{prefix}_TOKEN_URL"],
            userinfo_endpoint=app.config[f"{prefix}_USERINFO_URL"],
            authorize_params=EXTRA[name],
            client_kwargs={"scope": SCOPES[name], "code_challenge_method": "S256",
                           "timeout": 10, "token_endpoint_auth_method":
                           app.config.get(f"{prefix}_TOKEN_AUTH_METHOD", "client_secret_post")})
    app.extensions["parley_oauth"] = oauth


def client(name: str):
    oauth = current_app.extensions["parley_oauth"]
    return oauth.create_client(name)
