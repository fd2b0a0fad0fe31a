"""What the free time of some users is made of changes with (read only): one statement
whose answer changes whenever their hours, rules or Parley meetings around a range do.

Results computed from those (a scheduling page's month of free starts, a week grid) are
kept by it: nothing to invalidate, a change makes another key (docs/PERFORMANCE.md).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import sqlalchemy as sa

from webapp.extensions import db


def stamp(account_id: int, host_ids: list[int], start: datetime, end: datetime) -> tuple:
    """What changes whenever what the hosts' free time is made of changes, in one
    statement that reads no rows it does not count (the indexes host_meetings uses):

    - their meetings starting around [start, end), hosting and attending (deleted and
      canceled ones too): the count, the sum of the row ids, the latest updated_at and
      the sum of the SEQUENCEs. An edit raises updated_at (the column's onupdate;
      meetings are written through the ORM), and a new time, a cancel or a delete the
      SEQUENCE too (which a clock behind another server's cannot hide); a row added or
      deleted changes the count, both together the sum of ids (a new id is larger than
      any gone one);
    - their availability profiles and the account's default hours: count and latest
      updated_at;
    - how many calendar connections they have (last: none, no busy cache to read)."""
    from webapp.meetings.inputs import MAX_DURATION
    return tuple(db.session.execute(_statement(), {
        "account": account_id, "hosts": list(host_ids), "since": start - MAX_DURATION,
        "until": end}).one())


@cache
def _statement():
    """stamp()'s statement, built once (its parameters bound at each call)."""
    from webapp.availability.models import AccountAvailability, AvailabilityProfile
    from webapp.calendars.models import CalendarConnection
    from webapp.meetings.models import Meeting
    from webapp.meetings.queries import attendee_rows
    account, hosts = sa.bindparam("account"), sa.bindparam("hosts", expanding=True)
    since, until = sa.bindparam("since"), sa.bindparam("until")
    hosting = sa.select(sa.func.count(), sa.func.sum(Meeting.id),
                        sa.func.max(Meeting.updated_at), sa.func.sum(Meeting.sequence)).where(
        Meeting.account_id == account, Meeting.host_id.in_(hosts),
        Meeting.start_at > since, Meeting.start_at < until).subquery()
    # Their attendee rows first, whatever the plan (queries.attendee_rows).
    rows = attendee_rows(lambda column: column.in_(hosts))
    attending = sa.select(sa.func.count(), sa.func.sum(rows.c.id),
                          sa.func.max(Meeting.updated_at), sa.func.sum(Meeting.sequence)).join(
        Meeting, Meeting.id == rows.c.meeting_id).where(
        Meeting.account_id == account, Meeting.start_at > since,
        Meeting.start_at < until).subquery()
    profiles = sa.select(sa.func.count(), sa.func.max(AvailabilityProfile.updated_at)).where(
        AvailabilityProfile.user_id.in_(hosts)).subquery()
    default = sa.select(sa.func.max(AccountAvailability.updated_at)).where(
        AccountAvailability.account_id == account).scalar_subquery()
    connections = sa.select(sa.func.count()).where(
        CalendarConnection.user_id.in_(hosts)).scalar_subquery()
    return (sa.select(hosting, attending, profiles, default.label("d"),
                      connections.label("c"))
            .select_from(hosting.join(attending, sa.true()).join(profiles, sa.true())))
