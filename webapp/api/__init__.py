from flask import Blueprint

# `flask api-token create --email EMAIL`
bp = Blueprint("api", __name__, cli_group="api-token")

from webapp.api import auth, calendars, meetings, records, routes, tokens_ui  # noqa: E402,F401
