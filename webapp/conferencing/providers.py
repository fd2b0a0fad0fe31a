"""Conferencing providers behind one interface.

create(meeting, host) -> Conference; update(meeting, host, conference_id);
delete(meeting, host, conference_id); verify_user(host) raises EmailMismatch when the
host's Parley email is not the provider account's email (S16).

Every base URL comes from config, so tests point the adapters at local stand-ins.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC
from urllib.parse import urlparse

import requests
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp import grants
from webapp.calendars import connections as calendar_connections
from webapp.calendars.providers import ProviderError, ReconnectNeeded
from webapp.calendars.providers.google import GoogleCalendar
from webapp.conferencing import zoom
from webapp.conferencing.errors import (
    AuthExpired,
    ConferenceError,
    ConferenceRefused,
    EmailMismatch,
)

__all__ = ["AuthExpired", "Conference", "ConferenceError", "ConferenceRefused",
           "EmailMismatch", "ExtensionApp", "GoogleMeet", "Jitsi", "Zoom", "check_join_url"]


@dataclass
class Conference:
    conference_id: str
    url: str
    details: str = ""


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().lower() == b.strip().lower()


def check_join_url(url) -> str:
    """A join link Parley will send to attendees: https, or http on loopback in development."""
    if not isinstance(url, str) or len(url) > 500 or any(c in url for c in "\r\n\t <>\""):
        raise ConferenceError(_l("The video provider sent an invalid join link."), False)
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.netloc:
        return url
    local = parsed.hostname in ("127.0.0.1", "localhost")
    if parsed.scheme == "http" and local and current_app.config.get("ENV_NAME") != "production":
        return url
    raise ConferenceError(_l("The video provider sent a join link that is not https; Parley "
                             "only sends secure links."), False)


def _retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _failure(response, service: str) -> ConferenceError:
    status = response.status_code
    if status == 429 or status >= 500:
        return ConferenceError(_l("%(service)s is unavailable (%(status)d); Parley will try "
                                  "again.", service=service, status=status),
                               retryable=True, retry_after=_retry_after(response), status=status)
    return ConferenceError(_l("%(service)s refused the request (%(status)d).", service=service,
                              status=status), retryable=False, status=status)


def _json(response, service: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ConferenceError(_l("%(service)s sent a malformed answer (not a JSON object).",
                                 service=service), retryable=False)
    return body


# --- Jitsi Meet -------------------------------------------------------------------------

class Jitsi:
    """Zero configuration: a hard-to-guess room on JITSI_BASE_URL. No network calls."""

    key = "jitsi"

    def create(self, meeting, host, timeout: float = 15) -> Conference:
        room = "Parley-" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
        base = current_app.config["JITSI_BASE_URL"].rstrip("/")
        return Conference(room, check_join_url(f"{base}/{room}"))

    def update(self, meeting, host, conference_id: str, timeout: float = 15) -> None:
        return None  # a room has no time: nothing to change

    def delete(self, meeting, host, conference_id: str, timeout: float = 15) -> None:
        return None  # rooms vanish when empty

    def verify_user(self, host, timeout: float = 15) -> None:
        return None  # no account


# --- Extension API (third-party apps registered by an admin) ----------------------------

def sign(secret: str, body: bytes, timestamp: str) -> str:
    """The X-Parley-Signature value: HMAC-SHA256 of the raw body with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ExtensionApp:
    """POSTs signed JSON to the app's URLs; expects {conferenceId, conferenceUrl,
    conferenceDetails}."""

    def __init__(self, app, secret: str):
        self.app, self.secret = app, secret
        self.key = f"app:{app.id}"

    def _post(self, url: str, payload: dict, timeout: float) -> dict:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Parley-Timestamp": stamp,
                   "X-Parley-Signature": sign(self.secret, body, stamp),
                   "User-Agent": "Parley-Video/1"}
        try:
            response = requests.post(url, data=body, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            raise ConferenceError(_l("%(name)s cannot be reached (%(error)s); Parley will try "
                                     "again.", name=self.app.name,
                                     error=exc.__class__.__name__)) from exc
        if response.status_code == 401:
            raise ConferenceError(_l("%(name)s rejected Parley's signature (401): check the "
                                     "signing secret registered with the app.",
                                     name=self.app.name), retryable=False, status=401)
        if response.status_code >= 400:
            raise _failure(response, self.app.name)
        if response.status_code == 204 or not response.content:
            return {}
        return _json(response, self.app.name)

    def _payload(self, meeting, host) -> dict:
        return {"meetingId": str(meeting.id), "topic": meeting.title,
                "start": meeting.start_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "end": meeting.end_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "timezone": meeting.timezone, "userEmail": host.email,
                "accountId": str(meeting.account_id)}

    def _conference(self, body: dict, fallback_id: str | None = None) -> Conference:
        conference_id = body.get("conferenceId", fallback_id)
        details = body.get("conferenceDetails") or ""
        if not isinstance(conference_id, str | int) or not str(conference_id) or \
                not isinstance(details, str):
            raise ConferenceError(_l("%(name)s sent a malformed answer: it needs conferenceId, "
                                     "conferenceUrl and conferenceDetails.", name=self.app.name),
                                  retryable=False)
        return Conference(str(conference_id)[:255], check_join_url(body.get("conferenceUrl")),
                          details[:4000])

    def create(self, meeting, host, timeout: float = 15) -> Conference:
        return self._conference(self._post(self.app.create_url, self._payload(meeting, host),
                                           timeout))

    def update(self, meeting, host, conference_id: str, timeout: float = 15) -> Conference | None:
        body = self._post(self.app.update_url, {**self._payload(meeting, host),
                                                "conferenceId": conference_id}, timeout)
        return self._conference(body, conference_id) if body.get("conferenceUrl") else None

    def delete(self, meeting, host, conference_id: str, timeout: float = 15) -> None:
        self._post(self.app.delete_url, {"meetingId": str(meeting.id),
                                         "conferenceId": conference_id,
                                         "userEmail": host.email,
                                         "accountId": str(meeting.account_id)}, timeout)

    def verify_user(self, host, timeout: float = 15) -> None:
        body = self._post(self.app.user_verify_url, {"userEmail": host.email,
                                                     "accountId": str(host.account_id)}, timeout)
        if body.get("verified") is False or (body.get("email") and
                                             not _same(body.get("email"), host.email)):
            raise EmailMismatch(_l("%(name)s has no account for %(email)s. Use the same email "
                                   "address in Parley and in %(name)s.", name=self.app.name,
                                   email=host.email))


# --- Zoom ---------------------------------------------------------------------------------

class Zoom:
    """Zoom REST API v2 with the host's OAuth token (webapp.conferencing.zoom)."""

    key = "zoom"

    def _call(self, host, method: str, path: str, timeout: float, json_body=None) -> dict:
        conn = zoom.connection_for(host.id)
        if conn is None or conn.status != "active":
            raise ConferenceError(_l("Zoom is not connected for %(name)s: connect it in "
                                     "Settings, Video.", name=host.name), retryable=False)
        base = current_app.config["ZOOM_API_BASE"].rstrip("/")
        for attempt in (0, 1):
            token = zoom.access_token(conn, force=attempt == 1)
            try:
                response = requests.request(method, base + path, json=json_body, timeout=timeout,
                                            headers={"Authorization": f"Bearer {token}",
                                                     "Accept": "application/json"})
            except requests.RequestException as exc:
                raise ConferenceError(_l("Zoom cannot be reached (%(error)s); Parley will try "
                                         "again.", error=exc.__class__.__name__)) from exc
            if response.status_code == 401 and attempt == 0:
                continue
            if response.status_code == 401:
                raise ConferenceError(_l("Zoom keeps refusing access: connect Zoom again."),
                                      retryable=False, status=401)
            if response.status_code == 404 and method == "DELETE":
                return {}
            if response.status_code >= 400:
                raise _failure(response, "Zoom")
            if response.status_code == 204 or not response.content:
                return {}
            return _json(response, "Zoom")
        return {}  # pragma: no cover

    def _body(self, meeting) -> dict:
        minutes = max(1, int((meeting.end_at - meeting.start_at).total_seconds() // 60))
        return {"topic": meeting.title[:200], "type": 2,
                "start_time": meeting.start_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "duration": minutes, "timezone": meeting.timezone}

    def create(self, meeting, host, timeout: float = 15) -> Conference:
        body = self._call(host, "POST", "/users/me/meetings", timeout, self._body(meeting))
        if not body.get("id") or not body.get("join_url"):
            raise ConferenceError(_l("Zoom sent a malformed answer (no meeting id or join link)."),
                                  retryable=False)
        details = ""
        if body.get("password"):
            details = str(_l("Passcode: %(code)s", code=body["password"]))
        return Conference(str(body["id"]), check_join_url(body["join_url"]), details)

    def update(self, meeting, host, conference_id: str, timeout: float = 15) -> None:
        self._call(host, "PATCH", f"/meetings/{conference_id}", timeout, self._body(meeting))

    def delete(self, meeting, host, conference_id: str, timeout: float = 15) -> None:
        self._call(host, "DELETE", f"/meetings/{conference_id}", timeout)

    def verify_user(self, host, timeout: float = 15) -> None:
        me = self._call(host, "GET", "/users/me", timeout)
        if not _same(me.get("email"), host.email):
            raise EmailMismatch(_l("Your Zoom account uses %(zoom)s, but your Parley email is "
                                   "%(email)s. Connect the Zoom account of %(email)s.",
                                   zoom=me.get("email") or "?", email=host.email))


# --- Google Meet, through the host's Google calendar event ------------------------------

class GoogleMeet:
    """The Meet link is made by Google on the host's calendar event (conferenceData)."""

    key = "google_meet"

    def _connection(self, host):
        conn = calendar_connections.connection_for(host.id)
        if conn is None or conn.provider != "google" or conn.status != "active":
            raise ConferenceError(_l("Google Meet needs %(name)s's Google calendar to be "
                                     "connected.", name=host.name), retryable=False)
        return conn

    def create(self, meeting, host, timeout: float = 15) -> Conference:
        conn = self._connection(host)
        try:
            calendar = GoogleCalendar(current_app.config["GOOGLE_API_BASE"],
                                      calendar_connections.access_token(conn))
            event = calendar.get(meeting) or {}
            if _meet_status(event) != "success":
                event = calendar.upsert_event(meeting, timeout=timeout)
        except ProviderError as exc:
            raise ConferenceError(_l("Google Calendar could not create the Meet link (%(error)s).",
                                     error=str(exc)[:200]), retryable=exc.retryable,
                                  retry_after=exc.retry_after) from exc
        status = _meet_status(event)
        if status == "pending":
            raise ConferenceError(_l("Google is still creating the Meet link."),
                                  retryable=True, retry_after=5)
        if status != "success":
            raise ConferenceError(_l("Google could not create a Meet link (%(status)s).",
                                     status=status or "?"), retryable=False)
        data = event["conferenceData"]
        video = next((e for e in data.get("entryPoints", [])
                      if e.get("entryPointType") == "video"), None)
        if video is None:
            raise ConferenceError(_l("Google sent a Meet conference without a join link."),
                                  retryable=False)
        phone = next((e for e in data.get("entryPoints", [])
                      if e.get("entryPointType") == "phone"), None)
        details = ""
        if phone:
            details = f"{phone.get('label') or phone.get('uri', '')} PIN {phone.get('pin', '')}"
        return Conference(str(data.get("conferenceId") or video["uri"]),
                          check_join_url(video["uri"]), details.strip())

    def update(self, meeting, host, conference_id: str, timeout: float = 15) -> None:
        return None  # the calendar sync moves the event; the Meet link stays

    def delete(self, meeting, host, conference_id: str, timeout: float = 15) -> None:
        return None  # the calendar sync deletes the event and its conference

    def verify_user(self, host, timeout: float = 15) -> None:
        # The connection's address is known without calling Google. A token that needs
        # renewing is renewed now (webapp.grants: outside the caller's transaction), so a
        # revoked grant is said at the field instead of failing the link after the save.
        conn = self._connection(host)
        if not _same(conn.external_email, host.email):
            raise EmailMismatch(_l("Your Google calendar is %(google)s, but your Parley email "
                                   "is %(email)s. Google Meet needs the same address.",
                                   google=conn.external_email or "?", email=host.email))
        if grants.needs_refresh(conn):
            try:
                calendar_connections.access_token(conn)
            except ReconnectNeeded as exc:
                raise ConferenceError(_l("Google Meet needs %(name)s's Google calendar to be "
                                         "connected again (Settings, Calendar).",
                                         name=host.name), retryable=False) from exc
            except ProviderError as exc:
                raise ConferenceError(_l("Google cannot be reached (%(error)s).",
                                         error=str(exc)[:200]),
                                      retryable=exc.retryable) from exc


def _meet_status(event: dict) -> str | None:
    request = (event.get("conferenceData") or {}).get("createRequest") or {}
    status = (request.get("status") or {}).get("statusCode")
    if status is None and (event.get("conferenceData") or {}).get("entryPoints"):
        return "success"
    return status
