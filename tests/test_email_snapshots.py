"""What the emails say, pinned: the text and HTML of each email a meeting's attendee gets
(invitation, update, cancellation, reminder, mention) and the RSVP confirmation, in English
and Traditional Chinese, against reviewed files under tests/snapshots/.

A difference fails with the diff; `pytest --snapshot-update tests/test_email_snapshots.py`
rewrites the files, to be reviewed like code. Parley sends no email to confirm an RSVP:
the confirmation an attendee gets is the page their reply lands on, pinned here as well.
The clock stands still at tests.clock.DEFAULT_NOW, whatever PARLEY_TEST_NOW says, so the
dates and signed links are the same on every run; the meeting's id and its attendee's
RSVP token (which the database hands out) are replaced by placeholders.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import g

from tests.clock import DEFAULT_NOW
from tests.meeting_helpers import form, future_day, schedule
from webapp import tasks
from webapp.meetings.models import Meeting

LOCALES = {"en": "en-US,en;q=0.9", "zh_Hant": "zh-TW,zh;q=0.9"}


def parts(msg) -> tuple[str, str, str]:
    subject = str(msg["Subject"])
    if "=?" in subject:
        from email.header import decode_header, make_header
        subject = str(make_header(decode_header(subject)))
    # Lines end in CRLF on the wire (SMTP's business); the files keep LF.
    return (subject, msg.get_body(("plain",)).get_content().replace("\r\n", "\n"),
            msg.get_body(("html",)).get_content().replace("\r\n", "\n"))


def one(smtp, calendar: bool | None = None):
    """The one message the step sent (with or without a calendar part); the sink cleared."""
    messages = [m for _r, m in smtp.messages if calendar is None or calendar == any(
        p.get_content_type() == "text/calendar" for p in m.walk())]
    assert len(messages) == 1, [m["Subject"] for _r, m in smtp.messages]
    return messages[0]


@pytest.mark.parametrize("locale", list(LOCALES))
def test_emails_and_rsvp_confirmation_match_their_snapshots(app, client, make, login, db,
                                                            smtp, clock, snapshot, locale):
    clock.move_to(DEFAULT_NOW, tick=False)
    account = make.account(name="Acme", timezone="America/New_York")
    seat = make.seat(account, paid=True)
    host = make.user(account, name="Rita Rep", email="rita@acme.example",
                     timezone="America/New_York", seat_kind_id=seat.id)
    guest = make.user(account, name="Kai Lin", email="kai@acme.example", locale=locale,
                      timezone="Asia/Taipei")
    login(host)
    fields = dict(title="Pricing review", start_date=future_day(7), start_time="09:00",
                  end_time="10:00", location_kind="in_person",
                  location_value="1 Main St, Springfield",
                  description_html="<p>Bring the <b>numbers</b> &amp; the plan</p>",
                  internal_note_html="<p>@Kai Lin please prepare the figures</p>",
                  attendees=[f"user:{guest.id}"], reminder_amount=["1"],
                  reminder_unit=["hours"], include_description_in_reminders="1")
    emails: dict[str, tuple[str, str, str]] = {}

    assert schedule(client, None, **fields).status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    emails["invitation"] = parts(one(smtp, calendar=True))
    emails["mention"] = parts(one(smtp, calendar=False))
    smtp.clear()

    r = client.post(f"/meetings/{meeting.id}/edit",
                    data=form(**{**fields, "start_time": "11:00", "end_time": "12:00"}))
    assert r.status_code == 302
    emails["update"] = parts(one(smtp))
    smtp.clear()

    db.session.expire_all()
    due = db.session.get(Meeting, meeting.id).reminders[0].due_at
    clock.move_to(due + timedelta(minutes=1), tick=False)
    tasks.sweep(60)
    emails["reminder"] = parts(one(smtp))
    smtp.clear()

    # The attendee follows the link: no session, their browser's language. (The tests hold
    # one app context across requests: what a request caches in g is dropped first.)
    token = re.search(r"/rsvp/([\w.-]+)", emails["update"][1]).group(1)
    for name in ("_login_user", "csrf_token", "_flask_babel"):
        g.pop(name, None)
    page = app.test_client().post(f"/rsvp/{token}", data={"response": "accepted"},
                                  headers={"Accept-Language": LOCALES[locale]})
    assert page.status_code == 200
    main = re.search(r"<main.*?</main>", page.get_data(as_text=True), re.S).group(0)
    main = re.sub(r'(name="csrf_token" value=")[^"]*"', r'\1<csrf-token>"', main)

    for name in ("_login_user", "csrf_token", "_flask_babel"):
        g.pop(name, None)
    login(host)  # a week has passed on the clock: the first session lapsed (idle limit)
    assert client.post(f"/meetings/{meeting.id}/delete").status_code == 302
    emails["cancellation"] = parts(one(smtp))

    def placeholders(text: str) -> str:
        return text.replace(token, "<rsvp-token>").replace(
            f"/meetings/{meeting.id}", "/meetings/<meeting-id>")

    for kind, (subject, text, html) in emails.items():
        snapshot(f"emails/{kind}.{locale}.txt", placeholders(f"Subject: {subject}\n\n{text}"))
        snapshot(f"emails/{kind}.{locale}.html", placeholders(html))
    snapshot(f"emails/rsvp-confirmation.{locale}.html", placeholders(main) + "\n")
