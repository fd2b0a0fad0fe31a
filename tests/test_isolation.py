"""Tenant isolation: every route that takes an id, with another account's ids, answers 404
and changes nothing. Routes are found by walking app.url_map, so new routes are covered
automatically: a route with an argument this file does not know fails the test."""

import pytest
import sqlalchemy as sa

from webapp.extensions import db as _db

# Routes that do not take tenant ids, with the reason.
EXEMPT = {
    "static": "public files",
    "auth.choose_language": "takes a language code, not an id",
    "meetings.rsvp": "a signed per-attendee token, not a tenant id (tests/test_delivery.py)",
    "meetings.feed": "a secret feed token, not a tenant id (tests/test_meetings.py)",
    "calendars.connect": "takes a provider name (google, microsoft), not an id",
    "calendars.callback": "takes a provider name; the OAuth state binds it to the session",
    # Public booking pages (#22): a page's public slug and a signed manage token, not tenant
    # ids (tests/test_scheduling_pages.py: unknown, paused and forged answer the same 404).
    "scheduling_pages.public": "a public slug",
    "scheduling_pages.book": "a public slug",
    "scheduling_pages.manage": "a signed per-booking token",
    "scheduling_pages.reschedule": "a signed per-booking token",
    "scheduling_pages.cancel": "a signed per-booking token",
}


def snapshot() -> dict:
    """Every row of every table, to prove nothing changed."""
    data = {}
    # What was committed: a refused request's unsaved changes are left out (the test's
    # transaction, rolled back to its last commit).
    _db.session.rollback()
    conn = _db.session.connection()
    for table in _db.metadata.sorted_tables:
        if table.name == "login_throttles":
            continue
        data[table.name] = sorted(map(repr, conn.execute(table.select()).all()))
    return data


@pytest.fixture()
def victim(make):
    """Account B with one of everything; returns argument values pointing at its rows."""
    b = make.account(name="Victim")
    user = make.user(b)
    contact = make.contact(b)
    company = make.company(b)
    deal = make.deal(b)
    ticket = make.ticket(b)
    from webapp.records import operations as ops
    ops.link(b.id, contact, company)
    _db.session.commit()
    by_type = {"contact": contact, "company": company, "deal": deal, "ticket": ticket}
    from datetime import timedelta

    from webapp.meetings import inputs, saving, validation
    from webapp.meetings import operations as meeting_ops
    from webapp.meetings.forms import Upload
    from webapp.types import utcnow
    start = utcnow() + timedelta(days=3)
    data = inputs.MeetingInput(title="Secret", start=start, end=start + timedelta(hours=1),
                                    timezone="UTC", attendees=[("contact", contact.id)],
                                    associations=[("deal", deal.id)])
    assert not validation.validate(b, user, data)
    meeting = saving.schedule_meeting(b, user, data)
    meeting_ops.add_attachments(meeting, user, [Upload("plan.pdf", "application/pdf", b"%PDF")])
    _db.session.commit()
    from webapp.delivery.models import OutboxMessage
    message = _db.session.scalar(sa.select(OutboxMessage))
    message.status = "failed"
    from webapp.api import operations as token_ops
    token, _plain = token_ops.create_token(user, "victim")
    from webapp.settings import operations as settings_ops
    mtype = settings_ops.add_meeting_type(b.id, "Secret type")
    snippet = settings_ops.add_snippet(b.id, "Secret snippet", "<p>secret</p>")
    outcome = settings_ops.add_outcome(b.id, "Secret outcome")
    from webapp.notifications.models import Notification
    notification = Notification(account_id=b.id, user_id=user.id, actor_id=user.id,
                                meeting_id=meeting.id, kind="mention")
    _db.session.add(notification)
    from webapp.rotations import operations as rotation_ops
    seated = make.user(b, seat_kind_id=make.seat(b, paid=True).id)
    rotation, _errors = rotation_ops.create_rotation(b, "Victim rotation", [seated.id])
    from webapp.conferencing import operations as conferencing
    video_app, _secret = conferencing.save_app(b.id, {
        "name": "Victim video", "create_url": "https://v.example/c",
        "update_url": "https://v.example/u", "delete_url": "https://v.example/d",
        "user_verify_url": "https://v.example/v"})
    from webapp.mail.models import CapturedMail
    mail = CapturedMail(account_id=b.id, recipients="guest@example.org", subject="Secret",
                        raw=b"Subject: Secret\r\nTo: guest@example.org\r\n\r\nsecret body")
    _db.session.add(mail)
    from webapp.booking import operations as booking_ops
    scheduling_page, _errors = booking_ops.create_page(b, user, {
        "title": "Secret page", "slug": "victim-secret-page"})
    _db.session.commit()
    return {"page_id": scheduling_page.id, "mail_id": mail.id, "index": 0,
            "record_id": by_type, "to_type": "company", "to_id": company.id,
            "user_id": user.id, "record_type": "contact", "meeting_id": meeting.id,
            "attachment_id": meeting.attachments[0].id, "message_id": message.id,
            "token_id": token.id, "type_id": mtype.id, "snippet_id": snippet.id,
            "outcome_id": outcome.id, "notification_id": notification.id,
            "rotation_id": rotation.id, "member_id": rotation.members[0].id,
            "app_id": video_app.id}


PLURALS = {"contacts": "contact", "companies": "company", "deals": "deal", "tickets": "ticket"}


def expand(rule, victim) -> list[dict]:
    """Concrete argument sets for rule, pointing at the victim's rows."""
    args = sorted(rule.arguments)
    variants = [{}]
    if "plural" in args:
        variants = [{"plural": p} for p in PLURALS]
    out = []
    for base in variants:
        values = dict(base)
        for arg in args:
            if arg == "plural":
                continue
            if arg == "record_id":
                record_type = PLURALS.get(values.get("plural"), victim["record_type"])
                values[arg] = victim["record_id"][record_type].id
            elif arg in victim:
                values[arg] = victim[arg]
            else:
                pytest.fail(f"{rule.endpoint}: unknown argument {arg!r}; "
                            "add a value for it to the victim fixture")
        out.append(values)
    return out


def test_every_id_route_is_isolated(app, client, make, login, victim):
    attacker = make.account(name="Attacker")
    # An admin: account settings pages answer 403 to members before looking at ids.
    login(make.user(attacker, role="admin"))
    # The attacker also owns rows, so "not found" cannot come from an empty account.
    make.contact(attacker)
    before = snapshot()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT or not rule.arguments - {"plural"}:
            continue
        if rule.rule.startswith("/api/v1/"):
            continue  # bearer-token API: every operation is walked in tests/test_api.py
        for values in expand(rule, victim):
            path = app.url_map.bind("localhost").build(rule.endpoint, values)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                for headers in ({}, {"HX-Request": "true"}):
                    response = client.open(path, method=method, headers=headers,
                                           data={"to_type": "contact", "to_id": "1"})
                    assert response.status_code == 404, (method, path, response.status_code)
                    checked += 1
    assert snapshot() == before
    assert checked >= 40
