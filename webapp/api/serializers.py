"""What the API answers with: records and meetings as JSON (webapp.api.spec's schemas)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from webapp.api import spec as S
from webapp.delivery.models import OutboxMessage
from webapp.extensions import db
from webapp.meetings.models import Meeting


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


# --- records ----------------------------------------------------------------------------

def record_json(record) -> dict:
    out = {"id": record.id, "type": record.record_type, "name": record.display_name,
           "created_at": _iso(record.created_at), "updated_at": _iso(record.updated_at)}
    for key in S.RECORD_FIELDS[record.record_type]:
        value = getattr(record, key)
        if key == "amount" and value is not None:
            value = f"{value:.2f}"
        elif key == "close_date" and value is not None:
            value = value.isoformat()
        out[key] = value
    return out


def meeting_json(meeting: Meeting) -> dict:
    rows = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.meeting_id == meeting.id).order_by(OutboxMessage.id)).all()
    by_email: dict[str, list] = {}
    for row in rows:
        by_email.setdefault(row.recipient_email.lower(), []).append({
            "kind": row.kind, "sequence": row.sequence, "status": row.status,
            "error": row.last_error, "sent_at": _iso(row.sent_at)})
    return {
        "id": meeting.id, "uid": meeting.uid, "sequence": meeting.sequence,
        "title": meeting.title, "start": _iso(meeting.start_at), "end": _iso(meeting.end_at),
        "timezone": meeting.timezone,
        "location": {"kind": meeting.location_kind, "value": meeting.location_value,
                     "video_provider": meeting.conference_provider,
                     "video_status": meeting.conference_status},
        "meeting_type": {"id": meeting.meeting_type.id, "name": meeting.meeting_type.name}
        if meeting.meeting_type else None,
        "description_html": meeting.description_html,
        "internal_note_html": meeting.internal_note_html,
        "include_description_in_reminders": meeting.include_description_in_reminders,
        "hide_guest_list": meeting.hide_guest_list,
        "host_user_id": meeting.host_id, "organizer_user_id": meeting.organizer_id,
        "rotation_id": meeting.rotation_id, "outcome": meeting.outcome,
        "log_only": meeting.log_only, "source": meeting.source,
        "reminders": [{"amount": r.amount, "unit": r.unit, "due_at": _iso(r.due_at),
                       "sent": r.sent_at is not None} for r in meeting.reminders],
        "attendees": [{"id": a.id, "contact_id": a.contact_id, "user_id": a.user_id,
                       "name": a.name, "email": a.email, "invited": bool(a.email),
                       "response": a.response,
                       "delivery": by_email.get((a.email or "").lower(), [])}
                      for a in meeting.attendees],
        "associations": [{"type": a.record_type, "id": a.record_id}
                         for a in meeting.associations],
        "created_at": _iso(meeting.created_at), "updated_at": _iso(meeting.updated_at),
    }
