"""The bell: notifications list, open one (marks it read), mark all read."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.notifications import bp
from webapp.notifications import operations as ops


@bp.app_template_global()
def unread_notifications() -> int:
    """Unread count for the top bar; 0 when nobody is logged in."""
    if not current_user or not current_user.is_authenticated:
        return 0
    return ops.unread_count(current_user)


@bp.get("/notifications")
@login_required
def index():
    return render_template("notifications/index.html", items=ops.for_user(current_user))


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_one(notification_id: int):
    notification = ops.get_for_user(current_user, notification_id)
    if notification is None:
        abort(404)
    ops.mark_read(notification)
    db.session.commit()
    if notification.meeting_id is None:  # a calendar that keeps failing to sync
        return redirect(url_for("calendars.settings"))
    return redirect(url_for("meetings.show", meeting_id=notification.meeting_id))


@bp.post("/notifications/read")
@login_required
def read_all():
    ops.mark_all_read(current_user)
    db.session.commit()
    flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("notifications.index"))
