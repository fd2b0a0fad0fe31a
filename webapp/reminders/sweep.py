"""The reminder sweep (job side: owns its transactions): due reminder rows become outbox
rows, in batches, safe with many sweepers at once (ix_reminders_unsent_due)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from webapp import tasks
from webapp.delivery import outbox, sending
from webapp.extensions import db
from webapp.meetings.models import Meeting, Reminder
from webapp.types import utcnow

REMINDER_BATCH = 500
RELAY_BATCH = 1000


def queue_due_reminders(limit: int = REMINDER_BATCH) -> int:
    """Turn due, unsent reminder rows into outbox rows. Safe with many sweepers at once."""
    return _queue_due_reminders(limit)[1]


def _queue_due_reminders(limit: int) -> tuple[int, int]:
    """(reminder rows taken, outbox rows written) for one batch of at most limit."""
    now = utcnow()
    stmt = (sa.select(Reminder).where(Reminder.sent_at.is_(None), Reminder.due_at <= now)
            .order_by(Reminder.due_at).limit(limit))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    reminders = list(db.session.scalars(stmt))
    # The batch's meetings and attendees in two queries, not two per reminder.
    meeting_ids = {r.meeting_id for r in reminders}
    meetings = {m.id: m for m in db.session.scalars(
        sa.select(Meeting).where(Meeting.id.in_(meeting_ids))
        .options(sa.orm.selectinload(Meeting.attendees)))} if meeting_ids else {}
    queued = 0
    for reminder in reminders:
        reminder.sent_at = now
        meeting = meetings.get(reminder.meeting_id)
        if meeting is None or meeting.deleted_at is not None or meeting.start_at <= now \
                or meeting.log_only:
            continue
        if reminder.due_at < meeting.created_at - timedelta(minutes=1):
            continue  # its time had passed before the meeting was booked
        targets = [r for r in outbox.recipients(meeting) if r.response != "declined"]
        queued += outbox.queue_reminder(meeting, targets, reminder.id)
    db.session.commit()
    return len(reminders), queued


SWEEP_MAX_BATCHES = 50


def seconds_to_next_reminder(limit: float) -> float:
    """Seconds until the earliest unsent reminder falls due (0 when one is due now), or
    limit when none is due sooner: the worker's sweep sleeps that long, so a reminder goes
    out when it is due rather than up to a sweep interval later (ix_reminders_unsent_due)."""
    now = utcnow()
    due = db.session.scalar(sa.select(sa.func.min(Reminder.due_at)).where(
        Reminder.sent_at.is_(None), Reminder.due_at <= now + timedelta(seconds=limit)))
    db.session.commit()
    if due is None:
        return limit
    return min(limit, max(0.0, (due - now).total_seconds()))


def sweep(interval: float) -> float:
    """The sweep's reminder step: due reminders to the outbox, in batches until a batch
    comes back short (at most SWEEP_MAX_BATCHES), each batch's messages handed to the queue
    at once, so the first reminders of a burst are sent while the sweep is still turning
    the rest into messages. Returns the seconds until the next reminder falls due."""
    for _ in range(SWEEP_MAX_BATCHES):
        took, _queued = _queue_due_reminders(REMINDER_BATCH)
        sending.relay(RELAY_BATCH)
        if took < REMINDER_BATCH:
            break
    return seconds_to_next_reminder(interval)


tasks.register_sweep(10, "reminders", sweep)
