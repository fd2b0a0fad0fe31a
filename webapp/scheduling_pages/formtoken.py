"""The security token of the public booking forms.

Flask-WTF keeps its CSRF token in the session cookie, and a browser does not send a
SameSite=Lax cookie inside another site's <iframe>: an embedded page's form would always
fail its check. The public forms (book, reschedule, cancel) instead carry a token signed
with the app's secret and bound to what they act on (the page's slug, or the booking's
manage token), valid for a few hours. A form posted without it, with another form's, or
with an old one, is refused like any other form without its token (400).
"""

from __future__ import annotations

from flask import current_app
from flask_wtf.csrf import CSRFError
from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "parley-booking-form"
MAX_AGE = 6 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def issue(subject: str) -> str:
    """A token for a form that acts on subject."""
    return _serializer().dumps(subject)


def check(token: str | None, subject: str) -> None:
    """Raise CSRFError (400, the app's "security check failed" page) unless token was issued
    for subject within MAX_AGE."""
    try:
        if token and _serializer().loads(token, max_age=MAX_AGE) == subject:
            return
    except BadData:
        pass
    raise CSRFError("The form's security token is missing, expired or not this form's.")
