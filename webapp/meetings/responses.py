"""Attendees' answers (request side: flush only): the RSVP link's signed token, the
answer itself, and iTIP REPLY messages (RFC 5546) from calendar clients."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from webapp.extensions import db
from webapp.types import utcnow


def _rsvp_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="parley-rsvp")


def rsvp_token(attendee_id: int, meeting) -> str:
    """A signed token for the RSVP link in one attendee's invitation, bound to the
    attendee, the meeting (its id and its UID, never reused) and the account: a link
    whose attendee was removed opens nothing, even where row ids are reused (SQLite)."""
    return _rsvp_serializer().dumps({"a": attendee_id, "m": meeting.id, "u": meeting.uid,
                                     "c": meeting.account_id})


def attendee_from_token(token: str):
    """The attendee the token was made for, when it still stands in that meeting."""
    from webapp.meetings.models import Attendee, Meeting
    try:
        data = _rsvp_serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), t) for k, t in (("a", int), ("m", int), ("u", str),
                                                    ("c", int))):
        return None  # tokens made before binding (attendee id only) are refused
    return db.session.scalar(sa.select(Attendee).join(Meeting).where(
        Attendee.id == data["a"], Attendee.meeting_id == data["m"], Meeting.uid == data["u"],
        Meeting.account_id == data["c"]))


def record_response(attendee, response: str, sequence: int | None = None) -> bool:
    """Store an attendee's accept/decline/maybe, given for the meeting's SEQUENCE
    `sequence` (its current one by default). An answer to an older SEQUENCE than the one
    the attendee's answer is already for is ignored (False): an iTIP REPLY that arrives
    late does not overwrite a newer answer, nor the reset of a reschedule."""
    from webapp.meetings.models import RESPONSES
    if response not in RESPONSES or response == "needs_action":
        return False
    if sequence is None:
        sequence = attendee.meeting.sequence
    if attendee.response_sequence is not None and sequence < attendee.response_sequence:
        return False
    attendee.response = response
    attendee.responded_at = utcnow()
    attendee.response_sequence = sequence
    db.session.flush()
    return True


def apply_itip_reply(ics: bytes, sender: str | None = None) -> list[str]:
    """Apply an iTIP REPLY (RFC 5546): the replying ATTENDEE's PARTSTAT for the meeting
    with UID. A REPLY speaks for one attendee (RFC 5546 3.2.3): a VEVENT naming several
    is refused, and when the mail hook tells the sender, the attendee must be the sender,
    so nobody answers for somebody else. Returns the addresses updated."""
    import icalendar

    from webapp.meetings.models import Attendee, Meeting

    partstats = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
    updated = []
    cal = icalendar.Calendar.from_ical(ics)
    if str(cal.get("method", "")).upper() != "REPLY":
        raise ValueError("not an iTIP REPLY")
    for ev in cal.walk("VEVENT"):
        meeting = db.session.scalar(sa.select(Meeting).where(Meeting.uid == str(ev.get("uid"))))
        if meeting is None:
            continue
        attendees = ev.get("attendee")
        attendees = [a for a in (attendees if isinstance(attendees, list) else [attendees])
                     if a is not None]
        if len(attendees) > 1:
            raise ValueError("a REPLY names exactly one attendee")
        for address in attendees:
            email = str(address).removeprefix("mailto:").removeprefix("MAILTO:").lower()
            if sender is not None and email != sender.strip().lower():
                raise ValueError("the REPLY's attendee is not its sender")
            status = partstats.get(str(address.params.get("PARTSTAT", "")).upper())
            attendee = db.session.scalar(sa.select(Attendee).where(
                Attendee.meeting_id == meeting.id, sa.func.lower(Attendee.email) == email))
            sequence = int(ev.get("sequence", 0))
            if attendee and status and record_response(attendee, status, sequence):
                updated.append(email)
    return updated
