"""Google Calendar API v3 adapter (events insert/patch/delete, calendarList, freeBusy).
Events are written to the connection's target calendar ("primary" unless the user chose
another one, #21)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import quote

from webapp.calendars.providers import (
    CalendarInfo,
    Changes,
    Conflict,
    ProviderError,
    RemoteEvent,
    Written,
)
from webapp.calendars.providers.http import call
from webapp.calendars.providers.http import changes as paged_changes
from webapp.meetings.ical import location_text
from webapp.richtext import to_text


def event_id(uid: str) -> str:
    """A client-supplied event id (base32hex, lower case): retries insert the same event."""
    digest = hashlib.sha256(uid.encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


def event_body(meeting) -> dict:
    tz = meeting.timezone
    body = {
        "id": event_id(meeting.uid), "iCalUID": meeting.uid, "summary": meeting.title,
        "description": to_text(meeting.description_html), "location": location_text(meeting),
        "start": {"dateTime": meeting.start_at.isoformat(), "timeZone": tz},
        "end": {"dateTime": meeting.end_at.isoformat(), "timeZone": tz},
        "attendees": [{"email": a.email, "displayName": a.name}
                      for a in meeting.attendees if a.email],
        "sequence": meeting.sequence, "guestsCanModify": False,
    }
    if getattr(meeting, "conference_provider", None) == "google_meet":
        # Google Meet (webapp.conferencing): Google ignores a repeated requestId, so every
        # upsert of this meeting asks for the same one conference.
        body["conferenceData"] = {"createRequest": {
            "requestId": "parley-" + event_id(meeting.uid)[:32],
            "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    return body


def _params(body: dict) -> dict:
    params = {"sendUpdates": "none"}
    if "conferenceData" in body:
        params["conferenceDataVersion"] = "1"
    return params


class GoogleCalendar:
    #: Parley mails its own iTIP invitations, so Google is told not to (sendUpdates=none):
    #: each attendee gets one invitation in total.
    mails_attendees = False

    def __init__(self, base_url: str, token: str, calendar_id: str | None = None):
        self.base, self.token = base_url.rstrip("/"), token
        #: The calendar meetings are written to (its id is an address: quoted).
        self.calendar_id = calendar_id or "primary"
        self.events_url = f"{self.base}/calendars/{quote(self.calendar_id, safe='')}/events"

    def upsert(self, meeting, external_id: str | None) -> str:
        return self.upsert_event(meeting, external_id).get("id") or external_id or \
            event_id(meeting.uid)

    def write(self, meeting, external_id: str | None, etag: str | None) -> Written:
        """upsert with the stored etag (If-Match): a 412 raises Conflict, and so does an
        event Parley had written that is gone (deleted in the calendar: not recreated)."""
        if external_id and etag:
            found = call("PATCH", f"{self.events_url}/{external_id}",
                         self.token, json=event_body(meeting),
                         params=_params(event_body(meeting)), ok_missing=True,
                         headers={"If-Match": etag})
            if found is None:
                raise Conflict("The event was deleted in the calendar.")
            return Written(external_id, found.get("etag"))
        event = self.upsert_event(meeting, external_id, etag=etag)
        return Written(event.get("id") or external_id or event_id(meeting.uid),
                       event.get("etag"))

    def upsert_event(self, meeting, external_id: str | None = None,
                     timeout: float = 10, etag: str | None = None) -> dict:
        """Insert or patch the meeting's event; returns the event as Google sent it."""
        body = event_body(meeting)
        eid = external_id or body["id"]
        params = _params(body)
        url = self.events_url
        if external_id:
            found = call("PATCH", f"{url}/{eid}", self.token, json=body, params=params,
                         ok_missing=True, timeout=timeout,
                         headers={"If-Match": etag} if etag else None)
            if found is not None:
                return {"id": eid, **found}
        try:
            created = call("POST", url, self.token, json=body, params=params, timeout=timeout)
        except ProviderError as exc:
            if exc.status != 409:
                raise
            # 409: an earlier try created it (same client-supplied id): update it instead.
            patched = call("PATCH", f"{url}/{eid}", self.token, json=body, params=params,
                           timeout=timeout)
            return {"id": eid, **(patched or {})}
        return {"id": eid, **(created or {})}

    def get(self, meeting, timeout: float = 10) -> dict | None:
        """The meeting's event (None when it does not exist yet)."""
        return call("GET", f"{self.events_url}/{event_id(meeting.uid)}",
                    self.token, params={"conferenceDataVersion": "1"}, ok_missing=True,
                    timeout=timeout)

    def delete(self, meeting, external_id: str | None) -> None:
        eid = external_id or event_id(meeting.uid)
        call("DELETE", f"{self.events_url}/{eid}", self.token,
             params={"sendUpdates": "none"}, ok_missing=True)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        found = self.busy_in(start, end, ["primary"])["primary"]
        if found is None:
            raise ProviderError("Google could not read the calendar's busy time.")
        return [(s, e) for s, e, _title in found]

    def busy_in(self, start: datetime, end: datetime, calendar_ids: list[str],
                default_id: str | None = None) -> dict[str, list | None]:
        """Every selected calendar in one freeBusy call (items=[...]): {calendar id:
        [(start, end, None)], or None when Google reports an error for that calendar}.
        freeBusy leaves out transparent events ("show as available"), which is what
        Google's all-day events are unless marked busy; it gives no titles."""
        body = {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end),
                "items": [{"id": i} for i in calendar_ids]}
        data = call("POST", f"{self.base}/freeBusy", self.token, json=body) or {}
        answers = data.get("calendars") or {}
        out: dict[str, list | None] = {}
        for cid in calendar_ids:
            answer = answers.get(cid)
            if answer is None or answer.get("errors"):
                out[cid] = None
                continue
            out[cid] = [(_parse(p["start"]), _parse(p["end"]), None)
                        for p in answer.get("busy", [])]
        return out

    def calendars(self) -> list[CalendarInfo]:
        """calendarList.list, every page: the calendars on the user's list (hidden ones
        too, deleted ones not)."""
        out, page = [], None
        while True:
            params = {"maxResults": "250", **({"pageToken": page} if page else {})}
            data = call("GET", f"{self.base}/users/me/calendarList", self.token,
                        params=params) or {}
            for item in data.get("items", []):
                if item.get("deleted"):
                    continue
                out.append(CalendarInfo(
                    item["id"], item.get("summaryOverride") or item.get("summary") or item["id"],
                    primary=bool(item.get("primary")),
                    read_only=item.get("accessRole") not in ("owner", "writer")))
            page = data.get("nextPageToken")
            if not page:
                return out

    def changes(self, token: str | None, known: dict) -> Changes:
        """Incremental sync (events.list with syncToken): every page, then nextSyncToken. A
        410 (the token expired) starts a full sync, which lists every event."""
        def first(token: str | None):
            return self.events_url, {"syncToken": token} if token else {"showDeleted": "true"}

        def following(page: dict, request_):
            url, params = request_
            more = page.get("nextPageToken")
            return (url, {**params, "pageToken": more}) if more else None

        return paged_changes(token, self.token, first=first, following=following,
                             items="items", last="nextSyncToken", as_remote=as_remote)

    def watch(self, channel_id: str, token: str, address: str, ttl: int,
              calendar_id: str = "primary") -> tuple[str, datetime | None]:
        """events.watch on one calendar (POST /calendars/{calendarId}/events/watch): a
        web_hook channel posting to address when that calendar's events change, and no
        other's. Returns (resourceId, expiration)."""
        data = call("POST", f"{self.base}/calendars/{quote(calendar_id, safe='')}/events/watch",
                    self.token,
                    json={"id": channel_id, "type": "web_hook", "address": address,
                          "token": token, "params": {"ttl": str(ttl)}}) or {}
        if not data.get("resourceId"):
            raise ProviderError("Google did not open the notification channel.")
        expiration = data.get("expiration")
        when = datetime.fromtimestamp(int(expiration) / 1000, UTC) if expiration else None
        return data["resourceId"], when

    def stop(self, channel_id: str, resource_id: str) -> None:
        """channels.stop; a channel already gone (404) is fine."""
        call("POST", f"{self.base}/channels/stop", self.token,
             json={"id": channel_id, "resourceId": resource_id}, ok_missing=True)

    def open_channel(self, channel_id: str, token: str, address: str, ttl: int,
                     calendar_id: str = "primary") -> tuple[str, str, datetime | None]:
        """watch() as every push provider answers: (channel id, resource id, expiration)."""
        resource_id, expires = self.watch(channel_id, token, address, ttl, calendar_id)
        return channel_id, resource_id, expires

    def close_channel(self, channel_id: str, resource_id: str) -> None:
        self.stop(channel_id, resource_id)

    def fetch(self, external_id: str) -> RemoteEvent:
        found = call("GET", f"{self.events_url}/{external_id}", self.token,
                     ok_missing=True)
        if found is None:
            return RemoteEvent(external_id, None, deleted=True)
        return as_remote(found)


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _when(value: dict | None) -> datetime | None:
    if not value:
        return None
    if value.get("dateTime"):
        return _parse(value["dateTime"])
    if value.get("date"):
        return datetime.fromisoformat(value["date"]).replace(tzinfo=UTC)
    return None


def as_remote(event: dict) -> RemoteEvent:
    """An event of the API (or the body Parley writes) as an inbound sync reads it; a
    cancelled one (how incremental sync reports a deletion) counts as deleted."""
    eid = event.get("id") or ""
    if event.get("status") == "cancelled":
        return RemoteEvent(eid, event.get("etag"), uid=event.get("iCalUID"), deleted=True)
    return RemoteEvent(
        eid, event.get("etag"), uid=event.get("iCalUID"), start=_when(event.get("start")),
        end=_when(event.get("end")), title=event.get("summary") or "",
        location=event.get("location") or "", description=event.get("description") or "",
        modified=_parse(event["updated"]) if event.get("updated") else None,
        sequence=event.get("sequence"))
