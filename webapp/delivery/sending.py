"""Sending the outbox (job side: owns its transactions).

The relay hands committed rows to the queue in batches; a batch job claims its rows through
the task runner (webapp.tasks: one conditional UPDATE, so two workers never both send a
row; a worker that died mid-send loses its claim after SEND_LEASE_SECONDS), builds every
message, then sends each and commits its status on its own.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from webapp import jobs, tasks
from webapp.delivery import messages
from webapp.delivery.models import OUTBOX_TASKS, OutboxMessage
from webapp.extensions import db
from webapp.mail.transport import PermanentMailError, TemporaryMailError, send
from webapp.meetings.models import Attendee, Meeting
from webapp.types import utcnow

log = logging.getLogger(__name__)

KIND = OUTBOX_TASKS


def _is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def relay(limit: int = 1000) -> int:
    """Hand due outbox rows to the queue. Returns how many were enqueued.

    Rows never enqueued, enqueued long ago without being sent (the queue lost them), or
    claimed by a worker whose lease ran out are all picked up.
    """
    now = utcnow()
    grace = timedelta(seconds=current_app.config["RELAY_GRACE_SECONDS"])
    # Due for the task runner, and not handed to the queue since it fell due (unless
    # that was long ago: the queue lost it).
    stmt = (sa.select(OutboxMessage.id).where(tasks.due(KIND, now), sa.or_(
        OutboxMessage.status != "pending", OutboxMessage.enqueued_at.is_(None),
        OutboxMessage.enqueued_at < now - grace,
        OutboxMessage.enqueued_at < OutboxMessage.next_attempt_at))
        .order_by(OutboxMessage.id).limit(limit))
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
    won = tasks.claim(KIND, message_ids)
    results = {i: "not-claimed" for i in message_ids}
    if not won:
        return [results[i] for i in message_ids]
    outcomes = _prepare(won)
    for row_id in dict.fromkeys(i for i in message_ids if i in outcomes):  # gone: nothing
        status, values, msg, attempts = outcomes[row_id]
        if msg is not None:
            status, values = _send(msg, attempts)
        db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row_id)
                           .values(status=status, **values)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        results[row_id] = status
    return [results[i] for i in message_ids]


def _prepare(row_ids: set[int]) -> dict[int, tuple]:
    """For each claimed row, (status, columns, message, attempts): "skipped" when it must
    not be sent any more (checked against the meeting as it is now), "failed" when its
    message cannot be built, else the message to send. Three queries for the whole batch,
    and nothing read after the first commit (which would reload every row and meeting)."""
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
            out[row.id] = ("skipped", {"last_error": skip}, None, row.attempts)
            continue
        try:
            msg = messages.build(row, meeting)
        except Exception as exc:  # a bug, not the mail server: visible, with Retry
            log.exception("could not build outbox message %s", row.id)
            out[row.id] = ("failed", {"last_error": f"Could not build the message: {exc}"
                                      [:2000]}, None, row.attempts)
            continue
        out[row.id] = (None, {}, msg, row.attempts)
    return out


def _send(msg, attempts: int) -> tuple[str, dict]:
    """Hand msg to the mail server: the row's new status and the columns to write."""
    values: dict = {"message_id": msg["Message-ID"]}
    try:
        send(msg)
    except PermanentMailError as exc:
        return "failed", {**values, "last_error": f"Refused by the mail server: {exc}"[:2000]}
    except TemporaryMailError as exc:
        values.update(tasks.retry_values(KIND, attempts, f"Mail server unavailable: {exc}"))
        return values.pop("status"), values
    return "sent", {**values, "sent_at": utcnow(), "last_error": None}


SWEEP_MAX_BATCHES = 50
RELAY_BATCH = 1000


def sweep(_interval: float) -> None:
    """The sweep's outbox step: relay until a batch comes back short (the queue lost
    nothing that the database does not still say is owed)."""
    for _ in range(SWEEP_MAX_BATCHES):
        if relay(RELAY_BATCH) < RELAY_BATCH:
            break


tasks.register_relay(20, "outbox", relay)
tasks.register_sweep(20, "outbox", sweep)
