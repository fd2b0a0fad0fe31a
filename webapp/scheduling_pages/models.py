"""The account's embedding setting: the origins allowed to frame its public booking pages."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow


class EmbedOrigins(db.Model):
    """The https origins whose pages may show this account's /book/<slug> pages in an
    <iframe> (CSP frame-ancestors). No row or an empty list: no site may frame them."""

    __tablename__ = "embed_origins"

    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"),
                                                  primary_key=True)
    #: ["https://www.example.com", "https://*.example.org"], validated and normalized.
    origins: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow,
                                                       onupdate=utcnow)
