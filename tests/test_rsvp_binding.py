"""RSVP links and iTIP REPLYs answer for one attendee of one meeting only."""

from __future__ import annotations

import sqlalchemy as sa

from tests.meeting_helpers import schedule
from webapp.meetings import responses as delivery
from webapp.meetings.models import Attendee, Meeting


def _meeting(client, make, login, account, emails):
    login(make.user(account))
    contacts = [make.contact(account, email=e) for e in emails]
    schedule(client, contacts[0], title="Bound", attendees=[f"contact:{c.id}" for c in contacts])
    return contacts


def test_an_rsvp_link_of_a_removed_attendee_opens_nothing_even_when_its_id_is_reused(
        client, make, login, db):
    a, b = make.account(name="A"), make.account(name="B")
    _meeting(client, make, login, a, ["gone@example.org"])
    mine = db.session.scalar(sa.select(Meeting))
    attendee = mine.attendees[0]
    token = delivery.rsvp_token(attendee.id, mine)
    assert client.get(f"/rsvp/{token}").status_code == 200
    reused_id = attendee.id
    db.session.execute(sa.text("DELETE FROM outbox_messages"))
    db.session.delete(attendee)
    db.session.commit()
    # Another tenant's meeting gets an attendee with the same id (SQLite reuses ids).
    client.post("/logout")
    _meeting(client, make, login, b, ["other@example.org"])
    theirs = db.session.scalar(sa.select(Meeting).where(Meeting.account_id == b.id))
    if db.session.get(Attendee, reused_id) is None:  # PostgreSQL: reuse it by hand
        db.session.add(Attendee(id=reused_id, meeting_id=theirs.id, email="x@example.org",
                                name="Reused"))
        db.session.commit()
    assert db.session.get(Attendee, reused_id).meeting_id == theirs.id
    client.post("/logout")
    assert client.get(f"/rsvp/{token}").status_code == 404
    assert client.post(f"/rsvp/{token}", data={"response": "declined"}).status_code == 404


def test_an_unbound_token_of_the_old_kind_is_refused(client, make, login, db):
    _meeting(client, make, login, make.account(), ["guest@example.org"])
    attendee = db.session.scalar(sa.select(Attendee))
    old = delivery._rsvp_serializer().dumps({"a": attendee.id})
    assert client.get(f"/rsvp/{old}").status_code == 404


def reply(uid: str, *attendees: tuple[str, str]) -> str:
    lines = "".join(f"ATTENDEE;PARTSTAT={status}:mailto:{email}\r\n"
                    for email, status in attendees)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Client//EN\r\nMETHOD:REPLY\r\n"
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nSEQUENCE:0\r\nDTSTAMP:20260101T000000Z\r\n"
            f"{lines}END:VEVENT\r\nEND:VCALENDAR\r\n")


def answers(db) -> dict:
    db.session.expire_all()
    return {a.email: a.response for a in db.session.scalars(sa.select(Attendee))}


def test_a_reply_changes_only_the_replying_attendees_answer(app, client, make, login, db,
                                                            monkeypatch):
    _meeting(client, make, login, make.account(), ["one@example.org", "two@example.org"])
    uid = db.session.scalar(sa.select(Meeting.uid))
    app.config["ITIP_INBOUND_TOKEN"] = "s3cret"
    auth = {"Authorization": "Bearer s3cret"}
    try:
        both = client.post("/itip/reply", data=reply(uid, ("one@example.org", "ACCEPTED"),
                                                     ("two@example.org", "DECLINED")),
                           headers=auth)
        assert both.status_code == 422
        assert set(answers(db).values()) == {"needs_action"}
        forged = client.post("/itip/reply", data=reply(uid, ("two@example.org", "DECLINED")),
                             headers={**auth, "X-Parley-Mail-From": "one@example.org"})
        assert forged.status_code == 422
        assert set(answers(db).values()) == {"needs_action"}
        own = client.post("/itip/reply", data=reply(uid, ("two@example.org", "DECLINED")),
                          headers={**auth, "X-Parley-Mail-From": "Two@Example.org"})
        assert own.status_code == 200
        assert answers(db) == {"one@example.org": "needs_action",
                               "two@example.org": "declined"}
    finally:
        app.config["ITIP_INBOUND_TOKEN"] = None


def test_the_itip_secret_is_compared_in_constant_time(app, client, monkeypatch):
    import hmac

    from webapp.meetings import public_routes as routes
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(routes.hmac, "compare_digest",
                        lambda a, b: compared.append((a, b)) or real(a, b))
    app.config["ITIP_INBOUND_TOKEN"] = "s3cret"
    try:
        r = client.post("/itip/reply", data="x", headers={"Authorization": "Bearer s3creX"})
    finally:
        app.config["ITIP_INBOUND_TOKEN"] = None
    assert r.status_code == 404 and compared == [(b"Bearer s3creX", b"Bearer s3cret")]
