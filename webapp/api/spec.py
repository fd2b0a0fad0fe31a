"""The API's contract: JSON Schemas and a route registry.

Every endpoint is declared with `operation(...)`, which registers the Flask route and
records its OpenAPI description; request bodies are validated with the same schemas the
document publishes, so the document cannot drift from the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from jsonschema import Draft202012Validator

from webapp.delivery.models import KINDS as MESSAGE_KINDS
from webapp.delivery.models import STATUSES as MESSAGE_STATUSES
from webapp.meetings.inputs import MAX_ATTENDEES
from webapp.meetings.models import LOCATION_KINDS, REMINDER_UNITS, RESPONSES
from webapp.records.models import (
    CONTACT_LANGUAGES,
    DEAL_STAGES,
    RECORD_MODELS,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
)
from webapp.reminders.rules import MAX_OFFSET, MAX_REMINDERS
from webapp.richtext import MAX_LENGTH as MAX_RICH_TEXT

NULLABLE_STR = {"type": ["string", "null"]}


def s(max_length: int, nullable: bool = True, min_length: int = 0) -> dict:
    schema = {"type": ["string", "null"] if nullable else "string", "maxLength": max_length}
    if min_length:
        schema["minLength"] = min_length
    return schema


ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
TIMESTAMP = {"type": "string", "format": "date-time"}

RECORD_FIELDS: dict[str, dict] = {
    "contact": {
        "first_name": s(100, False, 1), "last_name": s(100), "email": s(254),
        "phone": s(32), "timezone": s(64), "company_id": {"type": ["integer", "null"],
                                                         "minimum": 1, "maximum": 2**31 - 1},
        "language": {"type": ["string", "null"], "enum": [*CONTACT_LANGUAGES, None],
                     "description": "The language of the contact's emails (null: en)"},
    },
    "company": {"name": s(200, False, 1), "domain": s(200), "phone": s(32), "city": s(120)},
    "deal": {"name": s(200, False, 1),
             "amount": {"type": ["number", "null"], "minimum": 0, "maximum": 10**11},
             "stage": {"type": "string", "enum": DEAL_STAGES},
             "close_date": {"type": ["string", "null"], "format": "date"}},
    "ticket": {"subject": s(200, False, 1), "status": {"type": "string", "enum": TICKET_STATUSES},
               "priority": {"type": "string", "enum": TICKET_PRIORITIES},
               "description": s(5000)},
}
REQUIRED = {"contact": ["first_name"], "company": ["name"], "deal": ["name"],
            "ticket": ["subject"]}


def record_input(record_type: str, partial: bool) -> dict:
    schema = {"type": "object", "additionalProperties": False,
              "properties": RECORD_FIELDS[record_type]}
    if not partial:
        schema["required"] = REQUIRED[record_type]
    return schema


def record_output(record_type: str) -> dict:
    props = {"id": ID, "type": {"const": record_type}, "name": {"type": "string"},
             "created_at": TIMESTAMP, "updated_at": TIMESTAMP}
    for key, value in RECORD_FIELDS[record_type].items():
        v = dict(value)
        v.pop("minLength", None)
        v.pop("maxLength", None)
        if record_type == "deal" and key == "amount":
            v = {"type": ["string", "null"]}
        props[key] = v
    required = list(dict.fromkeys(["id", "type", "name", *RECORD_FIELDS[record_type]]))
    return {"type": "object", "properties": props, "required": required}


LOCATION = {"type": "object", "additionalProperties": False, "required": ["kind"],
            "properties": {"kind": {"type": "string",
                                    "enum": list(LOCATION_KINDS)},
                           "value": s(500),
                           # With kind "video": jitsi, zoom, google_meet or app:<id>.
                           "video_provider": s(40)}}
ATTENDEE_IN = {"oneOf": [
    {"type": "object", "additionalProperties": False, "required": ["contact_id"],
     "properties": {"contact_id": ID}},
    {"type": "object", "additionalProperties": False, "required": ["user_id"],
     "properties": {"user_id": ID}}]}
REMINDER_IN = {"type": "object", "additionalProperties": False, "required": ["amount", "unit"],
               "properties": {"amount": {"type": "integer", "minimum": 1,
                                         "maximum": max(MAX_OFFSET.values())},
                              "unit": {"type": "string", "enum": list(REMINDER_UNITS)}}}
ASSOCIATION = {"type": "object", "additionalProperties": False, "required": ["type", "id"],
               "properties": {"type": {"type": "string",
                                       "enum": list(RECORD_MODELS)},
                              "id": ID}}

MEETING_FIELDS = {
    "title": s(200, False, 1),
    "start": {"type": "string", "format": "date-time",
              "description": "RFC 3339 with an offset, e.g. 2027-01-05T10:00:00-05:00"},
    "end": {"type": "string", "format": "date-time"},
    "timezone": {"type": "string", "maxLength": 64, "description": "IANA zone, e.g. Asia/Taipei"},
    "location": LOCATION,
    "attendees": {"type": "array", "items": ATTENDEE_IN, "maxItems": MAX_ATTENDEES},
    "reminders": {"type": "array", "items": REMINDER_IN, "maxItems": MAX_REMINDERS},
    "include_description_in_reminders": {"type": "boolean"},
    "hide_guest_list": {"type": "boolean", "description": "Invitations name only their "
                        "recipient; by default every attendee is listed (ATTENDEE lines)"},
    "description_html": {"type": "string", "maxLength": MAX_RICH_TEXT},
    "internal_note_html": {"type": "string", "maxLength": MAX_RICH_TEXT},
    "associations": {"type": "array", "items": ASSOCIATION, "maxItems": 100},
    "host_user_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1,
                     "description": "The host; another user needs a paid seat (yours and "
                                    "theirs). With rotation_id: an available member of it."},
    "rotation_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2**31 - 1,
                    "description": "Book through this meeting rotation (when creating): the "
                                   "host is its available member with the fewest meetings "
                                   "booked through it, ties to the one booked least "
                                   "recently, unless host_user_id names another available "
                                   "member. Needs a paid seat."},
    # The bounds apply to an id, the length to a name (JSON Schema applies each keyword
    # to its own type).
    "meeting_type": {"type": ["integer", "string", "null"], "minimum": 1,
                     "maximum": 2**31 - 1, "maxLength": 100,
                     "description": "A meeting type's id or name"},
    "sequence": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1,
                 "description": "PATCH only: the sequence you last saw; 409 if it changed"},
    "outcome": {"type": "string", "maxLength": 40,
                "description": "The outcome to save with (a logged meeting: completed "
                               "unless given)"},
}
MEETING_CREATE = {"type": "object", "additionalProperties": False,
                  "required": ["title", "start", "end", "timezone"],
                  "properties": {**{k: v for k, v in MEETING_FIELDS.items()
                                    if k != "sequence"},
                                 "log_only": {
                                     "type": "boolean",
                                     "description": "Log a meeting that already happened: "
                                     "its start must not be in the future, and nothing is "
                                     "ever sent or synced for it (no invitation, update, "
                                     "reminder, calendar event or video link), also after "
                                     "a change. Without it, a start in the past is refused "
                                     "(422, field start)."}}}
MEETING_PATCH = {"type": "object", "additionalProperties": False, "properties": MEETING_FIELDS}
OUTCOME_IN = {"type": "object", "additionalProperties": False, "required": ["outcome"],
              "properties": {"outcome": {"type": "string", "maxLength": 40}}}

DELIVERY = {"type": "object", "properties": {
    "kind": {"type": "string", "enum": list(MESSAGE_KINDS)},
    "sequence": {"type": "integer"},
    "status": {"type": "string", "enum": list(MESSAGE_STATUSES)},
    "error": NULLABLE_STR, "sent_at": {"type": ["string", "null"], "format": "date-time"}}}
MEETING_OUT = {"type": "object", "required": ["id", "uid", "sequence", "title", "start", "end",
                                              "attendees"], "properties": {
    "id": ID, "uid": {"type": "string"}, "sequence": {"type": "integer"},
    "title": {"type": "string"}, "start": TIMESTAMP, "end": TIMESTAMP,
    "timezone": {"type": "string"},
    "location": {"type": "object", "properties": {"kind": {"type": "string"},
                                                  "value": NULLABLE_STR,
                                                  "video_provider": NULLABLE_STR,
                                                  "video_status": NULLABLE_STR}},
    "meeting_type": {"type": ["object", "null"]},
    "description_html": {"type": "string"}, "internal_note_html": {"type": "string"},
    "include_description_in_reminders": {"type": "boolean"},
    "hide_guest_list": {"type": "boolean"},
    "host_user_id": ID, "organizer_user_id": ID, "outcome": {"type": "string"},
    "log_only": {"type": "boolean"},
    "rotation_id": {"type": ["integer", "null"]},
    "reminders": {"type": "array", "items": {"type": "object", "properties": {
        "amount": {"type": "integer"}, "unit": {"type": "string"}, "due_at": TIMESTAMP,
        "sent": {"type": "boolean"}}}},
    "attendees": {"type": "array", "items": {"type": "object", "properties": {
        "id": ID, "contact_id": {"type": ["integer", "null"]},
        "user_id": {"type": ["integer", "null"]}, "name": {"type": "string"},
        "email": NULLABLE_STR, "invited": {"type": "boolean"},
        "response": {"type": "string",
                     "enum": list(RESPONSES)},
        "delivery": {"type": "array", "items": DELIVERY}}}},
    "associations": {"type": "array", "items": ASSOCIATION},
    "created_at": TIMESTAMP, "updated_at": TIMESTAMP}}

INTERVAL = {"type": "object", "required": ["start", "end"],
            "properties": {"start": TIMESTAMP, "end": TIMESTAMP}}
#: webapp.availability.engine's reason kinds.
AVAILABILITY_REASONS = ["busy", "buffer", "day_cap", "outside_hours", "notice", "horizon"]
AVAILABILITY_OUT = {"type": "object", "required": ["user_id", "start", "end", "free",
                                                   "unavailable", "complete"], "properties": {
    "user_id": ID, "timezone": {"type": "string"}, "start": TIMESTAMP, "end": TIMESTAMP,
    "free": {"type": "array", "items": INTERVAL,
             "description": "Free intervals within [start, end), sorted, not touching."},
    "unavailable": {"type": "array", "description": (
        "Why the rest is not free: one entry per busy period (its calendar; its title only "
        "when the user is the caller) and per span of another reason."),
        "items": {"type": "object", "required": ["reason", "label", "start", "end"],
                  "properties": {
                      "reason": {"type": "string", "enum": AVAILABILITY_REASONS},
                      "label": {"type": "string"}, "start": TIMESTAMP, "end": TIMESTAMP,
                      "calendar": {"type": "string"}, "title": NULLABLE_STR}}},
    "unreadable_calendars": {"type": "array", "items": {"type": "string"}, "description": (
        "Calendars whose busy time could not be read: the free intervals may be too many.")},
    "complete": {"type": "boolean", "description": "False when a calendar was unreadable."}}}
ROTATION_PICK = {"type": ["object", "null"], "description": (
    "Only in the answer to a booking through a rotation: why this host."), "properties": {
    "kind": {"type": "string", "enum": ["pick", "override"]},
    "host_user_id": ID,
    "members": {"type": "array", "items": {"type": "object", "properties": {
        "user_id": ID, "name": {"type": "string"}, "count": {"type": "integer"},
        "weight": {"type": "integer"},
        "skipped": {"type": ["array", "null"], "items": {"type": "string"}}}}}}}
MEETING_OUT["properties"]["rotation_pick"] = ROTATION_PICK

PROBLEM = {"type": "object", "required": ["title", "status"], "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "object", "required": ["field", "message"],
                                          "properties": {"field": {"type": "string"},
                                                         "message": {"type": "string"}}}}}}


def page_of(item: dict) -> dict:
    return {"type": "object", "required": ["items", "page", "per_page", "total"], "properties": {
        "items": {"type": "array", "items": item}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "total": {"type": "integer"}}}


@dataclass
class Param:
    name: str
    where: str  # "path" or "query"
    schema: dict
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    endpoint: str
    summary: str
    tag: str
    params: list[Param] = field(default_factory=list)
    body: dict | None = None
    body_name: str | None = None
    status: int = 200
    response: dict | None = None
    response_name: str | None = None
    media: str = "application/json"
    errors: tuple[int, ...] = (400, 401, 404, 422, 429)
    #: No token: anyone may call it (the scheduling pages' public endpoints, #22).
    public: bool = False


OPERATIONS: list[Operation] = []
SCHEMAS: dict[str, dict] = {"Problem": PROBLEM}


def operation(bp, op: Operation) -> Callable:
    """Register view as a Flask route under /api/v1 and describe it in the document."""

    def wrap(view: Callable) -> Callable:
        OPERATIONS.append(op)
        if op.body_name:
            SCHEMAS[op.body_name] = op.body
        if op.response_name:
            SCHEMAS[op.response_name] = op.response
        flask_path = re.sub(r"\{(\w+)\}", lambda m: f"<int:{m.group(1)}>"
                            if m.group(1).endswith("id") else f"<{m.group(1)}>", op.path)
        bp.add_url_rule("/api/v1" + flask_path, op.endpoint, view, methods=[op.method])
        return view

    return wrap


def body_errors(schema: dict, data) -> list[dict]:
    """Field-level errors of data against schema: [{field, message}]."""
    errors = []
    for err in sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path)):
        path = ".".join(str(p) for p in err.absolute_path)
        if err.validator == "required":
            missing = re.search(r"'([^']+)' is a required property", err.message)
            path = ".".join(filter(None, [path, missing.group(1) if missing else ""]))
        elif err.validator == "additionalProperties":
            extra = re.findall(r"'([^']+)'", err.message)
            path = ".".join(filter(None, [path, extra[0] if extra else ""]))
        errors.append({"field": path or "body", "message": err.message})
    return errors


def document(base_url: str) -> dict:
    """The OpenAPI 3.1 document, built from the registry."""
    paths: dict[str, dict] = {}
    problem_ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    reasons = {400: "Malformed request", 401: "Missing, invalid or revoked token",
               403: "Not allowed for this user", 404: "Not found in your account",
               409: "Conflict with the current state", 422: "Invalid fields",
               429: "Rate limit exceeded"}
    for op in OPERATIONS:
        entry: dict = {"operationId": op.endpoint, "summary": op.summary, "tags": [op.tag],
                       "responses": {}}
        if op.public:
            entry["security"] = []
        if op.params:
            entry["parameters"] = [{"name": p.name, "in": p.where, "required": p.where == "path",
                                    "schema": p.schema, **({"description": p.description}
                                                           if p.description else {})}
                                   for p in op.params]
        if op.body is not None:
            ref = {"$ref": f"#/components/schemas/{op.body_name}"} if op.body_name else op.body
            entry["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": ref}}}
        ok: dict = {"description": "Success"}
        if op.response is not None:
            ref = ({"$ref": f"#/components/schemas/{op.response_name}"} if op.response_name
                   else op.response)
            ok["content"] = {op.media: {"schema": ref}}
        elif op.media != "application/json":
            ok["content"] = {op.media: {"schema": {"type": "string"}}}
        entry["responses"][str(op.status)] = ok
        for code in op.errors:
            entry["responses"][str(code)] = {"description": reasons[code], "content": problem_ref}
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley API", "version": "1.0.0",
                 "description": "Meetings, their attendees and associations, and the CRM "
                                "records they belong to. Authenticate with a personal API "
                                "token: `Authorization: Bearer TOKEN`."},
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
