"""Server-side request forgery: a URL a user typed (CalDAV server, video-app webhook) never
reaches Parley's own network, redirects included, and a server's error body is never
stored or shown."""

import socket

import pytest
import requests
import sqlalchemy as sa
from flask import Flask, redirect

from tests.standins import Server
from tests.support import free_port
from webapp import outbound
from webapp.calendars.models import CalendarConnection

REFUSED = ["http://127.0.0.1/", "http://0x7f000001/", "http://127.1/", "http://[::1]/",
           "http://localhost/", "http://169.254.169.254/latest/meta-data/",
           "http://10.1.2.3/", "http://192.168.0.1/", "http://[::ffff:127.0.0.1]/",
           "http://0/", "http://224.0.0.1/", "http://[fe80::1]/", "file:///etc/passwd",
           "gopher://example.org/"]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_reserved_destinations_are_refused(url):
    with pytest.raises(outbound.RefusedDestination):
        outbound.check_url(url, allowed=())


def test_a_public_address_passes():
    outbound.check_url("https://93.184.215.14/", allowed=())


def test_allow_list_admits_a_private_network():
    allowed = outbound.parse_networks("10.0.0.0/8, 127.0.0.1")
    outbound.check_url("http://10.9.8.7:5232/", allowed=allowed)
    outbound.check_url("http://127.0.0.1/", allowed=allowed)
    with pytest.raises(outbound.RefusedDestination):
        outbound.check_url("http://192.168.1.1/", allowed=allowed)


@pytest.fixture()
def internal():
    """An 'internal service' on loopback with a secret page, and a redirector to it."""
    app = Flask("internal")

    @app.route("/secret", methods=["GET", "POST", "PROPFIND"])
    def secret():
        return "INTERNAL-SECRET-BODY", 500

    @app.route("/hop", methods=["GET", "POST", "PROPFIND"])
    def hop():
        from flask import request
        return redirect(request.args["to"], 307)

    server = Server(app).start()
    yield server
    server.stop()


def test_loopback_is_refused_before_any_byte_is_sent(app, internal):
    app.config["OUTBOUND_ALLOWED_NETWORKS"] = ""
    try:
        with app.app_context(), pytest.raises(outbound.RefusedDestination):
            outbound.request("GET", f"{internal.url}/secret")
    finally:
        app.config["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"


def test_redirect_from_an_allowed_host_to_a_refused_one(app, internal):
    # 127.0.0.1 is allowed (test config); the hop leads to ::1 and to the metadata address.
    with app.app_context():
        assert outbound.request("GET", f"{internal.url}/secret").status_code == 500
        for target in (f"http://[::1]:{internal.port}/secret",
                       "http://169.254.169.254/latest/meta-data/",
                       "http://10.0.0.1/"):
            with pytest.raises(outbound.RefusedDestination):
                outbound.request("GET", f"{internal.url}/hop", params={"to": target})


def test_the_connected_address_is_checked_too(app, internal, monkeypatch):
    """A name that resolves to a public address at the check and to loopback at the
    connection (DNS rebinding) is refused at the socket."""
    app.config["OUTBOUND_ALLOWED_NETWORKS"] = ""
    monkeypatch.setattr(outbound, "check_url", lambda url, allowed=None: None)
    try:
        with app.app_context(), pytest.raises(outbound.RefusedDestination):
            outbound.request("GET", f"{internal.url}/secret")
    finally:
        app.config["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"


def test_a_hung_server_times_out(app):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with app.app_context(), pytest.raises(requests.Timeout):
            outbound.request("GET", f"http://127.0.0.1:{port}/", timeout=0.3)


@pytest.fixture()
def rep(make, login):
    account = make.account()
    return account, login(make.user(account, role="admin"))


def test_caldav_url_on_loopback_is_refused_with_a_clear_message(app, client, rep, db, internal):
    app.config["OUTBOUND_ALLOWED_NETWORKS"] = ""
    try:
        for url in (f"{internal.url}/secret", f"http://0x7f000001:{internal.port}/secret",
                    f"http://localhost:{internal.port}/"):
            r = client.post("/calendars/caldav",
                            data={"url": url, "username": "u", "password": "p"})
            page = r.get_data(as_text=True)
            assert r.status_code == 422 and "private or reserved network" in page
    finally:
        app.config["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"
    assert db.session.scalar(sa.select(sa.func.count(CalendarConnection.id))) == 0


def test_caldav_error_body_is_never_shown(client, rep, internal):
    r = client.post("/calendars/caldav", data={"url": f"{internal.url}/secret",
                                               "username": "u", "password": "p"})
    assert r.status_code == 422
    assert "INTERNAL-SECRET-BODY" not in r.get_data(as_text=True)
    from webapp.calendars.providers import ProviderError
    from webapp.calendars.providers import caldav as provider
    with pytest.raises(ProviderError) as caught:
        with client.application.app_context():
            provider.discover(f"{internal.url}/secret", "u", "p")
    assert "INTERNAL-SECRET-BODY" not in str(caught.value)


def test_video_webhook_on_loopback_is_refused_and_not_called(app, client, rep, db, internal):
    from tests.meeting_helpers import schedule
    from tests.test_conferencing import ext_app
    account, _user = rep
    app.config["OUTBOUND_ALLOWED_NETWORKS"] = ""
    try:
        video = ext_app(db, account, f"http://127.1:{internal.port}")
        r = schedule(client, None, location_kind="video", video_provider=f"app:{video.id}")
    finally:
        app.config["OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.1/32"
    assert r.status_code == 422
    assert "private or reserved network" in r.get_data(as_text=True)


def test_unused_port_is_only_unreachable(app):
    with app.app_context(), pytest.raises(requests.ConnectionError) as caught:
        outbound.request("GET", f"http://127.0.0.1:{free_port()}/")
    assert not isinstance(caught.value, outbound.RefusedDestination)
