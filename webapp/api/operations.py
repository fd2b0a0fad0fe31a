"""API token rules: create (shown once), authenticate, revoke."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from webapp.api.models import ApiToken
from webapp.auth.models import User
from webapp.extensions import db
from webapp.types import utcnow

PREFIX = "prly_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for user; the plain text is returned once and never stored."""
    plain = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(account_id=user.account_id, user_id=user.id, name=name.strip()[:80] or "API",
                   token_hash=_hash(plain), prefix=plain[:12])
    db.session.add(row)
    db.session.flush()
    return row, plain


def authenticate(plain: str) -> ApiToken | None:
    """The live token for this plain text, or None."""
    if not plain.startswith(PREFIX) or len(plain) > 200:
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(plain),
                                                      ApiToken.revoked_at.is_(None)))
    if row is None or row.user.account_id != row.account_id:
        return None
    return row


def user_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.account_id == user.account_id)
        .order_by(ApiToken.id.desc())))


def revoke(user: User, token_id: int) -> bool:
    row = db.session.scalar(sa.select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.user_id == user.id,
        ApiToken.account_id == user.account_id))
    if row is None:
        return False
    row.revoked_at = row.revoked_at or utcnow()
    db.session.flush()
    return True
