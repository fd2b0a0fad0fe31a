"""Meeting reports (B8, O1-O2, S4, #22): meetings counted by organizer ("created by"), host
("assigned to"), outcome, meeting type, where they were made (source), week or month,
with filters.

Counts come from grouped SQL queries; nothing loops over meetings in Python. Deleted
meetings are left out. A meeting belongs to the day, week or month of its start, in the
viewer's time zone: the report turns the zone's period boundaries into UTC instants and
the database compares start times with them, which is exact across daylight-saving
changes and the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from babel.dates import format_skeleton
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.auth.models import User
from webapp.extensions import db
from webapp.meetings.models import Meeting, MeetingAssociation, MeetingType
from webapp.meetings.outcomes import OutcomeCatalog, catalog
from webapp.types import utcnow

DIMENSIONS = {"organizer": _l("Created by (organizer)"), "host": _l("Assigned to (host)"),
              "outcome": _l("Outcome"), "type": _l("Meeting type"),
              "source": _l("Where it was made"), "page": _l("Scheduling page"),
              "week": _l("Week"), "month": _l("Month")}
#: How the report names Meeting.source (SOURCES), in that order.
SOURCE_LABELS = {"scheduler": _l("Scheduler (desktop)"), "phone": _l("Phone"),
                 "api": _l("API"), "scheduling_page": _l("Scheduling page"),
                 "proposed_times": _l("Proposed times")}
#: The longest date range: about two years (at most 106 weekly buckets).
MAX_RANGE_DAYS = 731
NO_TYPE = "none"


@dataclass
class ReportFilter:
    """Which meetings a report counts, and how it groups them."""

    account_id: int
    #: The viewer's IANA zone: dates, weeks and months are read in it.
    zone: str
    start_day: date
    #: Inclusive.
    end_day: date
    group_by: str = "organizer"
    host_id: int | None = None
    organizer_id: int | None = None
    outcome: str | None = None
    type_id: int | None = None
    record_type: str | None = None

    @property
    def start_utc(self) -> datetime:
        return local_midnight(self.start_day, self.zone)

    @property
    def end_utc(self) -> datetime:
        return local_midnight(self.end_day + timedelta(days=1), self.zone)

    def query_args(self) -> dict:
        """The query-string arguments that give this report again."""
        args = {"from": self.start_day.isoformat(), "to": self.end_day.isoformat(),
                "by": self.group_by, "host": self.host_id, "organizer": self.organizer_id,
                "outcome": self.outcome, "type": self.type_id, "record_type": self.record_type}
        return {k: v for k, v in args.items() if v not in (None, "")}


@dataclass
class Bar:
    #: What `bucket=` takes to export this bar's meetings.
    key: str
    label: str
    count: int
    #: By scheduling page: its meetings that have ended (not canceled), and how many of
    #: those have the outcome No-show.
    past: int | None = None
    no_shows: int | None = None

    @property
    def no_show_rate(self) -> float | None:
        """No-shows per past meeting (None when none has ended)."""
        return self.no_shows / self.past if self.past else None


@dataclass
class Report:
    bars: list[Bar] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(b.count for b in self.bars)

    @property
    def largest(self) -> int:
        return max((b.count for b in self.bars), default=0)


@dataclass
class Choices:
    """What the filters offer, loaded once per request (three queries)."""

    users: list[User]
    types: list[MeetingType]
    outcomes: OutcomeCatalog


def local_midnight(day: date, zone: str) -> datetime:
    """The first instant of day in zone, in UTC (a day whose midnight is skipped by a
    daylight-saving change starts when its clocks start)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def choices(account_id: int) -> Choices:
    users = list(db.session.scalars(sa.select(User).where(User.account_id == account_id)
                                    .order_by(User.name, User.id)))
    types = list(db.session.scalars(sa.select(MeetingType).where(
        MeetingType.account_id == account_id).order_by(MeetingType.name)))
    return Choices(users, types, catalog(account_id))


def _conditions(f: ReportFilter) -> list:
    conds = [Meeting.account_id == f.account_id, Meeting.deleted_at.is_(None),
             Meeting.start_at >= f.start_utc, Meeting.start_at < f.end_utc]
    if f.host_id is not None:
        conds.append(Meeting.host_id == f.host_id)
    if f.organizer_id is not None:
        conds.append(Meeting.organizer_id == f.organizer_id)
    if f.outcome:
        conds.append(Meeting.outcome == f.outcome)
    if f.type_id is not None:
        conds.append(Meeting.meeting_type_id == f.type_id)
    if f.record_type:
        conds.append(Meeting.id.in_(sa.select(MeetingAssociation.meeting_id).where(
            MeetingAssociation.account_id == f.account_id,
            MeetingAssociation.record_type == f.record_type)))
    return conds


# --- periods ---------------------------------------------------------------------------

def period_starts(f: ReportFilter) -> list[date]:
    """Local first days of the weeks (Monday) or months the range touches."""
    if f.group_by == "week":
        day = f.start_day - timedelta(days=f.start_day.weekday())
        step = lambda d: d + timedelta(days=7)  # noqa: E731
    else:
        day = f.start_day.replace(day=1)
        step = _next_month
    days = []
    while day <= f.end_day:
        days.append(day)
        day = step(day)
    return days


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _period_end(f: ReportFilter, start: date) -> date:
    return start + timedelta(days=7) if f.group_by == "week" else _next_month(start)


def period_label(f: ReportFilter, start: date) -> str:
    if f.group_by == "week":
        return _("Week of %(date)s", date=format_date(start, "medium"))
    return format_skeleton("yMMMM", start, locale=get_locale())


def _period_bounds(f: ReportFilter, start: date) -> tuple[datetime, datetime]:
    """The UTC interval of one period, clipped to the report's range."""
    lower = max(local_midnight(start, f.zone), f.start_utc)
    upper = min(local_midnight(_period_end(f, start), f.zone), f.end_utc)
    return lower, upper


# --- counting ----------------------------------------------------------------------------

def counts(f: ReportFilter, outcomes: OutcomeCatalog | None = None) -> Report:
    """The report's bars: one grouped query."""
    conds = _conditions(f)
    count = sa.func.count(Meeting.id)
    if f.group_by in ("organizer", "host"):
        person = Meeting.organizer_id if f.group_by == "organizer" else Meeting.host_id
        rows = db.session.execute(
            sa.select(User.id, User.name, count).join(User, User.id == person)
            .where(*conds).group_by(User.id, User.name).order_by(count.desc(), User.name))
        return Report([Bar(str(uid), name, n) for uid, name, n in rows])
    if f.group_by == "type":
        rows = db.session.execute(
            sa.select(MeetingType.id, MeetingType.name, count).select_from(Meeting)
            .outerjoin(MeetingType, MeetingType.id == Meeting.meeting_type_id)
            .where(*conds).group_by(MeetingType.id, MeetingType.name)
            .order_by(count.desc(), MeetingType.name))
        return Report([Bar(str(tid), name, n) if tid is not None
                       else Bar(NO_TYPE, _("No meeting type"), n) for tid, name, n in rows])
    if f.group_by == "outcome":
        found = dict(db.session.execute(
            sa.select(Meeting.outcome, count).where(*conds).group_by(Meeting.outcome)).all())
        outcomes = outcomes or catalog(f.account_id)
        # Every offered outcome shows, at zero too; a retired one only when it counts.
        bars = [Bar(o.key, o.label, found.pop(o.key, 0)) for o in outcomes.all
                if o.active or found.get(o.key)]
        bars += [Bar(key, outcomes.label(key), n) for key, n in sorted(found.items())]
        return Report(bars)
    if f.group_by == "page":
        return _page_counts(f, conds)
    if f.group_by == "source":
        found = dict(db.session.execute(
            sa.select(Meeting.source, count).where(*conds).group_by(Meeting.source)).all())
        # Every source shows, at zero too: "no meeting came from the booking pages" is news.
        return Report([Bar(key, str(label), found.pop(key, 0))
                       for key, label in SOURCE_LABELS.items()]
                      + [Bar(key, key, n) for key, n in sorted(found.items())])
    return _period_counts(f, conds)


def _page_counts(f: ReportFilter, conds: list) -> Report:
    """Meetings booked through each scheduling page, and its no-show rate: of its meetings
    that have ended and were not canceled, those with the outcome No-show. One grouped
    query; pages without a meeting in the range are not listed."""
    from webapp.booking.models import Booking, SchedulingPage
    ended = sa.and_(Meeting.end_at <= utcnow(), Meeting.outcome != "canceled")
    count = sa.func.count(Meeting.id)
    past = sa.func.sum(sa.case((ended, 1), else_=0))
    no_shows = sa.func.sum(sa.case((sa.and_(ended, Meeting.outcome == "no_show"), 1),
                                   else_=0))
    rows = db.session.execute(
        sa.select(SchedulingPage.id, SchedulingPage.title, count, past, no_shows)
        .select_from(Meeting).join(Booking, Booking.meeting_id == Meeting.id)
        .join(SchedulingPage, SchedulingPage.id == Booking.page_id)
        .where(*conds, Booking.account_id == f.account_id,
               SchedulingPage.account_id == f.account_id)
        .group_by(SchedulingPage.id, SchedulingPage.title)
        .order_by(count.desc(), SchedulingPage.title))
    return Report([Bar(str(pid), title, n, int(p or 0), int(ns or 0))
                   for pid, title, n, p, ns in rows])


def _period_counts(f: ReportFilter, conds: list) -> Report:
    starts = period_starts(f)
    bounds = [_period_bounds(f, s)[1] for s in starts]
    # Bucket i holds the meetings starting before the end of period i and not before.
    if len(bounds) == 1:
        bucket = sa.literal(0).label("bucket")
    else:
        bucket = sa.case(*[(Meeting.start_at < end, i) for i, end in enumerate(bounds[:-1])],
                         else_=len(bounds) - 1).label("bucket")
    inner = sa.select(bucket).where(*conds).subquery()
    found = dict(db.session.execute(
        sa.select(inner.c.bucket, sa.func.count()).group_by(inner.c.bucket)).all())
    return Report([Bar(s.isoformat(), period_label(f, s), found.get(i, 0))
                   for i, s in enumerate(starts)])


# --- the rows behind a figure ------------------------------------------------------------

def _row_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 11:
        raise ValueError(value)
    return int(value)


def bucket_condition(f: ReportFilter, bucket: str):
    """The condition selecting one bar's meetings; ValueError when bucket is not one."""
    if f.group_by in ("organizer", "host"):
        person = Meeting.organizer_id if f.group_by == "organizer" else Meeting.host_id
        return person == _row_id(bucket)
    if f.group_by == "type":
        if bucket == NO_TYPE:
            return Meeting.meeting_type_id.is_(None)
        return Meeting.meeting_type_id == _row_id(bucket)
    if f.group_by == "outcome":
        if not bucket or len(bucket) > 40:
            raise ValueError(bucket)
        return Meeting.outcome == bucket
    if f.group_by == "page":
        from webapp.booking.models import Booking
        return Meeting.id.in_(sa.select(Booking.meeting_id).where(
            Booking.account_id == f.account_id, Booking.page_id == _row_id(bucket)))
    if f.group_by == "source":
        if bucket not in SOURCE_LABELS:
            raise ValueError(bucket)
        return Meeting.source == bucket
    start = date.fromisoformat(bucket)
    if start not in period_starts(f):
        raise ValueError(bucket)
    lower, upper = _period_bounds(f, start)
    return sa.and_(Meeting.start_at >= lower, Meeting.start_at < upper)


#: A formula starts a cell, or starts again after a separator: a spreadsheet that splits
#: on ";" (the list separator of many locales) or a tab or a line break reads
#: "Lunch;=HYPERLINK(...)" as two cells, the second one a formula.
CSV_FORMULA = re.compile(r"(^|[,;\t\r\n])(\s*)(?=[=+\-@\t\r])")


def _cell(value) -> str:
    """Text a spreadsheet will not run as a formula: a quote before each formula start."""
    text = "" if value is None else str(value)
    return CSV_FORMULA.sub(lambda m: m.group(1) + m.group(2) + "'", text)


def csv_lines(f: ReportFilter, bucket: str | None = None,
              outcomes: OutcomeCatalog | None = None) -> Iterator[str]:
    """The meetings behind the report (or one bar of it) as CSV text, streamed in chunks.

    Times are in the viewer's zone, with their UTC offset.
    """
    organizer, host = so.aliased(User), so.aliased(User)
    stmt = (sa.select(Meeting.id, Meeting.title, Meeting.start_at, Meeting.end_at,
                      organizer.name, host.name, Meeting.outcome, MeetingType.name,
                      Meeting.source)
            .join(organizer, organizer.id == Meeting.organizer_id)
            .join(host, host.id == Meeting.host_id)
            .outerjoin(MeetingType, MeetingType.id == Meeting.meeting_type_id)
            .where(*_conditions(f)).order_by(Meeting.start_at, Meeting.id))
    if bucket is not None:
        stmt = stmt.where(bucket_condition(f, bucket))
    outcomes = outcomes or catalog(f.account_id)
    tz = ZoneInfo(f.zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Meeting ID"), _("Title"), _("Start (%(zone)s)", zone=f.zone),
                     _("End (%(zone)s)", zone=f.zone), _("Created by (organizer)"),
                     _("Assigned to (host)"), _("Outcome"), _("Meeting type"),
                     _("Week"), _("Month"), _("Where it was made")])
    yield "\ufeff" + buffer.getvalue()  # the byte-order mark lets spreadsheets read UTF-8
    result = db.session.execute(stmt.execution_options(yield_per=500))
    try:
        for row in result:
            buffer.seek(0)
            buffer.truncate()
            start = row.start_at.astimezone(tz)
            week = start.date() - timedelta(days=start.weekday())
            writer.writerow([row.id, _cell(row.title), start.isoformat(timespec="minutes"),
                             row.end_at.astimezone(tz).isoformat(timespec="minutes"),
                             _cell(row[4]), _cell(row[5]), _cell(outcomes.label(row.outcome)),
                             _cell(row[7] or ""), week.isoformat(), start.strftime("%Y-%m"),
                             str(SOURCE_LABELS.get(row.source, row.source))])
            yield buffer.getvalue()
    finally:
        # A download cut off midway closes this generator at a yield: the server-side
        # cursor is closed here and the transaction ended, not left to the connection pool.
        result.close()
        db.session.rollback()
