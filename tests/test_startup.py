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


def _now_in_a_started_app(**env: str) -> str:
    """The year a freshly started app process reads from its clock."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("from datetime import UTC, datetime; from webapp import create_app; "
            "create_app(); print(datetime.now(UTC).year)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, "SECRET_KEY": "x", **env},
                         check=True,
                         cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                         text=True, timeout=60)
    return out.stdout.strip()


def test_a_process_under_test_reads_the_tests_clock_only_when_testing(tmp_path):
    """The browser tests' server and the worker read the tests' clock (tests/clock.py)
    through a setting that an app which is not testing ignores."""
    from tests.clock import real_now
    ten_years = str(-10 * 366 * 86400)
    real_year = real_now().year
    assert _now_in_a_started_app(PARLEY_TESTING="1", PARLEY_TEST_CLOCK_OFFSET=ten_years) \
        == str(real_year - 10)
    assert _now_in_a_started_app(PARLEY_TEST_CLOCK_OFFSET=ten_years) == str(real_year)
