"""Home, health, and the PWA shell: manifest, service worker, offline page."""

from __future__ import annotations

from flask import current_app, jsonify, redirect, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.core import bp


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("records.index", plural="contacts"))
    return redirect(url_for("auth.login"))


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/manifest.webmanifest")
def manifest():
    data = {
        "name": "Parley",
        "short_name": "Parley",
        "description": _("Schedule and log meetings from your CRM records."),
        "id": "/",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#3f51b5",
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-maskable-512.png"),
             "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    response = jsonify(data)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/sw.js")
def service_worker():
    # Served from the root so its scope covers the whole app.
    response = send_from_directory(current_app.static_folder, "sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    return send_from_directory(current_app.static_folder, "offline.html", max_age=0)
