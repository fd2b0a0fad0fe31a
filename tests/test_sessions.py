"""Sessions end on the server: logout, log out everywhere, a new password, and the idle
and absolute lifetimes. A copied cookie is worth nothing once its session has ended."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import g

from webapp.auth.models import UserSession
from webapp.types import utcnow

COOKIE = "parley_session"


def fresh(app):
    """A test client as a new browser (and a clean g: tests hold one app context)."""
    for name in ("csrf_token", "_login_user"):
        g.pop(name, None)
    return app.test_client()


def open_(client, path="/contacts"):
    for name in ("csrf_token", "_login_user"):
        g.pop(name, None)
    return client.get(path)


def logged_in(client) -> bool:
    r = open_(client)
    return r.status_code == 200


def log_in(app, user, password="pw"):
    client = fresh(app)
    assert client.post("/login", data={"email": user.email, "password": password}) \
        .status_code == 302
    return client


def copy_of(app, client):
    """Another browser holding a copy of client's session cookie (a stolen cookie)."""
    thief = fresh(app)
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


@pytest.fixture()
def user(make):
    return make.user(make.account())


def test_a_cookie_captured_before_logout_is_dead_after_it(app, db, user):
    victim = log_in(app, user)
    thief = copy_of(app, victim)
    assert logged_in(thief)
    victim.post("/logout")
    assert not logged_in(victim)
    r = open_(thief)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_log_out_everywhere_ends_every_session(app, db, user):
    laptop, phone = log_in(app, user), log_in(app, user)
    assert logged_in(laptop) and logged_in(phone)
    laptop.post("/logout/everywhere")
    assert not logged_in(laptop) and not logged_in(phone)
    assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 0


def test_a_new_password_ends_the_other_sessions(app, db, user):
    laptop, phone = log_in(app, user), log_in(app, user)
    bad = laptop.post("/settings/password", data={
        "current": "wrong", "new": "a-long-new-secret", "confirm": "a-long-new-secret"})
    assert bad.status_code == 422 and "not your current password" in bad.get_data(as_text=True)
    assert logged_in(phone)
    differ = laptop.post("/settings/password", data={
        "current": "pw", "new": "a-long-new-secret", "confirm": "another-new-secret"})
    assert differ.status_code == 422 and logged_in(phone)
    ok = laptop.post("/settings/password", data={
        "current": "pw", "new": "a-long-new-secret", "confirm": "a-long-new-secret"})
    assert ok.status_code == 302
    assert logged_in(laptop) and not logged_in(phone)
    assert fresh(app).post("/login", data={"email": user.email, "password": "pw"}) \
        .status_code == 422
    log_in(app, user, "a-long-new-secret")


def test_login_starts_a_fresh_session_and_csrf_token(app, db, user):
    browser = fresh(app)
    with browser.session_transaction() as s:
        s["planted"] = "by an attacker"
        s["csrf_token"] = "known-to-the-attacker"
        s["lang"] = "zh_Hant"
    browser.post("/login", data={"email": user.email, "password": "pw"})
    with browser.session_transaction() as s:
        assert "planted" not in s
        assert s.get("csrf_token") != "known-to-the-attacker"
        assert s["lang"] == "zh_Hant"  # the language chosen on the login page stays
        first = s["_parley_sid"]
    browser.post("/logout")
    browser.post("/login", data={"email": user.email, "password": "pw"})
    with browser.session_transaction() as s:
        assert s["_parley_sid"] != first


def test_idle_lifetime(app, db, user):
    browser = log_in(app, user)
    idle = app.config["SESSION_IDLE_SECONDS"]
    row = db.session.scalar(sa.select(UserSession))
    row.last_seen_at = utcnow() - timedelta(seconds=idle - 120)
    db.session.commit()
    assert logged_in(browser)  # activity moves the idle deadline
    db.session.refresh(row)
    assert row.last_seen_at > utcnow() - timedelta(minutes=1)
    row.last_seen_at = utcnow() - timedelta(seconds=idle + 1)
    db.session.commit()
    assert not logged_in(browser)


def test_absolute_lifetime(app, db, user):
    browser = log_in(app, user)
    row = db.session.scalar(sa.select(UserSession))
    row.created_at = utcnow() - timedelta(seconds=app.config["SESSION_MAX_SECONDS"] + 1)
    db.session.commit()
    assert not logged_in(browser)  # although it was active a moment ago


def test_lifetimes_come_from_config(monkeypatch, tmp_path):
    from webapp.config import load_config
    monkeypatch.setenv("SESSION_IDLE_SECONDS", "900")
    monkeypatch.setenv("SESSION_MAX_SECONDS", "3600")
    config = load_config(tmp_path)
    assert config["SESSION_IDLE_SECONDS"] == 900 and config["SESSION_MAX_SECONDS"] == 3600


def test_a_request_that_changes_nothing_leaves_the_cookie_alone(app, db, user):
    """A fragment answered while a form posts must not rewrite the cookie with the session
    as it was before the post (the post's flash message was lost that way)."""
    browser = log_in(app, user)
    open_(browser)  # the first page writes the CSRF token into the session
    again = open_(browser, "/meetings/people?q=a")
    assert again.status_code == 200
    assert "Set-Cookie" not in again.headers
