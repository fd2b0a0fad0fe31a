"""JSON API v1: records, associations and meetings, through the same operations as the UI."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Response, current_app, g, jsonify, render_template, request
from werkzeug.datastructures import MultiDict

from webapp import jobs
from webapp.api import bp, idempotency, ratelimit
from webapp.api import operations as token_ops
from webapp.api import spec as S
from webapp.api.problems import ApiError, problem
from webapp.auth.models import Account
from webapp.conferencing.providers import ConferenceRefused
from webapp.delivery.models import OutboxMessage
from webapp.extensions import csrf, db
from webapp.meetings import ical
from webapp.meetings import operations as meeting_ops
from webapp.meetings.models import Meeting, MeetingAssociation, MeetingType
from webapp.records import operations as record_ops
from webapp.records.forms import FORMS
from webapp.records.models import RECORD_MODELS
from webapp.rotations.operations import RotationError
from webapp.types import utcnow
from webapp.validation import is_valid_timezone


def _is_api() -> bool:
    return request.path.startswith("/api/v1/") and request.endpoint not in (
        "api.openapi", "api.reference")


@bp.before_app_request
def _authenticate():
    if not _is_api():
        return None
    header = request.headers.get("Authorization", "")
    token = token_ops.authenticate(header[7:].strip()) if header.startswith("Bearer ") else None
    if token is None:
        return problem(401, "Send a valid personal API token: Authorization: Bearer TOKEN.")
    allowed, retry_after = ratelimit.hit(token.token_hash[:24])
    if not allowed:
        return problem(429, "Too many requests for this token; slow down.",
                       headers={"Retry-After": str(retry_after)})
    token.last_used_at = utcnow()
    g.api_user = token.user
    g.account_id = token.account_id
    return None


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return problem(exc.status, exc.detail, exc.errors, exc.headers)


def api_view(op: S.Operation):
    """Declare an API endpoint: route + OpenAPI entry; bearer auth, so no CSRF cookie."""

    def wrap(view):
        csrf.exempt(view)
        return S.operation(bp, op)(view)

    return wrap


def _json_body(schema: dict) -> dict:
    if not request.is_json:
        raise ApiError(415 if request.data else 400, "Send a JSON object with "
                       "Content-Type: application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "The body is not a JSON object.")
    errors = S.body_errors(schema, data)
    if errors:
        raise ApiError(422, "Some fields are invalid.", errors)
    return data


def _page_args() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 25))
    except ValueError as exc:
        raise ApiError(422, "page and per_page are whole numbers.", [
            {"field": "page", "message": "Must be a whole number."}]) from exc
    if not (1 <= page <= 100000 and 1 <= per_page <= 100):
        raise ApiError(422, "page from 1, per_page from 1 to 100.",
                       [{"field": "per_page", "message": "Out of range."}])
    return page, per_page


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


def _record(record_type: str, record_id: int):
    record = record_ops.get_record(g.account_id, record_type, record_id)
    if record is None:
        raise ApiError(404, f"No {record_type} {record_id} in your account.")
    return record


def _form_errors(form) -> list[dict]:
    return [{"field": name, "message": str(msg)} for name, msgs in form.errors.items()
            for msg in msgs]


def _validated_record_data(record_type: str, data: dict, current: dict | None = None) -> dict:
    """Validate with the UI's own form, so both paths apply the same rules."""
    merged = {**(current or {}), **data}
    formdata = MultiDict({k: ("" if v is None else str(v)) for k, v in merged.items()})
    companies = record_ops.companies_for_select(g.account_id) if record_type == "contact" else ()
    form = FORMS[record_type](formdata=formdata, meta={"csrf": False}, companies=companies)
    if not form.validate():
        raise ApiError(422, "Some fields are invalid.", _form_errors(form))
    return {k: v for k, v in form.data.items() if k in S.RECORD_FIELDS[record_type]}


def _register_record_routes(record_type: str) -> None:
    model = RECORD_MODELS[record_type]
    plural = model.plural
    tag = plural.capitalize()
    item_path = f"/{plural}/{{{record_type}_id}}"
    id_param = S.Param(f"{record_type}_id", "path", S.ID)
    out_name = record_type.capitalize()
    out = S.record_output(record_type)
    S.SCHEMAS[out_name] = out
    ref = {"$ref": f"#/components/schemas/{out_name}"}

    @api_view(S.Operation("GET", f"/{plural}", f"list_{plural}", f"List {plural}", tag,
                          [S.Param("q", "query", {"type": "string", "maxLength": 200}),
                           S.Param("page", "query", {"type": "integer", "minimum": 1,
                                                     "maximum": 100000}),
                           S.Param("per_page", "query", {"type": "integer", "minimum": 1,
                                                         "maximum": 100})],
                          response=S.page_of(ref)))
    def list_view():
        page, per_page = _page_args()
        items, total = record_ops.search_records(g.account_id, record_type,
                                                 request.args.get("q", "")[:200], page, per_page)
        return {"items": [record_json(i) for i in items], "page": page, "per_page": per_page,
                "total": total}

    @api_view(S.Operation("POST", f"/{plural}", f"create_{record_type}",
                          f"Create a {record_type}", tag, body=S.record_input(record_type, False),
                          body_name=f"{out_name}Create", status=201, response=ref))
    def create_view():
        data = _validated_record_data(record_type, _json_body(S.record_input(record_type, False)))
        record = record_ops.create_record(g.account_id, record_type, data)
        db.session.commit()
        return record_json(record), 201

    @api_view(S.Operation("GET", item_path, f"get_{record_type}", f"Get a {record_type}",
                          tag, [id_param], response=ref))
    def get_view(**kw):
        return record_json(_record(record_type, kw[f"{record_type}_id"]))

    @api_view(S.Operation("PATCH", item_path, f"update_{record_type}",
                          f"Update a {record_type}", tag, [id_param],
                          body=S.record_input(record_type, True), body_name=f"{out_name}Update",
                          response=ref))
    def update_view(**kw):
        record = _record(record_type, kw[f"{record_type}_id"])
        data = _json_body(S.record_input(record_type, True))
        current = {k: v for k, v in record_json(record).items() if k in S.RECORD_FIELDS[record_type]}
        record_ops.update_record(record, _validated_record_data(record_type, data, current))
        db.session.commit()
        return record_json(record)

    @api_view(S.Operation("DELETE", item_path, f"delete_{record_type}",
                          f"Delete a {record_type}", tag, [id_param], status=204))
    def delete_view(**kw):
        record_ops.delete_record(_record(record_type, kw[f"{record_type}_id"]))
        db.session.commit()
        return Response(status=204)

    assoc = {"type": "object", "properties": {t: {"type": "array", "items": {
        "type": "object", "properties": {"id": S.ID, "name": {"type": "string"}}}}
        for t in RECORD_MODELS}}

    @api_view(S.Operation("GET", f"{item_path}/associations", f"associations_{record_type}",
                          f"Records associated with a {record_type}", tag, [id_param],
                          response=assoc))
    def associations_view(**kw):
        record = _record(record_type, kw[f"{record_type}_id"])
        linked = record_ops.associations(g.account_id, record)
        return {t: [{"id": r.id, "name": r.display_name} for r in items]
                for t, items in linked.items()}

    link_params = [id_param, S.Param("other_type", "path", {
        "type": "string", "enum": list(RECORD_MODELS)}), S.Param("other_id", "path", S.ID)]

    def _pair(kw):
        other_type = kw["other_type"]
        if other_type not in RECORD_MODELS:
            raise ApiError(404, "Unknown record type.")
        record = _record(record_type, kw[f"{record_type}_id"])
        other = _record(other_type, kw["other_id"])
        if record.ref == other.ref:
            raise ApiError(422, "A record cannot be associated with itself.",
                           [{"field": "other_id", "message": "Choose another record."}])
        return record, other

    @api_view(S.Operation("PUT", f"{item_path}/associations/{{other_type}}/{{other_id}}",
                          f"link_{record_type}", f"Associate a {record_type} with a record",
                          tag, link_params, status=204))
    def link_view(**kw):
        record, other = _pair(kw)
        record_ops.link(g.account_id, record, other)
        db.session.commit()
        return Response(status=204)

    @api_view(S.Operation("DELETE", f"{item_path}/associations/{{other_type}}/{{other_id}}",
                          f"unlink_{record_type}", "Remove an association", tag,
                          link_params, status=204))
    def unlink_view(**kw):
        record, other = _pair(kw)
        record_ops.unlink(g.account_id, record, other)
        db.session.commit()
        return Response(status=204)


for _type in RECORD_MODELS:
    _register_record_routes(_type)


# --- meetings ---------------------------------------------------------------------------

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
        "host_user_id": meeting.host_id, "organizer_user_id": meeting.organizer_id,
        "rotation_id": meeting.rotation_id, "outcome": meeting.outcome,
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


def _meeting(meeting_id: int) -> Meeting:
    meeting = meeting_ops.get_meeting(g.account_id, meeting_id)
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


def _input_from_meeting(meeting: Meeting) -> meeting_ops.MeetingInput:
    return meeting_ops.MeetingInput(
        title=meeting.title, start=meeting.start_at, end=meeting.end_at,
        timezone=meeting.timezone, location_kind=meeting.location_kind,
        location_value=meeting.location_value, meeting_type_id=meeting.meeting_type_id,
        description_html=meeting.description_html,
        internal_note_html=meeting.internal_note_html,
        include_description_in_reminders=meeting.include_description_in_reminders,
        attendees=[("contact", a.contact_id) if a.contact_id else ("user", a.user_id)
                   for a in meeting.attendees],
        reminders=[(r.amount, r.unit) for r in meeting.reminders if r.sent_at is None],
        associations=[(a.record_type, a.record_id) for a in meeting.associations],
        host_id=meeting.host_id)


def _apply(data: dict, base: meeting_ops.MeetingInput) -> meeting_ops.MeetingInput:
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
    for key in ("include_description_in_reminders", "description_html", "internal_note_html"):
        if key in data:
            setattr(base, key, data[key])
    if "host_user_id" in data and data["host_user_id"] is not None:
        base.host_id = data["host_user_id"]
    if "rotation_id" in data:
        base.rotation_id = data["rotation_id"]
    if "meeting_type" in data:
        base.meeting_type_id = _meeting_type_id(data["meeting_type"], errors)
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


def _check_rights(account: Account, data: meeting_ops.MeetingInput, current_host: int | None):
    actor = g.api_user
    if data.host_id not in (None, actor.id, current_host) and not actor.has_paid_seat:
        raise ApiError(403, "Only users with a paid seat can book for another user.")


def _validate(account: Account, data, existing=None) -> None:
    errors = meeting_ops.validate(account, g.api_user, data, existing=existing)
    if errors:
        names = {"host_id": "host_user_id", "meeting_type_id": "meeting_type",
                 "location_kind": "location.kind", "location_value": "location.value",
                 "video_provider": "location.video_provider"}
        raise ApiError(422, "Some fields are invalid.", [
            {"field": names.get(f, f), "message": m} for f, msgs in errors.items() for m in msgs])


MEETING_REF = {"$ref": "#/components/schemas/Meeting"}
S.SCHEMAS["Meeting"] = S.MEETING_OUT
MEETING_ID = S.Param("meeting_id", "path", S.ID)


@api_view(S.Operation("POST", "/meetings", "create_meeting",
                      "Schedule a meeting (invitations are queued)", "Meetings",
                      [S.Param("Idempotency-Key", "header", {"type": "string", "maxLength": 200},
                               "A retry with the same key answers with the meeting the first "
                               "request made, never a second one (kept 24 hours).")],
                      body=S.MEETING_CREATE, body_name="MeetingCreate", status=201,
                      response=MEETING_REF, errors=(400, 401, 403, 404, 422, 429)))
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
    data = _apply(body, meeting_ops.MeetingInput(title="", start=None, end=None, timezone=""))
    _check_rights(account, data, None)
    _validate(account, data)
    try:
        meeting = meeting_ops.schedule_meeting(account, g.api_user, data)
    except RotationError as exc:  # the rotation changed between the checks and the lock
        field = "host_user_id" if exc.field == "host_id" else exc.field
        raise ApiError(422, "Some fields are invalid.",
                       [{"field": field, "message": exc.message}]) from exc
    except ConferenceRefused as exc:
        raise ApiError(422, str(exc), [{"field": "location.video_provider",
                                        "message": str(exc)}]) from exc
    if key and not idempotency.remember(g.account_id, key, digest, meeting.id):
        db.session.rollback()  # the same key at the same time: that request's meeting
        return _replayed(idempotency.earlier(g.account_id, key, digest))
    # The answer is made before the commit: once committed (and the invitations queued),
    # nothing may turn this request into a 500 that tells the client nothing was done.
    answer = meeting_json(meeting)
    db.session.commit()
    try:
        jobs.request_relay()
    except Exception:  # saved: the sweep relays its invitations; the client must know
        current_app.logger.exception("relay after creating meeting %s failed", answer["id"])
    return answer, 201


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
    data = _apply(body, _input_from_meeting(meeting))
    _check_rights(account, data, meeting.host_id)
    _validate(account, data, existing=meeting)
    try:
        meeting_ops.edit_meeting(account, g.api_user, meeting, data)
    except ConferenceRefused as exc:
        raise ApiError(422, str(exc), [{"field": "location.video_provider",
                                        "message": str(exc)}]) from exc
    db.session.commit()
    jobs.request_relay()
    return meeting_json(meeting)


@api_view(S.Operation("DELETE", "/meetings/{meeting_id}", "delete_meeting",
                      "Delete a meeting (attendees receive a cancellation)", "Meetings",
                      [MEETING_ID], status=204))
def delete_meeting(meeting_id: int):
    meeting_ops.delete_meeting(_meeting(meeting_id), g.api_user)
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

@bp.get("/api/v1/openapi.json")
def openapi():
    return jsonify(S.document(current_app.config["BASE_URL"] + "/api/v1"))


@bp.get("/api/v1/docs")
def reference():
    return render_template("api/reference.html", doc=S.document(
        current_app.config["BASE_URL"] + "/api/v1"))

