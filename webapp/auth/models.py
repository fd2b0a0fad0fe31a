"""Accounts (tenants), seat kinds and users."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow


class Account(db.Model):
    """A tenant. Every row of customer data belongs to exactly one account."""

    __tablename__ = "accounts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: Display name of the company using Parley.
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    #: IANA zone used when a viewer or contact has none.
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="UTC")
    #: Sandbox accounts may only book with their own users (A1).
    is_sandbox: so.Mapped[bool] = so.mapped_column(default=False)
    #: S4: the meeting-type dropdown appears only when this is on.
    custom_meeting_types_enabled: so.Mapped[bool] = so.mapped_column(default=False)
    #: S7: new meetings inherit default_reminders when this is on.
    reminders_default_on: so.Mapped[bool] = so.mapped_column(default=False)
    #: S7: up to three [amount, unit] pairs, e.g. [[1, "hours"], [3, "days"]].
    default_reminders: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    users: so.WriteOnlyMapped[User] = so.relationship(back_populates="account")
    seat_kinds: so.Mapped[list[SeatKind]] = so.relationship(
        back_populates="account", order_by="SeatKind.id"
    )


class SeatKind(db.Model):
    """A kind of seat an account hands out; paid seats may book for others (B1)."""

    __tablename__ = "seat_kinds"
    __table_args__ = (sa.UniqueConstraint("account_id", "name"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(80))
    is_paid: so.Mapped[bool] = so.mapped_column(default=False)

    account: so.Mapped[Account] = so.relationship(back_populates="seat_kinds")


def feed_token_hash(token: str) -> str:
    """How a feed token is stored: its SHA-256, so a copy of the table opens no feed."""
    return hashlib.sha256(token.encode()).hexdigest()


class User(UserMixin, db.Model):
    """A person who logs in to Parley; belongs to one account."""

    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    #: Login name; unique across Parley, stored lower-case.
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    #: IANA zone; None means "use the account's".
    timezone: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    #: "en" or "zh_Hant"; None means "follow the browser".
    locale: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    #: "admin" or "member".
    role: so.Mapped[str] = so.mapped_column(sa.String(16), default="member")
    seat_kind_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("seat_kinds.id"))
    #: SHA-256 (hex) of the secret in the private calendar feed URL: the URL is shown
    #: once, when made; reset to revoke old subscriptions. A new user's opens nothing
    #: until they make one.
    feed_token: so.Mapped[str] = so.mapped_column(
        sa.String(64), default=lambda: feed_token_hash(secrets.token_urlsafe(32)), unique=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    account: so.Mapped[Account] = so.relationship(back_populates="users")
    seat_kind: so.Mapped[SeatKind | None] = so.relationship()

    def set_password(self, password: str) -> None:
        """Store a salted hash of password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """True when password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def zone(self) -> str:
        """The IANA zone this user sees times in."""
        return self.timezone or self.account.timezone

    @property
    def has_paid_seat(self) -> bool:
        return bool(self.seat_kind and self.seat_kind.is_paid)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginThrottle(db.Model):
    """Password checks per login key (an email, an address) since its last success.

    The first LOGIN_RATE_LIMIT checks of a key are free; after that each check waits a
    delay that doubles (1 s, 2 s, 4 s ... up to LOGIN_MAX_DELAY_SECONDS) rather than a hard
    lock an attacker could keep an account in. A check is reserved by one conditional
    UPDATE, so parallel attempts cannot check more passwords than the limit."""

    __tablename__ = "login_throttles"

    #: "email:<address>" or "ip:<client address>".
    key: so.Mapped[str] = so.mapped_column(sa.String(300), primary_key=True)
    #: Checks since the last success (or since the window lapsed).
    tries: so.Mapped[int] = so.mapped_column(default=0)
    #: No check before this time (None: within the free checks).
    next_allowed_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class UserSession(db.Model):
    """One logged-in browser. The signed session cookie names it by a random id; deleting
    the row ends that session on the server (logout, log out everywhere, new password)."""

    __tablename__ = "user_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                               index=True)
    #: SHA-256 of the id in the cookie: a copy of this table opens no session.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    #: The absolute lifetime (SESSION_MAX_SECONDS) counts from here.
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    #: The idle lifetime (SESSION_IDLE_SECONDS) counts from here; written at most once a
    #: minute.
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
