"""API v1: meetings, saved through the same pipeline as the scheduler and the phone flow
(webapp.meetings.pipeline); a JSON body becomes a MeetingInput here."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Response, current_app, g, request

from webapp import jobs
from webapp.api import idempotency
from webapp.api import spec as S
from webapp.api.auth import _json_body, _page_args, api_view
from webapp.api.problems import ApiError
from webapp.api.serializers import meeting_json
from webapp.auth.models import Account
from webapp.extensions import db
from webapp.meetings import ical, pipeline, queries, saving, validation
from webapp.meetings import operations as meeting_ops
from webapp.meetings.inputs import MeetingInput
from webapp.meetings.models import Meeting, MeetingAssociation, MeetingType
from webapp.meetings.timemath import (
    NonexistentLocalTime,
    change_names,
    occurrences,
    offset_fits,
)
from webapp.records.models import RECORD_MODELS
from webapp.validation import is_valid_timezone


def _meeting(meeting_id: int) -> Meeting:
    meeting = queries.get_meeting(g.account_id, meeting_id)
    if meeting is None:
        raise ApiError(404, f"No meeting {meeting_id} in your account.")
    return meeting


def _parse_time(value: str, name: str, errors: list) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        errors.append({"field": name, "message": "Use RFC 3339, e.g. 2027-01-05T10:00:00-05:00."})
        return None
    if parsed.tzinfo is None:
        errors.append({"field": name, "message": "Include a UTC offset (Z or ±HH:MM)."})
        return None
    return parsed.astimezone(UTC)


def _offset_error(value: str, zone: str) -> str | None:
    """Why a time with an offset does not fit zone, or None. A UTC time (Z) is an instant
    and always fits; any other offset must be the zone's own at that instant, so a wall
    time the zone skips, or an offset of the other season, is refused rather than moved."""
    parsed = datetime.fromisoformat(value)
    if offset_fits(parsed, zone):
        return None
    wall = parsed.replace(tzinfo=None)
    try:
        occurrences(wall.date(), wall.time(), zone)
    except NonexistentLocalTime:
        before, after = change_names(wall.date(), wall.time(), zone)
        return (f"{wall:%Y-%m-%dT%H:%M} does not exist in {zone}: the clocks skip it, going "
                f"from {before} to {after}. Choose another time.")
    actual = parsed.astimezone(ZoneInfo(zone)).strftime("%z")
    return (f"The offset {parsed:%z} does not match {zone} at that time ({actual[:3]}:"
            f"{actual[3:]}). Give the zone's offset, or the time in UTC (Z).")


def input_from_json(data: dict, base: MeetingInput) -> MeetingInput:
    """The body's fields over base (an empty input to create, the meeting's to change)."""
    errors: list[dict] = []
    if "title" in data:
        base.title = data["title"]
    if "start" in data:
        base.start = _parse_time(data["start"], "start", errors)
    if "end" in data:
        base.end = _parse_time(data["end"], "end", errors)
    if "timezone" in data:
        base.timezone = data["timezone"]
        if not is_valid_timezone(base.timezone):
            errors.append({"field": "timezone", "message": "Not an IANA time zone."})
    for name in ("start", "end"):
        if name in data and getattr(base, name) is not None and is_valid_timezone(base.timezone):
            message = _offset_error(data[name], base.timezone)
            if message:
                errors.append({"field": name, "message": message})
    if "location" in data:
        base.location_kind = data["location"]["kind"]
        base.location_value = data["location"].get("value")
        base.video_provider = data["location"].get("video_provider")
    if "attendees" in data:
        base.attendees = [("contact", a["contact_id"]) if "contact_id" in a
                          else ("user", a["user_id"]) for a in data["attendees"]]
    if "reminders" in data:
        base.reminders = [(r["amount"], r["unit"]) for r in data["reminders"]]
    if "associations" in data:
        base.associations = [(a["type"], a["id"]) for a in data["associations"]]
    for key in ("include_description_in_reminders", "hide_guest_list", "description_html",
                "internal_note_html"):
        if key in data:
            setattr(base, key, data[key])
    if "host_user_id" in data and data["host_user_id"] is not None:
        base.host_id = data["host_user_id"]
    if "rotation_id" in data:
        base.rotation_id = data["rotation_id"]
    if "meeting_type" in data:
        base.meeting_type_id = _meeting_type_id(data["meeting_type"], errors)
    if "log_only" in data:
        base.log_only = bool(data["log_only"])
    if "outcome" in data:
        base.outcome = data["outcome"]
    if errors:
        raise ApiError(422, "Some fields are invalid.", errors)
    return base


def _meeting_type_id(value, errors: list) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema counts 3.0 as an integer
    if isinstance(value, bool) or not isinstance(value, int | str) or (
            isinstance(value, int) and not 1 <= value <= 2**31 - 1):
        errors.append({"field": "meeting_type", "message": "No such meeting type."})
        return None
    column = MeetingType.id if isinstance(value, int) else MeetingType.name
    found = db.session.scalar(sa.select(MeetingType.id).where(
        MeetingType.account_id == g.account_id, column == value))
    if found is None:
        errors.append({"field": "meeting_type", "message": "No such meeting type."})
    return found


def _check_rights(account: Account, data: MeetingInput, current_host: int | None):
    actor = g.api_user
    if data.host_id not in (None, actor.id, current_host) and not actor.has_paid_seat:
        raise ApiError(403, "Only users with a paid seat can book for another user.")


#: The input's field names as the API names them.
FIELD_NAMES = {"host_id": "host_user_id", "meeting_type_id": "meeting_type",
               "location_kind": "location.kind", "location_value": "location.value",
               "video_provider": "location.video_provider"}


#: A new meeting's start in the past, without log_only, in the API's words.
PAST_START = ("The start is in the past: attendees would be invited to a meeting that "
              "already happened. To record a meeting that took place, send "
              "\"log_only\": true (nothing is sent); to invite, choose a later start.")


def _save(account: Account, data: MeetingInput, meeting: Meeting | None = None):
    """The save pipeline; a refusal becomes a 422 naming the API's fields."""
    result = pipeline.save(account, g.api_user, data, meeting)
    if not result.ok:
        past = validation.is_past_start(data, meeting)
        raise ApiError(422, "Some fields are invalid.", [
            {"field": FIELD_NAMES.get(f, f),
             "message": PAST_START if past and f == "start" and
             m == str(validation.PAST_START_MESSAGE) else m}
            for f, msgs in result.errors.items() for m in msgs])
    return result


MEETING_REF = {"$ref": "#/components/schemas/Meeting"}
MEETING_ID = S.Param("meeting_id", "path", S.ID)


@api_view(S.Operation("POST", "/meetings", "create_meeting",
                      "Schedule a meeting (invitations are queued), or log one that already "
                      "happened (log_only: nothing is sent)", "Meetings",
                      [S.Param("Idempotency-Key", "header", {"type": "string", "maxLength": 200},
                               "A retry with the same key answers with the meeting the first "
                               "request made, never a second one (kept 24 hours).")],
                      body=S.MEETING_CREATE, body_name="MeetingCreate", status=201,
                      response=S.MEETING_OUT, response_name="Meeting",
                      errors=(400, 401, 403, 404, 422, 429)))
def create_meeting():
    body = _json_body(S.MEETING_CREATE)
    try:
        key = idempotency.key_of(request.headers)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    digest = idempotency.fingerprint(body) if key else ""
    if key:
        try:
            done = idempotency.earlier(g.account_id, key, digest)
        except idempotency.KeyReused as exc:
            raise ApiError(422, "This Idempotency-Key was used with a different request.") \
                from exc
        if done is not None:
            return _replayed(done)
    account = db.session.get(Account, g.account_id)
    data = input_from_json(body, MeetingInput(title="", start=None, end=None, timezone="",
                                              source="api"))
    _check_rights(account, data, None)
    result = _save(account, data)
    if key and not idempotency.remember(g.account_id, key, digest, result.meeting.id):
        db.session.rollback()  # the same key at the same time: that request's meeting
        return _replayed(idempotency.earlier(g.account_id, key, digest))
    # The answer is made before the commit: once committed (and the invitations queued),
    # nothing may turn this request into a 500 that tells the client nothing was done.
    answer = meeting_json(result.meeting)
    if data.rotation_pick is not None:
        answer["rotation_pick"] = rotation_pick_json(data.rotation_pick)
    db.session.commit()
    try:
        result.after_commit()
    except Exception:  # saved: the sweep relays its invitations; the client must know
        current_app.logger.exception("relay after creating meeting %s failed", answer["id"])
    return answer, 201


def rotation_pick_json(row) -> dict:
    """Why the rotation chose this host (its ledger row)."""
    return {"kind": row.kind, "host_user_id": row.user_id, "members": [
        {"user_id": m["user_id"], "name": m["name"], "count": m["count"] + m["head_start"],
         "weight": m["weight"], "skipped": m["skipped"]} for m in row.detail["members"]]}


def _replayed(meeting_id: int):
    """A retry's answer: the meeting the first request made, as it is now."""
    return meeting_json(_meeting(meeting_id)), 201, {"Idempotent-Replayed": "true"}


@api_view(S.Operation("GET", "/meetings", "list_meetings", "List meetings", "Meetings", [
    S.Param("record_type", "query", {"type": "string", "enum": list(RECORD_MODELS)}),
    S.Param("record_id", "query", S.ID),
    S.Param("from", "query", {"type": "string", "format": "date-time"}),
    S.Param("to", "query", {"type": "string", "format": "date-time"}),
    S.Param("host_user_id", "query", S.ID),
    S.Param("outcome", "query", {"type": "string", "maxLength": 40}),
    S.Param("page", "query", {"type": "integer", "minimum": 1, "maximum": 100000}),
    S.Param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": 100})],
    response=S.page_of(MEETING_REF)))
def list_meetings():
    page, per_page = _page_args()
    errors: list[dict] = []
    stmt = sa.select(Meeting).where(Meeting.account_id == g.account_id,
                                    Meeting.deleted_at.is_(None))
    record_type, record_id = request.args.get("record_type"), request.args.get("record_id")
    if record_type or record_id:
        if record_type not in RECORD_MODELS or not (record_id or "").isdigit():
            errors.append({"field": "record_type", "message": "Give record_type and record_id."})
        else:
            stmt = stmt.where(Meeting.id.in_(sa.select(MeetingAssociation.meeting_id).where(
                MeetingAssociation.account_id == g.account_id,
                MeetingAssociation.record_type == record_type,
                MeetingAssociation.record_id == int(record_id))))
    for name, cmp in (("from", lambda v: Meeting.end_at > v), ("to", lambda v: Meeting.start_at < v)):
        if request.args.get(name):
            value = _parse_time(request.args[name], name, errors)
            if value:
                stmt = stmt.where(cmp(value))
    if request.args.get("host_user_id"):
        if not request.args["host_user_id"].isdigit():
            errors.append({"field": "host_user_id", "message": "Must be a user id."})
        else:
            stmt = stmt.where(Meeting.host_id == int(request.args["host_user_id"]))
    if request.args.get("outcome"):
        stmt = stmt.where(Meeting.outcome == request.args["outcome"])
    if errors:
        raise ApiError(422, "Some filters are invalid.", errors)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    items = db.session.scalars(stmt.order_by(Meeting.start_at, Meeting.id).limit(per_page)
                               .offset((page - 1) * per_page)).all()
    return {"items": [meeting_json(m) for m in items], "page": page, "per_page": per_page,
            "total": total}


@api_view(S.Operation("GET", "/meetings/{meeting_id}", "get_meeting", "Get a meeting",
                      "Meetings", [MEETING_ID], response=MEETING_REF))
def get_meeting(meeting_id: int):
    return meeting_json(_meeting(meeting_id))


@api_view(S.Operation("PATCH", "/meetings/{meeting_id}", "update_meeting",
                      "Change a meeting (attendees receive an update when they should)",
                      "Meetings", [MEETING_ID], body=S.MEETING_PATCH, body_name="MeetingUpdate",
                      response=MEETING_REF, errors=(400, 401, 403, 404, 409, 422, 429)))
def update_meeting(meeting_id: int):
    meeting = _meeting(meeting_id)
    body = _json_body(S.MEETING_PATCH)
    if "sequence" in body and body["sequence"] != meeting.sequence:
        raise ApiError(409, f"The meeting changed since sequence {body['sequence']}; "
                            f"it is now {meeting.sequence}. Fetch it and try again.")
    if body.get("rotation_id") not in (None, meeting.rotation_id):
        raise ApiError(422, "Some fields are invalid.", [{
            "field": "rotation_id", "message": "The rotation is chosen when the meeting is "
            "booked; change host_user_id to give the meeting to someone else."}])
    account = db.session.get(Account, g.account_id)
    data = input_from_json(body, MeetingInput.from_meeting(meeting))
    _check_rights(account, data, meeting.host_id)
    result = _save(account, data, meeting)
    db.session.commit()
    result.after_commit()
    return meeting_json(meeting)


@api_view(S.Operation("DELETE", "/meetings/{meeting_id}", "delete_meeting",
                      "Delete a meeting (attendees receive a cancellation)", "Meetings",
                      [MEETING_ID], status=204))
def delete_meeting(meeting_id: int):
    saving.delete_meeting(_meeting(meeting_id), g.api_user)
    db.session.commit()
    jobs.request_relay()
    return Response(status=204)


@api_view(S.Operation("PUT", "/meetings/{meeting_id}/outcome", "set_outcome",
                      "Set a meeting's outcome", "Meetings", [MEETING_ID], body=S.OUTCOME_IN,
                      body_name="Outcome", response=MEETING_REF))
def set_outcome(meeting_id: int):
    meeting = _meeting(meeting_id)
    body = _json_body(S.OUTCOME_IN)
    if not meeting_ops.set_outcome(meeting, body["outcome"]):
        choices = ", ".join(k for k, _ in meeting_ops.outcome_choices(g.account_id))
        raise ApiError(422, "Unknown outcome.", [{"field": "outcome",
                                                  "message": f"Use one of: {choices}."}])
    db.session.commit()
    return meeting_json(meeting)


@api_view(S.Operation("GET", "/meetings/{meeting_id}/ics", "meeting_ics",
                      "The meeting as an iCalendar file", "Meetings", [MEETING_ID],
                      media="text/calendar"))
def meeting_ics(meeting_id: int):
    return Response(ical.single(_meeting(meeting_id)), mimetype="text/calendar")


# --- the document -----------------------------------------------------------------------
