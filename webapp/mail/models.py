"""Mail captured in development (no SMTP_URL): the dev mailbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow


class CapturedMail(db.Model):
    """A message that would have gone to SMTP, kept whole for /dev/mail."""

    __tablename__ = "captured_mails"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: The account whose mail it is: the dev mailbox shows a viewer only their account's.
    account_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("accounts.id"),
                                                         index=True)
    #: Envelope recipients, comma separated.
    recipients: so.Mapped[str] = so.mapped_column(sa.Text)
    subject: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    message_id: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    #: The RFC 5322 message exactly as it would be sent.
    raw: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
