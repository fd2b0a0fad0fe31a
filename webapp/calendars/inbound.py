"""Changes made in the host's calendar coming back to Parley (issue 23). Request side (it
flushes, never commits): the job that runs it is webapp.calendars.sync.run_inbound.

Each connection has one CalendarSyncState row, claimed by a periodic job through the task
runner (webapp.tasks) every CALENDAR_SYNC_INTERVAL_SECONDS, or at once by "sync now". The
job asks the provider what changed since the stored token (CalDAV sync-collection with a
ctag/etag fallback, Google syncToken, Graph delta), in the calendar receiving new meetings
and in every other calendar of the connection that holds Parley's events (#21: each sync
row keeps its event's calendar, and each calendar has its own token), and applies each
change to an event Parley created on that calendar, matched by its stored href / event id
or by our UID. Events Parley did not
create are busy time only, never imported.

What a change means, always saved through the one save pipeline with the provider as
its source (webapp.meetings.pipeline):
- a new time: a reschedule (outcome Rescheduled, reminders follow, attendees get one
  update with a higher SEQUENCE, unless the provider mails them itself: Microsoft);
- a new title, location or description: taken in, attendees get one update;
- a deleted or cancelled event: the meeting is canceled (one CANCEL each), or, when the
  user chose so, only flagged for the rep to decide;
- the event's version equal to the stored one: Parley's own write coming back, ignored;
- the first sync of a connection records versions and sends nothing.

Conflicts (the event changed in the calendar while Parley had an unwritten change of its
own, or a write was refused with 412): the later change wins, compared by the calendar's
last-modified time and the meeting's updated_at; the losing version is kept in the
meeting's history (MeetingCalendarChange, kind "conflict").

Every change is recorded in the meeting's history with the provider's calendar name, so a
timeline can say "Moved in Google Calendar by the host".
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from webapp.auth.models import Account, User
from webapp.calendars.models import (
    INBOUND_TASKS,
    CalendarConnection,
    CalendarSync,
    CalendarSyncState,
    MeetingCalendarChange,
)
from webapp.calendars.providers import RemoteEvent
from webapp.extensions import db
from webapp.meetings import pipeline
from webapp.meetings.inputs import MeetingInput
from webapp.meetings.models import Meeting
from webapp.richtext import from_text
from webapp.types import utcnow

log = logging.getLogger(__name__)

#: The job that runs one connection's inbound sync (webapp.calendars.sync.run_inbound).
JOB = "worker.jobs.sync_calendar_inbound"
#: The calendars' names as history and health show them.
CALENDAR_NAMES = {"google": "Google Calendar", "microsoft": "Microsoft 365",
                  "caldav": "CalDAV"}
FIELDS = ("start", "end", "title", "location", "description")


def interval() -> timedelta:
    return timedelta(seconds=int(current_app.config["CALENDAR_SYNC_INTERVAL_SECONDS"]))


def state_for(conn: CalendarConnection) -> CalendarSyncState:
    """The connection's inbound state, made when missing (flushes)."""
    state = db.session.scalar(sa.select(CalendarSyncState).where(
        CalendarSyncState.connection_id == conn.id))
    if state is None:
        state = CalendarSyncState(account_id=conn.account_id, connection_id=conn.id,
                                  next_attempt_at=utcnow())
        db.session.add(state)
        db.session.flush()
    return state


# --- one change --------------------------------------------------------------------------

def ours(conn: CalendarConnection, meeting: Meeting) -> RemoteEvent:
    """The meeting as Parley writes it to this provider, read back like a remote event:
    comparing the two tells what the calendar changed."""
    if conn.provider == "caldav":
        from webapp.calendars.providers.caldav import parse_event
        from webapp.meetings import ical
        return parse_event("", None, ical.stored(meeting).decode())
    if conn.provider == "google":
        from webapp.calendars.providers.google import as_remote, event_body
        return as_remote(event_body(meeting))
    from webapp.calendars.providers.microsoft import as_remote, event_body
    return as_remote(event_body(meeting))


def _differences(mine: RemoteEvent, theirs: RemoteEvent) -> dict:
    out = {}
    for name in FIELDS:
        a, b = getattr(mine, name), getattr(theirs, name)
        if isinstance(a, str) or isinstance(b, str):
            a, b = (a or "").strip(), (b or "").strip()
        if a != b:
            out[name] = (a, b)
    return out


def _record(meeting: Meeting, conn: CalendarConnection, kind: str, details: dict) -> None:
    db.session.add(MeetingCalendarChange(
        account_id=meeting.account_id, meeting_id=meeting.id, provider=conn.provider,
        kind=kind, details={k: [str(x) if x is not None else None for x in v]
                            if isinstance(v, tuple | list) else v
                            for k, v in details.items()}))


def _input(meeting: Meeting, theirs: RemoteEvent, diff: dict) -> MeetingInput:
    data = MeetingInput.from_meeting(meeting)
    # A reminder the new time makes due already is left out rather than refused.
    data.default_reminders = frozenset(data.reminders)
    if "start" in diff:
        data.start = theirs.start
    if "end" in diff:
        data.end = theirs.end
    if "title" in diff:
        data.title = (theirs.title or "").strip()[:200] or meeting.title
    if "description" in diff:
        data.description_html = from_text(theirs.description or "")
    if "location" in diff and meeting.location_kind != "video":
        where = (theirs.location or "").strip()[:500]
        if not where:
            data.location_kind, data.location_value = "none", None
        else:
            data.location_value = where
            if meeting.location_kind in ("none", "phone"):
                data.location_kind = "custom"
    return data


def apply_remote(conn: CalendarConnection, state: CalendarSyncState, row: CalendarSync,
                 remote: RemoteEvent, *, initial: bool = False,
                 conflict: bool = False) -> tuple[str, list]:
    """Apply one remote version of the event of row's meeting. Returns (what happened,
    the save results whose messages go out after the commit). Flushes, never commits.

    initial: the connection's first sync (versions are recorded, nothing is changed or
    sent). conflict: a write was refused (412), so Parley has a change of its own."""
    meeting = db.session.get(Meeting, row.meeting_id)
    if meeting is None:
        return "ignored", []
    if remote.etag and row.etag and remote.etag == row.etag and not remote.deleted:
        return "own", []  # Parley's own write coming back (or a duplicate delivery)
    account = db.session.get(Account, meeting.account_id)
    host = db.session.get(User, meeting.host_id)
    if remote.deleted:
        if row.remote_deleted_at is not None:
            return "own", []  # delivered before
        row.remote_deleted_at, row.etag = utcnow(), None
        if initial or meeting.deleted_at is not None or meeting.outcome == "canceled":
            return "ignored", []
        if state.on_remote_delete == "flag":
            _record(meeting, conn, "flagged", {})
            return "flagged", []
        result = pipeline.cancel(account, host, meeting, source=conn.provider)
        _record(meeting, conn, "canceled", {})
        return "canceled", [result]
    if meeting.deleted_at is not None:
        return "ignored", []
    diff = _differences(ours(conn, meeting), remote)
    if not diff or initial:
        if row.etag is None or initial:
            row.etag = remote.etag
        return "same", []
    # Parley has a change of its own not written yet: both sides changed.
    pending = conflict or (row.action == "upsert" and row.status in ("pending", "failed"))
    if pending:
        state.conflicts += 1
        theirs_later = remote.modified is None or meeting.updated_at is None or \
            remote.modified > meeting.updated_at
        if not theirs_later:
            # Parley's change is the later one: it is written over the calendar's, which
            # is kept in the history.
            _record(meeting, conn, "conflict", {"kept": "parley", **{
                k: [v[0], v[1]] for k, v in diff.items()}})
            row.etag = remote.etag
            if row.status == "failed":  # written again now that the version is known
                row.status, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
            return "kept", []
        _record(meeting, conn, "conflict", {"kept": "calendar", **{
            k: [v[0], v[1]] for k, v in diff.items()}})
    row.etag = remote.etag
    result = pipeline.save(account, host, _input(meeting, remote, diff), meeting,
                           source=conn.provider)
    if not result.ok:
        # The calendar's version breaks a rule (a time in the past, too long, ...): the
        # rep decides; nothing is sent.
        _record(meeting, conn, "flagged", {"errors": {k: list(map(str, v))
                                                      for k, v in result.errors.items()}})
        return "flagged", []
    kind = "moved" if {"start", "end"} & diff.keys() else "updated"
    _record(meeting, conn, kind, {k: [v[0], v[1]] for k, v in diff.items()})
    return kind, [result]


# --- matching events to meetings -------------------------------------------------------

def rows_by_href(conn: CalendarConnection, calendar: str | None = None
                 ) -> dict[str, CalendarSync]:
    """Every sync row of the connection (of its events on `calendar`, when given) by its
    event's id: only for the CalDAV ctag/etag fallback, which compares every event Parley
    wrote on the calendar it reads."""
    from webapp.calendars.connections import calendar_key, event_calendar
    rows = db.session.scalars(sa.select(CalendarSync).where(
        CalendarSync.connection_id == conn.id, CalendarSync.account_id == conn.account_id,
        CalendarSync.external_id.is_not(None)))
    key = calendar_key(conn, calendar) if calendar is not None else None
    return {_key(conn, r.external_id): r for r in rows
            if key is None or calendar_key(conn, event_calendar(conn, r)) == key}


def calendars_to_read(conn: CalendarConnection) -> list[str]:
    """The calendars whose changes the inbound sync reads (#21): the one receiving new
    meetings, then every other one of the connection that holds Parley's events (a
    previous target: those events still move or get cancelled there)."""
    from webapp.calendars.connections import calendar_key, event_calendar, target_ref
    out = {calendar_key(conn, target_ref(conn)): target_ref(conn)}
    live = (CalendarSync.connection_id == conn.id, CalendarSync.account_id == conn.account_id,
            CalendarSync.external_id.is_not(None), CalendarSync.remote_deleted_at.is_(None))
    for ref in db.session.scalars(sa.select(CalendarSync.calendar_ref).where(
            *live, CalendarSync.calendar_ref.is_not(None)).distinct()):
        out.setdefault(calendar_key(conn, ref), ref)
    # Rows written before the calendar was kept (migration 0019 filled it): the
    # connection's default calendar, a CalDAV event's own collection.
    for href in db.session.scalars(sa.select(CalendarSync.external_id).where(
            *live, CalendarSync.calendar_ref.is_(None)).limit(
            BATCH if conn.provider == "caldav" else 1)):
        ref = event_calendar(conn, CalendarSync(external_id=href))
        out.setdefault(calendar_key(conn, ref), ref)
    return list(out.values())


def tokens_of(state: CalendarSyncState, conn: CalendarConnection) -> dict[str, str]:
    """The sync token of each calendar read before, by calendar_key: sync_token is
    token_calendar's (the target's when it was read; NULL: as before #21, the target)."""
    from webapp.calendars.connections import calendar_key, target_ref
    tokens = dict(state.calendar_tokens or {})
    if state.sync_token:
        tokens[state.token_calendar or calendar_key(conn, target_ref(conn))] = state.sync_token
    return tokens


#: Ids per IN list: a full listing (the first sync, a 410) may name thousands of events.
BATCH = 500


def _key(conn: CalendarConnection, external_id: str) -> str:
    from webapp.calendars.providers.caldav import _path
    return _path(external_id) if conn.provider == "caldav" else external_id


def rows_for(conn: CalendarConnection, events) -> dict[str, CalendarSync]:
    """The sync rows of the events in a batch of changes, by the event's id (CalDAV: its
    href path), looked up by id (ix_calendar_syncs_connection_external), then by our UID
    for those not found: a few statements per BATCH events, never every row of the
    connection."""
    from urllib.parse import urljoin
    found: dict[str, CalendarSync] = {}
    ids = list(dict.fromkeys(e.id for e in events if e.id))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        candidates = set(chunk)
        if conn.provider == "caldav" and conn.caldav_calendar_url:
            # Rows written by the caldav library hold the full URL.
            candidates |= {urljoin(conn.caldav_calendar_url, i) for i in chunk}
        for row in db.session.scalars(sa.select(CalendarSync).where(
                CalendarSync.connection_id == conn.id,
                CalendarSync.account_id == conn.account_id,
                CalendarSync.external_id.in_(candidates))):
            found[_key(conn, row.external_id)] = row
    missing = {e.uid: e.id for e in events if e.id not in found and e.uid}
    uids = list(missing)
    for start in range(0, len(uids), BATCH):
        for uid, row in db.session.execute(sa.select(Meeting.uid, CalendarSync).join(
                Meeting, Meeting.id == CalendarSync.meeting_id).where(
                Meeting.uid.in_(uids[start:start + BATCH]),
                Meeting.account_id == conn.account_id,
                CalendarSync.connection_id == conn.id)):
            found.setdefault(missing[uid], row)
    return found


def resolve_conflict(conn: CalendarConnection, row: CalendarSync, meeting: Meeting,
                     provider) -> tuple[bool, list]:
    """A write was refused (412): the server's version is taken in first, then Parley
    decides. Returns (whether Parley's version must still be written, save results)."""
    state = state_for(conn)
    remote = provider.fetch(row.external_id)
    what, results = apply_remote(conn, state, row, remote, conflict=True)
    if what in ("canceled", "flagged") and remote.deleted:
        return False, results
    if what == "canceled" or row.remote_deleted_at is not None:
        return False, results
    return True, results


# --- the periodic sweep, "sync now" ---------------------------------------------------------

def sync_now(conn: CalendarConnection) -> CalendarSyncState:
    """Make the connection's inbound sync due at once (request side: flushes; the caller
    commits, then enqueues JOB with the state's id)."""
    state = state_for(conn)
    if state.status != INBOUND_TASKS.claimed:
        state.status, state.next_attempt_at = "pending", utcnow()
    db.session.flush()
    return state




def health(state: CalendarSyncState | None) -> dict:
    """The connection's sync health as pages and the API show it."""
    if state is None:
        return {"last_success_at": None, "last_error": None, "last_error_at": None,
                "failures": 0, "changes_in": 0, "conflicts": 0, "stale": False,
                "next_sync_at": None}
    stale_after = interval() * 3
    last = state.last_success_at
    return {"last_success_at": last, "last_error": state.last_error,
            "last_error_at": state.last_error_at, "failures": state.failures,
            "changes_in": state.changes_in, "conflicts": state.conflicts,
            "stale": bool(state.failures) or (last is not None and utcnow() - last > stale_after),
            "next_sync_at": state.next_attempt_at}

