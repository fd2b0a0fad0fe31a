"""Links that need no login: a signed token or a secret names the person. The RSVP page,
iTIP REPLY from calendar clients, and the user's calendar feed (with its reset)."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.http import http_date, is_resource_modified, quote_etag

from webapp.auth.models import User, feed_token_hash
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
    # Constant time: the comparison must not tell how much of a guess was right.
    if not secret or not hmac.compare_digest(auth.encode(), f"Bearer {secret}".encode()):
        abort(404)
    try:
        # The hook passes the mail's sender: a REPLY may only answer for its sender.
        updated = responses.apply_itip_reply(request.get_data(),
                                             request.headers.get("X-Parley-Mail-From"))
    except ValueError as exc:
        return {"error": "Send a text/calendar body with METHOD:REPLY naming one attendee, "
                         f"its sender ({exc})."}, 422
    db.session.commit()
    return {"updated": updated}


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    """The private subscription feed: built from one query and streamed; its ETag and
    Last-Modified come from the data, so a client that has it gets 304 Not Modified."""
    user = db.session.scalar(sa.select(User).where(User.feed_token == feed_token_hash(token)))
    if user is None:
        abort(404)
    name = f"Parley — {user.name}"
    events = queries.user_feed_events(user, utcnow() - timedelta(days=90))
    etag = ical.feed_etag(events, name)
    changed = max((e.updated_at or e.created_at for e in events), default=None)
    headers = {"ETag": quote_etag(etag), "Cache-Control": "private, no-cache"}
    if changed is not None:
        headers["Last-Modified"] = http_date(changed)
    # Not Response.make_conditional(): it reads the whole streamed body to count it.
    if not is_resource_modified(request.environ, etag, last_modified=changed):
        return Response(status=304, headers=headers)
    return Response(ical.feed(events, name), mimetype="text/calendar", headers=headers)


@bp.post("/settings/calendar-feed/reset")
@login_required
def reset_feed():
    token = meeting_ops.reset_feed_token(current_user)
    db.session.commit()
    flash(_("Your calendar feed has a new address; the old one stopped working."), "success")
    # Shown this once (only its hash is kept), on the page itself rather than through a
    # redirect, so it never sits in the session cookie.
    from webapp.auth.routes import profile_page
    return profile_page(new_feed_url=f"{current_app.config['BASE_URL']}/calendar/{token}.ics")


@bp.app_template_filter("local")
def local(value: datetime, zone: str) -> datetime:
    return to_zone(value, zone)
