"""Content-Security-Policy: every page of the URL map, rendered as its owner sees it (full
page and htmx fragment), carries the policy and holds no inline script or `on*=` handler,
which the policy would refuse to run (a broken button in the browser, or an injected
script if the policy were weakened to allow them)."""

import re

from tests.test_isolation import expand, victim  # noqa: F401  (fixture: one of everything)
from webapp.extensions import db as _db

INLINE_HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.S)
SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)
#: htmx attributes that evaluate code (hx-on handlers, "js:" values, trigger filters): the
#: policy has no 'unsafe-eval', so they fail in the browser (and htmx's allowEval is off).
HTMX_EVAL = re.compile(r"""\shx-on[:-]|\shx-va(?:ls|rs)\s*=\s*["']\s*(?:js|javascript):"""
                       r"""|\shx-trigger\s*=\s*["'][^"']*\[""", re.I)
#: Arguments no row stands for: a token or a name; any value renders a page.
OTHER_ARGS = {"token": "not-a-token", "slug": "not-a-page", "code": "en", "provider": "caldav",
              "filename": "css/app.css"}


def inline_code(html: str) -> list[str]:
    """Inline handlers and scripts that would run: `<script>` without src, other than data
    blocks (`type="application/json"`)."""
    found = [m.group(0)[:120] for m in INLINE_HANDLER.finditer(html)]
    for m in SCRIPT.finditer(html):
        attrs = m.group(1)
        if "src=" not in attrs and "application/json" not in attrs:
            found.append(m.group(0))
    found += [m.group(0).strip() for m in HTMX_EVAL.finditer(html)]
    if re.search(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", html, re.I):
        found.append("javascript: URL")
    return found


def test_inline_code_is_found():
    assert inline_code('<form onsubmit="return confirm(1)">')
    assert inline_code("<button\n  onclick='x()'>")
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<a href="javascript:alert(1)">')
    assert not inline_code('<script src="/static/js/app.js" defer></script>')
    assert not inline_code('<script type="application/json" id="d">{}</script>')
    assert not inline_code('<p data-confirm="Delete?">one</p>')
    assert inline_code("""<select hx-vals='js:{week: x.value}'>""")
    assert inline_code('<button hx-on:click="go()">')
    assert inline_code('<input hx-trigger="keyup[key==\'Enter\']">')
    assert not inline_code("""<select hx-vals='{"week": "2026-06-10"}' hx-trigger="load, change">""")


def pages(app, victim):  # noqa: F811
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        known = dict(OTHER_ARGS, **{k: v for k, v in victim.items() if k != "record_id"})
        plain = {a for a in rule.arguments if a not in ("plural", "record_id")}
        missing = plain - set(known)
        assert not missing, f"{rule.endpoint}: give {missing} a value in OTHER_ARGS"
        vic = dict(victim, **{a: known[a] for a in plain})
        for values in expand(rule, vic):
            yield rule.endpoint, app.url_map.bind("localhost").build(rule.endpoint, values)


def test_every_page_runs_under_the_policy(app, client, login, victim):  # noqa: F811
    from webapp.auth.models import User
    user = _db.session.get(User, victim["user_id"])
    user.role = "admin"
    _db.session.commit()
    login(user)
    checked = 0
    for _endpoint, path in pages(app, victim):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(path, headers=headers)
            assert response.status_code < 500, (path, response.status_code)
            policy = response.headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in policy, path
            assert "frame-ancestors 'none'" in policy, path
            if response.mimetype == "text/html":
                found = inline_code(response.get_data(as_text=True))
                assert not found, (path, found)
                checked += 1
    assert checked >= 60


def test_hsts_only_in_production_config(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    app.config["HSTS_SECONDS"] = 31536000
    try:
        assert client.get("/login").headers["Strict-Transport-Security"].startswith(
            "max-age=31536000")
    finally:
        app.config["HSTS_SECONDS"] = 0


def test_production_config_turns_hsts_on(monkeypatch, tmp_path):
    from webapp.config import load_config
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("CALENDAR_ENCRYPTION_KEYS", "k")
    assert load_config(tmp_path)["HSTS_SECONDS"] >= 31536000


def test_no_template_evaluates_code_through_htmx():
    """Also the fragments no page above renders with every branch (the host field of a
    rotation): no template holds an htmx attribute that needs eval."""
    from pathlib import Path

    import webapp
    root = Path(webapp.__file__).parent / "templates"
    found = {str(path.relative_to(root)): [m.group(0).strip() for m in HTMX_EVAL.finditer(
        path.read_text(encoding="utf-8"))] for path in root.rglob("*.html")}
    assert {name: hits for name, hits in found.items() if hits} == {}
