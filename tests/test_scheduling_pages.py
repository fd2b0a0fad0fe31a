"""Scheduling pages, the HTML side (#22): the owner's settings forms, the public page
/book/<slug> as plain forms (no JavaScript), booking through it, the manage page, the one
404, framing, and the page's weight and queries."""

from __future__ import annotations

import gzip
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.test_csrf import csrf_app  # noqa: F401  (fixture)
from webapp.booking.models import Booking, SchedulingPage
from webapp.extensions import db as _db
from webapp.meetings.models import Meeting
from webapp.scheduling_pages import embedding
from webapp.types import utcnow

ZONE = "America/New_York"
STATIC = Path(__file__).resolve().parent.parent / "webapp" / "static"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    """The per-address limit counts per minute of the (frozen) clock: each test starts
    with none used."""
    from webapp.api import ratelimit
    ratelimit._local.clear()
    yield
    ratelimit._local.clear()


@pytest.fixture()
def owner(make, login):
    account = make.account(timezone=ZONE)
    seat = make.seat(account, paid=True)
    return login(make.user(account, timezone=ZONE, name="Hana Host", seat_kind_id=seat.id))


def make_page(user, slug="intro-call", **values) -> SchedulingPage:
    # Imported here: importing the booking domain before the app is built runs into the
    # meetings / rotations import cycle at collection time.
    from webapp.booking import operations as booking_ops
    page, errors = booking_ops.create_page(user.account, user, {
        "title": values.pop("title", "Intro call"), "slug": slug, **values})
    assert not errors, errors
    _db.session.commit()
    return page


def first_slots(page, zone=ZONE, duration=30, days=21):
    from webapp.booking import slots as booking_slots
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    found = booking_slots.free_slots(page, today, today + timedelta(days=days), zone, duration)
    assert found, "the host has free time in the next three weeks"
    return found


def utc(value) -> str:
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def book_form(client, page, start, zone=ZONE, **extra):
    """GET the slot's form as a visitor would, then post it."""
    html = client.get(f"/book/{page.slug}?" + urlencode(
        {"zone": zone, "start": utc(start)})).get_data(as_text=True)
    data = {"form_token": form_token(html), "start": utc(start), "duration": "30",
            "zone": zone, "name": "Vera Visitor", "email": "vera@example.org", **extra}
    return client.post(f"/book/{page.slug}", data=data)


# --- settings ------------------------------------------------------------------------

SETTINGS_FORM = {"title": "Demo call", "slug": "demo-call", "durations": "30, 60",
                 "location_kind": "video", "buffer_before_minutes": "10",
                 "buffer_after_minutes": "5", "min_notice_minutes": "120",
                 "horizon_days": "30", "slot_interval_minutes": "15", "max_per_day": "",
                 "ask_phone": "1", "question_1": "What should we prepare?",
                 "question_1_required": "1", "reminders_default": "1", "kind": "one_on_one"}


def test_owner_creates_a_page_through_the_form_and_sees_it_listed(client, owner):
    response = client.post("/settings/scheduling-pages/new", data=SETTINGS_FORM)
    assert response.status_code == 302
    page = _db.session.scalar(sa.select(SchedulingPage).where(SchedulingPage.slug == "demo-call"))
    assert page.owner_id == owner.id and page.durations == [30, 60]
    assert page.buffer_before_minutes == 10 and page.slot_interval_minutes == 15
    assert page.asks == ["phone"] and page.reminders is None
    assert page.custom_questions[0]["label"] == "What should we prepare?"
    assert page.custom_questions[0]["required"] is True
    edit = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "http://parley.test/book/demo-call" in edit  # the link to copy
    assert '&lt;iframe src=&#34;http://parley.test/book/demo-call&#34;' in edit  # the snippet
    listing = client.get("/settings/scheduling-pages").get_data(as_text=True)
    assert "Demo call" in listing and "/book/demo-call" in listing


def test_a_refused_form_shows_errors_at_the_fields_and_saves_nothing(client, owner):
    make_page(owner, slug="taken-address")
    bad = {**SETTINGS_FORM, "slug": "taken-address", "durations": "thirty",
           "min_notice_minutes": "soon"}
    response = client.post("/settings/scheduling-pages/new", data=bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="durations" name="durations" value="thirty"' in html  # the input kept
    assert re.search(r'id="durations"[^>]*aria-invalid="true"', html)
    assert re.search(r'id="min_notice_minutes"[^>]*aria-invalid="true"', html)
    assert _db.session.scalar(sa.select(sa.func.count(SchedulingPage.id))) == 1
    # The domain's own checks come back at their field too (the address is taken).
    response = client.post("/settings/scheduling-pages/new",
                           data={**SETTINGS_FORM, "slug": "taken-address"})
    assert response.status_code == 422
    assert "This address is taken" in response.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count(SchedulingPage.id))) == 1


def test_members_make_one_on_one_pages_only_and_see_only_their_own(client, owner, make,
                                                                    login):
    colleague_page = make_page(owner, slug="owners-page")
    client.post("/logout")
    member = login(make.user(owner.account, timezone=ZONE))
    response = client.post("/settings/scheduling-pages/new",
                           data={**SETTINGS_FORM, "kind": "round_robin", "rotation_id": "1"})
    assert response.status_code == 422 and "Only account admins" in response.get_data(
        as_text=True)
    assert client.get(f"/settings/scheduling-pages/{colleague_page.id}").status_code == 404
    assert "owners-page" not in client.get("/settings/scheduling-pages").get_data(as_text=True)
    assert member.id != owner.id


def test_edit_pause_and_delete(client, owner):
    page = make_page(owner)
    form = {**SETTINGS_FORM, "title": "Renamed", "slug": page.slug}
    assert client.post(f"/settings/scheduling-pages/{page.id}", data=form).status_code == 302
    assert _db.session.get(SchedulingPage, page.id).title == "Renamed"
    client.post(f"/settings/scheduling-pages/{page.id}/pause", data={"paused": "1"})
    assert _db.session.get(SchedulingPage, page.id).paused
    assert client.get(f"/book/{page.slug}").status_code == 404
    client.post(f"/settings/scheduling-pages/{page.id}/pause", data={"paused": "0"})
    assert client.get(f"/book/{page.slug}").status_code == 200
    assert client.post(f"/settings/scheduling-pages/{page.id}/delete").status_code == 302
    assert _db.session.get(SchedulingPage, page.id) is None
    assert client.get(f"/book/{page.slug}").status_code == 404


# --- the public page, without JavaScript ----------------------------------------------

def test_public_page_shows_the_month_the_days_and_the_slots_as_plain_links(client, owner):
    page = make_page(owner)
    client.post("/logout")
    start = first_slots(page)[0]
    day = start.astimezone(ZoneInfo(ZONE)).date()
    html = client.get(f"/book/{page.slug}?zone={ZONE}&month={day:%Y-%m}").get_data(as_text=True)
    assert "Intro call" in html and "Hana Host" in html
    assert 'class="topbar"' not in html  # no app chrome
    assert f'<option value="{ZONE}" selected>' in html  # the zone select
    # Free days are links to ?day=...; the month has its previous / next links.
    assert f"day={day.isoformat()}" in html
    assert 'aria-label="Next month"' in html
    html = client.get(f"/book/{page.slug}?zone={ZONE}&day={day.isoformat()}").get_data(
        as_text=True)
    assert f"start={utc(start).replace(':', '%3A')}" in html
    html = client.get(f"/book/{page.slug}?zone={ZONE}&start={utc(start)}").get_data(
        as_text=True)
    assert 'name="name"' in html and 'name="email"' in html and 'name="website"' in html
    assert 'class="bk-hp" aria-hidden="true"' in html  # the honeypot, hidden by CSS
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)  # no inline script


def test_the_visitors_zone_and_language(client, owner):
    page = make_page(owner)
    start = first_slots(page)[0]
    taipei = start.astimezone(ZoneInfo("Asia/Taipei"))
    html = client.get(f"/book/{page.slug}?zone=Asia/Taipei&start={utc(start)}",
                      headers={"Accept-Language": "zh-TW"}).get_data(as_text=True)
    assert 'lang="zh-Hant"' in html and "您的時區" in html
    vary = ", ".join(client.get(f"/book/{page.slug}").headers.get_all("Vary"))
    assert "Accept-Language" in vary and "HX-Request" in vary
    assert f"{taipei.hour - 12 if taipei.hour > 12 else taipei.hour}:{taipei:%M}" in html
    assert "Asia/Taipei" in html
    # The switch is a link keeping the choices (no session: it works inside a frame).
    assert "lang=en" in html and "English" in html
    html = client.get(f"/book/{page.slug}?zone=Asia/Taipei&lang=en",
                      headers={"Accept-Language": "zh-TW"}).get_data(as_text=True)
    assert 'lang="en"' in html and "Your time zone" in html
    # An unknown zone falls back to the host's.
    html = client.get(f"/book/{page.slug}?zone=Mars/Base").get_data(as_text=True)
    assert f'<option value="{ZONE}" selected>' in html


def test_htmx_choices_replace_only_the_picker(client, owner):
    page = make_page(owner)
    day = first_slots(page)[0].astimezone(ZoneInfo(ZONE)).date()
    response = client.get(f"/book/{page.slug}?zone={ZONE}&day={day.isoformat()}",
                          headers={"HX-Request": "true", "HX-Target": "booking-picker"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="booking-picker"') and "<html" not in html


def test_unknown_and_paused_pages_answer_the_same_404(client, owner):
    make_page(owner, slug="resting", paused=True)
    client.post("/logout")
    paused = client.get("/book/resting")
    unknown = client.get("/book/no-such-page")
    assert paused.status_code == unknown.status_code == 404
    assert paused.get_data() == unknown.get_data()
    assert "frame-ancestors 'none'" in paused.headers["Content-Security-Policy"]
    manage = client.get("/book/manage/1-" + "0" * 40)
    assert manage.status_code == 404 and manage.get_data() == unknown.get_data()


# --- booking, rescheduling, cancelling through the forms -------------------------------

def test_booking_through_the_form_makes_one_meeting_and_confirms_it(client, owner):
    page = make_page(owner)
    client.post("/logout")
    start = first_slots(page)[0]
    response = book_form(client, page, start, zone="Europe/Berlin")
    assert response.status_code == 303, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith("/book/manage/") and "booked=1" in location
    meetings = list(_db.session.scalars(sa.select(Meeting)))
    assert len(meetings) == 1 and meetings[0].start_at == start
    assert meetings[0].source == "scheduling_page" and meetings[0].host_id == owner.id
    html = client.get(location).get_data(as_text=True)
    berlin = start.astimezone(ZoneInfo("Europe/Berlin"))
    assert "You are booked" in html and "adds the meeting to your calendar" in html
    assert "vera@example.org" in html and "Europe/Berlin" in html
    assert f"{berlin.hour % 12 or 12}:{berlin:%M}" in html  # in the visitor's zone
    assert 'id="bk-manage-link"' in html


def test_a_form_without_its_token_or_with_the_honeypot_books_nothing(client, owner):
    page = make_page(owner)
    start = first_slots(page)[0]
    response = client.post(f"/book/{page.slug}", data={
        "start": utc(start), "duration": "30", "zone": ZONE, "name": "No Token",
        "email": "nt@example.org"})
    assert response.status_code == 400
    response = book_form(client, page, start, website="http://spam.example")
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    assert _db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_wrong_answers_are_shown_at_their_field_and_book_nothing(client, owner):
    page = make_page(owner, location_kind="phone", questions={"phone": True})
    start = first_slots(page)[0]
    response = book_form(client, page, start, email="not an email", phone="")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="bk-email"[^>]*aria-invalid="true"', html)
    assert re.search(r'id="bk-phone"[^>]*aria-invalid="true"', html)
    assert "Enter the number the host should call" in html
    assert _db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0


def test_a_slot_taken_meanwhile_says_so_with_fresh_slots(client, owner):
    page = make_page(owner)
    start = first_slots(page)[0]
    html = client.get(f"/book/{page.slug}?zone={ZONE}&start={utc(start)}").get_data(
        as_text=True)
    token = form_token(html)
    assert book_form(client, page, start).status_code == 303
    response = client.post(f"/book/{page.slug}", data={
        "form_token": token, "start": utc(start), "duration": "30", "zone": ZONE,
        "name": "Second", "email": "second@example.org"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This time was just taken" in html and 'class="bk-slot"' in html
    taken_link = re.escape(f"start={utc(start).replace(':', '%3A')}")
    assert not re.search(rf'class="bk-slot" href="[^"]*{taken_link}', html)
    assert _db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1


def _booked(client, page, start):
    response = book_form(client, page, start)
    assert response.status_code == 303
    token = response.headers["Location"].split("/book/manage/")[1].split("?")[0]
    return token, _db.session.scalar(sa.select(Booking))


def test_manage_page_reschedules_to_another_free_slot(client, owner):
    page = make_page(owner)
    first, *others = first_slots(page)
    token, booking = _booked(client, page, first)
    later = next(s for s in others if s >= first + timedelta(hours=1))
    html = client.get(f"/book/manage/{token}?start={utc(later)}").get_data(as_text=True)
    assert "Move my meeting to this time" in html
    response = client.post(f"/book/manage/{token}/reschedule", data={
        "form_token": form_token(html), "start": utc(later), "duration": "30", "zone": ZONE})
    assert response.status_code == 303
    meeting = _db.session.get(Meeting, booking.meeting_id)
    _db.session.refresh(meeting)
    assert meeting.start_at == later and meeting.sequence >= 1
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your meeting is moved" in html


def test_manage_page_cancels_after_a_confirm_step(client, owner):
    page = make_page(owner)
    token, booking = _booked(client, page, first_slots(page)[0])
    html = client.get(f"/book/manage/{token}").get_data(as_text=True)
    assert 'id="bk-cancel"' in html and "bk-cancel-confirm" not in html
    html = client.get(f"/book/manage/{token}?cancel=1").get_data(as_text=True)
    assert "Yes, cancel the meeting" in html
    response = client.post(f"/book/manage/{token}/cancel", data={"form_token": form_token(html)})
    assert response.status_code == 303
    _db.session.refresh(booking)
    assert booking.status == "canceled"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This meeting is canceled" in html and "Reschedule" not in html


def test_inside_the_minimum_notice_the_manage_page_refuses_clearly(client, owner, clock):
    page = make_page(owner, min_notice_minutes=240)
    start = first_slots(page)[0]
    token, booking = _booked(client, page, start)
    clock.move_to(start - timedelta(hours=2))
    html = client.get(f"/book/manage/{token}").get_data(as_text=True)
    assert "Changes are closed" in html and "4 hours" in html
    assert "bk-cancel" not in html and "Move my meeting" not in html
    # A form left open from before is refused with the same words.
    response = client.post(f"/book/manage/{token}/cancel",
                           data={"form_token": _token_for(token)})
    assert response.status_code == 409
    assert "too late to change this meeting online" in response.get_data(as_text=True)
    _db.session.refresh(booking)
    assert booking.status == "booked"


def _token_for(subject: str) -> str:
    from webapp.scheduling_pages import formtoken
    return formtoken.issue(subject)


# --- framing -----------------------------------------------------------------------------

def test_frame_ancestors_follow_the_accounts_origins_on_book_pages_only(client, owner):
    page = make_page(owner)
    response = client.get(f"/book/{page.slug}")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    owner.role = "admin"
    _db.session.commit()
    refused = client.post("/settings/embedding", data={"origins": "http://shop.example.com"})
    assert refused.status_code == 422 and "is not an https origin" in refused.get_data(
        as_text=True)
    assert embedding.origins_of(owner.account_id) == []
    client.post("/settings/embedding", data={
        "origins": "https://WWW.Example.com/\nhttps://*.example.org:8443"})
    assert embedding.origins_of(owner.account_id) == ["https://www.example.com",
                                                      "https://*.example.org:8443"]
    response = client.get(f"/book/{page.slug}")
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors https://www.example.com https://*.example.org:8443" in policy
    assert "X-Frame-Options" not in response.headers
    for path in ("/settings/embedding", "/book/no-such-page", "/login"):
        other = client.get(path)
        assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"], path
        assert other.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("text", ["https://example.com/path", "ftp://example.com",
                                  "https://", "example.com", "https://a b.com",
                                  "https://ex*ample.com", "javascript:alert(1)"])
def test_only_https_origins_are_accepted(text):
    with pytest.raises(embedding.OriginError):
        embedding.parse_origins(text)


# --- weight and queries ------------------------------------------------------------------

def test_first_load_of_the_public_page_is_under_60_kb_compressed(client, owner):
    page = make_page(owner)
    html = client.get(f"/book/{page.slug}").get_data()
    total = len(gzip.compress(html, 6))
    for src in re.findall(rb'(?:src|href)="/static/([^"]+)"', html):
        total += len(gzip.compress((STATIC / src.decode()).read_bytes(), 6))
    assert total < 60_000, total


def test_public_page_queries_are_few_and_do_not_grow_with_bookings(client, owner,
                                                                   count_queries, db):
    page = make_page(owner)
    client.post("/logout")
    slots = first_slots(page)
    day = slots[0].astimezone(ZoneInfo(ZONE)).date()
    url = f"/book/{page.slug}?zone={ZONE}&day={day.isoformat()}"
    client.get(url)
    db.session.rollback()
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for start in slots[2:12:2]:
        assert book_form(client, page, start).status_code == 303
    db.session.rollback()
    with count_queries() as computed:  # the bookings changed the month: computed again
        assert client.get(url).status_code == 200
    with count_queries() as many:  # then kept
        assert client.get(url).status_code == 200
    # Kept: the page, its origins, the owner and one stamp of what the slots depend on.
    assert few.count <= 4, few.statements
    assert many.count == few.count, many.statements
    # Computing reads the host's hours, the account's and the meetings, however many.
    assert computed.count == few.count + 3, computed.statements


def test_too_many_requests_from_one_address_get_429_with_retry_after(client, owner, app):
    page = make_page(owner)
    start = first_slots(page)[0]
    app.config["BOOKING_RATE_LIMIT"] = 2
    try:
        token = form_token(client.get(f"/book/{page.slug}?start={utc(start)}&zone={ZONE}")
                           .get_data(as_text=True))
        data = {"form_token": token, "start": utc(start), "duration": "30", "zone": ZONE,
                "name": "V", "email": "bad"}
        statuses = [client.post(f"/book/{page.slug}", data=data).status_code
                    for _ in range(3)]
        assert statuses == [422, 422, 429]
        response = client.post(f"/book/{page.slug}", data=data)
        assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
        assert "Please wait a minute" in response.get_data(as_text=True)
    finally:
        app.config["BOOKING_RATE_LIMIT"] = 60


def test_every_user_finds_their_scheduling_pages_from_their_settings(client, owner):
    html = client.get("/settings/profile").get_data(as_text=True)
    assert 'href="/settings/scheduling-pages"' in html


def test_a_round_robin_page_reads_each_members_busy_time_and_little_else(
        client, owner, make, count_queries, db):
    from webapp.rotations import operations as rotation_ops
    owner.role = "admin"
    seat = owner.seat_kind
    members = [owner] + [make.user(owner.account, timezone=zone, seat_kind_id=seat.id)
                         for zone in ("Europe/London", "Asia/Taipei", "America/Chicago",
                                      "America/Los_Angeles")]
    from webapp.availability.settings import start_new_user
    for user in members:  # as every user made since #21 has: working hours of their own
        start_new_user(user)
    db.session.commit()
    rotation, errors = rotation_ops.create_rotation(owner.account, "Team",
                                                    [u.id for u in members])
    assert not errors
    owner.role = "admin"  # team pages are an admin's
    page = make_page(owner, slug="team", kind="round_robin", rotation_id=rotation.id)
    client.post("/logout")
    url = f"/book/{page.slug}?zone={ZONE}"
    assert client.get(url).status_code == 200
    db.session.rollback()
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    # Per member only its busy time (its calendar connection and its Parley meetings);
    # the members, their hours and the page in a fixed few.
    assert counter.count <= 8 + 2 * len(members), counter.statements


def test_a_booked_slot_is_gone_at_the_next_view(client, owner, db):
    page = make_page(owner)
    client.post("/logout")
    slots = first_slots(page)
    day = slots[0].astimezone(ZoneInfo(ZONE)).date()
    url = f"/book/{page.slug}?zone={ZONE}&day={day.isoformat()}"
    offered = f"start={utc(slots[0]).replace(':', '%3A')}"
    assert offered in client.get(url).get_data(as_text=True)
    assert book_form(client, page, slots[0]).status_code == 303
    assert offered not in client.get(url).get_data(as_text=True)


@pytest.mark.committing
def test_the_settings_forms_need_their_csrf_token(csrf_app, make):  # noqa: F811
    account = make.account(timezone=ZONE)
    make.user(account, email="csrf-owner@example.com", timezone=ZONE)
    client = csrf_app.test_client()

    def token(path: str) -> str:
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    client.post("/login", data={"email": "csrf-owner@example.com", "password": "pw",
                                "csrf_token": token("/login")})
    refused = client.post("/settings/scheduling-pages/new", data=SETTINGS_FORM)
    assert refused.status_code == 400
    with csrf_app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count(SchedulingPage.id))) == 0
    saved = client.post("/settings/scheduling-pages/new", data={
        **SETTINGS_FORM, "csrf_token": token("/settings/scheduling-pages/new")})
    assert saved.status_code == 302


def test_a_visitor_in_lord_howe_sees_the_dst_day_in_their_own_times(client, owner, db):
    """Lord Howe's clocks go from 02:00 to 02:30 on the first Sunday of October; the host is
    in New York and bookable all week: each slot of that day is labelled with its own local
    time, the skipped half hour has none, and no label repeats."""
    from datetime import date, datetime

    from webapp.availability import settings as availability
    hours = {f"day_{d}": "00:00-24:00" for d in range(7)}
    assert not availability.save_profile(owner, {"use_hours": "1", **hours})
    db.session.commit()
    page = make_page(owner, horizon_days=500)
    zone = ZoneInfo("Australia/Lord_Howe")
    today = utcnow().astimezone(zone).date()
    year = today.year if (today.month, today.day) < (9, 25) else today.year + 1
    day = next(date(year, 10, d) for d in range(1, 8) if date(year, 10, d).weekday() == 6)
    html = client.get(f"/book/{page.slug}?zone=Australia/Lord_Howe&day={day}&lang=en"
                      ).get_data(as_text=True)
    links = re.findall(r'class="bk-slot" href="[^"]*start=([^"&]+)">([^<]+)</a>', html)
    assert len(links) == 47  # 23 h 30 min of half hours
    labels = []
    for start, label in links:
        local = datetime.fromisoformat(start.replace("%3A", ":").replace("Z", "+00:00")
                                       ).astimezone(zone)
        assert local.date() == day
        assert label.strip().replace("\u202f", " ") == \
            f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
        labels.append(label)
    assert len(set(labels)) == len(labels)
    assert not any(label.startswith("2:0") and "AM" in label for label in labels)


def test_the_demo_data_has_a_scheduling_page_with_free_days(client, db):
    from webapp.cli import seed_demo
    assert seed_demo(contacts=3)
    db.session.commit()
    page = db.session.scalar(sa.select(SchedulingPage).where(
        SchedulingPage.slug == "dana-intro"))
    start = first_slots(page)[0]  # the account's default hours: Dana has none of her own
    day = start.astimezone(ZoneInfo("America/New_York")).date()
    html = client.get(f"/book/dana-intro?zone=America/New_York&month={day:%Y-%m}").get_data(
        as_text=True)
    assert "Intro call with Dana" in html and f"day={day.isoformat()}" in html


# --- the kept month (#22's target): precise, never a taken slot -----------------------

def _offered(client, page, start) -> bool:
    day = start.astimezone(ZoneInfo(ZONE)).date()
    html = client.get(f"/book/{page.slug}?zone={ZONE}&day={day.isoformat()}").get_data(
        as_text=True)
    return f"start={utc(start).replace(':', '%3A')}" in html


@pytest.fixture()
def computing(monkeypatch):
    """How many times a page's month was computed (each host's schedule built) rather
    than kept."""
    from webapp.booking import slots as booking_slots
    calls = []
    real = booking_slots.host_schedule

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(booking_slots, "host_schedule", counted)
    return calls


def _save(actor, host, start, meeting=None, minutes=30):
    """Through the one save pipeline, as the scheduler and the API do."""
    from webapp.meetings import inputs, pipeline
    data = inputs.MeetingInput(title="Call", start=start,
                               end=start + timedelta(minutes=minutes), timezone=ZONE,
                               host_id=host.id)
    result = pipeline.save(actor.account, actor, data, meeting)
    assert not result.errors, result.errors
    _db.session.commit()
    return result.meeting


def test_a_meeting_saved_moved_and_deleted_by_a_rep_changes_the_next_view(
        client, owner, make, computing):
    from webapp.meetings import saving
    rep = make.user(owner.account, timezone=ZONE, role="admin",
                    seat_kind_id=owner.seat_kind_id)
    page = make_page(owner)
    client.post("/logout")
    first, later = first_slots(page)[0], first_slots(page)[-1]
    assert _offered(client, page, first) and _offered(client, page, later)
    meeting = _save(rep, owner, first)  # the rep books the host in the scheduler
    assert not _offered(client, page, first)
    _save(rep, owner, later, meeting=meeting)  # moved: the first time is free again
    assert _offered(client, page, first) and not _offered(client, page, later)
    saving.delete_meeting(_db.session.get(Meeting, meeting.id), rep)
    _db.session.commit()
    assert _offered(client, page, later)


def test_the_hosts_new_working_hours_show_at_the_next_view(client, owner):
    from webapp.availability import settings as availability
    page = make_page(owner)
    client.post("/logout")
    start = first_slots(page)[0]
    assert _offered(client, page, start)
    weekday = start.astimezone(ZoneInfo(ZONE)).weekday()
    form = {"use_hours": "1", **{f"day_{d}": "09:00-17:00" for d in range(7) if d != weekday}}
    assert not availability.save_profile(owner, form)  # that weekday off now
    _db.session.commit()
    assert not _offered(client, page, start)


def test_a_refreshed_calendar_busy_time_shows_at_the_next_view(client, owner, monkeypatch):
    from webapp.availability import busy as availability_busy
    from webapp.calendars import connections
    from webapp.calendars.models import CalendarConnection
    _db.session.add(CalendarConnection(account_id=owner.account_id, user_id=owner.id,
                                       provider="caldav"))
    _db.session.commit()
    busy: list = []
    monkeypatch.setattr(connections, "busy_periods",
                        lambda conn, start, end: (list(busy), []))
    page = make_page(owner)
    client.post("/logout")
    start = first_slots(page)[0]
    assert _offered(client, page, start)
    busy.append((start, start + timedelta(minutes=30), "Work", None))
    availability_busy.LOCAL.clear()  # the cached busy time expires; read again
    _db.session.info.pop("parley_busy_read", None)
    assert not _offered(client, page, start)


def test_changes_elsewhere_keep_the_month_computed(client, owner, make, computing):
    """Precise: a meeting of another account or of a user who does not host the page,
    and a booking page of someone else, leave the month as it was computed."""
    page = make_page(owner)
    client.post("/logout")
    start = first_slots(page)[0]
    assert _offered(client, page, start)
    computed = len(computing)
    other = make.account(timezone=ZONE)
    stranger = make.user(other, timezone=ZONE, role="admin")
    _save(stranger, stranger, start)
    colleague = make.user(owner.account, timezone=ZONE, role="admin",
                          seat_kind_id=owner.seat_kind_id)
    _save(colleague, colleague, start)
    assert _offered(client, page, start)
    assert len(computing) == computed
    _save(colleague, owner, start)  # the page's host: computed again, the slot taken
    assert not _offered(client, page, start)
    assert len(computing) > computed


def test_a_kept_month_never_offers_a_time_inside_the_notice(client, owner, clock):
    page = make_page(owner, min_notice_minutes=60)
    client.post("/logout")
    start = first_slots(page)[0]
    assert _offered(client, page, start)
    clock.move_to(start - timedelta(minutes=30))  # nothing changed but the time
    assert not _offered(client, page, start)


def test_a_move_stamped_with_the_same_instant_still_frees_the_old_time(client, owner, make,
                                                                       clock):
    """updated_at alone would not tell (a clock standing still here; another server's
    clock behind in production): the meeting's SEQUENCE does."""
    rep = make.user(owner.account, timezone=ZONE, role="admin",
                    seat_kind_id=owner.seat_kind_id)
    page = make_page(owner)
    client.post("/logout")
    first, later = first_slots(page)[0], first_slots(page)[-1]
    clock.move_to(utcnow(), tick=False)
    meeting = _save(rep, owner, first)
    assert not _offered(client, page, first) and _offered(client, page, later)
    _save(rep, owner, later, meeting=meeting)
    assert _offered(client, page, first) and not _offered(client, page, later)
