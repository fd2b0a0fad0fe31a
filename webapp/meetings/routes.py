"""The desktop scheduler (new and edit, through the save pipeline), its pickers and week
grid, and the meeting page with its actions (delete, outcome, retry, .ics, attachments).

The phone flow is webapp.meetings.mobile; links that need no login (RSVP, iTIP REPLY, the
calendar feed) are webapp.meetings.public_routes.
"""

from __future__ import annotations

import os
from datetime import date

import sqlalchemy as sa
from flask import (
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from webapp import jobs
from webapp.calendars import connections as calendar_connections
from webapp.conferencing import operations as conferencing
from webapp.delivery import outbox
from webapp.delivery.models import OutboxMessage
from webapp.extensions import db
from webapp.meetings import (
    bp,
    calendar_view,
    forms,
    ical,
    pickers,
    pipeline,
    saving,
    validation,
    views,
    week_grid,
)
from webapp.meetings import operations as meeting_ops
from webapp.meetings.models import REMINDER_UNITS, Attachment, Meeting, Snippet
from webapp.meetings.outcomes import catalog as outcome_catalog
from webapp.meetings.timemath import to_zone
from webapp.records import operations as record_ops
from webapp.records.models import RECORD_MODELS
from webapp.rotations import scheduler as rotation_fields
from webapp.types import utcnow
from webapp.urls import safe_local_url
from webapp.validation import timezone_names


def _render_scheduler(values: dict, errors: dict, meeting: Meeting | None, record,
                      status: int = 200, *, logging: bool = False, offer_log: bool = False):
    account = views.account()
    host_field = rotation_fields.host_field(account, current_user, values, meeting is not None)
    hosts = host_field["hosts"]
    host = next((h for h in hosts if str(h.id) == str(values.get("host_id"))), current_user)
    try:
        day = date.fromisoformat(values.get("start_date") or "")
    except ValueError:
        day = to_zone(utcnow(), current_user.zone).date()
    zone = values.get("timezone") or current_user.zone
    if zone not in timezone_names():
        zone = current_user.zone
    context = {
        "values": values, "errors": errors, "meeting": meeting, "record": record,
        "account": account, **host_field, "timezones": timezone_names(),
        "occurrences": forms.occurrence_choices(values),
        "meeting_types": validation.active_meeting_types(account.id)
        if account.custom_meeting_types_enabled else [],
        "units": REMINDER_UNITS,
        "snippets_data": [{"name": sn.name, "html": sn.body_html} for sn in db.session.scalars(
            sa.select(Snippet).where(Snippet.account_id == account.id).order_by(Snippet.name))],
        "attendee_chips": pickers.people_labels(account.id, views.int_pairs(values["attendees"])),
        "association_chips": views.association_chips(account.id, values),
        # The week grid is loaded by htmx once the form is shown (meetings.calendar).
        "week_args": {"host_id": host.id, "week": calendar_view.week_start(day).isoformat(),
                      "timezone": zone},
        "calendar_connection": calendar_connections.connection_for(host.id),
        "video_options": conferencing.options_for(host),
        "return_to": safe_local_url(request.values.get("return_to"), None) or (
            views.record_url(*record.ref) if record is not None else ""),
        # Log a meeting (a held one, nothing sent), or the offer to, for a past start.
        "logging": logging or bool(meeting is not None and meeting.log_only),
        # Read only for a form that shows the outcome field (a logged or an edited
        # meeting), not for a new one (#24).
        "offer_log": offer_log, "outcomes": outcome_catalog(account.id)
        if logging or meeting is not None else None,
        "outcome_hint": views.outcome_hint(meeting),
    }
    return render_template("meetings/scheduler.html", **context), status


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new():
    account = views.account()
    if request.method == "GET":
        record = views.source_record()
        return _render_scheduler(views.form_values(None, record, account), {}, None, record)
    return _save_new()


def _save_new(logging: bool = False):
    """POST of the scheduler (new meeting), or of the "Log a meeting" form (logging)."""
    account = views.account()
    data, errors = forms.parse(request.form, current_user.zone)
    data.log_only = data.log_only or logging
    uploads = forms.parse_uploads(request.files.getlist("attachments"), errors)
    result = pipeline.save(account, current_user, data, uploads=uploads, errors=errors)
    if not result.ok:
        # The record the form was opened from only frames the form shown again, so a save
        # does not read it (the associations are checked as fields), and a form sent back
        # is shown even when that record was deleted meanwhile.
        return _render_scheduler(views.posted_values(("description_html",
                                                      "internal_note_html")),
                                 result.errors, None, views.source_record(missing_ok=True),
                                 422, logging=data.log_only,
                                 offer_log=views.offers_logging(data))
    # Worded before the commit, while the rows are loaded (after it, every attribute
    # would be read again).
    messages = views.saved_messages(result)
    shown = url_for("meetings.show", meeting_id=result.meeting.id)
    db.session.commit()
    result.after_commit()
    for message, category in messages:
        flash(message, category)
    return redirect(safe_local_url(request.form.get("return_to"), shown))


@bp.route("/meetings/log", methods=["GET", "POST"])
@login_required
def log_meeting():
    """Log a meeting that already happened (記錄會議): the scheduler's form, saved through
    the same pipeline with log_only, so nothing is ever sent or synced for it."""
    if request.method == "GET":
        record = views.source_record()
        return _render_scheduler(views.log_form_values(record), {}, None, record,
                                 logging=True)
    return _save_new(logging=True)


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit(meeting_id: int):
    meeting = views.meeting_or_404(meeting_id)
    account = views.account()
    if request.method == "GET":
        return _render_scheduler(views.form_values(meeting, None, account), {}, meeting, None)
    data, errors = forms.parse(request.form, meeting.timezone)
    uploads = forms.parse_uploads(request.files.getlist("attachments"), errors)
    result = pipeline.save(account, current_user, data, meeting, uploads=uploads,
                           errors=errors)
    if not result.ok:
        return _render_scheduler(views.posted_values(("description_html",
                                                      "internal_note_html", "outcome")),
                                 result.errors, views.meeting_or_404(meeting_id), None, 422)
    messages = views.saved_messages(result)
    db.session.commit()
    result.after_commit()
    for message, category in messages:
        flash(message, category)
    return redirect(safe_local_url(request.form.get("return_to"),
                                url_for("meetings.show", meeting_id=meeting.id)))


@bp.post("/meetings/<int:meeting_id>/delete")
@login_required
def delete(meeting_id: int):
    meeting = views.meeting_or_404(meeting_id)
    saving.delete_meeting(meeting, current_user)
    db.session.commit()
    jobs.request_relay()
    flash(_("Meeting deleted. Attendees will receive a cancellation."), "success")
    return redirect(safe_local_url(request.form.get("return_to"), url_for("core.index")))


@bp.post("/meetings/<int:meeting_id>/outcome")
@login_required
def outcome(meeting_id: int):
    meeting = views.meeting_or_404(meeting_id)
    error = None
    if meeting_ops.set_outcome(meeting, request.form.get("outcome", "")):
        db.session.commit()
    else:
        error = _("Choose an outcome from the list.")
    if request.htmx and request.htmx.target == f"meeting-{meeting.id}":
        from webapp.timeline import TimelineItem, TimelinePage, render_items
        outcomes = outcome_catalog(g.account_id)
        return_to = safe_local_url(request.form.get("return_to"), "")
        menu = Markup(render_template("meetings/_actions_menu.html", meeting=meeting,
                                      outcomes=outcomes, outcome_error=error,
                                      return_to=return_to)) if error else None
        return render_items(TimelinePage([TimelineItem.of(meeting)], None, outcomes),
                            return_to, open_menu=(meeting.id, menu) if error else None), \
            422 if error else 200
    if error:
        return _render_show(meeting, 422, outcome_error=error)
    flash(_("Outcome saved."), "success")
    return redirect(safe_local_url(request.form.get("return_to"),
                                 url_for("meetings.show", meeting_id=meeting.id)))


@bp.get("/meetings/<int:meeting_id>/actions")
@login_required
def actions(meeting_id: int):
    """A timeline item's actions menu, loaded when it is first opened (webapp.timeline)."""
    return render_template("meetings/_actions_menu.html",
                           meeting=views.meeting_or_404(meeting_id),
                           outcomes=outcome_catalog(g.account_id), outcome_error=None,
                           return_to=safe_local_url(request.args.get("return_to"), ""))


@bp.get("/meetings/<int:meeting_id>")
@login_required
def show(meeting_id: int):
    return _render_show(views.meeting_or_404(meeting_id, include_deleted=True))


def _render_show(meeting: Meeting, status: int = 200, outcome_error: str | None = None):
    messages = list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.meeting_id == meeting.id, OutboxMessage.account_id == g.account_id)
        .order_by(OutboxMessage.id)))
    from webapp.calendars import history as calendar_history
    from webapp.calendars.models import CalendarSync
    sync = db.session.scalar(sa.select(CalendarSync).where(
        CalendarSync.meeting_id == meeting.id, CalendarSync.account_id == g.account_id))
    return render_template(
        "meetings/show.html", meeting=meeting, messages=messages, sync=sync,
        calendar_changes=calendar_history.for_meeting(g.account_id, meeting.id),
        graph_mails=calendar_connections.provider_mails_attendees(meeting.host_id),
        provider_name=conferencing.provider_name(meeting),
        outcomes=outcome_catalog(g.account_id), outcome_error=outcome_error,
        associations=pickers.record_labels(g.account_id, [(a.record_type, a.record_id)
                                                      for a in meeting.associations]),
        not_invited=outbox.not_invited(meeting)), status


@bp.post("/meetings/<int:meeting_id>/messages/<int:message_id>/retry")
@login_required
def retry_message(meeting_id: int, message_id: int):
    meeting = views.meeting_or_404(meeting_id, include_deleted=True)
    row = views.meeting_row_or_404(OutboxMessage, message_id, meeting)
    if outbox.retry(row):
        db.session.commit()
        jobs.request_relay()
        flash(_("The message will be sent again."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


@bp.get("/meetings/<int:meeting_id>.ics")
@login_required
def download_ics(meeting_id: int):
    meeting = views.meeting_or_404(meeting_id, include_deleted=True)
    return Response(ical.single(meeting), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'})


@bp.get("/meetings/<int:meeting_id>/attachments/<int:attachment_id>")
@login_required
def attachment(meeting_id: int, attachment_id: int):
    meeting = views.meeting_or_404(meeting_id, include_deleted=True)
    item = views.meeting_row_or_404(Attachment, attachment_id, meeting)
    path = os.path.join(current_app.config["UPLOAD_DIR"], item.storage_key)
    return send_file(path, mimetype=item.content_type, as_attachment=True,
                     download_name=item.filename)


@bp.get("/meetings/calendar")
@login_required
def calendar():
    host, zone = views.week_host_and_zone()
    # ?week= from the week's arrows; ?start_date= from the host field, which sends the
    # form's date as it is (an hx-vals "js:" expression would need 'unsafe-eval' in the CSP).
    day = (views.day_arg("week", None) or views.day_arg("start_date", None)
           or to_zone(utcnow(), current_user.zone).date())
    with_users, profiles = views.overlay_users(host)
    return calendar_view.week_html(
        g.account_id, host, current_user, calendar_view.week_start(day), zone, with_users,
        lambda week: render_template("meetings/_week.html", week=week,
                                     day_column=week_grid.day_column), profiles)


@bp.get("/meetings/people")
@login_required
def people():
    q = request.args.get("q", "")[:100]
    chips = pickers.search_people(g.account_id, q) if q.strip() else []
    return render_template("meetings/_people_results.html", chips=chips, q=q)


@bp.get("/meetings/records")
@login_required
def records():
    q = request.args.get("q", "")[:100]
    chips = []
    if q.strip():
        for record_type in RECORD_MODELS:
            items, _total = record_ops.search_records(g.account_id, record_type, q, 1, 5)
            chips += [{"value": f"{record_type}:{i.id}", "label": i.display_name,
                       "type": record_type} for i in items]
    return render_template("meetings/_record_results.html", chips=chips, q=q)
