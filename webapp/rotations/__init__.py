from flask import Blueprint

bp = Blueprint("rotations", __name__)

from webapp.rotations import routes  # noqa: E402,F401
