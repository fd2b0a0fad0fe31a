from flask import Blueprint

bp = Blueprint("mail", __name__)

from webapp.mail import routes  # noqa: E402,F401
