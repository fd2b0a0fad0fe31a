"""CSRF: every state-changing route refuses a request without a token, htmx included."""

import pytest

from tests.support import base_config
from webapp import create_app

# Machine endpoints authenticated by a bearer secret, never by the session cookie (calendar
# push notifications carry their channel's secret: tests/test_calendar_push.py).
NO_COOKIE_AUTH = {"meetings.itip_reply", "calendars.google_notification",
                  "calendars.microsoft_notification"}

# csrf_app is a second app, with an engine of its own: it reads what the tests commit.
pytestmark = pytest.mark.committing


@pytest.fixture()
def csrf_app(app, db, tmp_path):
    config = base_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    config["WTF_CSRF_ENABLED"] = True
    return create_app(config)


def test_post_without_token_is_refused_everywhere(csrf_app, make):
    user = make.user(password="pw")
    client = csrf_app.test_client()
    # Even the login form needs the token.
    r = client.post("/login", data={"email": user.email, "password": "pw"})
    assert r.status_code == 400 and "security token" in r.get_data(as_text=True)
    checked = 0
    for rule in csrf_app.url_map.iter_rules():
        if not rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            continue
        if rule.endpoint in NO_COOKIE_AUTH or rule.rule.startswith("/api/v1/"):
            continue  # the API ignores cookies: bearer tokens only (tests/test_api.py)
        values = {arg: 1 for arg in rule.arguments}
        if "plural" in rule.arguments:
            values["plural"] = "contacts"
        if "code" in rule.arguments:
            values["code"] = "en"
        for key in ("to_type", "record_type"):
            if key in rule.arguments:
                values[key] = "contact"
        for key in ("token", "other_type"):
            if key in rule.arguments:
                values[key] = "x"
        path = csrf_app.url_map.bind("localhost").build(rule.endpoint, values)
        for method in rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            r = client.open(path, method=method, headers={"HX-Request": "true"})
            assert r.status_code == 400, (method, path, r.status_code)
            assert "X-Parley-Error" in r.headers
            checked += 1
    assert checked >= 5


def test_htmx_token_in_body_headers_is_accepted(csrf_app, make):
    make.user(email="c@example.com", password="pw")
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    import re
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    r = client.post("/login", data={"email": "c@example.com", "password": "pw"},
                    headers={"X-CSRFToken": token})
    assert r.status_code == 302
