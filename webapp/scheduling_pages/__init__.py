"""Scheduling pages, the HTML side (#22): the owner's settings pages, the public booking
page /book/<slug>, the visitor's manage page, and the account's embedding origins.

The domain (pages, slots, book, reschedule, cancel) is webapp.booking's; these modules only
turn forms into its calls and its results into pages.
"""

from flask import Blueprint

bp = Blueprint("scheduling_pages", __name__)

from webapp.scheduling_pages import public_routes, settings_routes  # noqa: E402,F401
