"""Error pages: a full page for browsers, a short fragment plus a header for htmx."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, Forbidden


def _render(status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        from webapp.api.problems import problem
        return problem(status, message)
    if request.headers.get("HX-Request"):
        body = render_template("core/_error.html", title=title, message=message)
    else:
        body = render_template("core/error.html", title=title, message=message, status=status)
    return body, status, {"X-Parley-Error": quote(message)}


def register(app: Flask) -> None:
    """Install the error handlers on app."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _render(400, _("Security check failed"),
                       _("Your form was missing its security token or it expired. "
                         "Reload the page and try again."))

    @app.errorhandler(400)
    def bad_request(exc):
        custom = exc.description if exc.description != BadRequest.description else None
        return _render(400, _("Bad request"),
                       custom or _("The request could not be understood."))

    @app.errorhandler(DataError)
    def out_of_range(exc):
        # A value the database cannot hold (an id beyond its column, text too long for
        # it) that no check caught: the request is at fault, not the server.
        from webapp.extensions import db
        db.session.rollback()
        return _render(400, _("Bad request"),
                       _("A value in the request is out of range. Nothing was saved."))

    @app.errorhandler(403)
    def forbidden(exc):
        # abort(403, description=...) explains why; Werkzeug's own text is English-only.
        custom = exc.description if exc.description != Forbidden.description else None
        return _render(403, _("Not allowed"),
                       custom or _("You do not have permission to do that."))

    @app.errorhandler(404)
    def not_found(exc):
        return _render(404, _("Not found"),
                       _("The page or record you asked for does not exist, "
                         "or it belongs to another account."))

    @app.errorhandler(405)
    def method_not_allowed(exc):
        return _render(405, _("Not allowed"), _("That action is not available here."))

    @app.errorhandler(413)
    def too_large(exc):
        return _render(413, _("Too large"), _("The upload is larger than allowed."))

    @app.errorhandler(429)
    def too_many(exc):
        return _render(429, _("Too many attempts"),
                       _("Too many attempts. Wait a few minutes and try again."))

    @app.errorhandler(500)
    def server_error(exc):
        return _render(500, _("Something went wrong"),
                       _("An unexpected error happened. Nothing was sent. Try again."))
