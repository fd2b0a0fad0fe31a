"""Error pages: a full page for browsers, a short fragment plus a header for htmx."""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, Forbidden

log = logging.getLogger(__name__)


#: The page when even the error template cannot be rendered (the database is down and the
#: layout needs the logged-in user): no template, no query, no translation lookup.
BARE_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}"
             "</title><link rel=\"stylesheet\" href=\"/static/css/app.css\"></head><body>"
             "<main class=\"panel narrow\"><h1>{title}</h1><p>{message}</p>"
             "<p><a href=\"/\">Parley</a></p></main></body></html>")


def _render(status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        from webapp.api.problems import problem
        return problem(status, message)
    try:
        if request.htmx:
            body = render_template("core/_error.html", title=title, message=message)
        else:
            body = render_template("core/error.html", title=title, message=message,
                                   status=status)
    except Exception:  # the database (or anything the layout reads) is away
        log.exception("the error page could not be rendered; sending the bare one")
        body = BARE_PAGE.format(title=escape(str(title)), message=escape(str(message)))
    return body, status, {"X-Parley-Error": quote(str(message))}


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
        from webapp.extensions import db
        try:
            db.session.rollback()  # a failed statement leaves the session unusable
        except Exception:
            log.exception("rollback failed on the error page")
        # Not "nothing was sent": the failure may come after a commit.
        english = ("Something went wrong",
                   "An unexpected error happened. Reload the page to see what was saved "
                   "before you try again.")
        try:  # the language is the user's setting, read from the database
            title = _("Something went wrong")
            message = _("An unexpected error happened. Reload the page to see what was "
                        "saved before you try again.")
        except Exception:
            title, message = english
        return _render(500, title, message)
