"""Return targets (`return_to`, `next`): only paths on this site reach a Location header or
an href. The audit ran a script from the scheduler's Cancel button and breadcrumb with
`/meetings/new?return_to=javascript:...`."""

import html
import re

import pytest

from tests.meeting_helpers import schedule
from webapp.urls import safe_local_url

HOSTILE = [
    "javascript:fetch('/settings/api-tokens')",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "/\\evil.example",
    "\\\\evil.example",
    "//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\x00",
    "https://evil.example/",
    "data:text/html,<script>alert(1)</script>",
    "/%0a",  # stays: percent-encoded text is a path, not a control character
]


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_local_url_refuses_anything_but_a_local_path(target):
    expected = target if target == "/%0a" else "/fallback"
    assert safe_local_url(target, "/fallback") == expected


def test_safe_local_url_keeps_local_paths():
    assert safe_local_url("/contacts/3?tab=meetings#x", "/f") == "/contacts/3?tab=meetings#x"
    assert safe_local_url(None, "/f") == "/f"
    assert safe_local_url("", "/f") == "/f"


@pytest.fixture()
def rep(make, login):
    account = make.account()
    user = login(make.user(account))
    return account, user


@pytest.mark.parametrize("target", [t for t in HOSTILE if t != "/%0a"])
def test_scheduler_cancel_and_breadcrumb_never_carry_a_foreign_target(client, rep, make, target):
    account, _user = rep
    contact = make.contact(account)
    for url in ("/meetings/new", "/m/meetings/new"):
        response = client.get(url, query_string={"return_to": target, "record_type": "contact",
                                                 "record_id": contact.id})
        if "\x00" in target:  # refused before any view (webapp/inputs.py)
            assert response.status_code == 400
            continue
        page = response.get_data(as_text=True)
        links = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page)]
        links += [html.unescape(v) for v in
                  re.findall(r'name="return_to" value="([^"]*)"', page)]
        for link in links:  # the page's own URL may sit, encoded, in a query string
            head = link.split("?")[0]
            assert head.startswith(("/", "#", "http://parley.test/")), link
            assert safe_local_url(head, "") == head or not head.startswith("/"), link
            assert "evil" not in head
        assert f'href="/contacts/{contact.id}"' in page  # breadcrumb and Cancel fall back


@pytest.mark.parametrize("target", [t for t in HOSTILE if t != "/%0a"])
def test_redirect_after_save_and_login_stays_local(client, rep, make, target):
    account, _user = rep
    contact = make.contact(account)
    r = schedule(client, contact, return_to=target)
    if "\x00" in target:  # refused before any view (webapp/inputs.py)
        assert r.status_code == 400
        return
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/meetings/")
    client.post("/logout")
    user = make.user(account)
    r = client.post("/login", query_string={"next": target},
                    data={"email": user.email, "password": "pw"})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    r = client.post("/language/en", data={"next": target})
    assert r.headers["Location"] == "/"
