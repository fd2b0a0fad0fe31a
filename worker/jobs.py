"""Thin job functions: load rows by id, call webapp operations. They return quietly when
the row is gone. Each runs inside an app context (made once per worker process)."""

from __future__ import annotations

from contextlib import contextmanager

from flask import has_app_context

_app = None


@contextmanager
def app_context():
    """Use the current app context, or the worker's own app."""
    global _app
    if has_app_context():
        yield
        return
    if _app is None:
        from webapp import create_app
        _app = create_app()
    with _app.app_context():
        yield


def sweep() -> None:
    """Periodic pass: relay pending outbox rows and queue due reminders."""
    with app_context():
        from webapp.delivery import operations as delivery
        delivery.sweep()
