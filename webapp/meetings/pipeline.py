"""The one save pipeline: every entry into saving a meeting (the desktop scheduler, the
phone flow, the JSON API, and next the booking pages and inbound calendar sync) goes
through save() or preview() with a MeetingInput (webapp.meetings.inputs), and turns the
SaveResult into its own response. Request side: it flushes, never commits.

A save runs, in order: the domain checks (webapp.meetings.validation) and the @mention
check; the idempotency key, when the caller has one (webapp.meetings.submissions); the
change itself (webapp.meetings.saving: the meeting, its rows, the outbox rows of what is
owed to attendees, the calendar sync and conference rows); the internal attachments; the
@mention notifications. A refusal found after something was written (the rotation changed
under the booking, the video provider refused the meeting) rolls the transaction back, so
nothing is half-saved; the result then carries the errors, by field.

The caller commits, then calls result.after_commit(): the relay hands the outbox rows to
the queue and the mention emails are queued (commit first, then enqueue).
"""

from __future__ import annotations

import dataclasses

from webapp import jobs
from webapp.auth.models import Account, User
from webapp.conferencing import operations as conferencing
from webapp.conferencing.errors import ConferenceRefused
from webapp.delivery import outbox
from webapp.extensions import db
from webapp.meetings import ical, saving, submissions, validation
from webapp.meetings import operations as meeting_ops
from webapp.meetings.inputs import Errors, MeetingInput
from webapp.meetings.models import Meeting
from webapp.notifications import operations as notifications
from webapp.rotations.operations import RotationError

#: The job that emails one @mention notification.
MENTION_EMAIL_JOB = "worker.jobs.send_notification_email"


@dataclasses.dataclass
class SaveResult:
    """What a save did, or why it did not."""

    #: The saved meeting (None when refused).
    meeting: Meeting | None = None
    #: Field -> messages, when refused (nothing was saved).
    errors: Errors = dataclasses.field(default_factory=dict)
    #: True when this save created the meeting.
    created: bool = False
    #: The messages this save owes attendees: {"kind", "name", "email"} each.
    messages: list[dict] = dataclasses.field(default_factory=list)
    #: Ids of the @mention notifications it made (their emails go after the commit).
    mention_ids: list[int] = dataclasses.field(default_factory=list)
    #: Names of the users those notifications are for.
    mentioned: list[str] = dataclasses.field(default_factory=list)
    #: Contact attendees without a valid email: not invited (S13).
    not_invited: list[str] = dataclasses.field(default_factory=list)
    #: Default reminders left out because they would already be due.
    skipped_reminders: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    #: An edit's changes: {"changed": [...], "added": [...], "removed": [...]}.
    changes: dict = dataclasses.field(default_factory=dict)
    #: An earlier save with the same idempotency key made this meeting (nothing was done
    #: now); None with `duplicate` True when that meeting is not the caller's to see.
    duplicate_of: Meeting | None = None
    duplicate: bool = False
    #: For a preview: the meeting as it would be (read before the rollback).
    summary: dict = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.duplicate and self.meeting is not None

    @property
    def invited(self) -> int:
        """How many people this save sends an invitation or update to."""
        return len({m["email"].lower() for m in self.messages})

    def after_commit(self) -> None:
        """After the caller's commit: hand the outbox to the queue, email the mentions."""
        jobs.request_relay()
        for notification_id in self.mention_ids:
            jobs.enqueue(MENTION_EMAIL_JOB, notification_id)


def save(account: Account, actor: User, data: MeetingInput, meeting: Meeting | None = None,
         *, uploads=(), dry_run: bool = False, key: str | None = None,
         errors: Errors | None = None, source: str | None = None) -> SaveResult:
    """Check and save a new meeting (meeting None) or an edit of `meeting`.

    errors: what the front end already found (malformed fields), refused together with
    the domain's. key: an idempotency key claimed before anything is saved; a save that
    finds it taken does nothing (result.duplicate). dry_run: no video provider is called
    (the caller rolls back; see preview()). source: the calendar provider an inbound
    change came from (webapp.calendars.inbound; edits only).
    """
    errors = {**validation.validate(account, actor, data, existing=meeting), **(errors or {})}
    notifications.check_mentions(account.id, data.internal_note_html, meeting, errors)
    if errors:
        return SaveResult(errors=errors)
    outbox.take_written()  # count this save's messages only
    note_before = meeting.internal_note_html if meeting is not None else ""
    changes: dict = {}
    try:
        submission = submissions.claim_submission(account.id, actor.id, key) if key else None
        if meeting is None:
            meeting = saving.schedule_meeting(account, actor, data, dry_run=dry_run)
            created = True
        else:
            changes = saving.edit_meeting(account, actor, meeting, data, dry_run=dry_run,
                                          source=source)
            created = False
    except submissions.DuplicateSubmission:
        db.session.rollback()  # the first save with this key committed while we waited
        earlier = submissions.submitted_meeting(account.id, actor.id, key)
        return SaveResult(duplicate=True, duplicate_of=earlier)
    except RotationError as exc:  # the rotation changed since the form was checked
        db.session.rollback()
        return SaveResult(errors=exc.errors)
    except ConferenceRefused as exc:
        db.session.rollback()
        return SaveResult(errors={"video_provider": [str(exc)]})
    if uploads:
        meeting_ops.add_attachments(meeting, actor, uploads)
    mentions = notifications.notify_mentions(meeting, actor, note_before)
    if submission is not None:
        submission.meeting_id = meeting.id
    return SaveResult(
        meeting=meeting, created=created,
        messages=[{"kind": r["kind"], "name": r["recipient_name"],
                   "email": r["recipient_email"]} for r in outbox.take_written()],
        mention_ids=[n.id for n in mentions], mentioned=[n.user.name for n in mentions],
        not_invited=outbox.not_invited(meeting), skipped_reminders=data.skipped_reminders,
        changes=changes)


def cancel(account: Account, actor: User, meeting: Meeting, *,
             source: str | None = None) -> SaveResult:
    """Call the meeting off, kept with the outcome Canceled (an event deleted in the
    host's calendar, issue 23): one cancellation to each recipient who was sent it."""
    outbox.take_written()
    saving.cancel_meeting(meeting, actor, source=source)
    return SaveResult(meeting=meeting, messages=[
        {"kind": r["kind"], "name": r["recipient_name"], "email": r["recipient_email"]}
        for r in outbox.take_written()])


def earlier_save(account: Account, actor: User, key: str | None) -> SaveResult | None:
    """The result of an earlier save with this idempotency key, if one committed."""
    if not key:
        return None
    earlier = submissions.submitted_meeting(account.id, actor.id, key)
    return SaveResult(duplicate=True, duplicate_of=earlier) if earlier is not None else None


def preview(account: Account, actor: User, data: MeetingInput,
            meeting: Meeting | None = None, *, errors: Errors | None = None) -> SaveResult:
    """What save() would do, with nothing kept: the same save as a dry run (no video
    provider called, since a rollback cannot take back a conference), read, then rolled
    back. The result's summary holds the meeting as it would be."""
    result = save(account, actor, data, meeting, dry_run=True, errors=errors)
    if result.ok:
        saved = result.meeting
        video = None
        if saved.location_kind == "video":
            # url None: no link yet (always so on a dry run); it comes when sent.
            video = {"provider": conferencing.provider_name(saved),
                     "url": saved.conference_url if saved.conference_status == "ready"
                     else None}
        result.summary = {"title": saved.title, "start": saved.start_at, "end": saved.end_at,
                          "location": ical.location_text(saved), "video": video}
    db.session.rollback()  # nothing saved, nothing sent, no conference made
    return result
