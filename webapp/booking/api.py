"""API v1 for scheduling pages (#22): the public endpoints a booking widget calls (no
token, rate limited per address, CORS off) and the authenticated CRUD of pages. Domain
rules are in webapp.booking.operations and webapp.booking.slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Response, current_app, g, request

from webapp.api import idempotency
from webapp.api import spec as S
from webapp.api.auth import _json_body, api_view
from webapp.api.meetings import _offset_error, _parse_time
from webapp.api.problems import ApiError
from webapp.auth.models import Account
from webapp.booking import operations as ops
from webapp.booking import slots as slot_rules
from webapp.booking.models import BUILTIN_QUESTIONS, PAGE_KINDS, PAGE_LOCATIONS
from webapp.extensions import db
from webapp.localcache import LocalCache
from webapp.validation import is_valid_timezone

NOT_FOUND = "No such scheduling page."
TAKEN = "This time was just taken. Choose another time."


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def limit_address() -> None:
    """The public endpoints' per-address rate limit (429 with Retry-After)."""
    retry_after = ops.over_limit(request.remote_addr)
    if retry_after is not None:
        raise ApiError(429, "Too many requests from your address; slow down.",
                       headers={"Retry-After": str(retry_after)})


def _public_page(slug: str):
    limit_address()
    page = ops.public_page(slug)
    if page is None:
        raise ApiError(404, NOT_FOUND)  # unknown and paused alike
    return page


# --- schemas ------------------------------------------------------------------------------

SLOT = {"type": "object", "required": ["start", "end"],
        "properties": {"start": S.TIMESTAMP, "end": S.TIMESTAMP}}
SLOTS_OUT = {"type": "object", "required": ["slug", "timezone", "duration", "slots"],
             "properties": {
                 "slug": {"type": "string"}, "title": {"type": "string"},
                 "timezone": {"type": "string"}, "duration": {"type": "integer"},
                 "durations": {"type": "array", "items": {"type": "integer"}},
                 "start": {"type": "string", "format": "date"},
                 "end": {"type": "string", "format": "date"},
                 "slots": {"type": "array", "items": SLOT,
                           "description": "Free starts as UTC instants, sorted."},
                 "days": {"type": "array", "description": "The slots by the visitor's "
                          "local day (only days with slots).", "items": {
                              "type": "object", "properties": {
                                  "date": {"type": "string", "format": "date"},
                                  "slots": {"type": "array", "items": SLOT}}}}}}
ANSWERS = {"type": "object", "additionalProperties": False, "properties": {
    "phone": {"type": "string", "maxLength": ops.MAX_PHONE},
    "company": {"type": "string", "maxLength": ops.MAX_COMPANY},
    "note": {"type": "string", "maxLength": ops.MAX_NOTE},
    "custom": {"type": "object", "maxProperties": ops.MAX_CUSTOM,
               "additionalProperties": {"type": "string", "maxLength": ops.MAX_ANSWER}}}}
TIME_FIELDS = {
    "start": {"type": "string", "maxLength": 40, "format": "date-time",
              "description": "RFC 3339 with an offset: one of the slots."},
    "duration": {"type": "integer", "minimum": 5, "maximum": ops.MAX_DURATION,
                 "description": "Minutes: one of the page's durations."},
    "timezone": {"type": "string", "maxLength": 64,
                 "description": "The visitor's IANA zone, e.g. Australia/Lord_Howe."}}
BOOKING_IN = {"type": "object", "additionalProperties": False,
              "required": ["start", "duration", "timezone", "name", "email"],
              "properties": {**TIME_FIELDS,
                             "name": {"type": "string", "maxLength": ops.MAX_NAME},
                             "email": {"type": "string", "maxLength": ops.MAX_EMAIL},
                             "answers": ANSWERS,
                             "website": {"type": "string", "maxLength": 200,
                                         "description": "Leave it out or empty (a trap "
                                                        "for robots)."}}}
RESCHEDULE_IN = {"type": "object", "additionalProperties": False,
                 "required": ["start", "duration", "timezone"], "properties": TIME_FIELDS}
BOOKING_OUT = {"type": "object", "required": ["id", "uid", "status", "start", "end",
                                              "manage_url"], "properties": {
    "id": S.ID, "uid": {"type": "string"}, "sequence": {"type": "integer"},
    "status": {"type": "string", "enum": ["booked", "rescheduled", "canceled"]},
    "start": S.TIMESTAMP, "end": S.TIMESTAMP, "timezone": {"type": "string"},
    "title": {"type": "string"}, "host": {"type": "string"},
    "manage_url": {"type": "string", "format": "uri",
                   "description": "The contact's link to reschedule or cancel."}}}
QUESTIONS = {"type": "object", "additionalProperties": False, "properties": {
    **{q: {"type": "boolean"} for q in BUILTIN_QUESTIONS},
    "custom": {"type": "array", "maxItems": ops.MAX_CUSTOM, "items": {
        "type": "object", "additionalProperties": False, "required": ["label"],
        "properties": {"key": {"type": "string", "maxLength": 40},
                       "label": {"type": "string", "maxLength": 200},
                       "required": {"type": "boolean"}}}}}}
PAGE_FIELDS = {
    "title": {"type": "string", "minLength": 1, "maxLength": ops.MAX_TITLE},
    "slug": {"type": "string", "minLength": 1, "maxLength": ops.MAX_SLUG,
             "description": "The public address /book/{slug}: lower-case letters, digits, "
                            "hyphens; unique across Parley."},
    "kind": {"type": "string", "enum": list(PAGE_KINDS)},
    "durations": {"type": "array", "minItems": 1, "maxItems": ops.MAX_DURATIONS,
                  "items": {"type": "integer", "minimum": 5, "maximum": ops.MAX_DURATION}},
    "location_kind": {"type": "string", "enum": list(PAGE_LOCATIONS)},
    "location_value": {"type": ["string", "null"], "maxLength": 500,
                       "description": "address/custom: the text; video: the provider "
                                      "(jitsi, zoom, google_meet, app:<id>)."},
    "questions": QUESTIONS,
    "buffer_before_minutes": {"type": "integer", "minimum": 0, "maximum": 240},
    "buffer_after_minutes": {"type": "integer", "minimum": 0, "maximum": 240},
    "min_notice_minutes": {"type": "integer", "minimum": 0, "maximum": 43200},
    "horizon_days": {"type": "integer", "minimum": 1, "maximum": 730},
    "max_per_day": {"type": ["integer", "null"], "minimum": 1, "maximum": 50},
    "slot_interval_minutes": {"type": "integer", "minimum": 5, "maximum": 240},
    "meeting_type_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1},
    "reminders": {"type": ["array", "null"], "maxItems": 5, "items": S.REMINDER_IN,
                  "description": "The reminders of its meetings; null: the account's "
                                 "defaults."},
    "rotation_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1,
                    "description": "round_robin: the meeting rotation whose free member "
                                   "hosts."},
    "host_ids": {"type": "array", "maxItems": 20, "items": S.ID,
                 "description": "group: the users who must all be free (you are one)."},
    "paused": {"type": "boolean"}}
PAGE_CREATE = {"type": "object", "additionalProperties": False,
               "required": ["title", "slug"], "properties": PAGE_FIELDS}
PAGE_PATCH = {"type": "object", "additionalProperties": False,
              "properties": {k: v for k, v in PAGE_FIELDS.items() if k != "kind"}}
PAGE_OUT = {"type": "object", "required": ["id", "title", "slug", "kind", "durations"],
            "properties": {**PAGE_FIELDS, "id": S.ID, "owner_user_id": S.ID,
                           "url": {"type": "string", "format": "uri"},
                           "created_at": S.TIMESTAMP}}
PAGE_REF = {"$ref": "#/components/schemas/SchedulingPage"}
BOOKING_REF = {"$ref": "#/components/schemas/Booking"}
SLUG = S.Param("slug", "path", {"type": "string", "maxLength": ops.MAX_SLUG})
TOKEN = S.Param("token", "path", {"type": "string", "maxLength": 80},
                "The token of the booking's manage URL.")
PAGE_ID = S.Param("page_id", "path", S.ID)
PUBLIC_ERRORS = (400, 404, 409, 422, 429)


def page_json(page) -> dict:
    out = {k: getattr(page, k) for k in PAGE_FIELDS}
    out["reminders"] = [{"amount": a, "unit": u} for a, u in page.reminders] \
        if page.reminders is not None else None
    out.update(id=page.id, owner_user_id=page.owner_id, created_at=_stamp(page.created_at),
               url=f"{current_app.config['BASE_URL']}/book/{page.slug}")
    return out


def booking_json(booking) -> dict:
    """What the visitor may see of their booking: never the contact record's data."""
    meeting = booking.meeting
    return {"id": booking.id, "uid": meeting.uid, "sequence": meeting.sequence,
            "status": booking.status, "start": _stamp(meeting.start_at),
            "end": _stamp(meeting.end_at), "timezone": booking.timezone,
            "title": booking.page.title, "host": meeting.host.name,
            "manage_url": ops.manage_url(booking)}


# --- public -------------------------------------------------------------------------------

def _day(name: str, errors: list) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        errors.append({"field": name, "message": "Use YYYY-MM-DD."})
        return None


@api_view(S.Operation(
    "GET", "/scheduling-pages/{slug}/slots", "scheduling_page_slots",
    "A scheduling page's free slots (public, no token)", "Scheduling pages", [
        SLUG, S.Param("start", "query", {"type": "string", "format": "date"},
                      "The first day, in the visitor's zone."),
        S.Param("end", "query", {"type": "string", "format": "date"},
                f"The last day; at most {slot_rules.MAX_DAYS} days after start."),
        S.Param("timezone", "query", {"type": "string", "maxLength": 64},
                "The visitor's IANA zone."),
        S.Param("duration", "query", {"type": "integer"},
                "Minutes: one of the page's durations (default: the first).")],
    response=SLOTS_OUT, response_name="SchedulingSlots", errors=(404, 422, 429),
    public=True))
def scheduling_page_slots(slug: str):
    page = _public_page(slug)
    errors: list[dict] = []
    first, last = _day("start", errors), _day("end", errors)
    zone = request.args.get("timezone", "")
    if not is_valid_timezone(zone):
        errors.append({"field": "timezone", "message": "Not an IANA time zone."})
    duration_text = request.args.get("duration") or str(page.durations[0])
    duration = int(duration_text) if duration_text.isdigit() else None
    if duration not in page.durations:
        errors.append({"field": "duration", "message": "One of the page's durations: "
                       + ", ".join(str(d) for d in page.durations) + "."})
    if first and last and not first <= last <= first + timedelta(days=slot_rules.MAX_DAYS):
        errors.append({"field": "end", "message": f"From start to {slot_rules.MAX_DAYS} "
                                                  "days after it."})
    if errors:
        raise ApiError(422, "Some parameters are invalid.", errors)
    # From the page's kept month (webapp.booking.slots): a booking checks its slot again
    # anyway, under the hosts' locks.
    slots = tuple(slot_rules.free_slots(page, first, last, zone, duration))
    key = (page.id, page.updated_at, first, last, zone, duration, slots)
    body = ANSWERS.get(key)
    if body is None:
        body = current_app.json.response(_slots_json(page, first, last, zone, duration,
                                                     slots)).get_data()
        ANSWERS.put(key, body, 3600)
    return Response(body, mimetype=current_app.json.mimetype)


#: The slots endpoint's answers, in this process, by what they hold: the page, the range,
#: zone and duration asked for and the free starts (from the kept month, so a change that
#: takes or frees a time changes the key). A month's answer is ~100 KB of JSON.
ANSWERS = LocalCache(128)


def _slots_json(page, first: date, last: date, zone: str, duration: int, slots) -> dict:
    length = timedelta(minutes=duration)

    def slot(s):
        return {"start": _stamp(s), "end": _stamp(s + length)}

    return {"slug": page.slug, "title": page.title, "timezone": zone, "duration": duration,
            "durations": list(page.durations), "start": first.isoformat(),
            "end": last.isoformat(), "slots": [slot(s) for s in slots],
            "days": [{"date": d.isoformat(), "slots": [slot(s) for s in day]}
                     for d, day in slot_rules.by_day(slots, zone).items()]}


def _time_request(body: dict) -> tuple[datetime | None, int, str]:
    errors: list[dict] = []
    start = _parse_time(body["start"], "start", errors)
    zone = body["timezone"]
    if not is_valid_timezone(zone):
        errors.append({"field": "timezone", "message": "Not an IANA time zone."})
    elif start is not None:
        message = _offset_error(body["start"], zone)
        if message:
            errors.append({"field": "start", "message": message})
    if errors:
        raise ApiError(422, "Some fields are invalid.", errors)
    return start, body["duration"], zone


def _refused(result) -> None:
    """Raise the API's answer to a booking that did not go through."""
    if result.taken:
        raise ApiError(409, TAKEN)
    if result.too_late:
        raise ApiError(409, str(ops.TOO_LATE))
    raise ApiError(422, "Some fields are invalid.", [
        {"field": f, "message": m} for f, msgs in result.errors.items() for m in msgs])


def _done(result, status: int = 200):
    answer = booking_json(result.booking)  # made before the commit (as create_meeting)
    db.session.commit()
    try:
        result.after_commit()
    except Exception:  # committed: the sweep relays the messages
        current_app.logger.exception("relay after booking %s failed", answer["id"])
    return answer, status


@api_view(S.Operation(
    "POST", "/scheduling-pages/{slug}/bookings", "create_booking",
    "Book a slot of a scheduling page (public, no token)", "Scheduling pages", [
        SLUG, S.Param("Idempotency-Key", "header", {"type": "string", "maxLength": 200},
                      "A retry with the same key and body answers with the same booking "
                      "(kept 24 hours); the same key with another body is a 422.")],
    body=BOOKING_IN, body_name="BookingCreate", status=201, response=BOOKING_OUT,
    response_name="Booking", errors=PUBLIC_ERRORS, public=True))
def create_booking(slug: str):
    page = _public_page(slug)
    body = _json_body(BOOKING_IN)
    try:
        key = idempotency.key_of(request.headers)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from exc
    start, duration, zone = _time_request(body)
    req = ops.BookingRequest(start=start, duration=duration, timezone=zone,
                             name=body["name"], email=body["email"],
                             answers=body.get("answers") or {},
                             honeypot=body.get(ops.HONEYPOT) or "")
    try:
        result = ops.book(page, req, key=key,
                          fingerprint=idempotency.fingerprint(body) if key else "")
    except ops.KeyReused as exc:
        raise ApiError(422, "This Idempotency-Key was used with a different request.") \
            from exc
    if result.fake:
        return _pretend(page, start, duration, zone), 201
    if not result.ok:
        _refused(result)
    if result.replayed:
        return booking_json(result.booking), 201, {"Idempotent-Replayed": "true"}
    return _done(result, 201)


def _pretend(page, start: datetime, duration: int, zone: str) -> dict:
    """A robot's answer: looks booked, nothing was made."""
    import secrets
    return {"id": 1 + secrets.randbelow(10**6), "uid": f"{secrets.token_hex(16)}@parley",
            "sequence": 0, "status": "booked", "start": _stamp(start),
            "end": _stamp(start + timedelta(minutes=duration)), "timezone": zone,
            "title": page.title, "host": page.owner.name,
            "manage_url": f"{current_app.config['BASE_URL']}/book/manage/"
                          f"{secrets.randbelow(10**6)}-{secrets.token_hex(20)}"}


def _managed(slug: str, token: str):
    limit_address()
    booking = ops.booking_by_token(token)
    if booking is None or booking.page.slug != slug:
        raise ApiError(404, "No such booking.")
    return booking


@api_view(S.Operation(
    "POST", "/scheduling-pages/{slug}/bookings/{token}/reschedule", "reschedule_booking",
    "Move a booking to another free slot (its manage token; same UID, SEQUENCE raised)",
    "Scheduling pages", [SLUG, TOKEN], body=RESCHEDULE_IN, body_name="BookingReschedule",
    response=BOOKING_REF, errors=PUBLIC_ERRORS, public=True))
def reschedule_booking(slug: str, token: str):
    booking = _managed(slug, token)
    start, duration, zone = _time_request(_json_body(RESCHEDULE_IN))
    result = ops.reschedule(booking, start, duration, zone)
    if not result.ok:
        _refused(result)
    return _done(result)


@api_view(S.Operation(
    "POST", "/scheduling-pages/{slug}/bookings/{token}/cancel", "cancel_booking",
    "Cancel a booking (its manage token; everyone invited gets a cancellation)",
    "Scheduling pages", [SLUG, TOKEN], response=BOOKING_REF, errors=(404, 409, 429),
    public=True))
def cancel_booking(slug: str, token: str):
    result = ops.cancel(_managed(slug, token))
    if not result.ok:
        _refused(result)
    return _done(result)


# --- authenticated CRUD -------------------------------------------------------------------

def _page_values(body: dict) -> dict:
    """The body as operations take it (reminders as [amount, unit] pairs)."""
    if body.get("reminders") is not None:
        body["reminders"] = [[r["amount"], r["unit"]] for r in body["reminders"]]
    return body


def _page(page_id: int):
    page = ops.get_page(g.account_id, page_id)
    if page is None:
        raise ApiError(404, f"No scheduling page {page_id} in your account.")
    return page


def _errors(errors: dict) -> None:
    if errors:
        db.session.rollback()
        raise ApiError(422, "Some fields are invalid.", [
            {"field": f, "message": m} for f, msgs in errors.items() for m in msgs])


@api_view(S.Operation("POST", "/scheduling-pages", "create_scheduling_page",
                      "Create a scheduling page (you host it; round_robin takes rotation_id, "
                      "group takes host_ids)", "Scheduling pages", body=PAGE_CREATE,
                      body_name="SchedulingPageCreate", status=201, response=PAGE_OUT,
                      response_name="SchedulingPage"))
def create_scheduling_page():
    body = _page_values(_json_body(PAGE_CREATE))
    account = db.session.get(Account, g.account_id)
    page, errors = ops.create_page(account, g.api_user, body)
    _errors(errors)
    answer = page_json(page)
    db.session.commit()
    return answer, 201


@api_view(S.Operation("GET", "/scheduling-pages", "list_scheduling_pages",
                      "Your account's scheduling pages", "Scheduling pages",
                      response={"type": "object", "required": ["items"], "properties": {
                          "items": {"type": "array", "items": PAGE_REF}}}))
def list_scheduling_pages():
    return {"items": [page_json(p) for p in ops.pages(g.account_id)]}


@api_view(S.Operation("GET", "/scheduling-pages/{page_id}", "get_scheduling_page",
                      "Get a scheduling page", "Scheduling pages", [PAGE_ID],
                      response=PAGE_REF))
def get_scheduling_page(page_id: int):
    return page_json(_page(page_id))


def _may_change(page) -> None:
    if page.owner_id != g.api_user.id and not g.api_user.is_admin:
        raise ApiError(403, "Only its owner or an admin can change this page.")


@api_view(S.Operation("PATCH", "/scheduling-pages/{page_id}", "update_scheduling_page",
                      "Change a scheduling page", "Scheduling pages", [PAGE_ID],
                      body=PAGE_PATCH, body_name="SchedulingPageUpdate", response=PAGE_REF,
                      errors=(400, 401, 403, 404, 422, 429)))
def update_scheduling_page(page_id: int):
    page = _page(page_id)
    _may_change(page)
    body = _page_values(_json_body(PAGE_PATCH))
    account = db.session.get(Account, g.account_id)
    _errors(ops.update_page(account, g.api_user, page, body))
    answer = page_json(page)
    db.session.commit()
    return answer


@api_view(S.Operation("DELETE", "/scheduling-pages/{page_id}", "delete_scheduling_page",
                      "Delete a scheduling page (its meetings stay)", "Scheduling pages",
                      [PAGE_ID], status=204, errors=(401, 403, 404, 429)))
def delete_scheduling_page(page_id: int):
    page = _page(page_id)
    _may_change(page)
    ops.delete_page(page)
    db.session.commit()
    return Response(status=204)
