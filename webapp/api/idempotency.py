"""`Idempotency-Key` on POST /api/v1/meetings: a client's retry never makes a second meeting.

A key is stored per account with a fingerprint of the request body and the meeting it
made, in the same transaction as the meeting: either both are committed or neither. A
retry with the same key and body answers with that meeting (201, header
`Idempotent-Replayed: true`); the same key with another body is a 422. Two requests with
one key at once: the second one's key row waits on the first's unique index and then
fails, its transaction (meeting included) is rolled back, and it answers as a retry.
Keys are kept KEEP_FOR; an older key can be used again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow

HEADER = "Idempotency-Key"
MAX_KEY = 200
KEEP_FOR = timedelta(hours=24)


class IdempotencyKey(db.Model):
    """A key a client sent with a create, and what the create made."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("account_id", "key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    key: so.Mapped[str] = so.mapped_column(sa.String(MAX_KEY))
    #: SHA-256 of the request body: the same key with another body is refused.
    fingerprint: so.Mapped[str] = so.mapped_column(sa.String(64))
    meeting_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("meetings.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class KeyReused(Exception):
    """The key was used with a different request body."""


def key_of(headers) -> str | None:
    """The request's key, None without one; raises ValueError for one Parley cannot keep."""
    key = headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ValueError(f"{HEADER} must be 1 to {MAX_KEY} printable characters.")
    return key


def fingerprint(body) -> str:
    """A stable digest of a JSON body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


def earlier(account_id: int, key: str, digest: str) -> int | None:
    """The meeting id an earlier request with this key made, or None; raises KeyReused."""
    row = db.session.scalar(sa.select(IdempotencyKey).where(
        IdempotencyKey.account_id == account_id, IdempotencyKey.key == key,
        IdempotencyKey.created_at >= utcnow() - KEEP_FOR))
    if row is None:
        return None
    if row.fingerprint != digest:
        raise KeyReused(key)
    return row.meeting_id


def remember(account_id: int, key: str, digest: str, meeting_id: int) -> bool:
    """Store the key with the new meeting, in the meeting's transaction. False when a
    concurrent request with the same key got there first: the caller rolls back and
    answers with that one's meeting (earlier())."""
    db.session.execute(sa.delete(IdempotencyKey).where(
        IdempotencyKey.account_id == account_id, IdempotencyKey.key == key,
        IdempotencyKey.created_at < utcnow() - KEEP_FOR))
    try:
        with db.session.begin_nested():
            db.session.add(IdempotencyKey(account_id=account_id, key=key, fingerprint=digest,
                                          meeting_id=meeting_id))
    except IntegrityError:
        return False
    return True
