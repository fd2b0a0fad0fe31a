"""My meetings (the top bar's "Calendar"): the signed-in user's agenda across all records,
a week on the desktop (a time grid: webapp.meetings.agenda_grid) and a day list on the phone (one page, CSS picks), filtered by
outcome or "needs an outcome"; a colleague's agenda shows what the viewer is not part of
as Busy. Calendar connections are under the user's settings (webapp.calendars.routes).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, g, render_template, request
from flask_login import current_user, login_required

from webapp.meetings import agenda_grid, bp, calendar_view, queries, views
from webapp.meetings.outcomes import catalog as outcome_catalog
from webapp.meetings.timemath import to_zone
from webapp.types import utcnow


@bp.get("/calendar")
@login_required
def agenda():
    users = queries.account_users(g.account_id)
    user_id = request.args.get("user", type=int) or current_user.id
    user = next((u for u in users if u.id == user_id), None)
    if user is None:
        abort(404)  # not a user of this account
    outcomes = outcome_catalog(g.account_id)
    outcome = request.args.get("outcome") or None
    if outcome is not None and outcome not in outcomes:
        outcome = None
    needs_outcome = request.args.get("needs_outcome") == "1"
    now = utcnow()
    zone = current_user.zone
    day = views.day_arg("day", None) or to_zone(now, zone).date()
    week = calendar_view.agenda(g.account_id, user, current_user, day, zone, outcome=outcome,
                                needs_outcome=needs_outcome, now=now)
    filters = {"user": user.id if user.id != current_user.id else None, "outcome": outcome,
               "needs_outcome": "1" if needs_outcome else None}
    return render_template("meetings/agenda.html", week=week, users=users, outcomes=outcomes,
                           filters=filters, own=user.id == current_user.id,
                           grid=agenda_grid.grid(week, ZoneInfo(zone)))
