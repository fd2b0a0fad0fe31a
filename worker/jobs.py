"""Thin job functions: take ids, call webapp operations, return quietly when rows are gone.

Each runs inside an app context: the caller's (in-process modes) or one app built once
per worker process (`python -m worker`).
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import has_app_context

_app = None


@contextmanager
def app_context():
    """Use the current app context, or the worker's own app."""
    global _app
    if has_app_context():
        yield
        return
    if _app is None:
        from webapp import create_app
        _app = create_app()
    with _app.app_context():
        yield


def send_message(message_id: int) -> str:
    """Send one outbox message (claimed first, so running twice sends once)."""
    with app_context():
        from webapp.delivery import sending
        return sending.deliver(message_id)


def send_messages(*message_ids: int) -> dict:
    """Send a batch of outbox messages over one mail-server connection: claimed together
    (so running twice sends once), then each sent and marked on its own."""
    with app_context():
        from webapp.delivery import sending
        from webapp.mail.transport import one_connection
        results: dict[str, int] = {}
        with one_connection():
            for status in sending.deliver_many(list(message_ids)):
                results[status] = results.get(status, 0) + 1
        return results


def relay() -> None:
    """Hand what requests committed to the queue: every relay step the domains registered
    (webapp.tasks): conference tasks, outbox rows, calendar syncs."""
    with app_context():
        from webapp import jobs, tasks
        jobs.relay_starting()
        tasks.relay()


def conference_task(task_id: int) -> str:
    """Create, update or delete a meeting's video conference (claimed: runs once)."""
    with app_context():
        from webapp.conferencing import tasks
        return tasks.run_task(task_id)


def sync_calendar(sync_id: int) -> str:
    """Make the host's connected calendar match the meeting (claimed: runs once)."""
    with app_context():
        from webapp.calendars import sync
        return sync.run_sync(sync_id)


def sync_calendar_inbound(state_id: int) -> str:
    """Take in what changed in a connected calendar (claimed: runs once; issue 23)."""
    with app_context():
        from webapp.calendars import sync
        return sync.run_inbound(state_id)


def calendar_channel(channel_id: int) -> str:
    """Open, renew or stop a Google notification channel (claimed: runs once; issue 23)."""
    with app_context():
        from webapp.calendars import sync
        return sync.run_channel(channel_id)


def sweep() -> float:
    """The periodic pass: every sweep step the domains registered (webapp.tasks): due
    reminders into the outbox, the outbox, calendar syncs and conference tasks to the
    queue, notification emails. Returns the seconds until it has work again."""
    with app_context():
        from flask import current_app

        from webapp import tasks
        return tasks.sweep(float(current_app.config["SWEEP_INTERVAL_SECONDS"]))


def send_notification_email(notification_id: int) -> str:
    """Email one notification (claimed first, so running twice sends once)."""
    with app_context():
        from webapp.notifications import emails
        return emails.send_email(notification_id)
