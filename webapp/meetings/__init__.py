from flask import Blueprint

bp = Blueprint("meetings", __name__)

# mobile.py (the phone flow) registers its routes on bp too.
from webapp.meetings import agenda, mobile, public_routes, routes  # noqa: E402,F401
