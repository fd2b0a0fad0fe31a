"""The outbox (request side): who receives a meeting's messages, and the rows that say
what to send, written in the transaction that changes the meeting (flush only).

Reliability rules (docs/RELIABILITY.md): rows are written with the change; the relay hands
them to the queue after the commit and again later if the queue lost them
(webapp.delivery.sending); the database is the truth.
"""

from __future__ import annotations

import dataclasses
import hashlib

import sqlalchemy as sa

from webapp import tasks
from webapp.calendars import connections as calendar_connections
from webapp.delivery.models import OUTBOX_TASKS, OutboxMessage
from webapp.extensions import db
from webapp.types import utcnow


@dataclasses.dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    attendee_id: int | None
    #: "contact", "user" or "host".
    role: str
    response: str = "needs_action"


def recipients(meeting) -> list[Recipient]:
    """Who receives the meeting's invitations: attendee contacts with a valid email,
    attendee users, and the host when someone else organized it."""
    out: dict[str, Recipient] = {}
    for attendee in meeting.attendees:
        if not attendee.email:
            continue
        key = attendee.email.lower()
        out.setdefault(key, Recipient(attendee.email, attendee.name, attendee.id,
                                      "contact" if attendee.contact_id else "user",
                                      attendee.response))
    if meeting.host_id != meeting.organizer_id:
        host = meeting.host
        out.setdefault(host.email.lower(), Recipient(host.email, host.name, None, "host"))
    return list(out.values())


def not_invited(meeting) -> list[str]:
    """Names of contact attendees without a valid email (S13)."""
    return [a.name for a in meeting.attendees if not a.email]


def _dedupe_key(meeting_id: int, email: str, kind: str, sequence: int,
                reminder_id: int | None = None) -> str:
    suffix = f"r{reminder_id}" if reminder_id else str(sequence)
    return f"{meeting_id}:{email.lower()}:{kind}:{suffix}"


def _existing_keys(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(db.session.scalars(sa.select(OutboxMessage.dedupe_key)
                                  .where(OutboxMessage.dedupe_key.in_(keys))))


def queue_invitations(meeting, kind: str, to: list[Recipient] | None = None,
                      new_meeting: bool = False, guest_changes: dict | None = None) -> int:
    """Write outbox rows for kind (invite, update, cancel) at the meeting's sequence.
    new_meeting: created in this transaction, so none of its rows can exist yet.
    guest_changes: for an update, who was added to and removed from the guest list
    ({"added": [names], "removed": [names]}), which its email names."""
    if calendar_connections.provider_mails_attendees(meeting.host_id):
        return 0  # Microsoft Graph mails the attendees itself: one invitation each (X6, 8)
    targets = recipients(meeting) if to is None else to
    return _queue(meeting, kind, targets, None, new_meeting, guest_changes)


def queue_reminder(meeting, targets: list[Recipient], reminder_id: int) -> int:
    """Outbox rows for one due reminder (the reminder sweep)."""
    return _queue(meeting, "reminder", targets, reminder_id)


def withdraw_unsent(meeting, emails: list[str], reason: str) -> set[str]:
    """Withdraw the invitations and updates to these addresses that have not gone out
    (pending rows become skipped, with reason), and return the addresses that have
    received nothing about the meeting, nor are being sent anything: they must not be
    sent a cancellation or an "updated" invitation about an event they never saw.

    A row a worker has claimed (sending) counts as received: the conditional UPDATE
    here and the worker's claim (webapp.tasks.claim) take the same rows, so exactly one
    of them wins each row."""
    wanted = {e.lower() for e in emails}
    if not wanted:
        return set()
    lower = sa.func.lower(OutboxMessage.recipient_email)
    mine = sa.and_(OutboxMessage.meeting_id == meeting.id,
                   OutboxMessage.kind.in_(("invite", "update")), lower.in_(wanted))
    db.session.execute(sa.update(OutboxMessage).where(mine, OutboxMessage.status == "pending")
                       .values(status="skipped", last_error=reason)
                       .execution_options(synchronize_session=False))
    received = set(db.session.scalars(sa.select(lower).where(
        mine, OutboxMessage.status.in_((OUTBOX_TASKS.claimed, "sent")))))
    return wanted - received


def _queue(meeting, kind: str, targets: list[Recipient], reminder_id: int | None,
           new_meeting: bool = False, guest_changes: dict | None = None) -> int:
    if meeting.log_only:
        return 0  # a logged meeting already happened: nothing about it is ever sent
    keys = [_dedupe_key(meeting.id, r.email, kind, meeting.sequence, reminder_id)
            for r in targets]
    existing = set() if new_meeting else _existing_keys(keys)
    now = utcnow()
    rows = [{"account_id": meeting.account_id, "meeting_id": meeting.id,
             "attendee_id": recipient.attendee_id, "reminder_id": reminder_id, "kind": kind,
             "recipient_email": recipient.email, "recipient_name": recipient.name,
             "sequence": meeting.sequence, "dedupe_key": key, "status": "pending",
             "attempts": 0, "next_attempt_at": now, "created_at": now,
             "guest_changes": guest_changes}
            for recipient, key in zip(targets, keys, strict=True) if key not in existing]
    if rows:
        # One INSERT for the rows, without the unit of work: nothing reads them back as
        # objects in this transaction (docs/PERFORMANCE.md, saving a meeting).
        db.session.execute(sa.insert(OutboxMessage), rows)
        db.session.info.setdefault(_WRITTEN, []).extend(rows)
    return len(rows)


#: The outbox rows written in the open transaction, as column values: what a save tells
#: its user it will send (webapp.meetings.pipeline), without reading them back.
_WRITTEN = "parley_outbox_written"


def written() -> list[dict]:
    """The outbox rows written since the transaction began (or since take_written())."""
    return list(db.session.info.get(_WRITTEN, ()))


def take_written() -> list[dict]:
    """written(), and start counting afresh."""
    return db.session.info.pop(_WRITTEN, [])


def _forget_written(session, *_args) -> None:
    session.info.pop(_WRITTEN, None)


sa.event.listen(db.session, "after_commit", _forget_written)
sa.event.listen(db.session, "after_rollback", _forget_written)


def retry(row: OutboxMessage) -> bool:
    """Put a failed message back in the queue (the meeting page's retry action)."""
    if not tasks.retry_now(OUTBOX_TASKS, row):
        return False
    row.enqueued_at = None
    db.session.flush()
    return True


def message_id_for(uid: str, sequence: int, email: str, kind: str, reminder_id=None) -> str:
    """Message-ID unique per (UID, SEQUENCE, recipient, kind); a resend reuses it."""
    digest = hashlib.sha256(f"{uid}|{sequence}|{email.lower()}|{kind}|{reminder_id}"
                            .encode()).hexdigest()[:24]
    return f"<{digest}.{sequence}@parley>"
