from flask import Blueprint

bp = Blueprint("conferencing", __name__)

from webapp.conferencing import routes  # noqa: E402,F401
