"""Scheduling pages (#22): pages by API, free slots, booking through the save pipeline,
the manage link (reschedule, cancel), abuse limits, idempotency, DST."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa

from tests.meeting_helpers import future_day, local
from tests.test_delivery import check_imip
from webapp.api import operations as token_ops
from webapp.booking.models import Booking, SchedulingPage
from webapp.meetings.models import Meeting
from webapp.records.models import Contact

API = "/api/v1/scheduling-pages"


def visitor_address() -> str:
    """An address of its own: the public endpoints count requests per address a minute
    (in Redis across runs), so tests do not share one."""
    return "10.{}.{}.{}".format(*(random.randrange(1, 255) for _ in range(3)))


@pytest.fixture()
def client(app, db):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = visitor_address()
    return client


@pytest.fixture()
def host(make, db):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    ana = make.user(account, name="Ana Host", email="ana@acme.example", role="admin",
                    timezone="America/New_York", seat_kind_id=seat.id)
    _row, token = token_ops.create_token(ana, "tests")
    db.session.commit()
    return SimpleNamespace(account=account, seat=seat, ana=ana,
                           headers={"Authorization": f"Bearer {token}"})


def weekday(days: int = 10, zone: str = "America/New_York"):
    day = future_day(days, zone)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def make_page(client, host, **body):
    body = {"title": "Intro call", "slug": "ana-intro", "kind": "one_on_one",
            "durations": [30], **body}
    r = client.post(API, json=body, headers=host.headers)
    assert r.status_code == 201, r.json
    return r.json


def slots(client, slug="ana-intro", day=None, zone="America/New_York", **params):
    day = day or weekday()
    return client.get(f"{API}/{slug}/slots", query_string={
        "start": day.isoformat(), "end": params.pop("end", day).isoformat()
        if hasattr(params.get("end", day), "isoformat") else params.pop("end"),
        "timezone": zone, **params})


def booking_body(start: datetime, zone="America/New_York", **extra):
    return {"start": start.astimezone(ZoneInfo(zone)).isoformat(), "duration": 30,
            "timezone": zone, "name": "Vera Visitor", "email": "vera@example.org",
            **extra}


def book(client, start, slug="ana-intro", headers=None, **extra):
    return client.post(f"{API}/{slug}/bookings", json=booking_body(start, **extra),
                       headers=headers or {})


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- pages and slots ----------------------------------------------------------------------

def test_a_minimal_page_is_one_on_one_hosted_by_the_caller_with_defaults(client, host, db):
    page = make_page(client, host)
    assert page["owner_user_id"] == host.ana.id and page["kind"] == "one_on_one"
    assert page["url"].endswith("/book/ana-intro")
    assert page["min_notice_minutes"] == 240 and page["slot_interval_minutes"] == 30
    # Without hours of her own, Ana works 09:00-17:00 Monday to Friday on her page.
    day = weekday()
    r = slots(client, day=day)
    assert r.status_code == 200, r.json
    starts = [s["start"] for s in r.json["slots"]]
    assert starts[0] == stamp(local(day, "09:00")) and starts[-1] == stamp(local(day, "16:30"))
    assert len(starts) == 16
    saturday = day + timedelta(days=(5 - day.weekday()))
    assert slots(client, day=saturday).json["slots"] == []
    # The same slug again, even from another account: taken.
    r = client.post(API, json={"title": "x", "slug": "ana-intro"}, headers=host.headers)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "slug"


def test_crud_list_patch_delete_and_tenancy(client, host, make, db):
    page = make_page(client, host)
    assert [p["slug"] for p in client.get(API, headers=host.headers).json["items"]] == [
        "ana-intro"]
    r = client.patch(f"{API}/{page['id']}", json={"durations": [15, 45], "paused": True},
                     headers=host.headers)
    assert r.status_code == 200 and r.json["durations"] == [15, 45] and r.json["paused"]
    other = make.user(make.account(), name="Olga")
    _row, token = token_ops.create_token(other, "t")
    db.session.commit()
    assert client.get(f"{API}/{page['id']}", headers={
        "Authorization": f"Bearer {token}"}).status_code == 404
    assert client.delete(f"{API}/{page['id']}", headers=host.headers).status_code == 204
    assert client.get(f"{API}/{page['id']}", headers=host.headers).status_code == 404
    assert client.get(API).status_code == 401  # the CRUD needs a token


def test_unknown_and_paused_slugs_answer_the_same_404(client, host, db):
    page = make_page(client, host)
    client.patch(f"{API}/{page['id']}", json={"paused": True}, headers=host.headers)
    paused = slots(client)
    unknown = slots(client, slug="no-such-page")
    assert paused.status_code == unknown.status_code == 404
    assert paused.json == unknown.json
    assert book(client, local(weekday(), "10:00")).status_code == 404


# --- booking ------------------------------------------------------------------------------

def test_a_booking_is_a_crm_meeting_with_one_valid_request(client, host, db, smtp, login):
    make_page(client, host, questions={"company": True, "note": True})
    start = local(weekday(), "10:00")
    r = book(client, start, answers={"company": "Verasoft", "note": "About pricing"})
    assert r.status_code == 201, r.json
    assert r.json["uid"] and r.json["manage_url"].startswith("http://parley.test/book/manage/")
    meeting = db.session.get(Meeting, db.session.scalar(sa.select(Booking.meeting_id)))
    assert meeting.source == "scheduling_page" and meeting.host_id == host.ana.id
    assert meeting.start_at == start and meeting.end_at == start + timedelta(minutes=30)
    contact = db.session.scalar(sa.select(Contact).where(Contact.email == "vera@example.org"))
    assert contact.first_name == "Vera" and contact.last_name == "Visitor"
    assert ("contact", contact.id) in [(a.record_type, a.record_id)
                                       for a in meeting.associations]
    assert "About pricing" in meeting.internal_note_html
    # The contact's timeline lists it, with the page it was booked through.
    login(host.ana)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert f'id="meeting-{meeting.id}"' in html
    assert "Booked through Intro call" in html
    to_vera = [m for rcpt, m in smtp.messages if "vera@example.org" in rcpt]
    assert len(to_vera) == 1
    event = check_imip(to_vera[0], "REQUEST")
    assert str(event["UID"]) == r.json["uid"]
    assert event.decoded("DTSTART").astimezone(UTC) == start.astimezone(UTC)
    assert r.json["manage_url"] in to_vera[0].get_body(("plain",)).get_content()


def test_an_existing_contact_is_matched_never_shown_nor_changed(client, host, make, db):
    make_page(client, host, questions={"phone": True})
    known = make.contact(host.account, first_name="Secretia", last_name="Known",
                         email="vera@example.org", phone="+15550001111")
    before = (known.first_name, known.last_name, known.phone, known.timezone)
    r = book(client, local(weekday(), "11:00"), name="Somebody Else",
             answers={"phone": "+15559998888"})
    assert r.status_code == 201, r.json
    text = r.get_data(as_text=True)
    for secret in ("Secretia", "Known", "5550001111", "Europe/Berlin"):
        assert secret not in text
    assert not [k for k in r.json if "contact" in k or k in ("name", "email", "phone")]
    page_text = slots(client).get_data(as_text=True)
    assert "Secretia" not in page_text
    db.session.expire_all()
    known = db.session.get(Contact, known.id)
    assert (known.first_name, known.last_name, known.phone, known.timezone) == before
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 1
    booking = db.session.scalar(sa.select(Booking))
    assert booking.contact_id == known.id and booking.answers["phone"] == "+15559998888"


def test_taken_slot_is_409_and_a_free_one_books(client, host, db):
    make_page(client, host)
    start = local(weekday(), "10:00")
    assert book(client, start).status_code == 201
    again = book(client, start, email="other@example.org")
    assert again.status_code == 409
    assert stamp(start) not in [s["start"] for s in slots(client).json["slots"]]
    off_grid = book(client, start + timedelta(minutes=7), email="x@example.org")
    assert off_grid.status_code == 409


def test_bad_input_is_422(client, host, db):
    make_page(client, host)
    start = local(weekday(), "10:00")
    r = book(client, start, email="not-an-email")
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "email"
    r = book(client, start, name="x" * 201)
    assert r.status_code == 422
    r = client.post(f"{API}/ana-intro/bookings", json={**booking_body(start), "duration": 45})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "duration"
    r = client.post(f"{API}/ana-intro/bookings", json={**booking_body(start),
                                                        "answers": {"note": "n"}})
    assert r.status_code == 422  # this page asks no note
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_a_filled_honeypot_pretends_and_makes_nothing(client, host, db, smtp):
    make_page(client, host)
    r = book(client, local(weekday(), "10:00"), website="http://spam.example")
    assert r.status_code == 201 and r.json["manage_url"]
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0
    assert smtp.messages == []


def test_idempotency_key_replays_the_same_booking(client, host, db):
    make_page(client, host)
    start = local(weekday(), "10:00")
    headers = {"Idempotency-Key": "retry-1"}
    first = book(client, start, headers=headers)
    second = book(client, start, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json["id"] == first.json["id"]
    assert second.json["manage_url"] == first.json["manage_url"]
    other = book(client, start + timedelta(hours=1), headers=headers)
    assert other.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1


def test_rate_limit_per_address(client, host, app, db):
    make_page(client, host)
    app.config["BOOKING_RATE_LIMIT"] = 3
    try:
        codes = [slots(client).status_code for _ in range(4)]
    finally:
        app.config["BOOKING_RATE_LIMIT"] = 60
    assert codes == [200, 200, 200, 429]
    r = slots(client, slug="whatever")
    assert r.status_code in (200, 404, 429)


# --- manage link --------------------------------------------------------------------------

def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_reschedule_keeps_uid_and_raises_sequence(client, host, db, smtp):
    make_page(client, host)
    day = weekday()
    r = book(client, local(day, "10:00"))
    token = token_of(r.json["manage_url"])
    smtp.clear()
    moved = client.post(f"{API}/ana-intro/bookings/{token}/reschedule", json={
        "start": local(day, "14:00").isoformat(), "duration": 30,
        "timezone": "America/New_York"})
    assert moved.status_code == 200, moved.json
    assert moved.json["uid"] == r.json["uid"] and moved.json["sequence"] >= 1
    assert moved.json["status"] == "rescheduled"
    to_vera = [m for rcpt, m in smtp.messages if "vera@example.org" in rcpt]
    assert len(to_vera) == 1
    event = check_imip(to_vera[0], "REQUEST")
    assert str(event["UID"]) == r.json["uid"] and int(event["SEQUENCE"]) >= 1
    assert event.decoded("DTSTART").astimezone(UTC) == local(day, "14:00").astimezone(UTC)
    # The old time is free again, the new one is not.
    free = [s["start"] for s in slots(client, day=day).json["slots"]]
    assert stamp(local(day, "10:00")) in free and stamp(local(day, "14:00")) not in free


def test_cancel_sends_cancel_and_frees_the_slot(client, host, db, smtp):
    make_page(client, host)
    day = weekday()
    r = book(client, local(day, "10:00"))
    token = token_of(r.json["manage_url"])
    smtp.clear()
    done = client.post(f"{API}/ana-intro/bookings/{token}/cancel")
    assert done.status_code == 200 and done.json["status"] == "canceled"
    to_vera = [m for rcpt, m in smtp.messages if "vera@example.org" in rcpt]
    assert len(to_vera) == 1
    check_imip(to_vera[0], "CANCEL")
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.outcome == "canceled"
    assert stamp(local(day, "10:00")) in [s["start"] for s in slots(client, day=day).json[
        "slots"]]
    assert client.post(f"{API}/ana-intro/bookings/{token[:-2]}xx/cancel").status_code == 404


def test_inside_the_minimum_notice_no_change_online(client, host, db, clock):
    make_page(client, host)
    day = weekday()
    r = book(client, local(day, "10:00"))
    token = token_of(r.json["manage_url"])
    clock.move_to(local(day, "08:00"))  # two hours before; the page asks four
    refused = client.post(f"{API}/ana-intro/bookings/{token}/cancel")
    assert refused.status_code == 409 and "too late" in refused.json["detail"]
    assert db.session.scalar(sa.select(Meeting.outcome)) == "scheduled"


# --- DST ----------------------------------------------------------------------------------

def test_lord_howe_visitor_books_new_york_host_on_a_transition_day(client, host, db,
                                                                   clock, smtp):
    """Lord Howe goes from +11:00 to +10:30 on Sunday 5 April 2026 at 02:00 (local); in New
    York that is Saturday 4 April. A host working Saturday too, so the day has slots."""
    from webapp.availability import settings as availability
    availability.save_profile(host.ana, {"use_hours": "1", **{
        f"day_{d}": "09:00-17:00" for d in range(7)}})
    db.session.commit()
    clock.move_to(datetime(2026, 3, 25, 12, 0, tzinfo=UTC))
    make_page(client, host)
    lh = "Australia/Lord_Howe"
    from datetime import date
    day = date(2026, 4, 5)  # the visitor's transition day
    r = slots(client, day=day, zone=lh)
    assert r.status_code == 200, r.json
    starts = [datetime.fromisoformat(s["start"]) for s in r.json["slots"]]
    assert starts and all(s.astimezone(ZoneInfo(lh)).date() == day for s in starts)
    # New York 09:00 Saturday 4 April (EDT, -04:00) = 13:00 UTC = Sunday 00:00 at Lord Howe
    # (+11:00, before the change at 02:00).
    nine_ny = datetime(2026, 4, 4, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert nine_ny in starts
    assert nine_ny.astimezone(ZoneInfo(lh)).isoformat() == "2026-04-05T00:00:00+11:00"
    # After the change: 16:00 New York = 20:00 UTC = 06:30 Lord Howe (+10:30).
    four_ny = datetime(2026, 4, 4, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    assert four_ny in starts
    assert four_ny.astimezone(ZoneInfo(lh)).isoformat() == "2026-04-05T06:30:00+10:30"
    b = client.post(f"{API}/ana-intro/bookings", json={
        "start": "2026-04-05T06:30:00+10:30", "duration": 30, "timezone": lh,
        "name": "Lord Howe", "email": "lh@example.org"})
    assert b.status_code == 201, b.json
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.start_at == four_ny
    assert meeting.start_at.astimezone(ZoneInfo("America/New_York")).strftime(
        "%Y-%m-%d %H:%M") == "2026-04-04 16:00"
    to_visitor = [m for rcpt, m in smtp.messages if "lh@example.org" in rcpt]
    event = check_imip(to_visitor[0], "REQUEST")
    assert event.decoded("DTSTART").astimezone(UTC) == four_ny.astimezone(UTC)
    text = to_visitor[0].get_body(("plain",)).get_content()
    assert "Sunday, April 5, 2026, 6:30" in text and "Australia/Lord_Howe" in text
    # A wall time Lord Howe skips does not book (no such offset at that instant).
    wrong = client.post(f"{API}/ana-intro/bookings", json={
        "start": "2026-04-05T06:30:00+11:00", "duration": 30, "timezone": lh,
        "name": "Lord Howe", "email": "lh2@example.org"})
    assert wrong.status_code == 422
    assert isinstance(icalendar.Calendar, type)


# --- group and round robin ----------------------------------------------------------------

def busy_meeting(db, user, start, minutes=60):
    db.session.add(Meeting(account_id=user.account_id, title="Busy", host_id=user.id,
                           organizer_id=user.id, start_at=start,
                           end_at=start + timedelta(minutes=minutes),
                           timezone="America/New_York", sequence=0, outcome="scheduled"))
    db.session.commit()


def test_a_group_page_needs_every_host_free_and_invites_them(client, host, make, db, smtp):
    ben = make.user(host.account, name="Ben Cohost", email="ben@acme.example",
                    timezone="America/New_York", seat_kind_id=host.seat.id)
    make_page(client, host, slug="team-demo", kind="group", host_ids=[ben.id])
    day = weekday()
    busy_meeting(db, ben, local(day, "10:00"))
    free = [s["start"] for s in slots(client, slug="team-demo", day=day).json["slots"]]
    assert stamp(local(day, "10:00")) not in free and stamp(local(day, "11:00")) in free
    assert book(client, local(day, "10:00"), slug="team-demo").status_code == 409
    r = book(client, local(day, "11:00"), slug="team-demo")
    assert r.status_code == 201, r.json
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.source == "scheduling_page"))
    assert meeting.host_id == host.ana.id
    assert {a.user_id for a in meeting.attendees if a.user_id} == {ben.id}
    assert {rcpt[0] for rcpt, _m in smtp.messages} >= {"vera@example.org", "ben@acme.example"}


def test_round_robin_reschedule_keeps_a_free_host_else_moves_the_count(client, host, make,
                                                                       db):
    from webapp.rotations import operations as rotation_ops
    from webapp.rotations.models import RotationMember
    m0, m1 = (make.user(host.account, name=f"Member {i}", timezone="America/New_York",
                        seat_kind_id=host.seat.id) for i in range(2))
    rotation, errors = rotation_ops.create_rotation(host.account, "Sales", [m0.id, m1.id])
    assert not errors
    db.session.commit()
    make_page(client, host, slug="sales", kind="round_robin", rotation_id=rotation.id)
    day = weekday()
    r = book(client, local(day, "10:00"), slug="sales")
    assert r.status_code == 201, r.json
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.source == "scheduling_page"))
    first = meeting.host_id
    other = m1.id if first == m0.id else m0.id
    token = token_of(r.json["manage_url"])

    def move(hhmm):
        return client.post(f"{API}/sales/bookings/{token}/reschedule", json={
            "start": local(day, hhmm).isoformat(), "duration": 30,
            "timezone": "America/New_York"})

    assert move("13:00").status_code == 200
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).host_id == first  # free: kept
    busy_meeting(db, db.session.get(type(host.ana), first), local(day, "15:00"))
    assert move("15:00").status_code == 200
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).host_id == other  # busy: re-picked
    counts = dict(db.session.execute(sa.select(RotationMember.user_id,
                                               RotationMember.booked_count)).all())
    assert counts == {first: 0, other: 1}
    assert client.post(f"{API}/sales/bookings/{token}/cancel").status_code == 200
    db.session.expire_all()
    counts = dict(db.session.execute(sa.select(RotationMember.user_id,
                                               RotationMember.booked_count)).all())
    assert counts == {first: 0, other: 0}  # the cancel gave the count back


def test_public_operations_need_no_token_and_send_no_cors_headers(client, host, db):
    make_page(client, host)
    r = client.get(f"{API}/ana-intro/slots", query_string={
            "start": weekday().isoformat(), "end": weekday().isoformat(),
            "timezone": "Asia/Taipei"}, headers={"Origin": "https://elsewhere.example"})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers
    doc = client.get("/api/v1/openapi.json").json
    public = {(path, method) for path, ops in doc["paths"].items()
              for method, op in ops.items() if op.get("security") == []}
    assert public == {("/scheduling-pages/{slug}/slots", "get"),
                      ("/scheduling-pages/{slug}/bookings", "post"),
                      ("/scheduling-pages/{slug}/bookings/{token}/reschedule", "post"),
                      ("/scheduling-pages/{slug}/bookings/{token}/cancel", "post")}
    assert "post" in doc["paths"]["/scheduling-pages"]
    assert {"SchedulingPage", "Booking", "SchedulingSlots"} <= set(doc["components"]["schemas"])


def test_the_manage_page_offers_times_overlapping_the_booking_itself(client, host, db):
    from webapp.booking import slots as slot_rules
    from webapp.booking.models import SchedulingPage
    make_page(client, host)
    day = weekday()
    book(client, local(day, "10:00"))
    page = db.session.scalar(sa.select(SchedulingPage))
    meeting = db.session.scalar(sa.select(Meeting))
    plain = slot_rules.free_slots(page, day, day, "America/New_York", 30)
    own = slot_rules.free_slots(page, day, day, "America/New_York", 30,
                                exclude_meeting=meeting.id)
    assert local(day, "10:00") not in plain and local(day, "10:00") in own


def test_manage_tokens_are_kept_out_of_access_logs():
    from webapp.logredact import redact
    line = ('"POST /api/v1/scheduling-pages/intro/bookings/12-0a1b2c/cancel HTTP/1.1" '
            '"GET /book/manage/12-0a1b2c HTTP/1.1"')
    assert "0a1b2c" not in redact(line)
    assert redact("POST /api/v1/scheduling-pages/intro/bookings HTTP/1.1").endswith(
        "/bookings HTTP/1.1")


def test_a_booked_slot_is_gone_from_the_next_slots_answer(client, host, db):
    make_page(client, host)
    day = weekday()
    assert stamp(local(day, "10:00")) in [s["start"] for s in slots(client, day=day).json["slots"]]
    assert book(client, local(day, "10:00")).status_code == 201
    assert stamp(local(day, "10:00")) not in [
        s["start"] for s in slots(client, day=day).json["slots"]]


def test_a_phone_page_asks_the_number_and_the_meeting_calls_it(client, host, db):
    make_page(client, host, location_kind="phone")
    start = local(weekday(), "10:00")
    r = book(client, start)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "answers.phone"
    r = book(client, start, answers={"phone": "+1 212 555 0100"})
    assert r.status_code == 201, r.json
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.location_kind == "phone" and "555" in meeting.location_value


def test_an_address_page_needs_the_address_and_the_meeting_is_there(client, host, db):
    r = client.post(API, json={"title": "Visit", "slug": "visit", "location_kind": "address"},
                    headers=host.headers)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "location_value"
    make_page(client, host, slug="visit", location_kind="address",
              location_value="1 Main St, Springfield")
    assert book(client, local(weekday(), "10:00"), slug="visit").status_code == 201
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.location_kind == "in_person"
    assert meeting.location_value == "1 Main St, Springfield"


def test_the_round_robin_pick_follows_the_pages_rules_not_the_members(client, host, make,
                                                                       db):
    """M0 keeps two hours after each meeting; the page keeps none: at 10:00, after M0's
    9:00 meeting, the page offers M0 and the rotation picks M0 (first in its order)."""
    from webapp.availability import settings as availability
    from webapp.rotations import operations as rotation_ops
    from webapp.rotations.models import RotationPick
    m0, m1 = (make.user(host.account, name=f"Member {i}", timezone="America/New_York",
                        seat_kind_id=host.seat.id) for i in range(2))
    availability.save_profile(m0, {"buffer_after": "120"})
    rotation, _errors = rotation_ops.create_rotation(host.account, "Sales", [m0.id, m1.id])
    db.session.commit()
    make_page(client, host, slug="sales", kind="round_robin", rotation_id=rotation.id)
    day = weekday()
    busy_meeting(db, m0, local(day, "09:00"))
    r = book(client, local(day, "10:00"), slug="sales")
    assert r.status_code == 201, r.json
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.source == "scheduling_page"))
    assert meeting.host_id == m0.id
    assert db.session.scalar(sa.select(RotationPick.kind)) == "pick"


def test_only_an_admin_makes_team_pages_through_the_api(client, host, make, db):
    member = make.user(host.account, name="Mo Member", role="member",
                       seat_kind_id=host.seat.id)
    _row, token = token_ops.create_token(member, "t")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    for kind, extra in (("round_robin", {"rotation_id": 1}),
                        ("group", {"host_ids": [host.ana.id]})):
        r = client.post(API, json={"title": "Team", "slug": f"team-{kind.replace('_', '-')}",
                                   "kind": kind, "durations": [30], **extra},
                        headers=headers)
        assert r.status_code == 422 and r.json["errors"][0]["field"] == "kind", r.json
    mine = client.post(API, json={"title": "Mine", "slug": "mo-mine", "durations": [30]},
                       headers=headers)
    assert mine.status_code == 201
    r = client.patch(f"{API}/{mine.json['id']}", json={"kind": "group",
                                                      "host_ids": [host.ana.id]},
                     headers=headers)
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "kind"
    assert db.session.scalar(sa.select(sa.func.count(SchedulingPage.id))) == 1
