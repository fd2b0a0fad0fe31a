"""X8: each contact attendee's local time for a chosen slot, and whether it falls outside
their working hours (08:00 to 20:00 in their zone). Used by both schedulers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from webapp.auth.models import Account
from webapp.extensions import db
from webapp.records.models import Contact

WORK_START = time(8, 0)
WORK_END = time(20, 0)


@dataclass
class LocalTime:
    contact_id: int
    name: str
    zone: str
    #: The contact has no zone of their own: the account's is assumed (as for reminders, S8).
    zone_assumed: bool
    start: datetime
    end: datetime
    outside_hours: bool


def outside_working_hours(start: datetime, end: datetime) -> bool:
    """True when [start, end) (aware, in the person's zone) is not within 08:00-20:00 of
    one day."""
    day_end = datetime.combine(start.date(), WORK_END, tzinfo=start.tzinfo)
    return start.timetz().replace(tzinfo=None) < WORK_START or end > day_end


def for_slot(account: Account, pairs: list[tuple[str, int]], start: datetime,
             end: datetime) -> list[LocalTime]:
    """Local times of the contact attendees among pairs (("contact", id) ...), in order.

    Only the account's contacts are read: other ids are ignored."""
    ids = [i for kind, i in pairs if kind == "contact"]
    if not ids:
        return []
    contacts = {c.id: c for c in db.session.scalars(sa.select(Contact).where(
        Contact.account_id == account.id, Contact.id.in_(ids)))}
    out = []
    for ident in dict.fromkeys(ids):
        contact = contacts.get(ident)
        if contact is None:
            continue
        zone = contact.timezone or account.timezone
        tz = ZoneInfo(zone)
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        out.append(LocalTime(contact.id, contact.display_name, zone, not contact.timezone,
                             local_start, local_end,
                             outside_working_hours(local_start, local_end)))
    return out
