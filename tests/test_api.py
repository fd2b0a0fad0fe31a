"""JSON API v1: tokens, records, meetings, errors, isolation, rate limit, OpenAPI contract."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade  # noqa: F401  (schema comes from the app fixture)

from tests.meeting_helpers import future_day, local_iso
from webapp.api import operations as token_ops
from webapp.api import spec
from webapp.api.models import ApiToken
from webapp.meetings.models import Meeting
from webapp.records.models import Contact, RecordLink


@pytest.fixture()
def api(make, db):
    """An account, a seated user with a token, and a helper that sends authorized calls."""
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    user = make.user(account, seat_kind_id=seat.id, email="api@acme.example")
    _row, token = token_ops.create_token(user, "tests")
    db.session.commit()
    return {"account": account, "user": user, "token": token,
            "headers": {"Authorization": f"Bearer {token}"}}


def start_end(days=10, hour=10):
    day = future_day(days)
    return local_iso(day, f"{hour:02d}:00"), local_iso(day, f"{hour:02d}:30")


def test_tokens_are_hashed_shown_once_and_revocable(client, make, login, db):
    user = login(make.user())
    r = client.post("/settings/api-tokens", data={"name": "Zapier"})
    token = re.search(r'id="new-token" value="([^"]+)"', r.get_data(as_text=True)).group(1)
    row = db.session.scalar(sa.select(ApiToken))
    assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
    assert "new-token" not in client.get("/settings/api-tokens").get_data(as_text=True)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/contacts", headers=headers).status_code == 200
    client.post(f"/settings/api-tokens/{row.id}/revoke")
    r = client.get("/api/v1/contacts", headers=headers)
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert client.post("/settings/api-tokens", data={"name": ""}).status_code == 422
    assert user


def test_cli_prints_a_working_token(app, make, db):
    make.user(email="cli@example.com")
    result = app.test_cli_runner().invoke(args=["api-token", "create", "--email",
                                                "cli@example.com"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert app.test_client().get("/api/v1/contacts", headers={
        "Authorization": f"Bearer {token}"}).status_code == 200
    bad = app.test_cli_runner().invoke(args=["api-token", "create", "--email", "no@x.y"])
    assert bad.exit_code != 0


def test_session_cookie_does_not_authorize_the_api(client, make, login):
    login(make.user())
    r = client.get("/api/v1/contacts")
    assert r.status_code == 401 and r.json["title"] == "Unauthorized"
    assert "Bearer" in r.headers["WWW-Authenticate"]


def test_record_crud_search_and_associations(client, api, db):
    h = api["headers"]
    r = client.post("/api/v1/contacts", headers=h, json={
        "first_name": "Ada", "last_name": "Lovelace", "email": "ADA@Example.org",
        "phone": "+44 20 7946 0018", "timezone": "Europe/London"})
    assert r.status_code == 201, r.json
    contact = r.json
    assert contact["email"] == "ADA@example.org" and contact["phone"] == "+442079460018"
    r = client.post("/api/v1/contacts", headers=h, json={"first_name": "", "email": "x",
                                                         "unknown": 1})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json["errors"]}
    assert "unknown" in fields or "first_name" in fields
    r = client.post("/api/v1/contacts", headers=h, json={"first_name": "Bad", "email": "nope"})
    assert r.status_code == 422 and r.json["errors"] == [
        {"field": "email", "message": "Enter a valid email address."}]
    r = client.patch(f"/api/v1/contacts/{contact['id']}", headers=h, json={"timezone": "Asia/Taipei"})
    assert r.status_code == 200 and r.json["timezone"] == "Asia/Taipei"
    assert r.json["last_name"] == "Lovelace"  # untouched fields keep their values
    deal = client.post("/api/v1/deals", headers=h, json={"name": "Engine", "amount": 1200.5,
                                                         "stage": "won"}).json
    assert deal["amount"] == "1200.50"
    assert client.put(f"/api/v1/contacts/{contact['id']}/associations/deal/{deal['id']}",
                      headers=h).status_code == 204
    linked = client.get(f"/api/v1/deals/{deal['id']}/associations", headers=h).json
    assert linked["contact"] == [{"id": contact["id"], "name": "Ada Lovelace"}]
    assert client.delete(f"/api/v1/contacts/{contact['id']}/associations/deal/{deal['id']}",
                         headers=h).status_code == 204
    assert db.session.scalar(sa.select(sa.func.count(RecordLink.id))) == 0
    listing = client.get("/api/v1/contacts?q=love&per_page=1", headers=h).json
    assert listing["total"] == 1 and listing["items"][0]["id"] == contact["id"]
    assert client.get("/api/v1/contacts?per_page=1000", headers=h).status_code == 422
    assert client.delete(f"/api/v1/contacts/{contact['id']}", headers=h).status_code == 204
    assert client.get(f"/api/v1/contacts/{contact['id']}", headers=h).status_code == 404


def test_meeting_round_trip_reaches_timeline_and_smtp(client, api, make, db, smtp, login):
    h = api["headers"]
    contact = make.contact(api["account"], first_name="Round", last_name="Trip",
                           email="rt@example.org")
    start, end = start_end()
    r = client.post("/api/v1/meetings", headers=h, json={
        "title": "API booked", "start": start, "end": end, "timezone": "America/New_York",
        "location": {"kind": "custom", "value": "HQ lobby"},
        "attendees": [{"contact_id": contact.id}],
        "reminders": [{"amount": 1, "unit": "hours"}],
        "associations": [{"type": "contact", "id": contact.id}],
        "description_html": "<p>Hi <script>x</script></p>", "internal_note_html": "secret"})
    assert r.status_code == 201, r.json
    m = r.json
    assert m["uid"].endswith("@parley") and m["sequence"] == 0
    assert db.session.get(Meeting, m["id"]).source == "api"
    assert m["description_html"] == "<p>Hi </p>"
    assert m["attendees"][0]["delivery"][0]["kind"] == "invite"
    assert [rc for rc, _ in smtp.messages] == [["rt@example.org"]]
    # The same meeting on the record's timeline in the UI.
    login(api["user"])
    assert "API booked" in client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    smtp.clear()
    # A time change sends an update with a higher SEQUENCE.
    start2, end2 = start_end(hour=14)
    r = client.patch(f"/api/v1/meetings/{m['id']}", headers=h,
                     json={"start": start2, "end": end2, "sequence": 0})
    assert r.status_code == 200 and r.json["sequence"] == 1
    assert len(smtp.messages) == 1 and "Updated" in smtp.messages[0][1]["Subject"]
    stale = client.patch(f"/api/v1/meetings/{m['id']}", headers=h, json={"title": "x",
                                                                        "sequence": 0})
    assert stale.status_code == 409
    r = client.put(f"/api/v1/meetings/{m['id']}/outcome", headers=h, json={"outcome": "completed"})
    assert r.json["outcome"] == "completed"
    assert client.put(f"/api/v1/meetings/{m['id']}/outcome", headers=h,
                      json={"outcome": "nah"}).status_code == 422
    ics = client.get(f"/api/v1/meetings/{m['id']}/ics", headers=h)
    assert ics.mimetype == "text/calendar" and m["uid"].encode() in ics.data
    found = client.get(f"/api/v1/meetings?record_type=contact&record_id={contact.id}",
                       headers=h).json
    assert [i["id"] for i in found["items"]] == [m["id"]]
    smtp.clear()
    assert client.delete(f"/api/v1/meetings/{m['id']}", headers=h).status_code == 204
    assert "Canceled" in smtp.messages[0][1]["Subject"]
    assert client.get(f"/api/v1/meetings/{m['id']}", headers=h).status_code == 404


@pytest.mark.parametrize(("patch", "field"), [
    ({"start": "2027-01-05T10:00:00"}, "start"),
    ({"start": "tomorrow"}, "start"),
    ({"timezone": "Nowhere/Land"}, "timezone"),
    ({"reminders": [{"amount": 1, "unit": "hours"}] * 4}, "reminders"),
    ({"reminders": [{"amount": 0, "unit": "hours"}]}, "reminders.0.amount"),
    ({"attendees": [{"contact_id": 999999}]}, "attendees"),
    ({"associations": [{"type": "deal", "id": 999999}]}, "associations"),
    ({"title": ""}, "title"),
    ({"rotation_id": 5}, "rotation_id"),
    ({"location": {"kind": "phone", "value": "nope"}}, "location.value"),
    ({"extra": True}, "extra"),
    # Found by the contract test on PostgreSQL: each was a 500 before.
    ({"meeting_type": 2**95}, "meeting_type"),
    ({"meeting_type": 3.0}, "meeting_type"),
    ({"meeting_type": "x" * 101}, "meeting_type"),
    ({"sequence": 2**40}, "sequence"),
])
def test_meeting_bad_input_is_422_with_field_errors(client, api, db, smtp, patch, field):
    start, end = start_end()
    body = {"title": "Bad", "start": start, "end": end, "timezone": "America/New_York", **patch}
    r = client.post("/api/v1/meetings", headers=api["headers"], json=body)
    assert r.status_code == 422, r.json
    assert r.mimetype == "application/problem+json"
    assert field in [e["field"] for e in r.json["errors"]], r.json
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert smtp.messages == []


def test_end_before_start_and_malformed_bodies(client, api):
    start, end = start_end()
    r = client.post("/api/v1/meetings", headers=api["headers"], json={
        "title": "x", "start": end, "end": start, "timezone": "America/New_York"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "end"
    r = client.post("/api/v1/meetings", headers=api["headers"], data="{not json",
                    content_type="application/json")
    assert r.status_code == 400
    r = client.post("/api/v1/meetings", headers=api["headers"], json=[1, 2])
    assert r.status_code == 400


def test_booking_for_another_host_needs_a_paid_seat(client, make, db):
    account = make.account()
    free = make.user(account)
    other = make.user(account, seat_kind_id=make.seat(account, paid=True).id)
    _row, token = token_ops.create_token(free, "t")
    db.session.commit()
    start, end = start_end()
    r = client.post("/api/v1/meetings", headers={"Authorization": f"Bearer {token}"}, json={
        "title": "x", "start": start, "end": end, "timezone": "America/New_York",
        "host_user_id": other.id})
    assert r.status_code == 403


def test_rate_limit_per_token(app, client, api):
    app.config["API_RATE_LIMIT"] = 5
    try:
        codes = [client.get("/api/v1/contacts", headers=api["headers"]).status_code
                 for _ in range(7)]
    finally:
        app.config["API_RATE_LIMIT"] = 300
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    r = client.get("/api/v1/contacts", headers=api["headers"])
    assert r.status_code in (200, 429)


def test_every_endpoint_is_isolated(app, client, api, make, db):
    """Another account's ids: 404 on every operation of the document, nothing changes."""
    from tests.test_isolation import snapshot
    victim = make.account()
    vuser = make.user(victim)
    rows = {"contact": make.contact(victim), "company": make.company(victim),
            "deal": make.deal(victim), "ticket": make.ticket(victim)}
    from datetime import timedelta

    from webapp.meetings import inputs, saving, validation
    from webapp.types import utcnow
    start = utcnow() + timedelta(days=2)
    data = inputs.MeetingInput(title="Theirs", start=start, end=start + timedelta(hours=1),
                            timezone="UTC", attendees=[("contact", rows["contact"].id)])
    assert not validation.validate(victim, vuser, data)
    meeting = saving.schedule_meeting(victim, vuser, data)
    from webapp.calendars.models import CalendarConnection
    connection = CalendarConnection(account_id=victim.id, user_id=vuser.id, provider="caldav")
    db.session.add(connection)
    db.session.commit()
    ids = {f"{t}_id": r.id for t, r in rows.items()}
    ids.update(meeting_id=meeting.id, other_type="contact", other_id=rows["contact"].id,
               connection_id=connection.id)
    # Their scheduling page (#22): its id is not ours; paused, its public address is the
    # 404 of an unknown page, and a made-up manage token finds no booking.
    from webapp.booking.models import SchedulingPage
    page = SchedulingPage(account_id=victim.id, owner_id=vuser.id, title="Theirs",
                          slug="their-page", durations=[30], questions={}, host_ids=[vuser.id],
                          paused=True)
    db.session.add(page)
    db.session.commit()
    ids.update(page_id=page.id, slug=page.slug, token="1-" + "0" * 40)
    before = snapshot()
    checked = 0
    bodies = {"PATCH": {"title": "pwned"}, "PUT": {"outcome": "completed"}}
    for op in spec.OPERATIONS:
        if "{" not in op.path:
            continue
        path = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), op.path)
        r = client.open(path, method=op.method, headers=api["headers"],
                        json=bodies.get(op.method))
        assert r.status_code == 404, (op.method, path, r.status_code)
        checked += 1
    assert checked == len([op for op in spec.OPERATIONS if "{" in op.path]) >= 29
    for t in rows:  # lists never show the other account's rows
        assert client.get(f"/api/v1/{rows[t].plural}", headers=api["headers"]).json["total"] == 0
    assert client.get("/api/v1/meetings", headers=api["headers"]).json["total"] == 0
    assert snapshot() == before


def test_document_matches_the_routes(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    documented = {(m.upper(), "/api/v1" + re.sub(r"\{(\w+)\}", r"<\1>", p))
                  for p, ops in doc["paths"].items() for m in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint not in ("api.openapi",
                                                                      "api.reference"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule)
            routed |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "POST /meetings" in page.get_data(as_text=True)


def test_contacts_count_unchanged_by_rejected_calls(client, api, db):
    before = db.session.scalar(sa.select(sa.func.count(Contact.id)))
    client.post("/api/v1/contacts", headers=api["headers"], json={"first_name": 5})
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == before
