"""Helpers shared by views."""

from __future__ import annotations

from flask import render_template, request


def page_or_partial(page_template: str, partial: str, target: str, status: int = 200,
                    **context):
    """Render only the partial when htmx targets its root element, else the full page.

    Decided by HX-Target (not by HX-Request alone), so boosted navigation and history
    restores get whole pages.
    """
    if request.htmx and not request.htmx.boosted and request.htmx.target == target:
        return render_template(partial, **context), status
    return render_template(page_template, **context), status
