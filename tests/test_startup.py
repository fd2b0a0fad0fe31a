"""What building the app does once, so that requests do not (docs/PERFORMANCE.md)."""

from __future__ import annotations

from webapp import create_app


def test_production_compiles_every_template_when_the_app_is_built(app, db_url, tmp_path):
    """With gunicorn's preload the workers inherit compiled templates: the first page a
    worker serves after a deploy does not pay 0.2-0.3 s compiling them."""
    from tests.support import base_config

    built = create_app({**base_config(db_url, tmp_path), "PRECOMPILE_TEMPLATES": True})
    names = built.jinja_env.list_templates(extensions=("html", "txt"))
    assert "meetings/scheduler.html" in names and "emails/meeting.txt" in names
    cached = {key[1] for key in built.jinja_env.cache.keys()}  # (loader ref, name)
    assert set(names) <= cached, set(names) - cached
    assert not app.config.get("PRECOMPILE_TEMPLATES")  # tests and development: lazily
