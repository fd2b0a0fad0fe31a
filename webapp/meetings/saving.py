"""Schedule, edit (reschedule) and delete a validated meeting (request side: flush only).

Messages to attendees are written as outbox rows in the same transaction
(webapp.outbox.outbox), so saving and sending are atomic; the host's calendar and the
video conference follow through rows that jobs act on after the commit. The front ends
call these through webapp.meetings.pipeline, never directly.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.auth.models import Account, User
from webapp.calendars import connections as calendar_connections
from webapp.conferencing import operations as conferencing
from webapp.delivery import outbox
from webapp.extensions import db
from webapp.meetings.inputs import MeetingInput
from webapp.meetings.models import (
    Attendee,
    EarlierReply,
    Meeting,
    MeetingAssociation,
    Reminder,
)
from webapp.records.models import Contact
from webapp.reminders import rules as reminder_rules
from webapp.rotations import operations as rotation_ops
from webapp.types import utcnow
from webapp.validation import is_valid_email

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
        row.update(response="needs_action", responded_at=None, response_sequence=None)
    return rows


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
    # costs SQLite one INSERT per row.
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
        hide_guest_list=data.hide_guest_list,
        host_id=data.host_id or organizer.id, organizer_id=organizer.id, sequence=0,
        outcome=data.outcome or ("completed" if data.log_only else "scheduled"),
        rotation_id=data.rotation_id, log_only=data.log_only, source=data.source)
    db.session.add(meeting)
    db.session.flush()
    if data.rotation_id is not None:
        rotation_ops.record_meeting(data, meeting)
    # Its rows are then written one INSERT per kind and become its loaded collections.
    for name, model, rows in (
            ("attendees", Attendee, attendees),
            ("reminders", Reminder, reminder_rules.due_rows(meeting, data.reminders)),
            ("associations", MeetingAssociation, [
                {"account_id": account.id, "record_type": t, "record_id": i}
                for t, i in _wanted_associations(data)])):
        so.attributes.set_committed_value(meeting, name, _insert_children(meeting, model, rows))
    if meeting.log_only:
        return meeting  # it already happened: nothing to send, sync or set up
    conferencing.on_schedule(meeting, data.video_provider, dry_run=dry_run)
    outbox.queue_invitations(meeting, "invite", new_meeting=True)
    _calendar_sync(meeting, "upsert", new_meeting=True)
    return meeting


#: Changes attendees must see: they raise SEQUENCE and send an update (O4).
VISIBLE_FIELDS = ("title", "start_at", "end_at", "location_kind", "location_value",
                  "description_html")


def edit_meeting(account: Account, actor: User, meeting: Meeting, data: MeetingInput, *,
                 dry_run: bool = False, source: str | None = None) -> dict:
    """Apply a validated edit. Returns what changed for attendees.

    A change of time, place, title or description raises SEQUENCE and sends an update to
    every recipient; removed attendees get a cancellation, new ones an invitation; a
    change of attendees sends those who stay an update naming who joined or left, unless
    the meeting hides its guest list (the host's own copy lists everyone anyway);
    reminders follow the new time. dry_run: as for schedule_meeting(). source: the
    calendar provider the change came from (inbound sync, issue 23): a new time makes
    the outcome Rescheduled.
    """
    before = {f: getattr(meeting, f) for f in VISIBLE_FIELDS}
    old_recipients = {r.email: r for r in outbox.recipients(meeting)}
    meeting.title = data.title
    meeting.start_at, meeting.end_at, meeting.timezone = data.start, data.end, data.timezone
    meeting.location_kind, meeting.location_value = data.location_kind, data.location_value
    meeting.meeting_type_id = data.meeting_type_id
    meeting.description_html = data.description_html
    meeting.internal_note_html = data.internal_note_html
    meeting.include_description_in_reminders = data.include_description_in_reminders
    meeting.hide_guest_list = data.hide_guest_list
    if data.outcome is not None:
        meeting.outcome = data.outcome
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
    meeting.reminders.extend(Reminder(**row) for row in reminder_rules.due_rows(meeting, data.reminders))
    _sync_associations(meeting, data)
    db.session.flush()
    if meeting.log_only:
        # Recorded, never sent: no SEQUENCE, update, invitation, cancellation or sync.
        return {"changed": [], "added": [], "removed": []}
    conferencing.on_edit(meeting, data.video_provider, timing_changed=any(
        before[f] != getattr(meeting, f) for f in ("title", "start_at", "end_at")),
        dry_run=dry_run)

    changed = [f for f in VISIBLE_FIELDS if before[f] != getattr(meeting, f)]
    new_recipients = {r.email: r for r in outbox.recipients(meeting)}
    # Their attendee rows are gone: the cancellation names the address only.
    removed = [dataclasses.replace(r, attendee_id=None)
               for e, r in old_recipients.items() if e not in new_recipients]
    added = [r for e, r in new_recipients.items() if e not in old_recipients]
    # The guest list changed: those who stay and see it (every attendee unless the meeting
    # hides it; the host's own copy always lists everyone) get an update naming who was
    # added and who removed, so their calendars list who comes now.
    news = {"added": [r.name for r in added if r.role != "host"],
            "removed": [r.name for r in removed if r.role != "host"]}
    news = news if news["added"] or news["removed"] else None
    sees_list = [r for e, r in new_recipients.items() if e in old_recipients and news
                 and (r.role == "host" or not meeting.hide_guest_list)]
    if changed or removed or sees_list:
        meeting.sequence += 1
        db.session.flush()
    if "start_at" in changed or "end_at" in changed:
        _reset_replies(meeting)
        if source is not None and meeting.outcome == "scheduled":
            meeting.outcome = "rescheduled"
    # Whoever has not been sent the meeting yet gets no cancellation, and no "update":
    # their unsent invitation is withdrawn and the latest version goes as an invitation.
    unseen = outbox.withdraw_unsent(
        meeting, [r.email for r in old_recipients.values()] if changed or removed or sees_list
        else [r.email for r in removed], "Not sent: the meeting changed before it went out.")
    removed = [r for r in removed if r.email.lower() not in unseen]
    if removed:
        outbox.queue_invitations(meeting, "cancel", removed)
    first_time = [r for r in new_recipients.values()
                  if r.email not in old_recipients or r.email.lower() in unseen]
    told = [r for r in new_recipients.values() if r not in first_time] if changed else \
        [r for r in sees_list if r.email.lower() not in unseen]
    # Only those who see the guest list are told who joined or left it.
    for to, guest_changes in (([r for r in told if r in sees_list], news),
                              ([r for r in told if r not in sees_list], None)):
        if to:
            outbox.queue_invitations(meeting, "update", to, guest_changes=guest_changes)
    if first_time and (changed or removed or added):
        outbox.queue_invitations(meeting, "invite", first_time)
    if changed or removed or added:
        _calendar_sync(meeting, "upsert", source=source)
    return {"changed": changed, "added": [r.email for r in added],
            "removed": [r.email for r in removed]}


def _reset_replies(meeting: Meeting) -> None:
    """A change of time asks every attendee again (PARTSTAT NEEDS-ACTION in the update
    and on the meeting page); each answer they had given stays in earlier_replies."""
    now = utcnow()
    for attendee in meeting.attendees:
        if attendee.response != "needs_action":
            meeting.earlier_replies.append(EarlierReply(
                account_id=meeting.account_id, name=attendee.name, email=attendee.email,
                response=attendee.response, responded_at=attendee.responded_at, reset_at=now))
        attendee.response, attendee.responded_at = "needs_action", None
        attendee.response_sequence = meeting.sequence
    db.session.flush()


# --- Idempotent confirmation (the phone flow's "Continue and send") ---------------------

def delete_meeting(meeting: Meeting, actor: User) -> None:
    """Remove the meeting from timelines and send every recipient a cancellation."""
    if meeting.deleted_at is not None:
        return
    meeting.deleted_at = utcnow()
    if meeting.log_only:
        db.session.flush()  # it leaves the timelines; nobody was ever sent it
        return
    _call_off(meeting, "Not sent: the meeting was deleted before it went out.")
    _calendar_sync(meeting, "delete")


def cancel_meeting(meeting: Meeting, actor: User, source: str | None = None) -> None:
    """Call the meeting off but keep it on timelines with the outcome Canceled: every
    recipient who was sent it gets one cancellation. source: the calendar provider where
    the event was deleted (issue 23); its event is then not deleted again."""
    if meeting.deleted_at is not None or meeting.outcome == "canceled":
        return
    meeting.outcome = "canceled"
    _call_off(meeting, "Not sent: the meeting was canceled before it went out.")
    if source is None:
        _calendar_sync(meeting, "delete")


def _call_off(meeting: Meeting, reason: str) -> None:
    meeting.sequence += 1
    rotation_ops.unbook(meeting)
    for reminder in [r for r in meeting.reminders if r.sent_at is None]:
        meeting.reminders.remove(reminder)
    db.session.flush()
    conferencing.on_delete(meeting)
    # Only those who were sent the meeting are told it is cancelled (issue 19).
    targets = outbox.recipients(meeting)
    unseen = outbox.withdraw_unsent(meeting, [r.email for r in targets], reason)
    outbox.queue_invitations(meeting, "cancel",
                             [r for r in targets if r.email.lower() not in unseen])


def _calendar_sync(meeting: Meeting, action: str, new_meeting: bool = False,
                   source: str | None = None) -> None:
    """The host's connected calendar follows the meeting (O4), through a sync job; never
    a logged meeting's."""
    if meeting.log_only:
        return
    calendar_connections.queue_sync(meeting, action, new_meeting=new_meeting, source=source)


def conference_link_changed(meeting: Meeting) -> None:
    """A video link appeared or moved after the save (webapp.conferencing.tasks): it is on
    the meeting now, so attendees get one update (SEQUENCE raised) and the host's calendar
    event follows. The meeting's own policy, whoever changes it."""
    meeting.sequence += 1
    db.session.flush()
    outbox.queue_invitations(meeting, "update")
    _calendar_sync(meeting, "upsert")
