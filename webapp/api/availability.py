"""API v1: a user's availability (#21): free intervals and the reasons the rest is not
free, as the caller may see them (titles of busy time only for the user themself)."""

from __future__ import annotations

from datetime import timedelta

from flask import g, request

from webapp.api import spec as S
from webapp.api.auth import api_view
from webapp.api.meetings import _parse_time
from webapp.api.problems import ApiError
from webapp.auth.models import User
from webapp.availability import engine
from webapp.availability import settings as availability
from webapp.availability.busy import external_busy
from webapp.availability.labels import reason_label
from webapp.extensions import db
from webapp.types import utcnow

MAX_RANGE = timedelta(days=62)
AVAILABILITY_REF = {"$ref": "#/components/schemas/Availability"}


def _stamp(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def reason_json(reason: engine.Reason) -> dict:
    out = {"reason": reason.kind, "label": reason_label(reason.kind),
           "start": _stamp(reason.start), "end": _stamp(reason.end)}
    if reason.kind == engine.BUSY:
        out["calendar"] = reason.calendar
        out["title"] = reason.title
    return out


@api_view(S.Operation(
    "GET", "/availability", "get_availability",
    "A user's free time and why the rest is not free", "Availability", [
        S.Param("user_id", "query", S.ID, "A user of your account."),
        S.Param("start", "query", {"type": "string", "format": "date-time"},
                "RFC 3339 with an offset."),
        S.Param("end", "query", {"type": "string", "format": "date-time"},
                "RFC 3339 with an offset; at most 62 days after start.")],
    response=S.AVAILABILITY_OUT, response_name="Availability", errors=(401, 404, 422, 429)))
def get_availability():
    errors: list[dict] = []
    user_id = request.args.get("user_id", "")
    if not user_id.isdigit():
        errors.append({"field": "user_id", "message": "Must be a user id."})
    start = _parse_time(request.args.get("start"), "start", errors)
    end = _parse_time(request.args.get("end"), "end", errors)
    for name, value in (("start", start), ("end", end)):
        if value and not 1970 <= value.year <= 9000:
            errors.append({"field": name, "message": "Must be between 1970 and 9000."})
    if errors:
        raise ApiError(422, "Some parameters are invalid.", errors)
    if start and end and not start < end:
        errors.append({"field": "end", "message": "Must be after start."})
    elif start and end and end - start > MAX_RANGE:
        errors.append({"field": "end", "message": "At most 62 days after start."})
    if errors:
        raise ApiError(422, "Some parameters are invalid.", errors)
    user = db.session.get(User, int(user_id))
    if user is None or user.account_id != g.account_id:
        raise ApiError(404, f"No user {user_id} in your account.")
    show_titles = user.id == g.api_user.id
    bare = availability.schedule_for(user, start, end)
    lo, hi = engine.busy_span(bare, start, end)
    external, unreadable = external_busy(user, lo, hi)
    schedule = availability.schedule_for(user, start, end, external, unreadable)
    if not show_titles:
        schedule.busy = [engine.Busy(b.start, b.end, b.calendar, None, b.meeting)
                         for b in schedule.busy]
    now = utcnow()
    free = engine.free_intervals(schedule, start, end, now)
    reasons = engine.reasons_in(schedule, start, end, now, show_titles=show_titles)
    return {"user_id": user.id, "timezone": user.zone, "start": _stamp(start),
            "end": _stamp(end),
            "free": [{"start": _stamp(s), "end": _stamp(e)} for s, e in free],
            "unavailable": [reason_json(r) for r in reasons],
            "unreadable_calendars": list(unreadable),
            "complete": not unreadable}
