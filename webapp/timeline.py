"""The activities shown on a record's timeline, newest first, one page at a time.

A page is read by index, never counted: the page's meetings in one statement of the
columns an item shows (the associations' index, then each meeting by its primary key;
migration 0015_24), with their attendees' names. "Older activities" continues
after the last item shown (keyset: its start and id), so the 25th page costs what the
first does (docs/PERFORMANCE.md, #24).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, cached_property
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from webapp.auth.models import User
from webapp.booking.models import Booking, SchedulingPage
from webapp.extensions import db, read_columns
from webapp.filters import date_text, join_date_time, time_text
from webapp.meetings.models import Attendee, Meeting, MeetingAssociation

PER_PAGE = 20


@dataclass
class TimelineItem:
    """What a timeline item shows of a meeting (the names the item template reads)."""
    id: int
    title: str
    start_at: datetime
    end_at: datetime
    outcome: str
    location_kind: str
    location_value: str | None
    conference_status: str | None
    conference_url: str | None
    host_name: str
    organizer_name: str
    #: The latest change the host made in the connected calendar (issue 23): when, what
    #: (webapp.calendars.history.TIMELINE_KINDS), where, and the values taken in.
    change_at: datetime | None = None
    change_kind: str | None = None
    change_provider: str | None = None
    change_details: dict | None = None
    #: The title of the scheduling page the contact booked it through (#22), or None.
    booked_through: str | None = None
    attendee_names: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, meeting: Meeting) -> TimelineItem:
        from webapp.booking.operations import page_title_for
        change = db.session.execute(_change_statement(), {
            "account_id": meeting.account_id, "meeting_id": meeting.id}).first()
        return cls(meeting.id, meeting.title, meeting.start_at, meeting.end_at,
                   meeting.outcome, meeting.location_kind, meeting.location_value,
                   meeting.conference_status, meeting.conference_url, meeting.host.name,
                   meeting.organizer.name, *(change or (None,) * 4),
                   booked_through=page_title_for(meeting),
                   attendee_names=[a.name for a in meeting.attendees])


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    #: The cursor of the next (older) page, or None when this page is the last.
    more: str | None
    #: webapp.meetings.outcomes.OutcomeCatalog of the account
    outcomes: object

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self):
        return iter(self.items)

    @cached_property
    def text(self) -> dict[str, str]:
        """The items' constant strings, translated once a process and locale rather than
        once an item ("actions_for" is formatted with each title)."""
        locale = self._dates[0]
        texts = current_app.extensions.setdefault("parley_timeline_text", {})
        found = texts.get(locale)
        if found is None:
            found = texts[locale] = self._translated()
        return found

    @staticmethod
    def _translated() -> dict[str, str]:
        return {"meeting": _("Meeting"), "actions": _("Actions"),
                "actions_for": _("Actions for %(title)s", title="%(title)s"),
                "open": _("Open the meeting"), "location": _("Location"),
                "attendees": _("Attendees"), "host": _("Host"), "organizer": _("Organizer"),
                "older": _("Older activities"),
                "booked_through": _("Booked through %(page)s", page="%(page)s")}

    @cached_property
    def _dates(self):
        from flask_babel import get_locale, get_timezone
        return str(get_locale()), ZoneInfo(str(get_timezone()))

    def when(self, item: TimelineItem) -> tuple[str, str]:
        """(start, end) as the `when` filter writes them (webapp/filters.py: no seconds; the
        end with its date when the meeting ends on another day), the viewer's locale and
        zone looked up once a page, not twice an item."""
        locale, zone = self._dates
        start, end = item.start_at.astimezone(zone), item.end_at.astimezone(zone)

        def full(value):
            return join_date_time("medium", date_text(value, "medium", locale),
                                  time_text(value, "short", locale), locale)
        return full(start), (full(end) if end.date() != start.date()
                             else time_text(end, "short", locale))

    def calendar_change(self, item: TimelineItem) -> str | None:
        """The item's latest change made in the host's calendar, as a line ("Moved in
        Google Calendar by the host: Tue 9:00 AM → Wed 10:00 AM"), in the viewer's zone."""
        if item.change_kind is None:
            return None
        from webapp.calendars.history import describe_values
        locale, zone = self._dates
        return describe_values(item.change_at, item.change_kind, item.change_provider,
                               item.change_details, (zone, locale)).text

    @cached_property
    def urls(self) -> dict[str, tuple[str, str]]:
        """Each item URL as (before the meeting id, after it): one url_for a page."""
        return {"show": url_parts("meetings.show"), "actions": url_parts("meetings.actions")}


#: Stands for the meeting id while an item URL is built (url_parts).
_ID = 2147483647


def url_parts(endpoint: str) -> tuple[str, str]:
    """url_for(endpoint, meeting_id=...) split around the id: prefix + str(id) + suffix."""
    before, _sep, after = url_for(endpoint, meeting_id=_ID).partition(str(_ID))
    return before, after


def cursor_of(item: TimelineItem) -> str:
    """The "older than this item" cursor: its start (Unix seconds) and id."""
    return f"{int(item.start_at.timestamp())}-{item.id}"


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    """(start, id) of a cursor_of() text; None for anything else (the first page)."""
    try:
        seconds, _, meeting_id = (text or "").partition("-")
        return datetime.fromtimestamp(int(seconds), UTC), int(meeting_id)
    except (ValueError, OverflowError, OSError):
        return None


@cache
def _page_statement(after: bool, dialect: str):
    """The page's SELECT, built once a process and dialect (building it costs more than
    running it): bind parameters account_id, record_type, record_id, limit (and start,
    meeting_id when after a cursor).

    The page is chosen on narrow rows first (the record's associations, each meeting's
    start from ix_meetings_timeline, an index-only scan on PostgreSQL), then only its
    meetings are read whole: the cost follows the record's meetings, not the account's.
    Each meeting's attendees' names come with it, as a JSON array (_attendee_names).
    """
    account_id = sa.bindparam("account_id")
    page = (sa.select(Meeting.id, Meeting.start_at)
            .join(MeetingAssociation, MeetingAssociation.meeting_id == Meeting.id)
            .where(MeetingAssociation.account_id == account_id,
                   MeetingAssociation.record_type == sa.bindparam("record_type"),
                   MeetingAssociation.record_id == sa.bindparam("record_id"),
                   Meeting.account_id == account_id, Meeting.deleted_at.is_(None))
            .order_by(Meeting.start_at.desc(), Meeting.id.desc())
            .limit(sa.bindparam("limit")))
    if after:
        start = sa.bindparam("start", type_=Meeting.start_at.type)
        page = page.where(sa.or_(Meeting.start_at < start,
                                 sa.and_(Meeting.start_at == start,
                                         Meeting.id < sa.bindparam("meeting_id"))))
    page = page.subquery("page")
    host, organizer = so.aliased(User), so.aliased(User)
    change, latest = _latest_change(Meeting.id)
    return (sa.select(Meeting.id, Meeting.title, Meeting.start_at, Meeting.end_at,
                      Meeting.outcome, Meeting.location_kind, Meeting.location_value,
                      Meeting.conference_status, Meeting.conference_url,
                      host.name, organizer.name,
                      change.at, change.kind, change.provider, change.details,
                      SchedulingPage.title, _attendee_names(dialect))
            .join(page, page.c.id == Meeting.id)
            .join(host, host.id == Meeting.host_id)
            .join(organizer, organizer.id == Meeting.organizer_id)
            .outerjoin(change, change.id == latest)
            .outerjoin(Booking, Booking.meeting_id == Meeting.id)
            .outerjoin(SchedulingPage, SchedulingPage.id == Booking.page_id)
            .order_by(page.c.start_at.desc(), page.c.id.desc()))


def _latest_change(meeting_id):
    """(the calendar change row, the id of the meeting's latest change a timeline shows):
    read with the page, not once an item (issue 23). Lazily imported: webapp.calendars
    imports the meetings package, which imports this module."""
    from webapp.calendars.history import TIMELINE_KINDS
    from webapp.calendars.models import MeetingCalendarChange
    change, inner = so.aliased(MeetingCalendarChange), so.aliased(MeetingCalendarChange)
    latest = (sa.select(sa.func.max(inner.id))
              .where(inner.meeting_id == meeting_id,
                     inner.account_id == sa.bindparam("account_id"),
                     inner.kind.in_(TIMELINE_KINDS))
              .scalar_subquery())
    return change, latest


@cache
def _change_statement():
    """The latest change a timeline shows of one meeting (bind account_id, meeting_id)."""
    change, latest = _latest_change(sa.bindparam("meeting_id"))
    return sa.select(change.at, change.kind, change.provider, change.details).where(
        change.id == latest)


def _attendee_names(dialect: str):
    """The meeting's attendees' names in their order (by id), as a JSON array: PostgreSQL
    orders inside the aggregate; SQLite (no ORDER BY in aggregates before 3.44) aggregates
    an ordered subquery, which it keeps in order (an aggregate's FROM subquery with ORDER
    BY is never flattened). JSON rather than a separator: a name may hold any character."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by
        names = sa.func.json_agg(aggregate_order_by(Attendee.name, Attendee.id))
        return (sa.select(names).where(Attendee.meeting_id == Meeting.id)
                .scalar_subquery().label("attendee_names"))
    ordered = (sa.select(Attendee.name).where(Attendee.meeting_id == Meeting.id)
               .order_by(Attendee.id).correlate(Meeting).subquery())
    return (sa.select(sa.func.json_group_array(ordered.c.name)).scalar_subquery()
            .label("attendee_names"))


def timeline_for(account_id: int, record, before: str | None = None,
                 limit: int = PER_PAGE) -> TimelinePage:
    """The record's meetings older than the cursor `before` (newest first), and the cursor
    after them: two statements (this page with its attendees' names, the account's
    outcomes)."""
    from webapp.meetings.outcomes import catalog

    params = {"account_id": account_id, "record_type": record.record_type,
              "record_id": record.id, "limit": limit + 1}
    after = parse_cursor(before)
    if after is not None:
        params["start"], params["meeting_id"] = after
    rows = read_columns(_page_statement(after is not None, db.engine.dialect.name),
                        params).all()
    items = [TimelineItem(*row[:-1], attendee_names=_names(row[-1])) for row in rows]
    more = cursor_of(items[limit - 1]) if len(items) > limit else None
    items = items[:limit]
    return TimelinePage(items, more, catalog(account_id))


def _names(value) -> list[str]:
    """The attendee_names column as a list: psycopg parses PostgreSQL's json (None for a
    meeting without attendees); SQLite gives the JSON text."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else value


def items_html(timeline: TimelinePage, record_url: str, more_url: str) -> Markup:
    """The record page's timeline items, as render_items() writes them, put in the page as
    one piece (a template's ~1,300 chunks went up through every level of the page's
    templates when it was included). Rendered at every view: keeping them per process
    gained nothing measurable (docs/PERFORMANCE.md, the make bench of 2026-12-04), so
    the memo was removed (#24: keep only what measurably gains)."""
    return render_items(timeline, request.path, record_url, more_url)


def render_items(timeline: TimelinePage, return_to: str, record_url: str = "",
                 more_url: str = "", open_menu: tuple[int, Markup] | None = None) -> Markup:
    """A page of timeline items, then the "Older activities" link when there are more.
    Each item's actions menu is loaded when it is first opened (GET /meetings/<id>/actions,
    meetings/_actions_menu.html), except open_menu's (meeting id, menu): an outcome that
    was refused comes back open with its error. Written here rather than in a template:
    a template's 20 items cost about 740 escapes and 1,300 yielded chunks a page; here
    each value is escaped once and each item is one format (#24; tests/test_timeline.py
    checks the text against reviewed snapshots)."""
    t = {k: escape(v) for k, v in timeline.text.items()}
    show, actions = timeline.urls["show"], timeline.urls["actions"]
    show0, show1 = escape(show[0]), escape(show[1])
    actions0 = escape(actions[0])
    actions1 = escape(actions[1]) + escape("?return_to=" + _urlencode(return_to))
    outcomes = timeline.outcomes
    out = []
    for m in timeline.items:
        mid = str(m.id)
        title = escape(m.title)
        start, end = timeline.when(m)
        href = f"{show0}{mid}{show1}"
        booked = (f' · <span class="timeline-source">'
                  f'{escape(timeline.text["booked_through"] % {"page": m.booked_through})}'
                  f'</span>' if m.booked_through else "")
        change = (f'\n  <p class="timeline-calendar-change">'
                  f'{escape(timeline.calendar_change(m))}</p>' if m.change_kind else "")
        location = (f'<dt>{t["location"]}</dt><dd>{_location(m)}</dd>'
                    if m.location_value else "")
        menu = open_menu[1] if open_menu and open_menu[0] == m.id else None
        inside = menu if menu is not None else f'<a href="{href}">{t["open"]}</a>'
        out.append(
            f'\n<li class="timeline-item" id="meeting-{mid}">\n'
            f'  <div class="timeline-head">\n'
            f'    <span class="badge badge-blue">{t["meeting"]}</span>\n'
            f'    <a class="timeline-title" href="{href}">{title}</a>\n'
            f'    <details class="menu"{" open" if menu is not None else ""}>\n'
            f'      <summary aria-label="'
            f'{escape(timeline.text["actions_for"] % {"title": m.title})}" hx-get="'
            f'{actions0}{mid}{actions1}" hx-trigger="click once" hx-target="#menu-{mid}">'
            f'{t["actions"]}</summary>\n'
            f'      <div class="menu-items" id="menu-{mid}">{inside}</div>\n'
            f'    </details>\n'
            f'  </div>\n'
            f'  <p class="timeline-meta">\n'
            f'    <time datetime="{escape(m.start_at.isoformat())}">{escape(start)} – '
            f'{escape(end)}</time>\n'
            f'    · <span class="badge badge-gray outcome">'
            f'{escape(outcomes.label(m.outcome))}</span>{booked}\n'
            f'  </p>{change}\n'
            f'  <dl class="props">\n'
            f'    {location}\n'
            f'    <dt>{t["attendees"]}</dt><dd>{escape(", ".join(m.attendee_names)) or "—"}'
            f'</dd>\n'
            f'    <dt>{t["host"]}</dt><dd>{escape(m.host_name)}</dd>\n'
            f'    <dt>{t["organizer"]}</dt><dd>{escape(m.organizer_name)}</dd>\n'
            f'  </dl>\n'
            f'</li>')
    if timeline.more:
        more = escape(timeline.more)
        out.append(
            f'\n<li class="timeline-more"><a class="btn btn-sm" href="{escape(record_url)}'
            f'?before={more}#timeline" hx-get="{escape(more_url)}?before={more}" '
            f'hx-target="closest li" hx-swap="outerHTML">{t["older"]}</a></li>')
    return Markup("".join(out))


def _urlencode(value: str) -> str:
    """Jinja's urlencode filter of a string (what the template's actions_query uses)."""
    from jinja2.filters import do_urlencode
    return do_urlencode(value)


def _location(m: TimelineItem) -> str:
    """conferencing/_location.html of an item (escaped)."""
    if m.location_kind == "video" and m.conference_status == "ready" and m.conference_url:
        url = escape(m.conference_url)
        return (f'<a class="join-link" href="{url}" target="_blank" '
                f'rel="noopener noreferrer">{url}</a>')
    if m.location_kind == "video" and m.conference_status in ("pending", "failed"):
        badge = "badge-red" if m.conference_status == "failed" else "badge-gray"
        text = (_("video link pending") if m.conference_status == "pending"
                else _("video link failed"))
        return f'<span class="badge {badge} video-pending">{Markup(text)}</span>'
    return escape(m.location_value or "—")
