"""Invitations every calendar reads the same way (issue 19).

A golden set of meetings at the edges (the repeated hour's first and second time, the
spring gap, Lord Howe's 30-minute DST, Chatham's +12:45/+13:45, Santiago, London, a
meeting across midnight) is scheduled through the form; the invitation, the download and
the feed are read by three independent parsers (icalendar, vobject, ics-py), which must all
give the UTC instants Parley stored. The VTIMEZONEs Parley writes are checked against
zoneinfo at every transition. The clock is fixed (FIXED_NOW): nothing depends on the day
the tests run.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo, available_timezones

import icalendar
import ics
import pytest
import sqlalchemy as sa
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.meeting_helpers import form
from webapp.meetings import ical, responses
from webapp.meetings import operations as meeting_ops
from webapp.meetings.models import Meeting

FIXED_NOW = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture()
def fixed_now(clock):
    """Now is FIXED_NOW (the tests' one clock, stopped)."""
    clock.move_to(FIXED_NOW, tick=False)
    return FIXED_NOW


@pytest.fixture()
def rep(make, login, db, fixed_now):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    user = login(make.user(account, name="Rita Rep", email="rita@acme.example",
                           timezone="America/New_York", seat_kind_id=seat.id))
    contact = make.contact(account, first_name="Cy", last_name="Client",
                           email="cy@example.org", timezone="America/New_York")
    return account, user, contact


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# (name, zone, start date, start, end date, end, start fold, end fold, start Z, end Z)
GOLDEN = [
    ("plain", "America/New_York", "2027-01-05", "10:00", "", "10:30", "", "",
     "2027-01-05T15:00Z", "2027-01-05T15:30Z"),
    ("repeated-first", "America/New_York", "2027-11-07", "01:30", "", "01:50", "0", "0",
     "2027-11-07T05:30Z", "2027-11-07T05:50Z"),
    ("repeated-second", "America/New_York", "2027-11-07", "01:30", "", "01:50", "1", "1",
     "2027-11-07T06:30Z", "2027-11-07T06:50Z"),
    ("spring-gap-across", "America/New_York", "2027-03-14", "01:30", "", "03:30", "", "",
     "2027-03-14T06:30Z", "2027-03-14T07:30Z"),
    ("spring-gap-edge", "America/New_York", "2027-03-14", "03:00", "", "03:30", "", "",
     "2027-03-14T07:00Z", "2027-03-14T07:30Z"),
    ("lord-howe-second", "Australia/Lord_Howe", "2027-04-04", "01:40", "", "01:55", "1", "1",
     "2027-04-03T15:10Z", "2027-04-03T15:25Z"),
    ("lord-howe-first", "Australia/Lord_Howe", "2027-04-04", "01:40", "", "01:55", "0", "0",
     "2027-04-03T14:40Z", "2027-04-03T14:55Z"),
    ("chatham-second", "Pacific/Chatham", "2027-04-04", "03:00", "", "03:30", "1", "1",
     "2027-04-03T14:15Z", "2027-04-03T14:45Z"),
    ("santiago-second", "America/Santiago", "2027-04-03", "23:15", "", "23:45", "1", "1",
     "2027-04-04T03:15Z", "2027-04-04T03:45Z"),
    ("london-second", "Europe/London", "2027-10-31", "01:15", "", "01:45", "1", "1",
     "2027-10-31T01:15Z", "2027-10-31T01:45Z"),
    ("across-midnight", "Asia/Taipei", "2027-02-10", "23:30", "2027-02-11", "00:30", "", "",
     "2027-02-10T15:30Z", "2027-02-10T16:30Z"),
]


def golden_form(contact, zone, day, start, end_day, end, start_fold, end_fold, **extra):
    return form(title="Golden", timezone=zone, start_date=day, start_time=start,
                end_date=end_day, end_time=end, start_fold=start_fold, end_fold=end_fold,
                attendees=[f"contact:{contact.id}"], **extra)


def instants(text: str) -> dict[str, set[tuple[datetime, datetime]]]:
    """(start, end) in UTC of each VEVENT, as each of the three parsers reads it."""
    out = {}
    cal = icalendar.Calendar.from_ical(text)
    out["icalendar"] = {(e.decoded("DTSTART").astimezone(UTC), e.decoded("DTEND").astimezone(UTC))
                        for e in cal.walk("VEVENT")}
    out["vobject"] = {(e.dtstart.value.astimezone(UTC), e.dtend.value.astimezone(UTC))
                      for e in vobject.readOne(text).vevent_list}
    out["ics"] = {(e.begin.to("utc").datetime, e.end.to("utc").datetime)
                  for e in ics.Calendar(text).events}
    return out


def calendar_text(msg) -> str:
    return next(p for p in msg.walk() if p.get_content_type() == "text/calendar").get_content()


def assert_read_alike(text: str, expected: set[tuple[datetime, datetime]]) -> None:
    for parser, found in instants(text).items():
        assert found == expected, parser


@pytest.mark.parametrize("case", GOLDEN, ids=[c[0] for c in GOLDEN])
def test_golden_invitation_download_and_feed_read_alike(client, rep, db, smtp, case):
    _account, user, contact = rep
    _name, zone, day, start, end_day, end, fold_s, fold_e, want_s, want_e = case
    r = client.post("/meetings/new", data=golden_form(contact, zone, day, start, end_day, end,
                                                      fold_s, fold_e))
    assert r.status_code == 302, r.get_data(as_text=True)
    meeting = db.session.scalar(sa.select(Meeting))
    expected = {(z(want_s), z(want_e))}
    assert {(meeting.start_at, meeting.end_at)} == expected
    [(_rcpt, msg)] = smtp.messages
    text = calendar_text(msg)
    assert_read_alike(text, expected)
    if fold_s:  # the repeated hour is never written as a TZID wall time
        assert "DTSTART:" + z(want_s).strftime("%Y%m%dT%H%M%SZ") in text
    assert_read_alike(client.get(f"/meetings/{meeting.id}.ics").get_data(as_text=True),
                      expected)
    feed_token = meeting_ops.reset_feed_token(user)  # stored hashed: the address made now
    db.session.commit()
    assert_read_alike(client.get(f"/calendar/{feed_token}.ics").get_data(as_text=True),
                      expected)


def test_golden_update_cancel_and_colleague_booked(client, rep, make, db, smtp):
    account, user, contact = rep
    host = make.user(account, name="Hana Host", email="hana@acme.example",
                     seat_kind_id=user.seat_kind_id)
    data = golden_form(contact, "America/New_York", "2027-11-07", "01:30", "", "01:50",
                       "1", "1", host_id=str(host.id))
    assert client.post("/meetings/new", data=data).status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    first = {(z("2027-11-07T06:30Z"), z("2027-11-07T06:50Z"))}
    assert len(smtp.messages) == 2  # the contact's REQUEST, the host's PUBLISH
    for _rcpt, msg in smtp.messages:
        assert_read_alike(calendar_text(msg), first)
    smtp.clear()
    # Update: to the repeated hour's first time.
    moved = {**data, "start_fold": "0", "end_fold": "0"}
    assert client.post(f"/meetings/{meeting.id}/edit", data=moved).status_code == 302
    assert len(smtp.messages) == 2
    for _rcpt, msg in smtp.messages:
        assert_read_alike(calendar_text(msg), {(z("2027-11-07T05:30Z"), z("2027-11-07T05:50Z"))})
    smtp.clear()
    assert client.post(f"/meetings/{meeting.id}/delete").status_code == 302
    assert len(smtp.messages) == 2
    for _rcpt, msg in smtp.messages:
        text = calendar_text(msg)
        assert "STATUS:CANCELLED" in text
        assert_read_alike(text, {(z("2027-11-07T05:30Z"), z("2027-11-07T05:50Z"))})


# --- VTIMEZONE against zoneinfo ----------------------------------------------------------

def observances(text: str) -> list[tuple[datetime, timedelta, timedelta, str]]:
    """Each STANDARD/DAYLIGHT as RFC 5545 reads it: (onset in UTC, TZOFFSETFROM,
    TZOFFSETTO, kind); the onset is DTSTART, a wall time in TZOFFSETFROM."""
    cal = icalendar.Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + text + "END:VCALENDAR\r\n")
    [tz] = cal.walk("VTIMEZONE")
    assert "COMMENT" not in tz  # libical refuses a COMMENT directly inside VTIMEZONE
    out = []
    for sub in tz.subcomponents:
        offset_from = sub["TZOFFSETFROM"].td
        onset = sub.decoded("DTSTART").replace(tzinfo=UTC) - offset_from
        out.append((onset, offset_from, sub["TZOFFSETTO"].td, sub.name))
    return sorted(out)


def check_zone(zone: str, first: date, last: date) -> None:
    tz = ZoneInfo(zone)
    found = observances(ical.vtimezone(zone, first, last))
    for onset, offset_from, offset_to, kind in found[1:]:
        # Exactly at each onset: the offset before is FROM, from the onset on it is TO.
        assert (onset - timedelta(seconds=1)).astimezone(tz).utcoffset() == offset_from, onset
        assert onset.astimezone(tz).utcoffset() == offset_to, onset
        assert kind == ("DAYLIGHT" if onset.astimezone(tz).dst() else "STANDARD"), onset
    # Between onsets nothing changes that the VTIMEZONE does not say: every 6 hours of
    # the span, zoneinfo's offset is the one of the latest onset.
    at = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last, datetime.min.time(), tzinfo=UTC)
    index = 0
    while at < end:
        while index + 1 < len(found) and found[index + 1][0] <= at:
            index += 1
        assert at.astimezone(tz).utcoffset() == found[index][2], (zone, at)
        at += timedelta(hours=6)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Australia/Lord_Howe",
                                  "Pacific/Chatham", "America/Santiago"])
def test_vtimezone_matches_zoneinfo_at_every_transition(zone):
    check_zone(zone, date(2024, 1, 1), date(2031, 1, 1))
    # The DAYLIGHT onset is the wall time before the jump: 02:00 in New York, not 03:00.
    if zone == "America/New_York":
        assert "DTSTART:20270314T020000" in ical.vtimezone(zone, date(2026, 1, 1),
                                                           date(2029, 1, 1))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(available_timezones() - {"localtime", "Factory"})),
       st.integers(min_value=1990, max_value=2035))
def test_vtimezone_matches_zoneinfo_for_any_zone(zone, year):
    check_zone(zone, date(year - 1, 1, 1), date(year + 2, 1, 1))


# --- the edit form keeps the occurrence ----------------------------------------------------

class FormFields(HTMLParser):
    """The fields a browser would post from the form with the given id."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button",
                                                                       "file"):
            if a.get("type") in ("radio", "checkbox") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = {"name": a.get("name"), "first": None, "chosen": None}
        elif tag == "option" and self._select is not None:
            if self._select["first"] is None:
                self._select["first"] = a.get("value") or ""
            if "selected" in a:
                self._select["chosen"] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = [a.get("name"), ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            if self._select["name"]:
                chosen = self._select["chosen"]
                self.fields.append((self._select["name"],
                                    chosen if chosen is not None else self._select["first"] or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append(tuple(self._textarea))
            self._textarea = None


def posted(html: str, form_id: str, **changes) -> dict:
    parser = FormFields(form_id)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    data.update({k: [v] for k, v in changes.items()})
    return data


@pytest.mark.parametrize("case", GOLDEN, ids=[c[0] for c in GOLDEN])
def test_desktop_edit_of_title_only_keeps_the_instant(client, rep, db, smtp, case):
    _account, _user, contact = rep
    _name, zone, day, start, end_day, end, fold_s, fold_e, want_s, want_e = case
    client.post("/meetings/new", data=golden_form(contact, zone, day, start, end_day, end,
                                                  fold_s, fold_e))
    meeting = db.session.scalar(sa.select(Meeting))
    html = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    # The meeting page (in the viewer's zone) gives the offset: the repeated hour's two
    # times read differently there.
    offset = z(want_s).astimezone(ZoneInfo("America/New_York")).strftime("%z")
    shown = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f"(America/New_York, GMT{offset[:3]}:{offset[3:]}" in shown
    # The field says which of the two times it is (and asks nothing for other times).
    if fold_s:
        assert re.search(rf'name="start_fold" value="{fold_s}" checked', html)
        assert 'id="start-occurrence"' in html and "happens twice" in html
    else:
        assert 'id="start-occurrence"' not in html
    smtp.clear()
    r = client.post(f"/meetings/{meeting.id}/edit",
                    data=posted(html, "meeting-form", title="Renamed"))
    assert r.status_code == 302, r.get_data(as_text=True)
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert (meeting.title, meeting.start_at, meeting.end_at) == ("Renamed", z(want_s), z(want_e))
    [(_rcpt, msg)] = smtp.messages  # the title changed: one update, at the same instant
    assert_read_alike(calendar_text(msg), {(z(want_s), z(want_e))})


@pytest.mark.parametrize("case", GOLDEN, ids=[c[0] for c in GOLDEN])
def test_phone_edit_of_title_only_keeps_the_instant(client, rep, db, smtp, case):
    _account, _user, contact = rep
    _name, zone, day, start, end_day, end, fold_s, fold_e, want_s, want_e = case
    client.post("/meetings/new", data=golden_form(contact, zone, day, start, end_day, end,
                                                  fold_s, fold_e))
    meeting = db.session.scalar(sa.select(Meeting))
    url = f"/m/meetings/{meeting.id}/edit"
    html = client.get(url).get_data(as_text=True)
    assert bool(re.search(rf'name="start_fold" value="{fold_s}" checked', html)) == bool(fold_s)
    data = posted(html, "m-meeting-form", title="Renamed")
    confirm_page = client.post(url, data=data).get_data(as_text=True)
    confirm = {"confirm": "1",
               "confirmed": re.search(r'name="confirmed" value="(\w+)"', confirm_page).group(1),
               "submission_key": re.search(r'name="submission_key" value="([\w-]+)"',
                                           confirm_page).group(1)}
    smtp.clear()
    assert client.post(url, data={**data, **confirm}).status_code == 302
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert (meeting.title, meeting.start_at, meeting.end_at) == ("Renamed", z(want_s), z(want_e))
    [(_rcpt, msg)] = smtp.messages
    assert_read_alike(calendar_text(msg), {(z(want_s), z(want_e))})


def test_typing_a_repeated_time_asks_which_one(client, rep, db, smtp):
    _account, _user, contact = rep
    data = golden_form(contact, "America/New_York", "2027-11-07", "01:30", "", "01:50", "", "")
    r = client.post("/meetings/new", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert ("1:30 AM happens twice on Sun, Nov 7 in America/New_York (EDT, then EST: "
            "the clocks go back). Choose which one.") in html
    assert "The start, 1:30 AM on Sun, Nov 7, happens twice" in html
    assert 'name="start_fold" value="0"' in html and 'name="start_fold" value="1"' in html
    assert "Second time, GMT-05:00 (EST)" in html
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0 and not smtp.messages
    # Moving an existing meeting onto such a time asks too (its kept instant does not fit).
    client.post("/meetings/new", data=golden_form(contact, "America/New_York", "2027-11-06",
                                                  "10:00", "", "10:30", "", ""))
    meeting = db.session.scalar(sa.select(Meeting))
    html = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'id="start-occurrence"' not in html
    r = client.post(f"/meetings/{meeting.id}/edit", data=posted(
        html, "meeting-form", start_date="2027-11-07", start_time="01:30", end_time="01:50"))
    assert r.status_code == 422 and 'id="start-occurrence"' in r.get_data(as_text=True)


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2027-03-14T02:30:00-05:00", "2027-03-14T03:30:00-04:00",
     "2027-03-14T02:30 does not exist in America/New_York: the clocks skip it, going from "
     "EST to EDT."),
    ("2027-07-01T10:00:00-05:00", "2027-07-01T10:30:00-04:00", "does not match"),
])
def test_api_refuses_an_offset_that_does_not_fit_the_zone(client, rep, db, smtp, start, end,
                                                           message):
    from webapp.api import operations as token_ops
    _account, user, _contact = rep
    _row, token = token_ops.create_token(user, "t")
    db.session.commit()
    r = client.post("/api/v1/meetings", headers={"Authorization": f"Bearer {token}"}, json={
        "title": "x", "start": start, "end": end, "timezone": "America/New_York"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json["errors"]] == ["start"]
    assert message in r.json["errors"][0]["message"]
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0
    # The zone's own offsets, and UTC, are accepted.
    r = client.post("/api/v1/meetings", headers={"Authorization": f"Bearer {token}"}, json={
        "title": "x", "start": "2027-11-07T01:30:00-05:00", "end": "2027-11-07T06:50:00Z",
        "timezone": "America/New_York"})
    assert r.status_code == 201
    assert r.json["start"] == "2027-11-07T06:30:00Z"


# --- replies, cancellations, messages about events never received -------------------------

def parsed_event(msg):
    return next(iter(icalendar.Calendar.from_ical(calendar_text(msg)).walk("VEVENT")))


def test_reschedule_asks_again_and_keeps_the_old_answer(client, rep, db, smtp):
    _account, _user, contact = rep
    data = golden_form(contact, "America/New_York", "2027-01-05", "10:00", "", "10:30", "", "")
    client.post("/meetings/new", data=data)
    meeting = db.session.scalar(sa.select(Meeting))
    token = responses.rsvp_token(meeting.attendees[0].id, meeting)
    assert client.post(f"/rsvp/{token}", data={"response": "accepted"}).status_code == 200
    smtp.clear()
    # A new title only: the answer stands.
    client.post(f"/meetings/{meeting.id}/edit", data={**data, "title": "Renamed"})
    [(_r, msg)] = smtp.messages
    assert parsed_event(msg)["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    smtp.clear()
    # A new time: asked again, in the message and on the meeting page.
    client.post(f"/meetings/{meeting.id}/edit", data={**data, "title": "Renamed",
                                                      "start_time": "11:00",
                                                      "end_time": "11:30"})
    [(_r, msg)] = smtp.messages
    attendee = parsed_event(msg)["ATTENDEE"].params
    assert attendee["PARTSTAT"] == "NEEDS-ACTION" and attendee["RSVP"] == "TRUE"
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    attendees_panel = page[page.index("attendee-list"):page.index("earlier-replies")]
    assert "No reply yet" in attendees_panel and "Accepted" not in attendees_panel
    earlier = page[page.index("earlier-replies"):]
    assert "Cy Client: Accepted" in earlier[:earlier.index("</ul>")]
    smtp.clear()
    # A cancellation asks no reply, and names the attendee it cancels for.
    client.post(f"/meetings/{meeting.id}/delete")
    [(_r, msg)] = smtp.messages
    event = parsed_event(msg)
    assert str(event["ATTENDEE"]) == "mailto:cy@example.org"
    assert "RSVP" not in event["ATTENDEE"].params and b"RSVP" not in event.to_ical()


def test_a_late_itip_reply_does_not_overwrite_a_newer_answer(app, client, rep, db, smtp):
    _account, _user, contact = rep
    data = golden_form(contact, "America/New_York", "2027-01-05", "10:00", "", "10:30", "", "")
    client.post("/meetings/new", data=data)
    meeting = db.session.scalar(sa.select(Meeting))
    client.post(f"/meetings/{meeting.id}/edit", data={**data, "title": "Renamed"})  # SEQ 1

    def reply(sequence: int, partstat: str) -> bytes:
        return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nMETHOD:REPLY\r\n"
                f"BEGIN:VEVENT\r\nUID:{meeting.uid}\r\nSEQUENCE:{sequence}\r\n"
                f"DTSTAMP:20270101T120000Z\r\n"
                f"ATTENDEE;PARTSTAT={partstat}:mailto:cy@example.org\r\n"
                f"END:VEVENT\r\nEND:VCALENDAR\r\n").encode()

    assert responses.apply_itip_reply(reply(1, "DECLINED")) == ["cy@example.org"]
    assert responses.apply_itip_reply(reply(0, "ACCEPTED")) == []  # late, for SEQUENCE 0
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).attendees[0].response == "declined"


def test_nothing_about_an_event_the_attendee_never_received(app, client, rep, make, db, smtp,
                                                            monkeypatch):
    from webapp import jobs
    from webapp.delivery import sending
    from webapp.delivery.models import OutboxMessage
    account, user, contact = rep
    other = make.contact(account, first_name="Oz", last_name="Other", email="oz@example.org")
    real_relay, held = jobs.request_relay, []

    def hold():  # the relay has not run yet: nothing has gone out
        monkeypatch.setattr(jobs, "request_relay", lambda: held.append(1) or True)

    def release():
        monkeypatch.setattr(jobs, "request_relay", real_relay)
        while sending.relay():
            pass

    hold()
    # Created and deleted before anything went out: nothing at all.
    data = golden_form(contact, "America/New_York", "2027-01-05", "10:00", "", "10:30", "", "")
    client.post("/meetings/new", data=data)
    meeting = db.session.scalar(sa.select(Meeting))
    client.post(f"/meetings/{meeting.id}/delete")
    release()
    assert held and smtp.messages == []
    # Unsent invitation, then a change of time and an attendee removed before it went out:
    # the kept attendee gets one invitation with the latest time, the removed one nothing.
    both = {**data, "attendees": [f"contact:{contact.id}", f"contact:{other.id}"],
            "title": "Second"}
    hold()
    client.post("/meetings/new", data=both)
    second = db.session.scalar(sa.select(Meeting).where(Meeting.title == "Second"))
    client.post(f"/meetings/{second.id}/edit", data={
        **both, "attendees": [f"contact:{contact.id}"], "start_time": "11:00",
        "end_time": "11:30"})
    release()
    assert [rcpt for rcpt, _msg in smtp.messages] == [["cy@example.org"]]
    [(_r, msg)] = smtp.messages
    assert msg["Subject"] == "Invitation: Second"
    assert_read_alike(calendar_text(msg), {(z("2027-01-05T16:00Z"), z("2027-01-05T16:30Z"))})
    statuses = db.session.execute(sa.select(OutboxMessage.recipient_email, OutboxMessage.kind,
                                            OutboxMessage.status)
                                  .where(OutboxMessage.meeting_id == second.id)).all()
    assert sorted(statuses) == [("cy@example.org", "invite", "sent"),
                                ("cy@example.org", "invite", "skipped"),
                                ("oz@example.org", "invite", "skipped")]
    # Once received, a change is an update and a removal a cancellation.
    smtp.clear()
    client.post(f"/meetings/{second.id}/edit", data={
        **both, "attendees": [f"contact:{other.id}"], "start_time": "11:00",
        "end_time": "11:30"})
    assert sorted((r[0], m["Subject"]) for r, m in smtp.messages) == [
        ("cy@example.org", "Canceled: Second"), ("oz@example.org", "Invitation: Second")]


# --- the subscription feed -------------------------------------------------------------------

def test_feed_is_cacheable_and_stable(client, rep, db, smtp, clock, count_queries):
    _account, user, contact = rep
    data = golden_form(contact, "America/New_York", "2027-01-05", "10:00", "", "10:30", "", "")
    client.post("/meetings/new", data=data)
    feed_token = meeting_ops.reset_feed_token(user)  # stored hashed: the address made now
    db.session.commit()
    url = f"/calendar/{feed_token}.ics"
    db.session.rollback()
    with count_queries() as counter:  # a calendar client: no session cookie
        first = client.application.test_client().get(url)
    # The events in one query (the rest is finding the user by token).
    assert [s for s in counter.statements if "users.id = " not in s and
            "users.feed_token = " not in s] == [counter.statements[-1]]
    assert "FROM meetings" in counter.statements[-1]
    assert first.status_code == 200 and first.mimetype == "text/calendar"
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    body = first.get_data()
    # An hour later the same data gives the same bytes: DTSTAMP is the meeting's last change.
    clock.move_to(FIXED_NOW + timedelta(hours=1), tick=False)
    assert client.get(url).get_data() == body
    meeting = db.session.scalar(sa.select(Meeting))
    stamp = meeting.updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTAMP:{stamp}".encode() in body
    # A client that has it gets 304, by ETag or by date, with no body.
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    # A change makes a new ETag and a full answer.
    client.post(f"/meetings/{meeting.id}/edit", data={**data, "title": "Renamed"})
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"SUMMARY:Renamed" in changed.get_data()


def test_when_line_shows_the_end_date_and_offset_when_they_differ(app, rep, db):
    from webapp.delivery.messages import when_text
    meeting = Meeting(start_at=z("2027-02-10T15:30Z"), end_at=z("2027-02-10T16:30Z"))
    with app.test_request_context():
        across = when_text(meeting, "Asia/Taipei", "en")
        assert "Wednesday, February 10, 2027" in across and "Thursday, February 11, 2027" in across
        meeting.start_at, meeting.end_at = z("2027-11-07T05:30Z"), z("2027-11-07T06:50Z")
        fall = when_text(meeting, "America/New_York", "en")
        assert "GMT-04:00" in fall and "GMT-05:00" in fall
        assert fall.count("November 7, 2027") == 1  # same day: the date once
        meeting.start_at, meeting.end_at = z("2027-01-05T15:00Z"), z("2027-01-05T15:30Z")
        plain = when_text(meeting, "America/New_York", "en")
        assert plain.count("GMT-05:00") == 1 and plain.count("2027") == 1
