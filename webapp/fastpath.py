"""The per-request floor (#24): what Flask does on every request, done once where it can be.

Parley's constant route cost about 1.6x a bare Flask route's CPU; the differences were the
signed session cookie (a new itsdangerous serializer built on every request, and seven
cookie settings read before an empty session is found to need nothing) and the hooks
(each one passed through `ensure_sync`'s coroutine check on every request). Nothing here
changes what a response carries.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, the serializer built once per secret key."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, object] = {}

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        found = self._serializers.get(key)
        if found is None:
            found = self._serializers[key] = super().get_signing_serializer(app)
        return found

    def open_session(self, app: Flask, request):
        # A request that carries no cookie at all (a first visit, a health check, an API
        # client) gets Flask's answer for a missing session cookie without parsing an empty
        # Cookie header into a dict first.
        if not request.environ.get("HTTP_COOKIE") and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        # Flask's own answer for a session that writes nothing (empty and unchanged, or not
        # modified and not refreshed on each request), without its seven settings lookups.
        if not session.modified and (not session or not self.should_set_cookie(app, session)):
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


class ParleyFlask(Flask):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.session_interface = CookieSessions()
        self._synced: dict = {}

    def ensure_sync(self, func):
        """Flask's check (a coroutine function is wrapped) made once a function, not on
        every request for every hook."""
        try:
            return self._synced[func]
        except KeyError:
            found = self._synced[func] = super().ensure_sync(func)
            return found
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)


def csrf_checks_the_method_first(app: Flask) -> None:
    """Flask-WTF's before-request hook looks the view's exemptions up (two dict lookups and
    an f-string of the view's name) before it looks at the method, so every GET paid for a
    check that then found nothing to do. The same hook behind a test of the method: what
    it does on a POST (or any method of WTF_CSRF_METHODS) is unchanged."""
    from flask import request

    hooks = app.before_request_funcs[None]
    index = next(i for i, f in enumerate(hooks) if f.__name__ == "csrf_protect")
    protect = hooks[index]
    methods = frozenset(app.config["WTF_CSRF_METHODS"])

    def csrf_protect():
        if request.method in methods:
            return protect()
        return None

    hooks[index] = csrf_protect
