"""Proposed times (issue #22): the rep's form on a record, and the contact's public links."""

from flask import Blueprint

bp = Blueprint("proposals", __name__)

from webapp.proposals import routes  # noqa: E402,F401
