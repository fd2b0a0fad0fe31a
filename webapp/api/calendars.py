"""API v1: the caller's own calendar connections and their sync state (issue 23). CalDAV
is connected here (server address, user name, app password: discovered through the
guarded outbound client); Google and Microsoft 365 are connected in the browser (OAuth)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from webapp import jobs
from webapp.api import spec as S
from webapp.api.auth import _json_body, api_view
from webapp.api.problems import ApiError
from webapp.calendars import connections as calendar_connections
from webapp.calendars import inbound
from webapp.calendars.models import PROVIDERS, CalendarConnection, CalendarSyncState
from webapp.calendars.providers import ProviderError, ReconnectNeeded, RefusedAddress
from webapp.extensions import db

CONNECTION_ID = S.Param("connection_id", "path", S.ID)
TIME = {"type": ["string", "null"], "format": "date-time"}
CALENDAR_OUT = {"type": "object", "required": [
    "id", "external_id", "name", "counts_for_busy", "is_target"], "properties": {
    "id": {"type": ["integer", "null"], "description": (
        "Null for a connection whose calendars were never listed: its main calendar is "
        "used")},
    "external_id": {"type": "string", "description": (
        "Google calendar id, Microsoft Graph calendar id, or CalDAV collection URL")},
    "name": {"type": "string"},
    "primary": {"type": "boolean", "description": "The account's own default calendar"},
    "read_only": {"type": "boolean", "description": "Cannot receive new meetings"},
    "counts_for_busy": {"type": "boolean", "description": (
        "Its busy time keeps the user from being booked")},
    "is_target": {"type": "boolean", "description": (
        "New meetings are written to it (one per connection)")}}}
CONNECTION_OUT = {"type": "object", "required": ["id", "provider", "status", "sync",
                                                 "receives_events", "calendars"],
                  "properties": {
    "id": S.ID, "provider": {"type": "string", "enum": list(PROVIDERS)},
    "external_email": S.NULLABLE_STR,
    "status": {"type": "string", "enum": ["active", "reconnect_needed"]},
    "sync_on": {"type": "boolean"}, "caldav_url": S.NULLABLE_STR,
    "receives_events": {"type": "boolean", "description": (
        "New meetings go to this connection (one of the user's connections)")},
    "calendars": {"type": "array", "items": CALENDAR_OUT, "description": (
        "The account's calendars: which count for busy time, which receives meetings")},
    "sync": {"type": "object", "properties": {
        "last_success_at": TIME, "last_error": S.NULLABLE_STR, "last_error_at": TIME,
        "failures": {"type": "integer"}, "changes_in": {"type": "integer"},
        "conflicts": {"type": "integer"}, "stale": {"type": "boolean"},
        "next_sync_at": TIME,
        "on_remote_delete": {"type": "string", "enum": ["cancel", "flag"]}}}}}
CONNECTION_REF = {"$ref": "#/components/schemas/CalendarConnection"}
CONNECTION_IN = {"type": "object", "additionalProperties": False,
                 "required": ["provider", "url", "username", "password"], "properties": {
    "provider": {"type": "string", "enum": ["caldav"],
                 "description": "Only CalDAV here; Google and Microsoft 365 are connected "
                                "in the browser (Settings > Calendar)."},
    "url": {"type": "string", "minLength": 8, "maxLength": 500, "pattern": "^https?://",
            "description": "The CalDAV server's address"},
    "username": S.s(200, False, 1),
    "password": {"type": "string", "minLength": 1, "maxLength": 500,
                 "description": "An app password; stored encrypted, never returned"},
    "on_remote_delete": {"type": "string", "enum": ["cancel", "flag"],
                         "description": "A meeting's event deleted in the calendar: cancel "
                                        "the meeting (default) or only flag it"}}}


def _iso(value):
    return value.isoformat() if value is not None else None


def connection_json(conn: CalendarConnection) -> dict:
    state = db.session.scalar(sa.select(CalendarSyncState).where(
        CalendarSyncState.connection_id == conn.id,
        CalendarSyncState.account_id == conn.account_id))
    health = inbound.health(state)
    sync = {k: _iso(v) if k.endswith("_at") else v for k, v in health.items()}
    sync["on_remote_delete"] = state.on_remote_delete if state else "cancel"
    calendars = [{"id": c.id, "external_id": c.external_id, "name": c.name,
                  "primary": bool(c.primary), "read_only": bool(c.read_only),
                  "counts_for_busy": bool(c.counts_for_busy), "is_target": bool(c.is_target)}
                 for c in calendar_connections.calendars_of(conn)]
    return {"id": conn.id, "provider": conn.provider, "external_email": conn.external_email,
            "status": conn.status, "sync_on": conn.sync_on, "caldav_url": conn.caldav_url,
            "receives_events": conn.id == getattr(
                calendar_connections.connection_for(conn.user_id), "id", None),
            "calendars": calendars, "sync": sync}


def _mine() -> list[CalendarConnection]:
    return list(db.session.scalars(sa.select(CalendarConnection).where(
        CalendarConnection.account_id == g.account_id,
        CalendarConnection.user_id == g.api_user.id).order_by(CalendarConnection.id)))


def _one(connection_id: int) -> CalendarConnection:
    conn = next((c for c in _mine() if c.id == connection_id), None)
    if conn is None:
        raise ApiError(404, f"No calendar connection {connection_id} of yours.")
    return conn


@api_view(S.Operation("GET", "/calendar-connections", "list_calendar_connections",
                      "Your calendar connections, each with its calendars (which count "
                      "for busy time, which receives new meetings) and its sync state",
                      "Calendars",
                      response={"type": "object", "properties": {
                          "items": {"type": "array", "items": CONNECTION_REF}}},
                      errors=(401, 429)))
def list_connections():
    return {"items": [connection_json(c) for c in _mine()]}


@api_view(S.Operation("POST", "/calendar-connections", "create_calendar_connection",
                      "Connect a CalDAV account (one more connection; the same server "
                      "and user name again reconnects it)",
                      "Calendars", body=CONNECTION_IN, body_name="CalendarConnectionInput",
                      status=201, response=CONNECTION_OUT,
                      response_name="CalendarConnection"))
def create_connection():
    body = _json_body(CONNECTION_IN)
    try:
        conn = calendar_connections.connect_caldav(g.api_user, body["url"], body["username"],
                                                   body["password"])
    except ReconnectNeeded as exc:
        raise ApiError(422, "The server refused this user name or app password.", [
            {"field": "password", "message": "Refused by the CalDAV server."}]) from exc
    except RefusedAddress as exc:
        raise ApiError(422, "This address is on a private or reserved network.", [
            {"field": "url", "message": "Parley does not call private or reserved "
                                        "networks."}]) from exc
    except ProviderError as exc:
        raise ApiError(422, "The CalDAV server could not be reached at this address.", [
            {"field": "url", "message": "Not reachable, or not a CalDAV server."}]) from exc
    inbound.state_for(conn).on_remote_delete = body.get("on_remote_delete", "cancel")
    db.session.commit()
    return connection_json(conn), 201


@api_view(S.Operation("DELETE", "/calendar-connections/{connection_id}",
                      "delete_calendar_connection",
                      "Disconnect a calendar (meetings stay on Parley's own calendar)",
                      "Calendars", [CONNECTION_ID], status=204))
def delete_connection(connection_id: int):
    _one(connection_id)
    calendar_connections.disconnect(g.api_user, connection_id)
    db.session.commit()
    return "", 204


@api_view(S.Operation("POST", "/calendar-connections/{connection_id}/sync",
                      "sync_calendar_connection",
                      "Take in what changed in the calendar now; answers the sync state "
                      "afterwards (or while it runs)", "Calendars", [CONNECTION_ID],
                      status=202, response=CONNECTION_REF))
def sync_connection(connection_id: int):
    conn = _one(connection_id)
    state = inbound.sync_now(conn)
    db.session.commit()
    jobs.enqueue(inbound.JOB, state.id)
    db.session.expire_all()
    return connection_json(db.session.get(CalendarConnection, connection_id)), 202
