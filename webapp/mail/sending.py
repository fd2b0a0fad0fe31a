"""Sending the one email an OwedEmail row owes (webapp.tasks): claimed through the task
runner, skipped when the row says so, retried on a temporary refusal, failed on a
permanent one. A job-side module: it commits."""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message

from webapp import tasks
from webapp.extensions import db
from webapp.mail.transport import PermanentMailError, TemporaryMailError, send
from webapp.types import utcnow


def send_owed(kind: tasks.TaskKind, row_id: int, build: Callable[[object], Message],
              skip: Callable[[object], str | None]) -> str:
    """Send row row_id's email if it can be claimed. skip(row): why it is no longer owed,
    or None. Returns its final status, or "not-claimed" when another worker has it, it
    is done, or the row is gone."""
    if not tasks.claim(kind, row_id):
        return "not-claimed"
    row = db.session.get(kind.model, row_id)
    reason = skip(row)
    if reason:
        row.email_status, row.email_error = "skipped", reason
        db.session.commit()
        return row.email_status
    try:
        send(build(row), row.account_id)
    except PermanentMailError as exc:
        row.email_status, row.email_error = "failed", f"Refused: {exc}"[:2000]
    except TemporaryMailError as exc:
        tasks.schedule_retry(kind, row, f"Mail server unavailable: {exc}")
    else:
        row.email_status, row.emailed_at, row.email_error = "sent", utcnow(), None
    db.session.commit()
    return row.email_status
