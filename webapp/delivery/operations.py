"""The delivery pipeline: outbox rows, relay to the queue, claimed sends, reminder sweep.

Reliability rules (docs/RELIABILITY.md): rows are written in the transaction that changes
the meeting; the relay enqueues them after the commit and again later if the queue lost
them; a send first claims its row (one conditional UPDATE), so two workers never both
send it; a worker that died mid-send loses its claim after SEND_LEASE_SECONDS; reminders
are rows whose due time the sweep checks, so Redis holds nothing that cannot be rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from webapp.delivery.models import OutboxMessage
from webapp.extensions import db
from webapp.types import utcnow

log = logging.getLogger(__name__)

BACKOFF_BASE = 30
BACKOFF_CAP = 3600


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
                      new_meeting: bool = False) -> int:
    """Write outbox rows for kind (invite, update, cancel) at the meeting's sequence.
    new_meeting: created in this transaction, so none of its rows can exist yet."""
    from webapp.calendars import operations as calendar_ops
    if calendar_ops.provider_mails_attendees(meeting.host_id):
        return 0  # Microsoft Graph mails the attendees itself: one invitation each (X6, 8)
    targets = recipients(meeting) if to is None else to
    return _queue(meeting, kind, targets, None, new_meeting)


def _queue(meeting, kind: str, targets: list[Recipient], reminder_id: int | None,
           new_meeting: bool = False) -> int:
    keys = [_dedupe_key(meeting.id, r.email, kind, meeting.sequence, reminder_id)
            for r in targets]
    existing = set() if new_meeting else _existing_keys(keys)
    now = utcnow()
    rows = [{"account_id": meeting.account_id, "meeting_id": meeting.id,
             "attendee_id": recipient.attendee_id, "reminder_id": reminder_id, "kind": kind,
             "recipient_email": recipient.email, "recipient_name": recipient.name,
             "sequence": meeting.sequence, "dedupe_key": key, "status": "pending",
             "attempts": 0, "next_attempt_at": now, "created_at": now}
            for recipient, key in zip(targets, keys, strict=True) if key not in existing]
    if rows:
        # One INSERT for the rows, without the unit of work: nothing reads them back as
        # objects in this transaction (docs/PERFORMANCE.md, saving a meeting).
        db.session.execute(sa.insert(OutboxMessage), rows)
    return len(rows)


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def relay(limit: int = 1000) -> int:
    """Hand due outbox rows to the queue. Returns how many were enqueued.

    Rows never enqueued, enqueued long ago without being sent (the queue lost them), or
    claimed by a worker whose lease ran out are all picked up.
    """
    from webapp import jobs

    now = utcnow()
    lease = timedelta(seconds=current_app.config["SEND_LEASE_SECONDS"])
    grace = timedelta(seconds=current_app.config["RELAY_GRACE_SECONDS"])
    stmt = (sa.select(OutboxMessage.id).where(sa.or_(
        sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                sa.or_(OutboxMessage.enqueued_at.is_(None),
                       OutboxMessage.enqueued_at < now - grace,
                       OutboxMessage.enqueued_at < OutboxMessage.next_attempt_at)),
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - lease),
    )).order_by(OutboxMessage.id).limit(limit))
    if _is_postgres():
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(stmt))
    if not ids:
        db.session.commit()
        return 0
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                       .values(enqueued_at=now))
    db.session.commit()
    sent = 0
    # In batches: one job (and one mail-server connection) for up to SEND_BATCH messages,
    # instead of one each (docs/PERFORMANCE.md, invitation throughput).
    size = max(1, current_app.config.get("SEND_BATCH", 20))
    for batch in (ids[i:i + size] for i in range(0, len(ids), size)):
        if not jobs.enqueue("worker.jobs.send_messages", *batch):
            # The queue is down: forget the enqueue time so the next sweep tries again.
            db.session.execute(sa.update(OutboxMessage).where(
                OutboxMessage.id.in_(ids[sent:]), OutboxMessage.status == "pending")
                .values(enqueued_at=None))
            db.session.commit()
            break
        sent += len(batch)
    return sent


def claim_many(message_ids: list[int]) -> set[int]:
    """Take the rows for sending that no other worker has: one conditional UPDATE for the
    whole batch, committed before anything is sent. Returns the ids this call won."""
    if not message_ids:
        return set()
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SEND_LEASE_SECONDS"])
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), sa.or_(
            sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
            sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - lease)))
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False))
    won = set(result.scalars())
    db.session.commit()
    return won


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with a cap: 30 s, 60 s, 120 s, ... at most an hour."""
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1)))


def deliver(message_id: int) -> str:
    """Send one outbox row if it can be claimed. Returns the row's final status, or
    "not-claimed" when another worker has it or it is done."""
    return deliver_many([message_id])[0]


def deliver_many(message_ids: list[int]) -> list[str]:
    """Send a batch of outbox rows: claimed together, their meetings loaded together and
    every message built before the first is sent; then each is sent and its status
    committed on its own, so a worker that dies mid-batch re-sends at most the message it
    was sending (the rest come back to the queue when their lease runs out). Returns each
    row's final status, or "not-claimed" for rows another worker has or that are done."""
    won = claim_many(message_ids)
    results = {i: "not-claimed" for i in message_ids}
    if not won:
        return [results[i] for i in message_ids]
    outcomes = _prepare(won)
    for row_id in dict.fromkeys(i for i in message_ids if i in outcomes):  # gone: nothing
        status, values, msg, attempts, account_id = outcomes[row_id]
        if msg is not None:
            status, values = _send(msg, attempts, account_id)
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row_id)
                           .values(status=status, **values)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        results[row_id] = status
    return [results[i] for i in message_ids]


def _prepare(row_ids: set[int]) -> dict[int, tuple]:
    """For each claimed row, (status, columns, message, attempts, account id): "skipped"
    when it must not be sent any more (checked against the meeting as it is now), "failed"
    when its message cannot be built, else the message to send. Three queries for the whole batch,
    and nothing read after the first commit (which would reload every row and meeting)."""
    from webapp.delivery import messages
    from webapp.meetings.models import Attendee, Meeting

    rows = list(db.session.scalars(sa.select(OutboxMessage)
                                   .where(OutboxMessage.id.in_(row_ids))))
    meetings = {m.id: m for m in db.session.scalars(
        sa.select(Meeting).where(Meeting.id.in_({r.meeting_id for r in rows})).options(
            sa.orm.joinedload(Meeting.host), sa.orm.joinedload(Meeting.organizer),
            sa.orm.selectinload(Meeting.attendees).joinedload(Attendee.contact),
            sa.orm.selectinload(Meeting.attendees).joinedload(Attendee.user)))}
    out: dict[int, tuple] = {}
    for row in rows:
        meeting = meetings.get(row.meeting_id)
        skip = messages.skip_reason(row, meeting)
        if skip:
            out[row.id] = ("skipped", {"last_error": skip}, None, row.attempts, row.account_id)
            continue
        try:
            msg = messages.build(row, meeting)
        except Exception as exc:  # a bug, not the mail server: visible, with Retry
            log.exception("could not build outbox message %s", row.id)
            out[row.id] = ("failed", {"last_error": f"Could not build the message: {exc}"
                                      [:2000]}, None, row.attempts, row.account_id)
            continue
        out[row.id] = (None, {}, msg, row.attempts, row.account_id)
    return out


def _send(msg, attempts: int, account_id: int | None = None) -> tuple[str, dict]:
    """Hand msg to the mail server: the row's new status and the columns to write."""
    from webapp.mail.transport import PermanentMailError, TemporaryMailError, send

    values: dict = {"message_id": msg["Message-ID"]}
    try:
        send(msg, account_id)
    except PermanentMailError as exc:
        return "failed", {**values, "last_error": f"Refused by the mail server: {exc}"[:2000]}
    except TemporaryMailError as exc:
        values["last_error"] = f"Mail server unavailable: {exc}"[:2000]
        if attempts >= current_app.config["SEND_MAX_ATTEMPTS"]:
            return "failed", values
        return "pending", {**values, "next_attempt_at": utcnow() + backoff(attempts)}
    return "sent", {**values, "sent_at": utcnow(), "last_error": None}


def retry(row: OutboxMessage) -> bool:
    """Put a failed message back in the queue (the meeting page's retry action)."""
    if row.status != "failed":
        return False
    row.status, row.attempts, row.next_attempt_at, row.enqueued_at = "pending", 0, utcnow(), None
    db.session.flush()
    return True


REMINDER_BATCH = 500
RELAY_BATCH = 1000


def queue_due_reminders(limit: int = REMINDER_BATCH) -> int:
    """Turn due, unsent reminder rows into outbox rows. Safe with many sweepers at once."""
    return _queue_due_reminders(limit)[1]


def _queue_due_reminders(limit: int) -> tuple[int, int]:
    """(reminder rows taken, outbox rows written) for one batch of at most limit."""
    from webapp.meetings.models import Meeting, Reminder

    now = utcnow()
    stmt = (sa.select(Reminder).where(Reminder.sent_at.is_(None), Reminder.due_at <= now)
            .order_by(Reminder.due_at).limit(limit))
    if _is_postgres():
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
        if meeting is None or meeting.deleted_at is not None or meeting.start_at <= now:
            continue
        if reminder.due_at < meeting.created_at - timedelta(minutes=1):
            continue  # its time had passed before the meeting was booked
        targets = [r for r in recipients(meeting) if r.response != "declined"]
        queued += _queue(meeting, "reminder", targets, reminder.id)
    db.session.commit()
    return len(reminders), queued


SWEEP_MAX_BATCHES = 50


def seconds_to_next_reminder(limit: float) -> float:
    """Seconds until the earliest unsent reminder falls due (0 when one is due now), or
    limit when none is due sooner: the worker's sweep sleeps that long, so a reminder goes
    out when it is due rather than up to a sweep interval later (ix_reminders_unsent_due)."""
    from webapp.meetings.models import Reminder

    now = utcnow()
    due = db.session.scalar(sa.select(sa.func.min(Reminder.due_at)).where(
        Reminder.sent_at.is_(None), Reminder.due_at <= now + timedelta(seconds=limit)))
    db.session.commit()
    if due is None:
        return limit
    return min(limit, max(0.0, (due - now).total_seconds()))


def sweep() -> None:
    """The periodic pass: due reminders to the outbox, then the outbox to the queue.

    Each step runs in batches until a batch comes back short (at most SWEEP_MAX_BATCHES),
    so a burst of due reminders goes out in one pass instead of one batch per interval.
    """
    for _ in range(SWEEP_MAX_BATCHES):
        took, _queued = _queue_due_reminders(REMINDER_BATCH)
        # Each batch's messages go to the queue at once: the first reminders of a burst
        # are sent while the sweep is still turning the rest into messages.
        relay(RELAY_BATCH)
        if took < REMINDER_BATCH:
            break
    for _ in range(SWEEP_MAX_BATCHES):
        if relay(RELAY_BATCH) < RELAY_BATCH:
            break
    from webapp.calendars import operations as calendar_ops
    calendar_ops.relay_syncs()
    from webapp.conferencing import operations as conferencing
    conferencing.relay_tasks()


# --- RSVP -------------------------------------------------------------------------------

def _rsvp_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="parley-rsvp")


def rsvp_token(attendee_id: int, meeting) -> str:
    """A signed token for the RSVP link in one attendee's invitation, bound to the
    attendee, the meeting (its id and its UID, never reused) and the account: a link
    whose attendee was removed opens nothing, even where row ids are reused (SQLite)."""
    return _rsvp_serializer().dumps({"a": attendee_id, "m": meeting.id, "u": meeting.uid,
                                     "c": meeting.account_id})


def attendee_from_token(token: str):
    """The attendee the token was made for, when it still stands in that meeting."""
    from webapp.meetings.models import Attendee, Meeting
    try:
        data = _rsvp_serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not all(
            isinstance(data.get(k), t) for k, t in (("a", int), ("m", int), ("u", str),
                                                    ("c", int))):
        return None  # tokens made before binding (attendee id only) are refused
    return db.session.scalar(sa.select(Attendee).join(Meeting).where(
        Attendee.id == data["a"], Attendee.meeting_id == data["m"], Meeting.uid == data["u"],
        Meeting.account_id == data["c"]))


def record_response(attendee, response: str) -> bool:
    """Store an attendee's accept/decline/maybe."""
    from webapp.meetings.models import RESPONSES
    if response not in RESPONSES or response == "needs_action":
        return False
    attendee.response = response
    attendee.responded_at = utcnow()
    db.session.flush()
    return True


def apply_itip_reply(ics: bytes, sender: str | None = None) -> list[str]:
    """Apply an iTIP REPLY (RFC 5546): the replying ATTENDEE's PARTSTAT for the meeting
    with UID. A REPLY speaks for one attendee (RFC 5546 3.2.3): a VEVENT naming several
    is refused, and when the mail hook tells the sender, the attendee must be the sender,
    so nobody answers for somebody else. Returns the addresses updated."""
    import icalendar

    from webapp.meetings.models import Attendee, Meeting

    partstats = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
    updated = []
    cal = icalendar.Calendar.from_ical(ics)
    if str(cal.get("method", "")).upper() != "REPLY":
        raise ValueError("not an iTIP REPLY")
    for ev in cal.walk("VEVENT"):
        meeting = db.session.scalar(sa.select(Meeting).where(Meeting.uid == str(ev.get("uid"))))
        if meeting is None:
            continue
        attendees = ev.get("attendee")
        attendees = [a for a in (attendees if isinstance(attendees, list) else [attendees])
                     if a is not None]
        if len(attendees) > 1:
            raise ValueError("a REPLY names exactly one attendee")
        for address in attendees:
            email = str(address).removeprefix("mailto:").removeprefix("MAILTO:").lower()
            if sender is not None and email != sender.strip().lower():
                raise ValueError("the REPLY's attendee is not its sender")
            status = partstats.get(str(address.params.get("PARTSTAT", "")).upper())
            attendee = db.session.scalar(sa.select(Attendee).where(
                Attendee.meeting_id == meeting.id, sa.func.lower(Attendee.email) == email))
            if attendee and status:
                record_response(attendee, status)
                updated.append(email)
    return updated


def message_id_for(uid: str, sequence: int, email: str, kind: str, reminder_id=None) -> str:
    """Message-ID unique per (UID, SEQUENCE, recipient, kind); a resend reuses it."""
    digest = hashlib.sha256(f"{uid}|{sequence}|{email.lower()}|{kind}|{reminder_id}"
                            .encode()).hexdigest()[:24]
    return f"<{digest}.{sequence}@parley>"
