"""Idempotent saves: a key claimed before anything is saved, so a double tap or a retried
request saves (and sends) once (request side: flush only)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from webapp.extensions import db
from webapp.meetings.models import Meeting, MeetingSubmission


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
