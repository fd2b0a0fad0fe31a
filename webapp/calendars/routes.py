"""Connect and disconnect calendars (settings and the scheduler's prompt), OAuth callbacks."""

from __future__ import annotations

from authlib.integrations.base_client.errors import OAuthError
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp import jobs
from webapp.calendars import bp, channels, inbound, oauth
from webapp.calendars import connections as calendar_connections
from webapp.calendars.models import ON_REMOTE_DELETE, CalendarSync, CalendarSyncState
from webapp.calendars.providers import ProviderError, ReconnectNeeded, RefusedAddress
from webapp.extensions import csrf, db
from webapp.meetings import queries
from webapp.urls import safe_local_url

PROVIDER_NAMES = {"google": "Google Calendar", "microsoft": "Microsoft 365",
                  "caldav": "CalDAV"}


def _safe_next(target: str | None) -> str:
    return safe_local_url(target, url_for("calendars.settings"))


@bp.get("/settings/calendar")
def old_settings():
    """The calendar connections' old address (the top bar's "Calendar" now opens My
    meetings): kept, moved to the user's settings."""
    return redirect(url_for("calendars.settings", **request.args), 301)


def _sync_state(conn):
    if conn is None:
        return None
    return db.session.scalar(db.select(CalendarSyncState).where(
        CalendarSyncState.connection_id == conn.id,
        CalendarSyncState.account_id == current_user.account_id))


@bp.app_template_global()
def calendar_sync_trouble(conn) -> dict | None:
    """The connection's sync health when it is stale or failing (the scheduler's notice),
    else None."""
    if conn is None or conn.status != "active" or not conn.sync_on:
        return None
    state = db.session.scalar(db.select(CalendarSyncState).where(
        CalendarSyncState.connection_id == conn.id,
        CalendarSyncState.account_id == conn.account_id))
    health = inbound.health(state)
    return health if health["stale"] else None


@bp.app_template_global()
def calendar_push(conn) -> dict:
    """How changes made in the connection's calendar reach Parley (Settings): "push"
    (a Google channel or Graph subscription is open), "starting" (one is being opened) or
    "poll", with why ("address": no PUBLIC_BASE_URL; "provider": CalDAV does not push)."""
    minutes = max(1, round(current_app.config["CALENDAR_SYNC_INTERVAL_SECONDS"] / 60))
    if conn is None or conn.provider not in channels.WEBHOOK_PATHS:
        return {"mode": "poll", "why": "provider", "minutes": minutes}
    if channels.webhook_address() is None:
        return {"mode": "poll", "why": "address", "minutes": minutes}
    channel = channels.channel_for(conn)
    is_open = channel is not None and channel.channel_id is not None
    return {"mode": "push" if is_open else "starting", "why": None, "minutes": minutes,
            "error": channel.last_error if channel is not None and not is_open else None}
def _settings_page(caldav_error=None, form=None, status: int = 200, calendar_error=None):
    """Settings → Calendars: every connection with its calendars (which count for busy
    time, which one receives new meetings); sync health of the receiving one.
    calendar_error: (calendar id, message) shown at that calendar's choice."""
    conn = calendar_connections.connection_for(current_user.id)
    state = _sync_state(conn)
    conns = calendar_connections.connections_of(current_user.id)
    return render_template("calendars/settings.html", conn=conn, conns=conns,
                           calendars={c.id: calendar_connections.calendars_of(c)
                                      for c in conns},
                           providers=calendar_connections.configured_providers(),
                           names=PROVIDER_NAMES, caldav_error=caldav_error, form=form or {},
                           calendar_error=calendar_error,
                           state=state, health=inbound.health(state) if conn else None), status


@bp.route("/settings/profile/calendar")
@login_required
def settings():
    return _settings_page()


def _own_connection(connection_id: int | None = None):
    """One of the user's connections (None: the one receiving new meetings), else 404."""
    conn = calendar_connections.get_connection(current_user, connection_id)
    if conn is None:
        abort(404)
    return conn


def _saved(message: str | None = None):
    """The settings views' ending: commit the change, say so, back to Settings."""
    db.session.commit()
    if message:
        flash(message, "success")
    return redirect(url_for("calendars.settings"))


@bp.post("/calendars/<int:connection_id>/calendars")
@login_required
def save_calendars(connection_id: int):
    """Which of the connection's calendars count for busy time; which one receives new
    meetings."""
    conn = _own_connection(connection_id)
    counting = {int(v) for v in request.form.getlist("counts") if v.isdigit()}
    target = request.form.get("target", "")
    try:
        chosen = calendar_connections.set_calendars(conn, counting,
                                                    int(target) if target.isdigit() else None)
    except calendar_connections.ReadOnlyTarget as exc:
        db.session.rollback()
        return _settings_page(status=422, calendar_error=(exc.calendar.id, _(
            "New meetings cannot go to “%(calendar)s”: you may only read this calendar. "
            "Nothing was saved.", calendar=exc.calendar.name)))
    if not chosen:
        abort(400)
    return _saved(_("Your calendar choices are saved."))


@bp.post("/calendars/<int:connection_id>/refresh")
@login_required
def refresh_calendars(connection_id: int):
    """Fetch the connection's list of calendars again from the provider."""
    conn = _own_connection(connection_id)
    try:
        calendar_connections.refresh_calendars(conn)
    except ProviderError:
        db.session.rollback()
        flash(_("%(provider)s could not be reached: the list of calendars was not "
                "updated. Try again in a moment.", provider=PROVIDER_NAMES[conn.provider]),
              "error")
        return redirect(url_for("calendars.settings"))
    return _saved(_("The list of calendars is up to date."))


@bp.post("/calendars/<int:connection_id>/receive")
@login_required
def receive_events(connection_id: int):
    """New meetings go to this connection's calendar from now on."""
    _own_connection(connection_id)
    calendar_connections.set_receiving(current_user, connection_id)
    return _saved(_("New meetings will be added to this calendar."))


@bp.post("/calendars/sync-now")
@login_required
def sync_now():
    """Take in what changed in the calendars now (issue 23): every connection of the
    user's, as meetings written before another one was chosen for new meetings stay on
    theirs (#21)."""
    conns = [c for c in calendar_connections.connections_of(current_user.id)
             if c.account_id == current_user.account_id and c.status == "active"]
    if not conns:
        abort(404)
    states = [inbound.sync_now(conn) for conn in conns]
    db.session.commit()
    for state in states:
        jobs.enqueue(inbound.JOB, state.id)
    flash(_("Your calendar is being synced."), "success")
    return redirect(_safe_next(request.form.get("next")))


@bp.post(channels.WEBHOOK_PATH)
@csrf.exempt  # Google posts it; the channel's secret token stands in for the CSRF token
def google_notification():
    """Google's push notification (issue 23): the calendar of a channel changed. Only
    marks the connection's sync due (the sweep runs it): no provider call here."""
    headers = request.headers
    if not channels.notified(headers.get("X-Goog-Channel-ID"),
                             headers.get("X-Goog-Channel-Token"),
                             headers.get("X-Goog-Resource-ID"),
                             headers.get("X-Goog-Resource-State")):
        db.session.rollback()
        return "", 404
    db.session.commit()
    return "", 200


@bp.post(channels.WEBHOOK_PATHS["microsoft"])
@csrf.exempt  # Microsoft posts it; each notification's clientState stands in
def microsoft_notification():
    """Microsoft Graph (issue 23): a subscription's validation (its validationToken is
    echoed as plain text), or change notifications; each known subscription with its
    clientState marks its connection's sync due. No provider call here."""
    validation = request.args.get("validationToken")
    if validation is not None:
        return Response(validation, 200, mimetype="text/plain")
    body = request.get_json(silent=True)
    items = body.get("value") if isinstance(body, dict) else None
    ours = [channels.notified_graph(str(item.get("subscriptionId") or ""),
                                    str(item.get("clientState") or ""))
            for item in (items if isinstance(items, list) else [])[:100]
            if isinstance(item, dict)]
    if not any(ours):
        db.session.rollback()
        return "", 404
    db.session.commit()
    return "", 202


@bp.post("/calendars/on-remote-delete")
@login_required
def on_remote_delete():
    """What a meeting's event deleted in the calendar does: cancel it, or only flag it."""
    conn = _own_connection()
    choice = request.form.get("on_remote_delete")
    if choice not in ON_REMOTE_DELETE:
        abort(400)
    inbound.state_for(conn).on_remote_delete = choice
    return _saved(_("Saved."))


@bp.get("/calendars/connect/<provider>")
@login_required
def connect(provider: str):
    if provider not in ("google", "microsoft") or provider not in calendar_connections.configured_providers():
        abort(404)
    session["calendar_next"] = _safe_next(request.args.get("next"))
    redirect_uri = current_app.config["BASE_URL"] + url_for("calendars.callback",
                                                            provider=provider)
    return oauth.client(provider).authorize_redirect(redirect_uri)


def _oauth_failure(message: str, status: int = 400):
    return render_template("calendars/oauth_error.html", message=message), status


@bp.get("/calendars/callback/<provider>")
@login_required
def callback(provider: str):
    if provider not in ("google", "microsoft") or provider not in calendar_connections.configured_providers():
        abort(404)
    if request.args.get("error"):
        message = (_("You declined access, so no calendar was connected.")
                   if request.args["error"] == "access_denied" else
                   _("The calendar service refused the connection (%(error)s).",
                     error=request.args["error"][:80]))
        return _oauth_failure(message, 400)
    try:
        token = oauth.client(provider).authorize_access_token()
        info = oauth.client(provider).userinfo(token=token)
    except OAuthError:
        return _oauth_failure(_("This sign-in link is invalid, expired or was already used. "
                                "Start the connection again."))
    except Exception:  # the provider is unreachable or answered nonsense
        return _oauth_failure(_("The calendar service could not be reached. Nothing was "
                                "saved; try again in a moment."), 502)
    email = info.get("email") or info.get("preferred_username")
    conn = calendar_connections.connect_oauth(current_user, provider, token, email)
    db.session.commit()
    if conn.receives_events:
        flash(_("%(provider)s is connected. New meetings will appear on it.",
                provider=PROVIDER_NAMES[provider]), "success")
    else:
        flash(_("%(provider)s is connected. Choose which of its calendars count for your "
                "busy time.", provider=PROVIDER_NAMES[provider]), "success")
    return redirect(_safe_next(session.pop("calendar_next", None)))


@bp.post("/calendars/caldav")
@login_required
def connect_caldav():
    form = {k: request.form.get(k, "").strip() for k in ("url", "username")}
    password = request.form.get("password", "")
    error = None
    if not form["url"].startswith(("http://", "https://")) or len(form["url"]) > 500:
        error = ("url", _("Enter the server address, starting with https://"))
    elif not form["username"] or len(form["username"]) > 200:
        error = ("username", _("Enter the user name."))
    elif not password or len(password) > 500:
        error = ("password", _("Enter the app password."))
    else:
        try:
            calendar_connections.connect_caldav(current_user, form["url"], form["username"], password)
        except ReconnectNeeded:
            error = ("password", _("The server refused this user name or app password."))
        except RefusedAddress:
            error = ("url", _("This address is on a private or reserved network, which "
                              "Parley does not call. Your administrator can allow a "
                              "self-hosted server's network."))
        except ProviderError:
            error = ("url", _("The CalDAV server could not be reached at this address."))
    if error:
        db.session.rollback()
        return _settings_page(error, form, 422)
    db.session.commit()
    flash(_("Your CalDAV calendar is connected."), "success")
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/calendars/disconnect")
@login_required
def disconnect():
    which = request.form.get("connection_id", "")
    if calendar_connections.disconnect(current_user, int(which) if which.isdigit() else None):
        return _saved(_("The calendar was disconnected. Meetings stay on Parley's own "
                        "calendar."))
    return redirect(url_for("calendars.settings"))


@bp.post("/calendars/sync")
@login_required
def toggle_sync():
    conn = _own_connection()
    conn.sync_on = request.form.get("sync_on") == "1"
    return _saved()


@bp.post("/meetings/<int:meeting_id>/calendar-sync/retry")
@login_required
def retry(meeting_id: int):
    meeting = queries.get_meeting(current_user.account_id, meeting_id, include_deleted=True)
    if meeting is None:
        abort(404)
    row = db.session.scalar(db.select(CalendarSync).where(
        CalendarSync.meeting_id == meeting.id, CalendarSync.account_id == current_user.account_id))
    if row is None:
        abort(404)
    if calendar_connections.retry_sync(row):
        db.session.commit()
        jobs.enqueue("worker.jobs.sync_calendar", row.id)
        flash(_("The calendar will be updated again."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))
