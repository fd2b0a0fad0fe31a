"""Domain actions on meetings: schedule, edit (reschedule), delete, set outcome, timelines.

Operations change state and flush; the caller commits. Messages to attendees are written
as outbox rows in the same transaction (webapp.delivery), so saving and sending are atomic.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from webapp.auth.models import Account, User
from webapp.delivery import operations as delivery
from webapp.extensions import db
from webapp.meetings.models import (
    LOCATION_KINDS,
    REMINDER_UNITS,
    Attendee,
    Meeting,
    MeetingAssociation,
    MeetingSubmission,
    MeetingType,
    Reminder,
)
from webapp.meetings.outcomes import catalog
from webapp.meetings.timemath import MAX_OFFSET, reminder_due
from webapp.records import operations as record_ops
from webapp.records.models import RECORD_MODELS, Contact
from webapp.richtext import MAX_LENGTH, sanitize
from webapp.rotations import operations as rotation_ops
from webapp.types import utcnow
from webapp.validation import is_valid_email, is_valid_timezone, normalize_phone

MAX_REMINDERS = 3
UNIT_WORDS = {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days"),
              "weeks": _l("weeks")}
MAX_DURATION = timedelta(days=7)


def unit_phrase(amount: int, unit: str) -> str:
    """"1 hour", "3 days": an offset with its plural right, in the current language."""
    phrases = {"minutes": lambda n: ngettext("%(num)d minute", "%(num)d minutes", n),
               "hours": lambda n: ngettext("%(num)d hour", "%(num)d hours", n),
               "days": lambda n: ngettext("%(num)d day", "%(num)d days", n),
               "weeks": lambda n: ngettext("%(num)d week", "%(num)d weeks", n)}
    return phrases[unit](amount)
MAX_ATTENDEES = 100


@dataclasses.dataclass
class MeetingInput:
    """What the scheduler (form, API or mobile) asks for, already typed."""

    title: str
    start: datetime | None
    end: datetime | None
    timezone: str
    location_kind: str = "none"
    location_value: str | None = None
    meeting_type_id: int | None = None
    description_html: str = ""
    internal_note_html: str = ""
    include_description_in_reminders: bool = False
    #: ("contact" | "user", id)
    attendees: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    #: (amount, unit)
    reminders: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    #: The account's default reminders the form was opened with (new meetings, S7). One of
    #: them that would already be due is left out (named in `skipped_reminders`) instead
    #: of refused: a meeting booked for later today keeps its form's defaults.
    default_reminders: frozenset[tuple[int, str]] = frozenset()
    skipped_reminders: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    #: (record_type, id)
    associations: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    host_id: int | None = None
    #: B2: book through this meeting rotation (new meetings only).
    rotation_id: int | None = None
    #: The member the scheduler suggested; a host equal to it (or none) is picked again at
    #: save, any other host is an override that must be an available member.
    suggested_host_id: int | None = None
    #: With location_kind "video": "jitsi", "zoom", "google_meet" or "app:<id>".
    video_provider: str | None = None
    #: Contact rows validate() found for the attendees, reused to write them (one query).
    found_contacts: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)


Errors = dict[str, list[str]]


def _err(errors: Errors, field: str, message) -> None:
    errors.setdefault(field, []).append(str(message))


def active_meeting_types(account_id: int) -> list[MeetingType]:
    return list(db.session.scalars(sa.select(MeetingType).where(
        MeetingType.account_id == account_id, MeetingType.active).order_by(MeetingType.name)))


def validate(account: Account, actor: User, data: MeetingInput,
             existing: Meeting | None = None) -> Errors:
    """Domain checks: every error names its field. Normalizes data in place."""
    errors: Errors = {}
    data.title = (data.title or "").strip()
    if not data.title:
        _err(errors, "title", _l("Enter a title."))
    elif len(data.title) > 200:
        _err(errors, "title", _l("Keep the title under 200 characters."))
    if not is_valid_timezone(data.timezone):
        _err(errors, "timezone", _l("Choose a time zone from the list."))
    if data.start is None:
        _err(errors, "start", _l("Enter a start date and time."))
    if data.end is None:
        _err(errors, "end", _l("Enter an end time."))
    if data.start and data.end:
        if data.end <= data.start:
            _err(errors, "end", _l("The end must be after the start."))
        elif data.end - data.start > MAX_DURATION:
            _err(errors, "end", _l("A meeting can last at most 7 days."))

    if data.location_kind not in LOCATION_KINDS:
        _err(errors, "location_kind", _l("Choose a location type from the list."))
    value = (data.location_value or "").strip() or None
    if data.location_kind in ("none", "video"):
        value = None  # a video meeting's location is its join link (webapp.conferencing)
    elif data.location_kind in ("phone", "in_person", "custom") and not value:
        _err(errors, "location_value", _l("Enter the location details."))
    elif value and len(value) > 500:
        _err(errors, "location_value", _l("Keep the location under 500 characters."))
    elif data.location_kind == "phone" and value:
        try:
            value = normalize_phone(value)
        except ValueError as exc:
            _err(errors, "location_value", exc)
    data.location_value = value

    if data.meeting_type_id is not None:
        if not account.custom_meeting_types_enabled:
            data.meeting_type_id = None
        else:
            allowed = {t.id for t in active_meeting_types(account.id)}
            if existing is not None and existing.meeting_type_id:
                allowed.add(existing.meeting_type_id)
            if data.meeting_type_id not in allowed:
                _err(errors, "meeting_type_id", _l("Choose a meeting type from the list."))

    for name in ("description_html", "internal_note_html"):
        if len(getattr(data, name) or "") > MAX_LENGTH:
            _err(errors, name, _l("This text is too long (at most 20,000 characters)."))
        setattr(data, name, sanitize(getattr(data, name)))

    if len(data.reminders) > MAX_REMINDERS:
        _err(errors, "reminders", _l("You can add at most three reminders."))
    seen = set()
    for amount, unit in data.reminders:
        if unit not in REMINDER_UNITS:
            _err(errors, "reminders", _l("Choose minutes, hours, days or weeks."))
        elif not isinstance(amount, int) or amount <= 0:
            _err(errors, "reminders", _l("A reminder needs a whole number above zero."))
        elif amount > MAX_OFFSET[unit]:
            _err(errors, "reminders", _l("A reminder can be at most a year before the meeting."))
        elif data.start and not errors.get("timezone"):
            due = reminder_due(data.start, amount, unit, data.timezone)
            if due <= utcnow() and (amount, unit) in data.default_reminders:
                data.skipped_reminders.append((amount, unit))
                continue
            if due <= utcnow():
                _err(errors, "reminders", _l(
                    "The reminder %(offset)s before would be in the past. "
                    "Choose a shorter time or a later meeting.",
                    offset=unit_phrase(amount, unit)))
            if due in seen:
                _err(errors, "reminders", _l("Two reminders fall at the same time."))
            seen.add(due)
    data.reminders = [r for r in data.reminders if r not in data.skipped_reminders]

    if len(data.attendees) > MAX_ATTENDEES:
        _err(errors, "attendees", _l("At most 100 attendees."))
    _check_people(account, data, errors)
    _check_records(account, data, errors)
    if existing is None and data.rotation_id is not None:
        rotation_ops.check_booking(account, actor, data, errors)
    elif existing is not None:
        data.rotation_id = None  # chosen when booking; an edit changes the host instead
    _check_host(account, actor, data, errors, existing)
    if data.location_kind == "video" and not errors.get("host_id"):
        _check_video(actor, data, errors, existing)
    return errors


def _check_video(actor: User, data: MeetingInput, errors: Errors,
                 existing: Meeting | None) -> None:
    """The host's provider choice, and S16 (same email at the provider), before saving."""
    from webapp.conferencing import operations as conferencing
    current = existing.conference_provider if existing is not None and \
        existing.location_kind == "video" else None
    data.video_provider = data.video_provider or current
    host = db.session.get(User, data.host_id) if data.host_id else actor
    message = conferencing.check_choice(host, data.video_provider, current)
    if message:
        _err(errors, "video_provider", message)


def _check_people(account: Account, data: MeetingInput, errors: Errors) -> None:
    contact_ids = {i for kind, i in data.attendees if kind == "contact"}
    user_ids = {i for kind, i in data.attendees if kind == "user"}
    if any(kind not in ("contact", "user") for kind, _ in data.attendees):
        _err(errors, "attendees", _l("Choose attendees from the list."))
        return
    data.found_contacts = {c.id: c for c in db.session.scalars(sa.select(Contact).where(
        Contact.account_id == account.id, Contact.id.in_(contact_ids)))} if contact_ids else {}
    found_contacts = set(data.found_contacts)
    found_users = set(db.session.scalars(sa.select(User.id).where(
        User.account_id == account.id, User.id.in_(user_ids)))) if user_ids else set()
    if found_contacts != contact_ids or found_users != user_ids:
        _err(errors, "attendees", _l("One of the attendees does not exist in this account."))
    data.attendees = list(dict.fromkeys(data.attendees))


def _check_records(account: Account, data: MeetingInput, errors: Errors) -> None:
    if data.associations and not set(data.associations) <= record_ops.existing_refs(
            account.id, data.associations):
        _err(errors, "associations", _l("One of the associated records does not exist."))
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
        _err(errors, "host_id", _l("Choose a host from your account."))
    elif not actor.has_paid_seat or not host.has_paid_seat:
        _err(errors, "host_id", _l("Only users with a paid seat can book for another "
                                   "seated user."))


#: What an attendee row copies from its contact.
_ATTENDEE_FIELDS = frozenset({"id", "first_name", "last_name", "email"})


def _attendee_rows(account: Account, data: MeetingInput) -> list[dict]:
    """Column values of the attendee rows for data.attendees (meeting_id not set)."""
    contact_ids = [i for kind, i in data.attendees if kind == "contact"]
    user_ids = [i for kind, i in data.attendees if kind == "user"]
    # Reused only while still loaded: a commit since validate() expires them. (Not
    # `expired_attributes`: it also lists relationships never loaded, such as company, so
    # every save loaded the contacts a second time.)
    contacts = {i: c for i, c in data.found_contacts.items() if i in contact_ids
                and not sa.inspect(c).detached and not sa.inspect(c).unloaded & _ATTENDEE_FIELDS}
    missing = [i for i in contact_ids if i not in contacts]
    if missing:
        contacts.update({c.id: c for c in db.session.scalars(sa.select(Contact).where(
            Contact.account_id == account.id, Contact.id.in_(missing)))})
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.account_id == account.id, User.id.in_(user_ids)))} if user_ids else {}
    rows = []
    for kind, ident in data.attendees:
        if kind == "contact":
            c = contacts[ident]
            rows.append({"contact_id": c.id, "user_id": None, "name": c.display_name,
                         "email": c.email if is_valid_email(c.email) else None})
        else:
            u = users[ident]
            rows.append({"contact_id": None, "user_id": u.id, "name": u.name,
                         "email": u.email})
    for row in rows:
        row.update(response="needs_action", responded_at=None)
    return rows


def _reminder_rows(meeting: Meeting, pairs: list[tuple[int, str]]) -> list[dict]:
    return [{"amount": a, "unit": u, "sent_at": None,
             "due_at": reminder_due(meeting.start_at, a, u, meeting.timezone)}
            for a, u in pairs]


#: What tells a new meeting's rows of one kind apart (its unique constraints; reminders at
#: the same offset are refused by validate()).
_ROW_KEYS = {Attendee: ("contact_id", "user_id"), Reminder: ("amount", "unit"),
             MeetingAssociation: ("record_type", "record_id")}


def _insert_children(meeting: Meeting, model, rows: list[dict]) -> list:
    """Write a new meeting's rows of one kind with a single INSERT, without the unit of
    work, and give them to the session as loaded objects (the meeting's collection).

    The unit of work's bookkeeping for a meeting's attendees, reminders and associations
    was about a quarter of a save's Python (docs/PERFORMANCE.md, saving a meeting). Every
    column is given, so nothing is read back: a column added to the model without a value
    here fails at once instead of costing a query per row.
    """
    if not rows:
        return []
    table, keys = model.__table__, _ROW_KEYS[model]
    rows = [{**row, "meeting_id": meeting.id} for row in rows]
    missing = set(table.columns.keys()) - {"id"} - set(rows[0])
    if missing:
        raise ValueError(f"{table.name}: no value for {sorted(missing)}")
    # Ids are matched by key, not by position: asking for RETURNING in the rows' order
    # costs SQLite one INSERT per row. The connection, not session.execute(): rows of a
    # new meeting are no reason to drop every cached page (webapp.pagecache); the
    # meeting's own row already marks its account changed.
    returned = db.session.connection().execute(
        sa.insert(table).returning(table.c.id, *(table.c[k] for k in keys)), rows)
    ids = {tuple(found[1:]): found[0] for found in returned}
    objects = []
    for row in rows:
        obj = model(id=ids[tuple(row[k] for k in keys)], **row)
        so.make_transient_to_detached(obj)  # as if loaded: nothing for a flush to write
        db.session.add(obj)
        so.attributes.set_committed_value(obj, "meeting", meeting)
        objects.append(obj)
    db.session.info.setdefault(_WRITTEN, []).extend(objects)
    return objects


#: Objects _insert_children() put in the session, until its transaction ends.
_WRITTEN = "parley_meeting_rows_written"


def _forget_written_rows(session) -> None:
    """A rollback undoes the rows: their objects leave the session, as a flush's new
    objects do, keeping their values (the phone flow's preview reads them after its dry
    run). Left in, they would be stale, and SQLite gives the ids out again: the save that
    follows in the same session could not add its own rows."""
    for obj in session.info.pop(_WRITTEN, ()):
        if obj in session:
            session.expunge(obj)


# after_rollback comes before the session expires what it holds (its values are kept).
sa.event.listen(db.session, "after_rollback", _forget_written_rows)
sa.event.listen(db.session, "after_commit", lambda session: session.info.pop(_WRITTEN, None))


def _wanted_associations(data: MeetingInput) -> list[tuple[str, int]]:
    # The meeting is logged on each contact attendee's timeline too.
    return list(dict.fromkeys(list(data.associations) + [
        ("contact", i) for kind, i in data.attendees if kind == "contact"]))


def _sync_associations(meeting: Meeting, data: MeetingInput) -> None:
    wanted = _wanted_associations(data)
    current = {(a.record_type, a.record_id): a for a in meeting.associations}
    for key, assoc in current.items():
        if key not in wanted:
            meeting.associations.remove(assoc)
    for record_type, record_id in wanted:
        if (record_type, record_id) not in current:
            meeting.associations.append(MeetingAssociation(
                account_id=meeting.account_id, record_type=record_type, record_id=record_id))


def schedule_meeting(account: Account, organizer: User, data: MeetingInput, *,
                     dry_run: bool = False) -> Meeting:
    """Create a validated meeting, its attendees, reminders, associations and invitations.

    Through a rotation, the host is picked again under the rotation's lock; raises
    rotations.operations.RotationError when that is no longer possible (nothing is kept).
    dry_run: the caller will roll back, so no video provider is called (the conference
    would outlive the rollback); everything else is done as for real.
    """
    if data.rotation_id is not None:
        data.host_id = rotation_ops.book(account, data).user_id
    attendees = _attendee_rows(account, data)
    meeting = Meeting(
        account_id=account.id, title=data.title, start_at=data.start, end_at=data.end,
        timezone=data.timezone, location_kind=data.location_kind,
        location_value=data.location_value, meeting_type_id=data.meeting_type_id,
        description_html=data.description_html, internal_note_html=data.internal_note_html,
        include_description_in_reminders=data.include_description_in_reminders,
        host_id=data.host_id or organizer.id, organizer_id=organizer.id, sequence=0,
        outcome="scheduled", rotation_id=data.rotation_id)
    db.session.add(meeting)
    db.session.flush()
    # Its rows are then written one INSERT per kind and become its loaded collections.
    for name, model, rows in (
            ("attendees", Attendee, attendees),
            ("reminders", Reminder, _reminder_rows(meeting, data.reminders)),
            ("associations", MeetingAssociation, [
                {"account_id": account.id, "record_type": t, "record_id": i}
                for t, i in _wanted_associations(data)])):
        so.attributes.set_committed_value(meeting, name, _insert_children(meeting, model, rows))
    _conferencing().on_schedule(meeting, data.video_provider, dry_run=dry_run)
    delivery.queue_invitations(meeting, "invite", new_meeting=True)
    _calendar_sync(meeting, "upsert", new_meeting=True)
    return meeting


#: Changes attendees must see: they raise SEQUENCE and send an update (O4).
VISIBLE_FIELDS = ("title", "start_at", "end_at", "location_kind", "location_value",
                  "description_html")


def edit_meeting(account: Account, actor: User, meeting: Meeting, data: MeetingInput, *,
                 dry_run: bool = False) -> dict:
    """Apply a validated edit. Returns what changed for attendees.

    A change of time, place, title or description raises SEQUENCE and sends an update to
    every recipient; removed attendees get a cancellation, new ones an invitation;
    reminders follow the new time. dry_run: as for schedule_meeting().
    """
    before = {f: getattr(meeting, f) for f in VISIBLE_FIELDS}
    old_recipients = {r.email: r for r in delivery.recipients(meeting)}
    meeting.title = data.title
    meeting.start_at, meeting.end_at, meeting.timezone = data.start, data.end, data.timezone
    meeting.location_kind, meeting.location_value = data.location_kind, data.location_value
    meeting.meeting_type_id = data.meeting_type_id
    meeting.description_html = data.description_html
    meeting.internal_note_html = data.internal_note_html
    meeting.include_description_in_reminders = data.include_description_in_reminders
    if data.host_id:
        rotation_ops.move(meeting, data.host_id)
    meeting.host_id = data.host_id or meeting.host_id

    wanted = list(data.attendees)
    existing = {("contact", a.contact_id) if a.contact_id else ("user", a.user_id): a
                for a in meeting.attendees}
    for key, attendee in existing.items():
        if key not in wanted:
            meeting.attendees.remove(attendee)
    new_keys = [k for k in wanted if k not in existing]
    if new_keys:
        meeting.attendees.extend(Attendee(**row) for row in _attendee_rows(
            account, dataclasses.replace(data, attendees=new_keys)))

    # Unsent reminders are replaced; sent ones stay as history.
    for reminder in [r for r in meeting.reminders if r.sent_at is None]:
        meeting.reminders.remove(reminder)
    meeting.reminders.extend(Reminder(**row) for row in _reminder_rows(meeting,
                                                                       data.reminders))
    _sync_associations(meeting, data)
    db.session.flush()
    _conferencing().on_edit(meeting, data.video_provider, timing_changed=any(
        before[f] != getattr(meeting, f) for f in ("title", "start_at", "end_at")),
        dry_run=dry_run)

    changed = [f for f in VISIBLE_FIELDS if before[f] != getattr(meeting, f)]
    new_recipients = {r.email: r for r in delivery.recipients(meeting)}
    # Their attendee rows are gone: the cancellation names the address only.
    removed = [dataclasses.replace(r, attendee_id=None)
               for e, r in old_recipients.items() if e not in new_recipients]
    added = [r for e, r in new_recipients.items() if e not in old_recipients]
    if changed or removed:
        meeting.sequence += 1
        db.session.flush()
    if removed:
        delivery.queue_invitations(meeting, "cancel", removed)
    if changed:
        delivery.queue_invitations(meeting, "update")
    elif added:
        delivery.queue_invitations(meeting, "invite", added)
    if changed or removed or added:
        _calendar_sync(meeting, "upsert")
    return {"changed": changed, "added": [r.email for r in added],
            "removed": [r.email for r in removed]}


# --- Idempotent confirmation (the phone flow's "Continue and send") ---------------------

class DuplicateSubmission(Exception):
    """Another save with the same idempotency key exists (it committed while we waited)."""


def new_submission_key() -> str:
    """A fresh idempotency key for one confirmation page."""
    return secrets.token_urlsafe(24)


def submission_key(value: str | None) -> str | None:
    """The key as posted, or None when it is missing or not one new_submission_key() made."""
    value = (value or "").strip()
    if 16 <= len(value) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_")
                                      for c in value):
        return value
    return None


def submitted_meeting(account_id: int, user_id: int, key: str) -> Meeting | None:
    """The meeting an earlier save with this key made, deleted or not; None if none did."""
    return db.session.scalar(
        sa.select(Meeting).join(MeetingSubmission, MeetingSubmission.meeting_id == Meeting.id)
        .where(MeetingSubmission.account_id == account_id,
               MeetingSubmission.user_id == user_id, MeetingSubmission.key == key,
               Meeting.account_id == account_id))


def claim_submission(account_id: int, user_id: int, key: str) -> MeetingSubmission:
    """Record the key before anything is saved (flush; the caller commits).

    On PostgreSQL a concurrent save with the same key waits here on the unique constraint
    until the first commits (SQLite serialises writers), then fails: DuplicateSubmission,
    raised before the second save made a conference or wrote an invitation. The caller
    rolls back and shows submitted_meeting(). The session is unusable until that rollback.
    """
    row = MeetingSubmission(account_id=account_id, user_id=user_id, key=key)
    db.session.add(row)
    try:
        db.session.flush()
    except sa.exc.IntegrityError as exc:
        raise DuplicateSubmission(key) from exc
    return row


def delete_meeting(meeting: Meeting, actor: User) -> None:
    """Remove the meeting from timelines and send every recipient a cancellation."""
    if meeting.deleted_at is not None:
        return
    meeting.deleted_at = utcnow()
    meeting.sequence += 1
    rotation_ops.unbook(meeting)
    for reminder in [r for r in meeting.reminders if r.sent_at is None]:
        meeting.reminders.remove(reminder)
    db.session.flush()
    _conferencing().on_delete(meeting)
    delivery.queue_invitations(meeting, "cancel")
    _calendar_sync(meeting, "delete")


def _conferencing():
    """The video conference follows the meeting (webapp.conferencing)."""
    from webapp.conferencing import operations as conferencing
    return conferencing


def _calendar_sync(meeting: Meeting, action: str, new_meeting: bool = False) -> None:
    """The host's connected calendar follows the meeting (O4), through a sync job."""
    from webapp.calendars import operations as calendar_ops
    calendar_ops.queue_sync(meeting, action, new_meeting=new_meeting)


def outcome_choices(account_id: int) -> list[tuple[str, str]]:
    """(key, label) of the outcomes a meeting can be given, in the account's order."""
    return catalog(account_id).items()


def set_outcome(meeting: Meeting, outcome: str) -> bool:
    """Set the outcome; False when it is not one the account offers. Keeping a retired
    outcome the meeting already has is allowed (nothing changes)."""
    if outcome != meeting.outcome and not catalog(meeting.account_id).is_offered(outcome):
        return False
    meeting.outcome = outcome
    db.session.flush()
    return True


def get_meeting(account_id: int, meeting_id: int, include_deleted: bool = False):
    """The meeting if it belongs to the account, else None."""
    stmt = sa.select(Meeting).where(Meeting.id == meeting_id, Meeting.account_id == account_id)
    if not include_deleted:
        stmt = stmt.where(Meeting.deleted_at.is_(None))
    return db.session.scalar(stmt)


def _with_people(stmt):
    return stmt.options(so.selectinload(Meeting.attendees),
                        so.joinedload(Meeting.host), so.joinedload(Meeting.organizer),
                        so.joinedload(Meeting.meeting_type))


def timeline_meetings(account_id: int, record_type: str, record_id: int,
                      limit: int = 20, offset: int = 0) -> list[Meeting]:
    """Meetings associated with a record, newest start first, people loaded in bulk."""
    stmt = (sa.select(Meeting)
            .join(MeetingAssociation, MeetingAssociation.meeting_id == Meeting.id)
            .where(MeetingAssociation.account_id == account_id,
                   MeetingAssociation.record_type == record_type,
                   MeetingAssociation.record_id == record_id,
                   Meeting.account_id == account_id, Meeting.deleted_at.is_(None))
            .order_by(Meeting.start_at.desc(), Meeting.id.desc()).limit(limit).offset(offset))
    return list(db.session.scalars(_with_people(stmt)).unique())


def count_timeline(account_id: int, record_type: str, record_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(MeetingAssociation.id))
        .join(Meeting, Meeting.id == MeetingAssociation.meeting_id)
        .where(MeetingAssociation.account_id == account_id,
               MeetingAssociation.record_type == record_type,
               MeetingAssociation.record_id == record_id, Meeting.deleted_at.is_(None)))


def host_meetings(account_id: int, host_id: int, start: datetime, end: datetime) -> list:
    """The host's meetings overlapping [start, end), hosting or attending, as rows of
    (id, title, start_at, end_at): what a calendar draws, without loading whole meetings.

    No meeting lasts more than MAX_DURATION, so its start is bounded on both sides and
    each branch is an index range (ix_meetings_host_start, ix_attendees_user_id): the
    cost follows the week's meetings, not the host's history (docs/PERFORMANCE.md).
    """
    since = start - MAX_DURATION
    hosting = sa.select(Meeting.id).where(
        Meeting.account_id == account_id, Meeting.host_id == host_id,
        Meeting.start_at > since, Meeting.start_at < end)
    attending = sa.select(Attendee.meeting_id).join(Meeting, Meeting.id == Attendee.meeting_id) \
        .where(Attendee.user_id == host_id, Meeting.account_id == account_id,
               Meeting.start_at > since, Meeting.start_at < end)
    stmt = sa.select(Meeting.id, Meeting.title, Meeting.start_at, Meeting.end_at).where(
        Meeting.account_id == account_id, Meeting.deleted_at.is_(None),
        Meeting.start_at < end, Meeting.end_at > start,
        Meeting.id.in_(sa.union(hosting, attending))).order_by(Meeting.start_at)
    return list(db.session.execute(stmt))


def user_feed_meetings(user: User, since: datetime) -> list[Meeting]:
    """Meetings for a user's private calendar feed (hosting or attending), cancelled included."""
    attending = sa.select(Attendee.meeting_id).where(Attendee.user_id == user.id)
    stmt = sa.select(Meeting).where(
        Meeting.account_id == user.account_id, Meeting.end_at >= since,
        sa.or_(Meeting.host_id == user.id, Meeting.id.in_(attending))).order_by(Meeting.start_at)
    return list(db.session.scalars(_with_people(stmt)).unique())


def reset_feed_token(user: User) -> str:
    """A new private feed address for user; returns its secret, which is not stored."""
    from webapp.auth.models import feed_token_hash
    token = secrets.token_urlsafe(32)
    user.feed_token = feed_token_hash(token)
    db.session.flush()
    return token


def add_attachments(meeting: Meeting, user: User, uploads) -> None:
    """Store internal-only files for the meeting (never sent to attendees)."""
    import os
    import uuid

    from flask import current_app

    from webapp.meetings.models import Attachment

    folder = current_app.config["UPLOAD_DIR"]
    os.makedirs(folder, exist_ok=True)
    stored = []
    for upload in uploads:
        key = uuid.uuid4().hex
        meeting.attachments.append(Attachment(
            account_id=meeting.account_id, filename=upload.filename,
            content_type=upload.content_type, size=len(upload.data), storage_key=key,
            uploaded_by_id=user.id))
        stored.append((key, upload.data))
    # The rows first: a row the database refuses leaves no file behind on disk.
    db.session.flush()
    for key, data in stored:
        with open(os.path.join(folder, key), "wb") as fh:
            fh.write(data)


def people_labels(account_id: int, pairs: list[tuple[str, int]]) -> list[dict]:
    """Chips for selected attendees: value, label, and whether they can be invited."""
    contact_ids = [i for k, i in pairs if k == "contact"]
    user_ids = [i for k, i in pairs if k == "user"]
    contacts = {c.id: c for c in db.session.scalars(sa.select(Contact).where(
        Contact.account_id == account_id, Contact.id.in_(contact_ids)))} if contact_ids else {}
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.account_id == account_id, User.id.in_(user_ids)))} if user_ids else {}
    chips = []
    for kind, ident in pairs:
        if kind == "contact" and ident in contacts:
            c = contacts[ident]
            chips.append({"value": f"contact:{c.id}", "label": c.display_name,
                          "detail": c.email or "", "invitable": is_valid_email(c.email),
                          "zone": c.timezone})
        elif kind == "user" and ident in users:
            u = users[ident]
            chips.append({"value": f"user:{u.id}", "label": u.name, "detail": u.email,
                          "invitable": True, "zone": u.zone})
    return chips


def record_labels(account_id: int, pairs: list[tuple[str, int]]) -> list[dict]:
    """Chips for selected associations: one query per record type, not per record."""
    found = {}
    for record_type, ids in record_ops.ids_by_type(pairs).items():
        model = RECORD_MODELS[record_type]
        for record in db.session.scalars(sa.select(model).where(
                model.account_id == account_id, model.id.in_(ids))):
            found[(record_type, record.id)] = record
    return [{"value": f"{t}:{i}", "label": found[(t, i)].display_name, "type": t}
            for t, i in pairs if (t, i) in found]


def default_associations(account_id: int, record) -> list[tuple[str, int]]:
    """S11 defaults: the record itself and the companies it is associated with."""
    pairs = [record.ref]
    linked = record_ops.associations(account_id, record)
    pairs += [c.ref for c in linked.get("company", [])][:3]
    return pairs


def search_people(account_id: int, q: str, limit: int = 10) -> list[dict]:
    """Contacts and users of the account matching q, for the attendee type-ahead."""
    contacts, _total = record_ops.search_records(account_id, "contact", q, 1, limit)
    needle = q.strip().lower()
    users = db.session.scalars(sa.select(User).where(
        User.account_id == account_id,
        sa.or_(sa.func.lower(User.name).contains(needle, autoescape=True),
               sa.func.lower(User.email).contains(needle, autoescape=True)))
        .order_by(User.name).limit(limit))
    chips = people_labels(account_id, [c.ref for c in contacts])
    chips += [{"value": f"user:{u.id}", "label": u.name, "detail": u.email, "invitable": True,
               "zone": u.zone, "is_user": True} for u in users]
    return chips


def hosts_for(account: Account, actor: User) -> list[User]:
    """Who the actor may choose as host: themselves, and with a paid seat, seated users of
    the account (B1). Parley's own calendar counts as connected."""
    if not actor.has_paid_seat:
        return [actor]
    from webapp.auth.models import SeatKind
    users = list(db.session.scalars(
        sa.select(User).join(SeatKind, SeatKind.id == User.seat_kind_id)
        .where(User.account_id == account.id, SeatKind.is_paid).order_by(User.name)))
    return users if actor in users else [actor, *users]
