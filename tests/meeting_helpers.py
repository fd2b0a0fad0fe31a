"""Helpers for posting the scheduler form in tests (unit, integration and browser)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def future_day(days: int = 10, zone: str = "America/New_York") -> date:
    """The day `days` after today in `zone`, today as the tests' clock has it."""
    return (datetime.now(UTC).astimezone(ZoneInfo(zone)) + timedelta(days=days)).date()


def local(day: date, hhmm: str, zone: str = "America/New_York") -> datetime:
    """The aware moment of wall time `hhmm` on `day` in `zone` (a form's date and time)."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=ZoneInfo(zone))


def local_iso(day: str, hhmm: str, zone: str = "America/New_York") -> str:
    """RFC 3339 for a wall time in zone, with the zone's own offset on that day (the API
    refuses an offset that does not fit the meeting's zone)."""
    local = datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=ZoneInfo(zone))
    return local.isoformat()


def form(**overrides) -> dict:
    """A valid scheduler form; override any field (dates may be given as `date`)."""
    data = {
        "title": "Kick-off", "start_date": future_day(), "start_time": "10:00",
        "end_time": "10:30", "timezone": "America/New_York", "location_kind": "none",
        "location_value": "", "description_html": "", "internal_note_html": "",
        "reminder_amount": [], "reminder_unit": [], "attendees": [], "associations": [],
    }
    data.update(overrides)
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}


def schedule(client, record=None, **overrides):
    query = f"?record_type={record.record_type}&record_id={record.id}" if record else ""
    return client.post(f"/meetings/new{query}", data=form(**overrides))


def reads_meeting_rows(statements) -> bool:
    """Whether the statements read meetings' rows (their titles): a drawn week grid does
    (queries.users_meetings), a kept one does not."""
    return any("meetings.title" in s for s in statements)
