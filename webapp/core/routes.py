"""Home, health, and the PWA shell: manifest, service worker, offline page."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

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


def static_version(folder: str) -> str:
    """A short digest of every static file (path and content).

    Static URLs carry no version and the service worker answers them from its cache
    first, so its cache name must change whenever one of them does: the browser then
    installs the new worker, which fills a new cache and deletes the old one. Content,
    not modification times, so every server of one release serves the same worker."""
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    signature = tuple((p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                      for p in files)
    return _content_digest(str(root), signature)


@functools.lru_cache(maxsize=8)
def _content_digest(root: str, signature: tuple) -> str:
    """The digest of the files named in signature (cached while none of them changes)."""
    digest = hashlib.sha256()
    for name, _size, _mtime in signature:
        digest.update(name.encode() + b"\0" + (Path(root) / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@bp.get("/sw.js")
def service_worker():
    # Served from the root so its scope covers the whole app.
    folder = current_app.static_folder
    source = (Path(folder) / "sw.js").read_text(encoding="utf-8")
    source = source.replace("__STATIC_VERSION__", static_version(folder))
    response = current_app.response_class(source, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    return send_from_directory(current_app.static_folder, "offline.html", max_age=0)
