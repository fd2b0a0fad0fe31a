"""Making the host's calendar match the meeting (job side: owns its transactions).

Sync follows the outbox pattern: saving a meeting upserts its CalendarSync row in the same
transaction (webapp.calendars.connections.queue_sync); a job claims the row through the
task runner and makes the provider match it, with retries, backoff and Retry-After; a 401
refreshes the token once; a refused grant marks the connection "reconnect needed" and
stops retrying.
"""

from __future__ import annotations

from webapp import tasks
from webapp.calendars.connections import provider_for
from webapp.calendars.models import SYNC_TASKS, CalendarConnection, CalendarSync
from webapp.calendars.providers import AuthExpired, ProviderError, ReconnectNeeded
from webapp.extensions import db
from webapp.meetings.models import Meeting
from webapp.types import utcnow

JOB = "worker.jobs.sync_calendar"


def run_sync(sync_id: int) -> str:
    """Make the provider match the meeting. Returns the row's status afterwards."""
    if not tasks.claim(SYNC_TASKS, sync_id):
        return "not-claimed"
    row = db.session.get(CalendarSync, sync_id)
    meeting = db.session.get(Meeting, row.meeting_id)
    conn = db.session.get(CalendarConnection, row.connection_id) if row.connection_id else None
    if meeting is None or conn is None:
        row.status, row.last_error = "failed", "The calendar connection was removed."
        db.session.commit()
        return row.status
    action = "delete" if meeting.deleted_at is not None else row.action
    try:
        for attempt in (0, 1):
            try:
                provider = provider_for(conn, force_refresh=attempt == 1)
                if action == "delete":
                    provider.delete(meeting, row.external_id)
                else:
                    row.external_id = provider.upsert(meeting, row.external_id)
                break
            except AuthExpired:
                if attempt == 1 or conn.provider == "caldav":
                    raise ProviderError("The calendar keeps refusing the access token.",
                                        401, retryable=False) from None
    except ReconnectNeeded as exc:
        if conn.provider == "caldav":
            conn.status, conn.last_error = "reconnect_needed", str(exc)
        row.status, row.last_error = "failed", str(exc)
    except ProviderError as exc:
        tasks.schedule_retry(SYNC_TASKS, row, str(exc)[:1000], retryable=exc.retryable,
                             retry_after=exc.retry_after)
    else:
        row.status, row.synced_at, row.last_error = "synced", utcnow(), None
    db.session.commit()
    return row.status


def relay_syncs(limit: int = 500) -> int:
    """Enqueue due sync rows (and ones whose worker died): the relay and the sweep."""
    return tasks.enqueue_due(SYNC_TASKS, JOB, limit)


tasks.register_relay(30, "calendar syncs", relay_syncs)
def sweep_syncs(_interval: float) -> None:
    """The sweep's calendar step. Returns nothing: relay_syncs()'s count is not a wait."""
    relay_syncs()


tasks.register_sweep(30, "calendar syncs", sweep_syncs)
