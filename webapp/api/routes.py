"""API v1's document: the OpenAPI schema and its reference page. The endpoints are
webapp.api.records and webapp.api.meetings, behind webapp.api.auth."""

from __future__ import annotations

from flask import current_app, jsonify, render_template

from webapp.api import bp
from webapp.api import spec as S


@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(S.document(current_app.config["BASE_URL"] + "/api/v1"))


@bp.get("/api/v1/docs")
def reference():
    return render_template("api/reference.html", doc=S.document(
        current_app.config["BASE_URL"] + "/api/v1"))
