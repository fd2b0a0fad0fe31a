"""PWA shell: manifest, service worker, offline page, icons."""

import json
from io import BytesIO


def test_manifest_is_installable_shape(client):
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200 and r.mimetype == "application/manifest+json"
    data = json.loads(r.data)
    assert data["display"] == "standalone" and data["start_url"].startswith("/")
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in data["icons"]}
    assert ("192x192", "any") in sizes and ("512x512", "any") in sizes
    assert ("512x512", "maskable") in sizes
    assert data["theme_color"] == "#3f51b5" and data["background_color"]
    assert data["scope"] == "/" and data["name"] == "Parley"
    for icon in data["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(BytesIO(png.data).getvalue()[16:20], "big")
        assert f"{width}x{width}" == icon["sizes"]


def test_service_worker_served_from_root_and_never_caches_pages(client):
    r = client.get("/sw.js")
    assert r.status_code == 200 and "javascript" in r.mimetype
    assert r.headers["Service-Worker-Allowed"] == "/"
    source = r.get_data(as_text=True)
    assert '"/offline"' in source and 'request.mode === "navigate"' in source



def test_service_worker_changes_when_a_static_file_changes(app, client, tmp_path, monkeypatch):
    """The worker answers /static/ from its cache first, and static URLs carry no version:
    unless sw.js itself changes with them, a phone keeps the old CSS and JavaScript after
    every release. Its cache name follows the static files, so a change installs a new
    worker, which fills a new cache and deletes the old one."""
    import re
    import shutil
    from pathlib import Path

    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    monkeypatch.setattr(app, "static_folder", str(static))
    first = client.get("/sw.js").get_data(as_text=True)
    assert first == client.get("/sw.js").get_data(as_text=True)  # stable between requests
    cache = re.search(r'const CACHE = "(parley-shell-[\w-]+)";', first)
    assert cache, first[:300]
    css = Path(static, "css", "app.css")
    css.write_text(css.read_text() + "\n.changed { color: red; }\n")
    second = client.get("/sw.js").get_data(as_text=True)
    assert second != first
    assert re.search(r'const CACHE = "(parley-shell-[\w-]+)";', second).group(1) != \
        cache.group(1)

def test_offline_page(client):
    r = client.get("/offline")
    assert r.status_code == 200 and "offline" in r.get_data(as_text=True).lower()


def test_htmx_vendored_with_licence(client):
    r = client.get("/static/vendor/htmx/htmx.min.js")
    assert r.status_code == 200 and b"htmx" in r.data
    assert client.get("/static/vendor/htmx/LICENSE").status_code == 200
