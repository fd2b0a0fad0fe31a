"""Proposed times (issue #22): a rep emails a contact two to five times from a record;
the first link clicked books a meeting through the save pipeline, the others are
released; expired links and times taken meanwhile say so; two clicks at once book once."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_time

from tests.meeting_helpers import future_day, local, schedule
from tests.support import at_once
from webapp.meetings.models import Meeting, MeetingAssociation
from webapp.proposals.models import Proposal

LINK = re.compile(r"http://parley\.test(/proposed/[A-Za-z0-9_.\-]+)")


def propose(client, record, times=("10:00", "11:00", "14:00"), day=None, **overrides):
    day = day or future_day(3)
    data = {"title": "Intro call", "duration": "30", "timezone": "America/New_York",
            "contact_id": str(overrides.pop("contact_id", record.id)), "location_kind": "phone",
            "location_value": "+1 212 555 0100", "action": "send",
            "slot_date": [day.isoformat()] * len(times), "slot_time": list(times)}
    data.update(overrides)
    return client.post(f"/proposals/new?record_type={record.record_type}&record_id={record.id}",
                       data=data)


def links_of(msg) -> list[str]:
    text = msg.get_body(("plain",)).get_content()
    return list(dict.fromkeys(LINK.findall(text)))


def sent_links(client, record, smtp, **kw) -> list[str]:
    r = propose(client, record, **kw)
    assert r.status_code == 302, r.get_data(as_text=True)
    assert len(smtp.messages) == 1
    links = links_of(smtp.messages[0][1])
    smtp.clear()
    return links


def meetings(db) -> list[Meeting]:
    return list(db.session.scalars(sa.select(Meeting).order_by(Meeting.id)))


def test_three_times_make_one_email_with_three_links(app, client, rep, make, db, smtp):
    account, user = rep
    contact = make.contact(account, first_name="Chen", last_name="Mei",
                           email="mei@client.example", timezone="Asia/Taipei",
                           language="zh_Hant")
    r = propose(client, contact)
    assert r.status_code == 302
    from tests.support import drain
    drain(app)
    assert len(smtp.messages) == 1
    rcpts, msg = smtp.messages[0]
    assert rcpts == ["mei@client.example"]
    links = links_of(msg)
    assert len(links) == 3
    text = msg.get_body(("plain",)).get_content()
    # In the contact's language and zone: 10:00 in New York is 22:00 (or 23:00) in Taipei.
    assert "Rita Rep" in str(msg["Subject"]) and "建議" in str(msg["Subject"])
    taipei = local(future_day(3), "10:00").astimezone(ZoneInfo("Asia/Taipei"))
    start = format_time(taipei, "short", locale="zh_Hant")
    end = format_time(taipei + timedelta(minutes=30), "short", locale="zh_Hant")
    assert f"{start} – {end} (Asia/Taipei, GMT+08:00)" in text
    assert "這些連結的有效期限至" in text
    assert str(msg["Reply-To"]).endswith("rita@acme.example>")
    assert meetings(db) == []  # nothing is booked until the contact chooses
    proposal = db.session.scalar(sa.select(Proposal))
    assert proposal.email_status == "sent" and proposal.status == "open"
    assert proposal.expires_at - proposal.created_at == timedelta(days=7)
    # The record shows the proposal: to whom, the times, waiting.
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert 'id="proposals"' in page and "Chen Mei" in page and page.count("<li>") >= 3


def test_the_first_click_books_and_releases_the_others(client, rep, make, db, smtp):
    account, user = rep
    contact = make.contact(account, email="dana@client.example", timezone="America/New_York")
    deal = make.deal(account, name="Big deal")
    from webapp.records import operations as record_ops
    record_ops.link(account.id, deal, contact)
    db.session.commit()
    links = sent_links(client, deal, smtp, contact_id=contact.id)
    client.post("/logout")
    # A GET (a mail scanner's prefetch too) shows the time and a button, and books nothing.
    page = client.get(links[1])
    assert page.status_code == 200 and "Book this time" in page.get_data(as_text=True)
    assert meetings(db) == []
    r = client.post(links[1])
    assert r.status_code == 200 and "Booked" in r.get_data(as_text=True)
    [meeting] = meetings(db)
    assert meeting.source == "proposed_times" and meeting.host_id == user.id
    assert meeting.start_at == local(future_day(3), "11:00")
    assert meeting.end_at - meeting.start_at == timedelta(minutes=30)
    assert meeting.location_kind == "phone" and meeting.location_value == "+12125550100"
    assert [a.contact_id for a in meeting.attendees] == [contact.id]
    assocs = {(a.record_type, a.record_id) for a in db.session.scalars(
        sa.select(MeetingAssociation).where(MeetingAssociation.meeting_id == meeting.id))}
    assert assocs == {("deal", deal.id), ("contact", contact.id)}
    # The contact is invited as to any meeting.
    assert [rcpts for rcpts, _m in smtp.messages] == [["dana@client.example"]]
    assert "Invitation" in str(smtp.messages[0][1]["Subject"])
    proposal = db.session.scalar(sa.select(Proposal))
    assert proposal.status == "booked" and proposal.meeting_id == meeting.id
    # Another link of the same proposal: already booked, at the booked time.
    for other in (links[0], links[2]):
        page = client.get(other).get_data(as_text=True)
        assert "already booked" in page and "11:00" in page
        r = client.post(other)
        assert r.status_code == 409 and "already booked" in r.get_data(as_text=True)
    assert len(meetings(db)) == 1
    # The record's timeline: the proposal (booked), then the meeting.
    client.post("/login", data={"email": "rita@acme.example", "password": "pw"})
    page = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Booked" in page and f"/meetings/{meeting.id}" in page


def test_an_expired_link_says_so_and_books_nothing(client, rep, make, db, smtp, clock):
    account, _user = rep
    contact = make.contact(account)
    links = sent_links(client, contact, smtp, day=future_day(10))
    clock.shift(timedelta(days=7, minutes=1))
    page = client.get(links[0])
    assert "expired" in page.get_data(as_text=True)
    r = client.post(links[0])
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    assert meetings(db) == []
    assert smtp.messages == []
    assert db.session.scalar(sa.select(Proposal.status)) == "expired"


def test_a_time_taken_meanwhile_offers_the_remaining_times(client, rep, make, db, smtp):
    account, _user = rep
    contact = make.contact(account)
    links = sent_links(client, contact, smtp)
    # The rep books another meeting over the first proposed time.
    r = schedule(client, title="Other", start_date=future_day(3), start_time="09:45",
                 end_time="10:15")
    assert r.status_code == 302
    smtp.clear()
    # The link says so when opened, and when its button is pressed anyway.
    opened = client.get(links[0]).get_data(as_text=True)
    assert "no longer free" in opened and "Book this time" not in opened
    assert sorted(re.findall(r'href="(/proposed/[^"]+)"', opened)) == sorted(links[1:])
    r = client.post(links[0])
    body = r.get_data(as_text=True)
    assert r.status_code == 409 and "no longer free" in body
    # The two other times are offered, as links of their own.
    offered = re.findall(r'href="(/proposed/[^"]+)"', body)
    assert sorted(offered) == sorted(links[1:])
    assert [m.title for m in meetings(db)] == ["Other"]
    assert db.session.scalar(sa.select(Proposal.status)) == "open"
    r = client.post(offered[0])
    assert r.status_code == 200
    assert sorted(m.source for m in meetings(db)) == ["proposed_times", "scheduler"]


def test_a_forged_or_unknown_link_is_404(client, rep, make, db, smtp):
    account, _user = rep
    links = sent_links(client, make.contact(account), smtp)
    assert client.get(links[0][:-3] + "abc").status_code == 404
    assert client.post("/proposed/nothing").status_code == 404


def test_refused_proposals_save_and_send_nothing(client, rep, make, db, smtp):
    account, _user = rep
    contact = make.contact(account)
    assert propose(client, contact, times=("10:00",)).status_code == 422  # one time
    assert propose(client, contact, times=("10:00", "10:15")).status_code == 422  # overlap
    no_email = make.contact(account, email="")
    r = propose(client, no_email)
    assert r.status_code == 422 and "no valid email" in r.get_data(as_text=True)
    assert propose(client, contact, title="").status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Proposal.id))) == 0
    assert smtp.messages == []


def test_another_accounts_record_or_proposal_is_404(client, rep, make, db, smtp):
    account, _user = rep
    other = make.account()
    stranger = make.contact(other)
    assert propose(client, stranger).status_code == 404
    assert client.get(f"/proposals/new?record_type=contact&record_id={stranger.id}"
                      ).status_code == 404
    links = sent_links(client, make.contact(account), smtp)
    proposal = db.session.scalar(sa.select(Proposal))
    outsider = make.user(other)
    client.post("/logout")
    client.post("/login", data={"email": outsider.email, "password": "pw"})
    assert client.post(f"/proposals/{proposal.id}/withdraw").status_code == 404
    assert db.session.scalar(sa.select(Proposal.status)) == "open"
    assert client.get(links[0]).status_code == 200  # the public link needs no login


def test_withdrawn_proposals_book_nothing(client, rep, make, db, smtp):
    account, _user = rep
    links = sent_links(client, make.contact(account), smtp)
    proposal = db.session.scalar(sa.select(Proposal))
    assert client.post(f"/proposals/{proposal.id}/withdraw").status_code == 302
    r = client.post(links[0])
    assert r.status_code == 409 and "withdrew" in r.get_data(as_text=True)
    assert meetings(db) == []


def test_next_three_free_fills_the_form(client, rep, make, db):
    account, user = rep
    contact = make.contact(account)
    r = client.post(f"/proposals/new?record_type=contact&record_id={contact.id}",
                    data={"action": "next_free", "duration": "60", "timezone": "UTC",
                          "contact_id": str(contact.id), "title": "", "location_kind": "none"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "3 free times found" in body
    filled = re.findall(r'name="slot_time" type="time" step="300" value="(\d\d:\d\d)"', body)
    assert len(filled) == 3
    assert db.session.scalar(sa.select(sa.func.count(Proposal.id))) == 0


def test_next_free_skips_busy_time(app, rep, make, db, clock):
    from webapp.proposals import operations as ops
    account, user = rep
    now = clock.now()
    with app.test_request_context():
        first = ops.next_free(user, timedelta(minutes=30), now)
        assert len(first) == 3 and first[0] >= now
        assert all(b - a >= timedelta(minutes=30) for a, b in pairwise(first))
        meeting = Meeting(account_id=account.id, title="Busy", start_at=first[0],
                          end_at=first[0] + timedelta(hours=2), timezone="UTC",
                          host_id=user.id, organizer_id=user.id)
        db.session.add(meeting)
        db.session.commit()
        later = ops.next_free(user, timedelta(minutes=30), now)
        assert later[0] >= first[0] + timedelta(hours=2)


@pytest.mark.committing  # threads with connections of their own
def test_links_clicked_at_once_book_one_meeting(app, make, db, smtp):
    """Five links, each clicked twice at the same moment: one meeting, nine refusals that
    name the booked time. On PostgreSQL the proposal row's lock serializes the clicks, on
    SQLite the write lock does."""
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    user = make.user(account, name="Rita Rep", email="rita@acme.example",
                     timezone="America/New_York", seat_kind_id=seat.id)
    contact = make.contact(account)
    rep_client = app.test_client()
    rep_client.post("/login", data={"email": user.email, "password": "pw"})
    links = sent_links(rep_client, contact, smtp,
                       times=("09:00", "10:00", "11:00", "13:00", "15:00"))
    clicks = links * 2

    def click(i: int) -> tuple[int, str]:
        r = app.test_client().post(clicks[i])
        return r.status_code, r.get_data(as_text=True)

    answers = at_once(len(clicks), click, timeout=60)
    assert sorted(status for status, _body in answers) == [200] + [409] * 9
    assert all("already booked" in body for status, body in answers if status == 409)
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 1
    proposal = db.session.scalar(sa.select(Proposal))
    assert proposal.status == "booked" and proposal.meeting_id is not None
    # One invitation, to the contact.
    assert [rcpts for rcpts, _m in smtp.messages] == [[contact.email]]


def test_pages_are_csp_clean_and_the_link_speaks_the_visitors_language(app, client, rep,
                                                                       make, db, smtp):
    from tests.test_csp import inline_code
    account, _user = rep
    contact = make.contact(account, timezone="Asia/Taipei")
    form = client.get(f"/proposals/new?record_type=contact&record_id={contact.id}")
    assert form.status_code == 200 and not inline_code(form.get_data(as_text=True))
    assert "'unsafe-inline'" not in form.headers["Content-Security-Policy"].split(
        "style-src-attr")[0]
    links = sent_links(client, contact, smtp)
    visitor = app.test_client()  # the contact's browser: no Parley session
    from flask_babel import refresh
    refresh()  # the test's app context outlives the requests, and Babel caches per context
    page = visitor.get(links[0], headers={"Accept-Language": "zh-TW,zh;q=0.9"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and not inline_code(html)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "預約這個時間" in html and "Asia/Taipei" in html
    # The button posts the form with its CSRF token; the GET itself changed nothing.
    assert 'name="csrf_token"' in html
    assert db.session.scalar(sa.select(Proposal.status)) == "open"


def test_a_proposal_goes_with_its_deleted_contact(client, rep, make, db, smtp):
    account, _user = rep
    contact, deal = make.contact(account), make.deal(account)
    from webapp.records import operations as record_ops
    record_ops.link(account.id, deal, contact)
    db.session.commit()
    links = sent_links(client, deal, smtp, contact_id=contact.id)
    assert 'id="proposals"' in client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert client.post(f"/contacts/{contact.id}/delete").status_code == 302
    if db.engine.dialect.name == "postgresql":  # SQLite enforces no foreign keys here
        assert db.session.scalar(sa.select(sa.func.count(Proposal.id))) == 0
    page = client.get(f"/deals/{deal.id}")
    assert page.status_code == 200 and 'id="proposals"' not in page.get_data(as_text=True)
    assert client.get(links[0]).status_code == 404
    assert client.post(links[0]).status_code == 404


def test_the_email_is_sent_once_when_its_job_runs_twice(app, client, rep, make, db, smtp):
    from webapp.proposals import emails
    account, _user = rep
    app.config["JOBS_MODE"] = "thread"  # the job does not run by itself here
    app.extensions["parley_jobs"] = type("Held", (), {"put": lambda *a: None})()
    try:
        assert propose(client, make.contact(account)).status_code == 302
    finally:
        app.config["JOBS_MODE"] = "eager"
        app.extensions.pop("parley_jobs")
    assert smtp.messages == []
    proposal_id = db.session.scalar(sa.select(Proposal.id))
    assert emails.send_email(proposal_id) == "sent"
    assert emails.send_email(proposal_id) == "not-claimed"
    assert len(smtp.messages) == 1


@pytest.mark.committing  # threads with connections of their own
def test_a_proposal_and_a_scheduling_page_never_book_one_time_twice(app, make, db, smtp):
    """Visitors of the host's scheduling page and clicks on the proposed link, all for
    the same time at once: one meeting (the host's booking lock, webapp.booking)."""
    from tests.test_booking_concurrency import weekday
    from webapp.booking import operations as booking_ops
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    user = make.user(account, name="Rita Rep", email="rita@acme.example",
                     timezone="America/New_York", seat_kind_id=seat.id)
    contact = make.contact(account)
    page, errors = booking_ops.create_page(account, user, {
        "title": "Intro", "slug": "rita-intro", "location_kind": "custom",
        "location_value": "Office"})
    assert not errors, errors
    db.session.commit()
    rep_client = app.test_client()
    rep_client.post("/login", data={"email": user.email, "password": "pw"})
    day = weekday(10)
    links = sent_links(rep_client, contact, smtp, day=day, times=("10:00", "14:00"))
    start, slug = local(day, "10:00"), page.slug
    n = 12

    def visitor(i: int) -> tuple[str, int]:
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = f"10.30.{i}.1"
        if i % 2:
            return "link", c.post(links[0]).status_code
        return "page", c.post(f"/api/v1/scheduling-pages/{slug}/bookings",
                              json={"start": start.isoformat(), "duration": 30,
                                    "timezone": "America/New_York", "name": f"Visitor {i}",
                                    "email": f"visitor{i}@example.org"}).status_code

    codes = at_once(n, visitor, timeout=120)
    assert len(codes) == n
    made = [c for c in codes if c[1] in (200, 201)]
    assert len(made) == 1, codes
    assert all(status == 409 for _kind, status in codes if (_kind, status) not in made)
    db.session.remove()
    starts = list(db.session.scalars(sa.select(Meeting.start_at)))
    assert starts == [start]


def test_proposed_links_are_redacted_from_access_logs():
    from webapp.logredact import redact
    assert redact('"POST /proposed/eyJzIjoxfQ.abc-DEF_1 HTTP/1.1" 200') == \
        '"POST /proposed/[redacted] HTTP/1.1" 200'


def test_a_video_proposal_books_a_video_meeting(client, rep, make, db, smtp):
    account, _user = rep
    contact = make.contact(account)
    r = propose(client, contact, location_kind="video", location_value="",
                video_provider="nowhere")
    assert r.status_code == 422  # not one of the host's providers
    links = sent_links(client, contact, smtp, location_kind="video", location_value="",
                       video_provider="jitsi")
    page = client.get(links[0]).get_data(as_text=True)
    assert "Video call (Jitsi Meet)" in page
    assert client.post(links[0]).status_code == 200
    [meeting] = meetings(db)
    assert meeting.location_kind == "video" and meeting.conference_provider == "jitsi"


def test_the_record_page_reads_its_proposals_in_two_statements(client, rep, make, db, smtp,
                                                               count_queries):
    account, _user = rep
    contact = make.contact(account)

    def record_page_statements() -> tuple[int, str]:
        db.session.rollback()  # as a fresh request starts
        with count_queries() as counter:
            html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
        return counter.count, html

    none, _html = record_page_statements()
    sent_links(client, contact, smtp)
    one, html = record_page_statements()
    assert html.count('class="timeline-item proposal"') == 1
    assert one == none + 1  # the proposals, then their slots; nothing per proposal
    for hour in ("12:00", "15:00", "16:00"):
        sent_links(client, contact, smtp, times=(hour, hour.replace(":00", ":30")))
    four, html = record_page_statements()
    assert html.count('class="timeline-item proposal"') == 4
    assert four == one
