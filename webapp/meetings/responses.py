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


def rsvp_token(attendee_id: int) -> str:
    """A signed token naming one attendee, for the RSVP link in their invitation."""
    return _rsvp_serializer().dumps({"a": attendee_id})


def attendee_from_token(token: str):
    from webapp.meetings.models import Attendee
    try:
        data = _rsvp_serializer().loads(token)
    except BadSignature:
        return None
    return db.session.get(Attendee, data.get("a")) if isinstance(data, dict) else None


def record_response(attendee, response: str) -> bool:
    """Store an attendee's accept/decline/maybe."""
    from webapp.meetings.models import RESPONSES
    if response not in RESPONSES or response == "needs_action":
        return False
    attendee.response = response
    attendee.responded_at = utcnow()
    db.session.flush()
    return True


def apply_itip_reply(ics: bytes) -> list[str]:
    """Apply an iTIP REPLY (RFC 5546): each ATTENDEE's PARTSTAT for the meeting with UID.
    Returns the addresses updated."""
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
        for address in attendees if isinstance(attendees, list) else [attendees]:
            if address is None:
                continue
            email = str(address).removeprefix("mailto:").removeprefix("MAILTO:").lower()
            status = partstats.get(str(address.params.get("PARTSTAT", "")).upper())
            attendee = db.session.scalar(sa.select(Attendee).where(
                Attendee.meeting_id == meeting.id, sa.func.lower(Attendee.email) == email))
            if attendee and status:
                record_response(attendee, status)
                updated.append(email)
    return updated
