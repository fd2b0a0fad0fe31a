from flask import Blueprint

bp = Blueprint("meetings", __name__)

from webapp.meetings import (
    mobile,  # noqa: E402,F401  (phone flow; after routes)
    routes,  # noqa: E402,F401
)
