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
        from webapp.delivery import operations as delivery
        return delivery.deliver(message_id)


def send_messages(*message_ids: int) -> dict:
    """Send a batch of outbox messages over one mail-server connection: claimed together
    (so running twice sends once), then each sent and marked on its own."""
    with app_context():
        from webapp.delivery import operations as delivery
        from webapp.mail.transport import one_connection
        results: dict[str, int] = {}
        with one_connection():
            for status in delivery.deliver_many(list(message_ids)):
                results[status] = results.get(status, 0) + 1
        return results


def relay() -> int:
    """Move committed outbox rows, video-conference tasks and calendar syncs to the queue."""
    with app_context():
        from webapp import jobs
        from webapp.calendars import operations as calendar_ops
        from webapp.conferencing import operations as conferencing
        from webapp.delivery import operations as delivery
        jobs.relay_starting()
        # Conference tasks first: a link created now supersedes the pending invitation.
        conferencing.relay_tasks()
        sent = delivery.relay()
        calendar_ops.relay_syncs()
        return sent


def conference_task(task_id: int) -> str:
    """Create, update or delete a meeting's video conference (claimed: runs once)."""
    with app_context():
        from webapp.conferencing import operations as conferencing
        return conferencing.run_task(task_id)


def sync_calendar(sync_id: int) -> str:
    """Make the host's connected calendar match the meeting (claimed: runs once)."""
    with app_context():
        from webapp.calendars import operations as calendar_ops
        return calendar_ops.run_sync(sync_id)


def sweep() -> None:
    """Periodic pass: due reminders into the outbox, outbox rows to the queue."""
    with app_context():
        from webapp.delivery import operations as delivery
        from webapp.notifications import operations as notifications
        delivery.sweep()
        notifications.sweep_emails()


def send_notification_email(notification_id: int) -> str:
    """Email one notification (claimed first, so running twice sends once)."""
    with app_context():
        from webapp.notifications import operations as notifications
        return notifications.send_email(notification_id)
