"""Microsoft Graph adapter (/me/events, getSchedule). Graph mails attendees itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from webapp.calendars.providers.http import call
from webapp.meetings.ical import location_text


def event_body(meeting) -> dict:
    def when(value):
        return {"dateTime": value.astimezone(UTC).replace(tzinfo=None).isoformat(),
                "timeZone": "UTC"}

    return {
        "subject": meeting.title,
        "body": {"contentType": "HTML", "content": meeting.description_html or ""},
        "start": when(meeting.start_at), "end": when(meeting.end_at),
        "location": {"displayName": location_text(meeting)},
        "attendees": [{"emailAddress": {"address": a.email, "name": a.name}, "type": "required"}
                      for a in meeting.attendees if a.email],
        # Graph drops a second create with the same transactionId: retries are idempotent.
        "transactionId": str(uuid.uuid5(uuid.NAMESPACE_URL, meeting.uid)),
    }


class MicrosoftCalendar:
    #: Graph sends the invitations, updates and cancellations to attendees itself.
    mails_attendees = True

    def __init__(self, base_url: str, token: str, email: str | None = None):
        self.base, self.token, self.email = base_url.rstrip("/"), token, email

    def upsert(self, meeting, external_id: str | None) -> str:
        body = event_body(meeting)
        if external_id:
            found = call("PATCH", f"{self.base}/me/events/{external_id}", self.token,
                         json={k: v for k, v in body.items() if k != "transactionId"},
                         ok_missing=True)
            if found is not None:
                return external_id
        created = call("POST", f"{self.base}/me/events", self.token, json=body)
        return created["id"]

    def delete(self, meeting, external_id: str | None) -> None:
        if not external_id:
            return
        # /cancel (not DELETE) so Graph sends attendees the cancellation.
        call("POST", f"{self.base}/me/events/{external_id}/cancel", self.token,
             json={"comment": "Canceled in Parley"}, ok_missing=True)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        def when(value):
            return {"dateTime": value.astimezone(UTC).replace(tzinfo=None).isoformat(),
                    "timeZone": "UTC"}

        body = {"schedules": [self.email or ""], "startTime": when(start), "endTime": when(end),
                "availabilityViewInterval": 30}
        data = call("POST", f"{self.base}/me/calendar/getSchedule", self.token, json=body) or {}
        items = (data.get("value") or [{}])[0].get("scheduleItems", [])
        return [(_parse(i["start"]), _parse(i["end"])) for i in items
                if i.get("status") in ("busy", "tentative", "oof", "workingElsewhere")]


def _parse(value: dict) -> datetime:
    parsed = datetime.fromisoformat(value["dateTime"][:26])
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
