"""Microsoft Graph adapter (/me/events, /me/calendars, getSchedule, calendarView).
Graph mails attendees itself. New events go to the connection's target calendar (the
mailbox's default calendar unless the user chose another one, #21)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
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

    def __init__(self, base_url: str, token: str, email: str | None = None,
                 calendar_id: str | None = None):
        self.base, self.token, self.email = base_url.rstrip("/"), token, email
        #: The calendar as sync rows keep it (DEFAULT: the mailbox's default calendar).
        self.calendar_id = calendar_id if calendar_id and calendar_id != DEFAULT else DEFAULT
        #: Where new events are created and changes are read (POST
        #: /me/calendars/{id}/events, /me/calendars/{id}/calendarView/delta; an event, once
        #: made, is addressed by its id under /me/events wherever it lives).
        self.calendar_base = (f"{self.base}/me/calendars/{quote(calendar_id, safe='')}"
                              if self.calendar_id != DEFAULT else f"{self.base}/me")

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
        created = call("POST", f"{self.calendar_base}/events", self.token, json=body)
        return Written(created["id"], created.get("changeKey"))

    def delete(self, meeting, external_id: str | None) -> None:
        if not external_id:
            return
        # /cancel (not DELETE) so Graph sends attendees the cancellation.
        call("POST", f"{self.base}/me/events/{external_id}/cancel", self.token,
             json={"comment": "Canceled in Parley"}, ok_missing=True)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return [(s, e) for s, e, _title in self._schedule(start, end)]

    def _schedule(self, start: datetime, end: datetime) -> list:
        body = {"schedules": [self.email or ""], "startTime": _graph_time(start),
                "endTime": _graph_time(end), "availabilityViewInterval": 30}
        data = call("POST", f"{self.base}/me/calendar/getSchedule", self.token, json=body) or {}
        answer = (data.get("value") or [{}])[0]
        if answer.get("error"):
            raise ProviderError("Microsoft 365 could not read the calendar's busy time.")
        return [(_parse(i["start"]), _parse(i["end"]), i.get("subject") or None)
                for i in answer.get("scheduleItems", []) if i.get("status") in BUSY_SHOW_AS]

    def busy_in(self, start: datetime, end: datetime, calendar_ids: list[str],
                default_id: str | None = None) -> dict[str, list | None]:
        """Busy periods of each selected calendar. getSchedule answers for a mailbox,
        which is its default calendar only: it serves the default calendar (one call),
        and every other selected calendar is read with calendarView (its events in the
        range, every page) and showAs. Either way an event shown as free (an all-day
        event unless marked busy) or cancelled is not busy time."""
        default = DEFAULT if DEFAULT in calendar_ids else default_id
        out: dict[str, list | None] = {}
        for cid in calendar_ids:
            try:
                out[cid] = (self._schedule(start, end) if cid == default
                            else self._calendar_view(cid, start, end))
            except ProviderError:
                if len(calendar_ids) == 1:
                    raise
                out[cid] = None
        if calendar_ids and all(v is None for v in out.values()):
            raise ProviderError("Microsoft 365 could not read any calendar's busy time.")
        return out

    def _calendar_view(self, calendar_id: str, start: datetime, end: datetime) -> list:
        url = f"{self.base}/me/calendars/{quote(calendar_id, safe='')}/calendarView"
        params = {"startDateTime": _iso(start), "endDateTime": _iso(end),
                  "$select": "subject,start,end,showAs,isAllDay,isCancelled", "$top": "500"}
        out = []
        while url:
            data = call("GET", url, self.token, params=params,
                        headers={"Prefer": 'outlook.timezone="UTC"'}) or {}
            for item in data.get("value", []):
                if item.get("isCancelled") or item.get("showAs") not in BUSY_SHOW_AS:
                    continue
                out.append((_parse(item["start"]), _parse(item["end"]),
                            item.get("subject") or None))
            url, params = data.get("@odata.nextLink"), None
        return out

    def calendars(self) -> list[CalendarInfo]:
        """GET /me/calendars, every page."""
        out, url, params = [], f"{self.base}/me/calendars", {
            "$select": "id,name,isDefaultCalendar,canEdit"}
        while url:
            data = call("GET", url, self.token, params=params) or {}
            out += [CalendarInfo(c["id"], c.get("name") or c["id"],
                                 primary=bool(c.get("isDefaultCalendar")),
                                 read_only=c.get("canEdit") is False)
                    for c in data.get("value", [])]
            url, params = data.get("@odata.nextLink"), None
        return out

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
        def first(token: str | None):
            from webapp.types import utcnow  # the clock tests move

            if token:
                return token, None
            now = utcnow()
            return f"{self.calendar_base}/calendarView/delta", {
                "startDateTime": (now - timedelta(days=DELTA_PAST)).isoformat(),
                "endDateTime": (now + timedelta(days=DELTA_FUTURE)).isoformat()}

        def following(page: dict, _request):
            more = page.get("@odata.nextLink")
            return (more, None) if more else None

        return paged_changes(token, self.token, first=first, following=following,
                             items="value", last="@odata.deltaLink", as_remote=as_remote)

    def fetch(self, external_id: str) -> RemoteEvent:
        found = call("GET", f"{self.base}/me/events/{external_id}", self.token, ok_missing=True)
        if found is None:
            return RemoteEvent(external_id, None, deleted=True)
        return as_remote(found)


#: showAs / schedule item status values that are busy time ("free" and "unknown" are not).
BUSY_SHOW_AS = ("busy", "tentative", "oof", "workingElsewhere")
#: A connection made before calendars were listed reads its default calendar.
DEFAULT = "default"


def _graph_time(value: datetime) -> dict:
    return {"dateTime": value.astimezone(UTC).replace(tzinfo=None).isoformat(),
            "timeZone": "UTC"}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
