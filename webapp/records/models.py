"""CRM records (contacts, companies, deals, tickets) and the links between them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db
from webapp.types import UTCDateTime, utcnow


class RecordMixin:
    """Columns and helpers every CRM record shares."""

    #: Singular type key used in links and URLs ("contact").
    record_type: str = ""
    #: Plural URL segment ("contacts").
    plural: str = ""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"), index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    @property
    def ref(self) -> tuple[str, int]:
        return (self.record_type, self.id)


class Company(RecordMixin, db.Model):
    __tablename__ = "companies"
    record_type = "company"
    plural = "companies"

    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    domain: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    city: so.Mapped[str | None] = so.mapped_column(sa.String(120))

    @property
    def display_name(self) -> str:
        return self.name


class Contact(RecordMixin, db.Model):
    __tablename__ = "contacts"
    __table_args__ = (sa.Index("ix_contacts_account_last_first", "account_id", "last_name", "first_name"),)
    record_type = "contact"
    plural = "contacts"

    first_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    last_name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    #: A contact receives invitations only with a valid address here (S13).
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    #: E.164 when valid.
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    #: IANA zone; reminders show times in it (S8).
    timezone: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    company_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("companies.id"), index=True)
    #: The language of the emails the contact receives (CONTACT_LANGUAGES); None: English.
    language: so.Mapped[str | None] = so.mapped_column(sa.String(16))

    company: so.Mapped[Company | None] = so.relationship()

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


#: The languages a contact's emails can be in: Parley's locales.
CONTACT_LANGUAGES = ["en", "zh_Hant"]
DEAL_STAGES = ["appointment", "qualified", "presentation", "decision", "contract", "won", "lost"]
TICKET_STATUSES = ["new", "waiting_on_contact", "waiting_on_us", "closed"]
TICKET_PRIORITIES = ["low", "medium", "high"]


class Deal(RecordMixin, db.Model):
    __tablename__ = "deals"
    record_type = "deal"
    plural = "deals"

    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    amount: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(14, 2))
    stage: so.Mapped[str] = so.mapped_column(sa.String(40), default="appointment")
    close_date: so.Mapped[date | None] = so.mapped_column(sa.Date)

    @property
    def display_name(self) -> str:
        return self.name


class Ticket(RecordMixin, db.Model):
    __tablename__ = "tickets"
    record_type = "ticket"
    plural = "tickets"

    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    status: so.Mapped[str] = so.mapped_column(sa.String(40), default="new")
    priority: so.Mapped[str] = so.mapped_column(sa.String(20), default="medium")
    description: so.Mapped[str | None] = so.mapped_column(sa.Text)

    @property
    def display_name(self) -> str:
        return self.subject


#: Record type key -> model. The one registry routes, links and meetings use.
RECORD_MODELS: dict[str, type] = {m.record_type: m for m in (Contact, Company, Deal, Ticket)}
#: Plural URL segment -> record type key.
PLURALS: dict[str, str] = {m.plural: m.record_type for m in RECORD_MODELS.values()}


class RecordLink(db.Model):
    """An association between two records, stored once in each direction."""

    __tablename__ = "record_links"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "from_type", "from_id", "to_type", "to_id"),
        sa.Index("ix_record_links_from", "account_id", "from_type", "from_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id"))
    from_type: so.Mapped[str] = so.mapped_column(sa.String(16))
    from_id: so.Mapped[int]
    to_type: so.Mapped[str] = so.mapped_column(sa.String(16))
    to_id: so.Mapped[int]
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
