"""Reading meetings: one meeting in its account, timelines, a host's calendar, the feed."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.auth.models import Account, User
from webapp.extensions import db, fetch_binary
from webapp.meetings.ical import EventData, location_of
from webapp.meetings.inputs import MAX_DURATION
from webapp.meetings.models import Attendee, Meeting


def get_meeting(account_id: int, meeting_id: int, include_deleted: bool = False):
    """The meeting if it belongs to the account, else None."""
    stmt = sa.select(Meeting).where(Meeting.id == meeting_id, Meeting.account_id == account_id)
    if not include_deleted:
        stmt = stmt.where(Meeting.deleted_at.is_(None))
    return db.session.scalar(stmt)


def host_meetings(account_id: int, host_id: int, start: datetime, end: datetime) -> list:
    """The host's meetings overlapping [start, end), hosting or attending, by start, as
    rows of (user_id, id, title, start_at, end_at, outcome): what a calendar draws,
    without loading whole meetings (users_meetings() of one user)."""
    return users_meetings(account_id, [host_id], start, end)[host_id]


def attendee_rows(among):
    """The attendee rows (id, meeting_id, user_id) of the users (among(column): the
    condition that a user id column is one of theirs), as a MATERIALIZED common table
    expression: a statement over several users' meetings starts from these rows (ix_attendees_user_id) whatever the plan. psycopg prepares a
    statement at its 5th execution and PostgreSQL may then plan it once for any values (a
    generic plan); for `attendees.user_id IN ($1, $2, $3)` joined to meetings of a range
    it guessed hundreds of attendee rows and a narrow range, and read the account's
    meetings of the range first: 20 ms a view on the benchmark's million meetings (#21's
    overlay, `make bench` 2026-12-04 evening), 0.1 ms from the users' attendee rows."""
    return sa.select(Attendee.id, Attendee.meeting_id, Attendee.user_id).where(
        among(Attendee.user_id)).cte().prefix_with("MATERIALIZED")


def users_meetings(account_id: int, user_ids: list[int], start: datetime,
                   end: datetime) -> dict[int, list]:
    """Several users' meetings in one statement: {user id: their meetings overlapping
    [start, end), hosting or attending, by start} (#21: the week grid with attendee
    colleagues overlaid reads the host's and theirs at once), each a tuple of (user_id,
    id, title, start_at, end_at, outcome).

    No meeting lasts more than MAX_DURATION, so its start is bounded on both sides and
    each branch is an index range (ix_meetings_host_start, ix_attendees_user_id): the
    cost follows the week's meetings, not the users' history (docs/PERFORMANCE.md)."""
    out: dict[int, list] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return out
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("users_meetings needs aware datetimes")
    params = {"account_id": account_id, "user_ids": list(user_ids),
              "since": start - MAX_DURATION, "start": start, "end": end}
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # The statement's SQL, compiled once a process, its results read in binary as
        # plain tuples (fetch_binary; a week with its overlay reads 600 rows). The user
        # ids are one array parameter, so the SQL is the same for any number of them.
        rows = fetch_binary(connection, _users_meetings_sql(connection.dialect), params)
    else:
        rows = connection.execute(_users_meetings_statement(), params).all()
    for row in rows:
        out[row[0]].append(row)
    return out


@cache
def _users_meetings_statement(any_of_array: bool = False):
    """users_meetings()'s SELECT, built once a process (building it and its cache key
    cost more than running it, #24): the meetings the users host, and those they attend
    but do not host (an attendee row is unique per meeting and user), each branch reading
    its rows' columns where it finds them. (Joining the pairs of a UNION back to meetings
    read each of the overlay's 600 meetings twice: 2.7 ms in PostgreSQL, now 0.6.)
    any_of_array: the user ids as one array parameter (PostgreSQL's `= ANY(...)`) rather
    than an IN list expanded at each execution."""
    account_id = sa.bindparam("account_id")
    if any_of_array:
        ids = sa.bindparam("user_ids", type_=sa.ARRAY(sa.Integer))
        among = lambda column: column == sa.any_(ids)  # noqa: E731
    else:
        ids = sa.bindparam("user_ids", expanding=True)
        among = lambda column: column.in_(ids)  # noqa: E731
    since, start, end = sa.bindparam("since"), sa.bindparam("start"), sa.bindparam("end")
    columns = (Meeting.id, Meeting.title, Meeting.start_at, Meeting.end_at, Meeting.outcome)
    in_range = (Meeting.account_id == account_id, Meeting.deleted_at.is_(None),
                Meeting.start_at > since, Meeting.start_at < end, Meeting.end_at > start)
    hosting = sa.select(Meeting.host_id.label("user_id"), *columns).where(
        among(Meeting.host_id), *in_range)
    rows = attendee_rows(among)
    attending = sa.select(rows.c.user_id.label("user_id"), *columns) \
        .join(Meeting, Meeting.id == rows.c.meeting_id) \
        .where(Meeting.host_id != rows.c.user_id, *in_range)
    both = sa.union_all(hosting, attending).subquery()
    return sa.select(both).order_by(both.c.start_at, both.c.id)


@cache
def _users_meetings_sql(dialect) -> str:
    """users_meetings()'s SELECT as PostgreSQL text (psycopg's %(name)s parameters)."""
    return str(_users_meetings_statement(any_of_array=True).compile(dialect=dialect))


def user_feed_events(user: User, since: datetime) -> list:
    """The user's private calendar feed (hosting or attending, cancelled included), as
    ical.EventData, in one query of plain columns: no Meeting objects (the feed's budget,
    bench/feed.py)."""
    host, organizer = so.aliased(User), so.aliased(User)
    attending = sa.select(Attendee.meeting_id).where(Attendee.user_id == user.id)
    stmt = (sa.select(Meeting.uid, Meeting.sequence, Meeting.title, Meeting.start_at,
                      Meeting.end_at, Meeting.timezone, Meeting.created_at, Meeting.updated_at,
                      Meeting.description_html, Meeting.location_kind, Meeting.location_value,
                      Meeting.deleted_at.is_not(None), Meeting.host_id, Meeting.organizer_id,
                      host.name,
                      host.email, organizer.email)
            .join(host, host.id == Meeting.host_id)
            .join(organizer, organizer.id == Meeting.organizer_id)
            .where(Meeting.account_id == user.account_id, Meeting.end_at >= since,
                   Meeting.log_only.is_(False),  # a logged meeting is no calendar event
                   sa.or_(Meeting.host_id == user.id, Meeting.id.in_(attending)))
            .order_by(Meeting.start_at, Meeting.id))
    return [EventData(uid, sequence, title, start_at, end_at, zone, created_at, updated_at,
                      description or "",
                      location_of(location_kind, location_value),
                      deleted, host_name, host_email,
                      organizer_email if organizer_id != host_id else None)
            for (uid, sequence, title, start_at, end_at, zone, created_at, updated_at,
                 description, location_kind, location_value, deleted, host_id, organizer_id,
                 host_name, host_email, organizer_email)
            # Core, not the ORM result machinery, and fetched at once (not row by row).
            in db.session.connection().execute(stmt).all()]


def hosts_for(account: Account, actor: User) -> list[User]:
    """Who the actor may choose as host: themselves, and with a paid seat, seated users of
    the account (B1). Parley's own calendar counts as connected.

    One statement: the account's users with a paid seat, their seats loaded with them. The
    actor is among them exactly when the actor has a paid seat (#24: the actor's seat was
    read first, on its own)."""
    if actor.seat_kind_id is None:
        return [actor]  # no seat, no paid one: nothing to read
    users = list(db.session.scalars(_hosts_statement(), {"account_id": account.id}))
    return users if actor in users else [actor]


@cache
def _hosts_statement():
    """hosts_for()'s SELECT, built once a process (every scheduler view runs it, #24)."""
    from webapp.auth.models import SeatKind
    return (sa.select(User).join(SeatKind, SeatKind.id == User.seat_kind_id)
            .where(User.account_id == sa.bindparam("account_id"), SeatKind.is_paid)
            .options(so.contains_eager(User.seat_kind))
            .order_by(User.name))


def agenda_meetings(account_id: int, user_id: int, viewer_id: int, start: datetime,
                    end: datetime, *, outcome: str | None = None,
                    needs_outcome_before: datetime | None = None,
                    newest_first: bool = False, limit: int | None = None) -> list:
    """A user's agenda (My meetings): the meetings overlapping [start, end) where the user
    is host, organizer or attendee, as rows of (id, title, start_at, end_at, outcome,
    log_only, involved); `involved` is whether the viewer is host, organizer or attendee
    too (when not, the page shows only "Busy"). One query; each branch an index range
    (ix_meetings_host_start, ix_meetings_organizer_start, ix_attendees_user_id).

    outcome / needs_outcome_before (meetings ended by then and still Scheduled) filter the
    agenda and leave out meetings the viewer is not involved in: a Busy block must not
    tell its outcome.
    """
    since = start - MAX_DURATION
    window = (Meeting.account_id == account_id, Meeting.start_at > since,
              Meeting.start_at < end)
    hosting = sa.select(Meeting.id).where(Meeting.host_id == user_id, *window)
    organizing = sa.select(Meeting.id).where(Meeting.organizer_id == user_id, *window)
    attending = sa.select(Attendee.meeting_id).join(Meeting, Meeting.id == Attendee.meeting_id) \
        .where(Attendee.user_id == user_id, *window)
    if viewer_id == user_id:
        involved = sa.true()
    else:
        involved = sa.or_(Meeting.host_id == viewer_id, Meeting.organizer_id == viewer_id,
                          Meeting.id.in_(sa.select(Attendee.meeting_id).where(
                              Attendee.user_id == viewer_id)))
    stmt = sa.select(Meeting.id, Meeting.title, Meeting.start_at, Meeting.end_at,
                     Meeting.outcome, Meeting.log_only, involved.label("involved")).where(
        Meeting.account_id == account_id, Meeting.deleted_at.is_(None),
        Meeting.start_at < end, Meeting.end_at > start,
        Meeting.id.in_(sa.union(hosting, organizing, attending)))
    if outcome is not None or needs_outcome_before is not None:
        stmt = stmt.where(involved)
    if outcome is not None:
        stmt = stmt.where(Meeting.outcome == outcome)
    if needs_outcome_before is not None:
        stmt = stmt.where(Meeting.outcome == "scheduled",
                          Meeting.end_at <= needs_outcome_before)
    if newest_first:
        stmt = stmt.order_by(Meeting.start_at.desc(), Meeting.id.desc())
    else:
        stmt = stmt.order_by(Meeting.start_at, Meeting.id)
    return list(db.session.execute(stmt.limit(limit)))


def account_users(account_id: int) -> list[User]:
    """The account's users by name: whose agenda to show."""
    return list(db.session.scalars(sa.select(User).where(User.account_id == account_id)
                                   .order_by(User.name, User.id)))
