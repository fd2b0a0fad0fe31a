"""Secrets that travel in URLs (the private calendar feed, RSVP links) kept out of logs.

The feed token and the RSVP token are the whole credential: an access log that keeps
them lets anyone who reads it subscribe to a user's calendar or answer for an attendee.
Both web servers' access logs go through redact(): gunicorn's through RedactingLogger
(gunicorn.conf.py at the project root, which gunicorn reads by default), Werkzeug's
development server's through a logging filter installed by the app.
"""

from __future__ import annotations

import logging
import re

SECRET_PATHS = re.compile(r"(/calendar/)[^/?#\s\"]+(\.ics)|(/rsvp/)[^/?#\s\"]+")
#: A booking's manage token (#22): the page /book/manage/<token> and the API's
#: /scheduling-pages/<slug>/bookings/<token>/... .
MANAGE_PATHS = re.compile(r"(/book/manage/|/bookings/)[^/?#\s\"]+")


def redact(text):
    """text with the secret part of feed, RSVP and booking manage paths replaced by
    [redacted]."""
    if not isinstance(text, str):
        return text
    text = SECRET_PATHS.sub(lambda m: f"{m.group(1)}[redacted]{m.group(2)}" if m.group(1)
                            else f"{m.group(3)}[redacted]", text)
    return MANAGE_PATHS.sub(lambda m: f"{m.group(1)}[redacted]", text)


class RedactingFilter(logging.Filter):
    """For the werkzeug logger: its access lines carry the request line in their args."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) for a in record.args)
        return True


def install() -> None:
    """Redact the development server's access log (idempotent)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is not needed to import the app
    _GunicornLogger = None

if _GunicornLogger is not None:
    class RedactingLogger(_GunicornLogger):
        """gunicorn's logger with the request line, path and referrer redacted."""

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            for key in ("r", "U", "f"):
                atoms[key] = redact(atoms.get(key))
            return atoms
