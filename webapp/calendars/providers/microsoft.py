"""Microsoft Graph adapter (/me/events, getSchedule). Graph mails attendees itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from webapp.calendars.providers import Changes, Conflict, ProviderError, RemoteEvent, Written
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
        return self.write(meeting, external_id, None).id

    def write(self, meeting, external_id: str | None, etag: str | None) -> Written:
        """Create or PATCH the event; the PATCH carries the stored changeKey (If-Match),
        a 412 raises Conflict. Returns the id and the new changeKey."""
        body = event_body(meeting)
        if external_id:
            found = call("PATCH", f"{self.base}/me/events/{external_id}", self.token,
                         json={k: v for k, v in body.items() if k != "transactionId"},
                         ok_missing=True, headers={"If-Match": etag} if etag else None)
            if found is not None:
                return Written(external_id, found.get("changeKey"))
            if etag:  # Parley had written it: deleted in the calendar, not recreated
                raise Conflict("The event was deleted in the calendar.")
        created = call("POST", f"{self.base}/me/events", self.token, json=body)
        return Written(created["id"], created.get("changeKey"))

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

    #: Graph keeps a subscription to events at most 4230 minutes.
    MAX_SUBSCRIPTION_SECONDS = 4230 * 60

    def open_channel(self, _channel_id: str, token: str, address: str, ttl: int,
                     _calendar_id: str = "primary") -> tuple[str, str, datetime]:
        """A subscription to the user's events (created, updated, deleted) posting to
        address with clientState=token; Graph validates address first (its
        validationToken must be echoed). Returns (subscription id, resource, expiration)."""
        expires = datetime.now(UTC) + timedelta(seconds=min(ttl, self.MAX_SUBSCRIPTION_SECONDS))
        data = call("POST", f"{self.base}/subscriptions", self.token, json={
            "changeType": "created,updated,deleted", "notificationUrl": address,
            "resource": "me/events", "clientState": token,
            "expirationDateTime": expires.isoformat().replace("+00:00", "Z")}) or {}
        if not data.get("id"):
            raise ProviderError("Microsoft did not make the subscription.")
        when = data.get("expirationDateTime")
        return data["id"], data.get("resource") or "me/events", _parse_utc(when) if when \
            else expires

    def close_channel(self, channel_id: str, _resource_id: str | None) -> None:
        """Delete the subscription; one already gone (404) is fine."""
        call("DELETE", f"{self.base}/subscriptions/{channel_id}", self.token, ok_missing=True)

    def changes(self, token: str | None, known: dict) -> Changes:
        """Delta query on calendarView: every @odata.nextLink, then the @odata.deltaLink,
        stored as the token. A 410 (the token expired) starts over with a full view."""
        from datetime import timedelta

        from webapp.types import utcnow

        if token:
            url, params = token, None
        else:
            now = utcnow()
            url = f"{self.base}/me/calendarView/delta"
            params = {"startDateTime": (now - timedelta(days=DELTA_PAST)).isoformat(),
                      "endDateTime": (now + timedelta(days=DELTA_FUTURE)).isoformat()}
        events = []
        while True:
            try:
                data = call("GET", url, self.token, params=params) or {}
            except ProviderError as exc:
                if exc.status == 410 and token:
                    return self.changes(None, known)
                raise
            events += [as_remote(item) for item in data.get("value", [])]
            if data.get("@odata.nextLink"):
                url, params = data["@odata.nextLink"], None
                continue
            return Changes(events, data.get("@odata.deltaLink"), full=not token)


    def fetch(self, external_id: str) -> RemoteEvent:
        found = call("GET", f"{self.base}/me/events/{external_id}", self.token, ok_missing=True)
        if found is None:
            return RemoteEvent(external_id, None, deleted=True)
        return as_remote(found)


def _parse(value: dict) -> datetime:
    parsed = datetime.fromisoformat(value["dateTime"][:26])
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _when(value: dict | None) -> datetime | None:
    return _parse(value) if value and value.get("dateTime") else None


def as_remote(event: dict) -> RemoteEvent:
    """A Graph event (or the body Parley writes) as an inbound sync reads it; a removed
    (delta's "@removed") or cancelled one counts as deleted. The body is HTML: compared
    and taken in as text."""
    from webapp.richtext import to_text

    eid = event.get("id") or ""
    if "@removed" in event or event.get("isCancelled"):
        return RemoteEvent(eid, event.get("changeKey"), uid=event.get("iCalUId"),
                           deleted=True)
    modified = event.get("lastModifiedDateTime")
    return RemoteEvent(
        eid, event.get("changeKey"), uid=event.get("iCalUId"), start=_when(event.get("start")),
        end=_when(event.get("end")), title=event.get("subject") or "",
        location=(event.get("location") or {}).get("displayName") or "",
        description=to_text((event.get("body") or {}).get("content") or ""),
        modified=datetime.fromisoformat(modified.replace("Z", "+00:00")).astimezone(UTC)
        if modified else None)


#: How far the delta's calendar view reaches (Graph needs a window).
DELTA_PAST, DELTA_FUTURE = 30, 400


def _parse_utc(value: str) -> datetime:
    """An ISO time of Graph's (Z or an offset, up to 7 decimals) as aware UTC."""
    text = value.replace("Z", "+00:00")
    if "." in text:
        head, _dot, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = head + "." + digits[:6].ljust(6, "0") + rest[len(digits):]
    return datetime.fromisoformat(text).astimezone(UTC)
