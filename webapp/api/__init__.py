from flask import Blueprint

# `flask api-token create --email EMAIL`
bp = Blueprint("api", __name__, cli_group="api-token")

from webapp.api import auth, availability, calendars, meetings, records, routes, tokens_ui  # noqa: E402,F401
from webapp.booking import api as booking_api  # noqa: E402,F401  (#22's endpoints)
