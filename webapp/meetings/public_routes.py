"""Links that need no login: a signed token or a secret names the person. The RSVP page,
iTIP REPLY from calendar clients, and the user's calendar feed (with its reset)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.auth.models import User
from webapp.extensions import csrf, db
from webapp.meetings import bp, ical, queries, responses
from webapp.meetings import operations as meeting_ops
from webapp.meetings.timemath import to_zone
from webapp.types import utcnow


@bp.route("/rsvp/<token>", methods=["GET", "POST"])
def rsvp(token: str):
    attendee = responses.attendee_from_token(token)
    if attendee is None:
        abort(404)
    meeting = attendee.meeting
    saved = False
    if request.method == "POST":
        if meeting.deleted_at is not None:
            abort(410)
        if not responses.record_response(attendee, request.form.get("response", "")):
            abort(422)
        db.session.commit()
        saved = True
    zone = (attendee.contact.timezone if attendee.contact and attendee.contact.timezone
            else attendee.user.zone if attendee.user else meeting.timezone)
    return render_template("meetings/rsvp.html", attendee=attendee, meeting=meeting,
                           saved=saved, zone=zone, start=to_zone(meeting.start_at, zone),
                           end=to_zone(meeting.end_at, zone))


@bp.post("/itip/reply")
@csrf.exempt
def itip_reply():
    secret = current_app.config.get("ITIP_INBOUND_TOKEN")
    auth = request.headers.get("Authorization", "")
    if not secret or auth != f"Bearer {secret}":
        abort(404)
    try:
        updated = responses.apply_itip_reply(request.get_data())
    except ValueError:
        return {"error": "Send a text/calendar body with METHOD:REPLY."}, 422
    db.session.commit()
    return {"updated": updated}


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    user = db.session.scalar(sa.select(User).where(User.feed_token == token))
    if user is None:
        abort(404)
    meetings = queries.user_feed_meetings(user, utcnow() - timedelta(days=90))
    return Response(ical.feed(meetings, f"Parley — {user.name}"), mimetype="text/calendar")


@bp.post("/settings/calendar-feed/reset")
@login_required
def reset_feed():
    meeting_ops.reset_feed_token(current_user)
    db.session.commit()
    flash(_("Your calendar feed has a new address; the old one stopped working."), "success")
    return redirect(url_for("auth.profile"))


@bp.app_template_global()
def feed_url(user) -> str:
    return f"{current_app.config['BASE_URL']}/calendar/{user.feed_token}.ics"


@bp.app_template_filter("local")
def local(value: datetime, zone: str) -> datetime:
    return to_zone(value, zone)
