"""Domain checks of a meeting input: every error names its field (request side)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.auth.models import Account, User
from webapp.conferencing import operations as conferencing
from webapp.extensions import db
from webapp.meetings.inputs import MAX_ATTENDEES, MAX_DURATION, Errors, MeetingInput, add_error
from webapp.meetings.models import LOCATION_KINDS, REMINDER_UNITS, Meeting, MeetingType
from webapp.meetings.outcomes import catalog
from webapp.records import operations as record_ops
from webapp.records.models import Contact
from webapp.reminders.rules import MAX_OFFSET, MAX_REMINDERS, reminder_due, unit_phrase
from webapp.richtext import MAX_LENGTH, sanitize
from webapp.rotations import operations as rotation_ops
from webapp.types import utcnow
from webapp.validation import is_valid_timezone, normalize_phone


def active_meeting_types(account_id: int) -> list[MeetingType]:
    return list(db.session.scalars(sa.select(MeetingType).where(
        MeetingType.account_id == account_id, MeetingType.active).order_by(MeetingType.name)))


def validate(account: Account, actor: User, data: MeetingInput,
             existing: Meeting | None = None) -> Errors:
    """Domain checks: every error names its field. Normalizes data in place."""
    errors: Errors = {}
    if existing is not None:
        data.log_only = existing.log_only  # logged or scheduled: chosen once, when made
    if data.log_only:
        # Nothing is ever sent for a logged meeting: no reminders, rotation or video link.
        data.reminders, data.default_reminders, data.rotation_id = [], frozenset(), None
        data.video_provider = None
    data.title = (data.title or "").strip()
    if not data.title:
        add_error(errors, "title", _l("Enter a title."))
    elif len(data.title) > 200:
        add_error(errors, "title", _l("Keep the title under 200 characters."))
    if not is_valid_timezone(data.timezone):
        add_error(errors, "timezone", _l("Choose a time zone from the list."))
    if data.start is None:
        add_error(errors, "start", _l("Enter a start date and time."))
    if data.end is None:
        add_error(errors, "end", _l("Enter an end time."))
    if data.start and data.end:
        if data.end <= data.start:
            add_error(errors, "end", _l("The end must be after the start."))
        elif data.end - data.start > MAX_DURATION:
            add_error(errors, "end", _l("A meeting can last at most 7 days."))
    if data.start and data.log_only and data.start > utcnow():
        add_error(errors, "start", _l("A logged meeting has already happened: its start "
                                      "cannot be in the future. Schedule it instead to "
                                      "invite people."))
    elif is_past_start(data, existing):
        add_error(errors, "start", PAST_START_MESSAGE)
    _check_outcome(account, data, errors, existing)

    if data.location_kind not in LOCATION_KINDS:
        add_error(errors, "location_kind", _l("Choose a location type from the list."))
    value = (data.location_value or "").strip() or None
    if data.location_kind in ("none", "video"):
        value = None  # a video meeting's location is its join link (webapp.conferencing)
    elif data.location_kind in ("phone", "in_person", "custom") and not value:
        add_error(errors, "location_value", _l("Enter the location details."))
    elif value and len(value) > 500:
        add_error(errors, "location_value", _l("Keep the location under 500 characters."))
    elif data.location_kind == "phone" and value:
        try:
            value = normalize_phone(value)
        except ValueError as exc:
            add_error(errors, "location_value", exc)
    data.location_value = value

    if data.meeting_type_id is not None:
        if not account.custom_meeting_types_enabled:
            data.meeting_type_id = None
        else:
            allowed = {t.id for t in active_meeting_types(account.id)}
            if existing is not None and existing.meeting_type_id:
                allowed.add(existing.meeting_type_id)
            if data.meeting_type_id not in allowed:
                add_error(errors, "meeting_type_id", _l("Choose a meeting type from the list."))

    for name in ("description_html", "internal_note_html"):
        if len(getattr(data, name) or "") > MAX_LENGTH:
            add_error(errors, name, _l("This text is too long (at most 20,000 characters)."))
        setattr(data, name, sanitize(getattr(data, name)))

    if len(data.reminders) > MAX_REMINDERS:
        add_error(errors, "reminders", _l("You can add at most three reminders."))
    seen = set()
    for amount, unit in data.reminders:
        if unit not in REMINDER_UNITS:
            add_error(errors, "reminders", _l("Choose minutes, hours, days or weeks."))
        elif not isinstance(amount, int) or amount <= 0:
            add_error(errors, "reminders", _l("A reminder needs a whole number above zero."))
        elif amount > MAX_OFFSET[unit]:
            add_error(errors, "reminders", _l("A reminder can be at most a year before the meeting."))
        elif data.start and not errors.get("timezone"):
            due = reminder_due(data.start, amount, unit, data.timezone)
            if due <= utcnow() and (amount, unit) in data.default_reminders:
                data.skipped_reminders.append((amount, unit))
                continue
            if due <= utcnow():
                add_error(errors, "reminders", _l(
                    "The reminder %(offset)s before would be in the past. "
                    "Choose a shorter time or a later meeting.",
                    offset=unit_phrase(amount, unit)))
            if due in seen:
                add_error(errors, "reminders", _l("Two reminders fall at the same time."))
            seen.add(due)
    data.reminders = [r for r in data.reminders if r not in data.skipped_reminders]

    if len(data.attendees) > MAX_ATTENDEES:
        add_error(errors, "attendees", _l("At most 100 attendees."))
    _check_people(account, data, errors)
    _check_records(account, data, errors)
    if existing is None and data.rotation_id is not None:
        rotation_ops.check_booking(account, actor, data, errors)
    elif existing is not None:
        data.rotation_id = None  # chosen when booking; an edit changes the host instead
    _check_host(account, actor, data, errors, existing)
    if data.location_kind == "video" and not errors.get("host_id") and not data.log_only:
        _check_video(actor, data, errors, existing)
    return errors


#: A new meeting scheduled to start in the past: it is refused, not silently invited, and
#: the forms offer to log it instead (webapp.meetings.views.offers_logging).
PAST_START_MESSAGE = _l("This start is in the past: attendees would be invited to a "
                        "meeting that already happened. Log it instead (nothing is sent), "
                        "or choose a later start.")


def is_past_start(data: MeetingInput, existing: Meeting | None = None) -> bool:
    """True for a new scheduled (not logged) meeting whose start has passed."""
    return (existing is None and not data.log_only and data.start is not None
            and data.start < utcnow())


def _check_outcome(account: Account, data: MeetingInput, errors: Errors,
                   existing: Meeting | None) -> None:
    if data.outcome is None:
        return
    if existing is not None and data.outcome == existing.outcome:
        return
    if not catalog(account.id).is_offered(data.outcome):
        add_error(errors, "outcome", _l("Choose an outcome from the list."))


def _check_video(actor: User, data: MeetingInput, errors: Errors,
                 existing: Meeting | None) -> None:
    """The host's provider choice, and S16 (same email at the provider), before saving."""
    current = existing.conference_provider if existing is not None and \
        existing.location_kind == "video" else None
    data.video_provider = data.video_provider or current
    host = db.session.get(User, data.host_id) if data.host_id else actor
    message = conferencing.check_choice(host, data.video_provider, current)
    if message:
        add_error(errors, "video_provider", message)


def _check_people(account: Account, data: MeetingInput, errors: Errors) -> None:
    contact_ids = {i for kind, i in data.attendees if kind == "contact"}
    user_ids = {i for kind, i in data.attendees if kind == "user"}
    if any(kind not in ("contact", "user") for kind, _ in data.attendees):
        add_error(errors, "attendees", _l("Choose attendees from the list."))
        return
    data.found_contacts = {c.id: c for c in db.session.scalars(sa.select(Contact).where(
        Contact.account_id == account.id, Contact.id.in_(contact_ids)))} if contact_ids else {}
    found_contacts = set(data.found_contacts)
    found_users = set(db.session.scalars(sa.select(User.id).where(
        User.account_id == account.id, User.id.in_(user_ids)))) if user_ids else set()
    if found_contacts != contact_ids or found_users != user_ids:
        add_error(errors, "attendees", _l("One of the attendees does not exist in this account."))
    data.attendees = list(dict.fromkeys(data.attendees))


def _check_records(account: Account, data: MeetingInput, errors: Errors) -> None:
    if data.associations and not set(data.associations) <= record_ops.existing_refs(
            account.id, data.associations):
        add_error(errors, "associations", _l("One of the associated records does not exist."))
        return
    data.associations = list(dict.fromkeys(data.associations))


def _check_host(account: Account, actor: User, data: MeetingInput, errors: Errors,
                existing: Meeting | None) -> None:
    if data.host_id is None:
        data.host_id = existing.host_id if existing else actor.id
    if data.host_id == actor.id or (existing and data.host_id == existing.host_id):
        return
    host = db.session.get(User, data.host_id)
    if host is None or host.account_id != account.id:
        add_error(errors, "host_id", _l("Choose a host from your account."))
    elif not actor.has_paid_seat or not host.has_paid_seat:
        add_error(errors, "host_id", _l("Only users with a paid seat can book for another "
                                   "seated user."))
