"""Input no route should have to think about: NUL characters and ids no column can hold.

PostgreSQL refuses a NUL in text and an integer beyond its column's range with an error
that used to surface as a 500. Such input is refused at the door instead: a NUL anywhere
in the path, query, form or JSON body answers 400 (404 in a path), and the `int` URL
converter matches only ids a column can hold, so /meetings/99999999999 is a 404.
"""

from __future__ import annotations

from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

#: The largest id any table holds (INTEGER primary keys).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in a URL: at most MAX_ID, so the database is never asked for more."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul():
    # Read from the WSGI environ: the request's parsed properties cost more than the check
    # on a request with neither query nor body (most GETs; the per-request floor, #24).
    environ = request.environ
    if "\x00" in environ.get("PATH_INFO", ""):
        abort(404)
    has_body = (environ.get("CONTENT_LENGTH") not in (None, "", "0")) \
        or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "")
    if not environ.get("QUERY_STRING") and not has_body:
        return
    # Its form and files are parsed only when it has a body.
    values = [*request.args.lists(), *(request.form.lists() if has_body else ())]
    if any(_has_nul(k) or _has_nul(v) for k, v in values) \
            or (has_body and any(_has_nul(f.filename or "") for f in request.files.values())):
        abort(400, description=_("The request contains a NUL character, which no field "
                                 "accepts. Remove it and send again."))
    if has_body and request.is_json and _has_nul(request.get_json(silent=True)):
        abort(400, description=_("The request contains a NUL character, which no field "
                                 "accepts. Remove it and send again."))


def init_app(app: Flask) -> None:
    """Install the converter (before any route is added) and the NUL check."""
    app.url_map.converters["int"] = IdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_nul)
