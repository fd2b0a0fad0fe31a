"""Scheduler, meeting page, edit, delete, outcome, .ics, RSVP and the calendar feed."""

from __future__ import annotations

import hmac
import os
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import (
    Response,
    abort,
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
from flask_babel import ngettext
from flask_login import current_user, login_required

from webapp import jobs
from webapp.auth.models import Account
from webapp.calendars import operations as calendar_ops
from webapp.conferencing import operations as conferencing
from webapp.conferencing.providers import ConferenceRefused
from webapp.delivery import operations as delivery
from webapp.delivery.models import OutboxMessage
from webapp.extensions import csrf, db, htmx
from webapp.meetings import bp, calendar_view, forms, ical
from webapp.meetings import operations as ops
from webapp.meetings.models import REMINDER_UNITS, Attachment, Meeting, Snippet
from webapp.meetings.outcomes import catalog as outcome_catalog
from webapp.meetings.timemath import to_zone
from webapp.notifications import operations as notifications
from webapp.pagecache import cached_page
from webapp.records import operations as record_ops
from webapp.records.models import RECORD_MODELS
from webapp.rotations import scheduler as rotation_fields
from webapp.rotations.operations import RotationError
from webapp.types import utcnow
from webapp.urls import safe_local_url
from webapp.validation import timezone_names


def _account() -> Account:
    return db.session.get(Account, g.account_id)


def _meeting_or_404(meeting_id: int, include_deleted: bool = False) -> Meeting:
    meeting = ops.get_meeting(g.account_id, meeting_id, include_deleted)
    if meeting is None:
        abort(404)
    return meeting


def _record_url(record_type: str, record_id: int) -> str:
    return url_for("records.show", plural=RECORD_MODELS[record_type].plural, record_id=record_id)


def _relay_after_commit() -> None:
    """Commit first, then enqueue: the relay picks up the rows this request committed."""
    jobs.request_relay()


def _email_notifications(notification_ids: list[int]) -> None:
    """After the commit: email each @mentioned user (the sweep retries what fails)."""
    for notification_id in notification_ids:
        jobs.enqueue("worker.jobs.send_notification_email", notification_id)


def _form_values(meeting: Meeting | None, record, account: Account) -> dict:
    """Field values for a fresh form: from the meeting being edited, or defaults."""
    zone = current_user.zone
    if meeting is not None:
        start = to_zone(meeting.start_at, meeting.timezone)
        end = to_zone(meeting.end_at, meeting.timezone)
        return {
            "title": meeting.title, "start_date": start.date().isoformat(),
            "start_time": start.strftime("%H:%M"), "end_date": end.date().isoformat(),
            "end_time": end.strftime("%H:%M"), "timezone": meeting.timezone,
            "location_kind": meeting.location_kind, "location_value": meeting.location_value or "",
            "meeting_type_id": meeting.meeting_type_id or "",
            "description_html": meeting.description_html,
            "internal_note_html": meeting.internal_note_html,
            "include_description_in_reminders": meeting.include_description_in_reminders,
            "reminders": [(r.amount, r.unit) for r in meeting.reminders if r.sent_at is None]
            or [(r.amount, r.unit) for r in meeting.reminders],
            "attendees": [("contact", a.contact_id) if a.contact_id else ("user", a.user_id)
                          for a in meeting.attendees],
            "associations": [(a.record_type, a.record_id) for a in meeting.associations],
            "host_id": meeting.host_id, "rotation_id": "", "suggested_host_id": "",
            "video_provider": meeting.conference_provider or "",
        }
    day, start_t, end_t = forms.initial_times(to_zone(utcnow(), zone))
    attendees = [record.ref] if record is not None and record.record_type == "contact" else []
    defaults = [tuple(r) for r in account.default_reminders] \
        if account.reminders_default_on else []
    return {
        "title": "", "start_date": day.isoformat(), "start_time": start_t.strftime("%H:%M"),
        "end_date": day.isoformat(), "end_time": end_t.strftime("%H:%M"), "timezone": zone,
        "location_kind": "none", "location_value": "", "meeting_type_id": "",
        "description_html": "", "internal_note_html": "",
        "include_description_in_reminders": False,
        "reminders": defaults,
        # Sent back with the form: one of them already due is left out, not refused.
        "default_reminders": defaults,
        "attendees": attendees,
        "associations": ops.default_associations(g.account_id, record) if record else [],
        "host_id": current_user.id, "rotation_id": "", "suggested_host_id": "",
        "video_provider": "",
    }


def _values_from_form() -> dict:
    form = request.form
    values = {k: form.get(k, "") for k in (
        "title", "start_date", "start_time", "end_date", "end_time", "timezone",
        "location_kind", "location_value", "meeting_type_id", "description_html",
        "internal_note_html", "host_id", "rotation_id", "suggested_host_id",
        "video_provider")}
    values["include_description_in_reminders"] = bool(form.get("include_description_in_reminders"))
    values["reminders"] = [(a, u) for a, u in zip(form.getlist("reminder_amount"),
                                                  form.getlist("reminder_unit"), strict=False)
                           if a.strip()]
    values.update(form_pairs())
    return values


def form_pairs() -> dict[str, list[tuple[str, str]]]:
    """The posted "a:b" lists of the scheduler forms, as pairs of strings, to show the form
    again: attendees, associations, and the default reminders it was opened with."""
    return {key: [tuple(v.split(":", 1)) for v in request.form.getlist(name) if ":" in v]
            for key, name in (("attendees", "attendees"), ("associations", "associations"),
                              ("default_reminders", "default_reminder"))}


def skipped_reminder_messages(data: ops.MeetingInput) -> list[str]:
    """What to tell the user about default reminders left out (they would be past)."""
    return [_("The default reminder %(offset)s before was left out: the meeting starts "
              "sooner than that.", offset=ops.unit_phrase(amount, unit))
            for amount, unit in data.skipped_reminders]


def _int_pairs(pairs):
    out = []
    for kind, ident in pairs:
        try:
            out.append((kind, int(ident)))
        except (TypeError, ValueError):
            continue
    return out


def _render_scheduler(values: dict, errors: dict, meeting: Meeting | None, record,
                      status: int = 200):
    account = _account()
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
        "meeting_types": ops.active_meeting_types(account.id)
        if account.custom_meeting_types_enabled else [],
        "units": REMINDER_UNITS,
        "snippets_data": [{"name": sn.name, "html": sn.body_html} for sn in db.session.scalars(
            sa.select(Snippet).where(Snippet.account_id == account.id).order_by(Snippet.name))],
        "attendee_chips": ops.people_labels(account.id, _int_pairs(values["attendees"])),
        "association_chips": ops.record_labels(account.id, _int_pairs(values["associations"])),
        "week": calendar_view.week(account.id, host, current_user,
                                   calendar_view.week_start(day), zone),
        "calendar_connection": calendar_ops.connection_for(host.id),
        "video_options": conferencing.options_for(host),
        "return_to": safe_local_url(request.values.get("return_to"), (
            _record_url(*record.ref) if record is not None else "")),
    }
    return render_template("meetings/scheduler.html", **context), status


def _source_record(missing_ok: bool = False):
    """The record the scheduler was opened from (?record_type=&record_id=), or None.
    missing_ok: a form sent back with errors still shows when it was deleted meanwhile."""
    record_type = request.values.get("record_type")
    record_id = request.values.get("record_id", type=int)
    if not record_type and not record_id:
        return None
    record = record_ops.get_record(g.account_id, record_type or "", record_id or 0)
    if record is None and not missing_ok:
        abort(404)
    return record


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
@cached_page
def new():
    account = _account()
    if request.method == "GET":
        record = _source_record()
        return _render_scheduler(_form_values(None, record, account), {}, None, record)

    def again(errors):
        # The record the form was opened from only frames the form shown again, so a save
        # does not read it (the associations are checked as fields), and a form sent back
        # is shown even when that record was deleted meanwhile.
        return _render_scheduler(_values_from_form(), errors, None,
                                 _source_record(missing_ok=True), 422)

    data, errors = forms.parse(request.form, current_user.zone)
    uploads = forms.parse_uploads(request.files.getlist("attachments"), errors)
    errors = {**ops.validate(account, current_user, data), **errors}
    notifications.check_mentions(account.id, data.internal_note_html, None, errors)
    if errors:
        return again(errors)
    try:
        meeting = ops.schedule_meeting(account, current_user, data)
    except RotationError as exc:  # the rotation changed since the form was checked
        db.session.rollback()
        return again(exc.errors)
    except ConferenceRefused as exc:
        db.session.rollback()
        return again({"video_provider": [str(exc)]})
    ops.add_attachments(meeting, current_user, uploads)
    mentions = notifications.notify_mentions(meeting, current_user)
    # The messages are worded before the commit, while the rows are loaded (after it,
    # every attribute would be read again).
    invited = len(delivery.recipients(meeting))
    skipped = delivery.not_invited(meeting)
    messages = [(ngettext("Meeting scheduled. The invitation is on its way to %(num)d person.",
                          "Meeting scheduled. Invitations are on their way to %(num)d people.",
                          invited) if invited else _("Meeting scheduled."), "success")]
    if meeting.rotation is not None:
        messages.append((_("Booked through %(rotation)s with %(name)s as host.",
                           rotation=meeting.rotation.name, name=meeting.host.name), "info"))
    if skipped:
        messages.append((_("Not invited (no valid email address): %(names)s.",
                           names=", ".join(skipped)), "error"))
    messages += [(text, "info") for text in skipped_reminder_messages(data)]
    shown = url_for("meetings.show", meeting_id=meeting.id)
    db.session.commit()
    _relay_after_commit()
    _email_notifications(mentions)
    for message, category in messages:
        flash(message, category)
    return redirect(safe_local_url(request.form.get("return_to"), shown))


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    account = _account()
    if request.method == "GET":
        return _render_scheduler(_form_values(meeting, None, account), {}, meeting, None)
    data, errors = forms.parse(request.form, meeting.timezone)
    uploads = forms.parse_uploads(request.files.getlist("attachments"), errors)
    domain = ops.validate(account, current_user, data, existing=meeting)
    errors = {**domain, **errors}
    notifications.check_mentions(account.id, data.internal_note_html, meeting, errors)
    if errors:
        return _render_scheduler(_values_from_form(), errors, meeting, None, 422)
    note_before = meeting.internal_note_html
    try:
        result = ops.edit_meeting(account, current_user, meeting, data)
    except ConferenceRefused as exc:
        db.session.rollback()
        return _render_scheduler(_values_from_form(), {"video_provider": [str(exc)]},
                                 _meeting_or_404(meeting_id), None, 422)
    ops.add_attachments(meeting, current_user, uploads)
    mentions = notifications.notify_mentions(meeting, current_user, note_before)
    db.session.commit()
    _relay_after_commit()
    _email_notifications(mentions)
    if result["changed"] or result["added"] or result["removed"]:
        flash(_("Meeting updated. Attendees will receive the update."), "success")
    else:
        flash(_("Meeting updated."), "success")
    return redirect(safe_local_url(request.form.get("return_to"),
                                 url_for("meetings.show", meeting_id=meeting.id)))


@bp.post("/meetings/<int:meeting_id>/delete")
@login_required
def delete(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    ops.delete_meeting(meeting, current_user)
    db.session.commit()
    _relay_after_commit()
    flash(_("Meeting deleted. Attendees will receive a cancellation."), "success")
    return redirect(safe_local_url(request.form.get("return_to"), url_for("core.index")))


@bp.post("/meetings/<int:meeting_id>/outcome")
@login_required
def outcome(meeting_id: int):
    meeting = _meeting_or_404(meeting_id)
    error = None
    if ops.set_outcome(meeting, request.form.get("outcome", "")):
        db.session.commit()
    else:
        error = _("Choose an outcome from the list.")
    if htmx and htmx.target == f"meeting-{meeting.id}":
        return render_template("meetings/_timeline_item.html", meeting=meeting,
                               outcomes=outcome_catalog(g.account_id), outcome_error=error,
                               return_to=safe_local_url(request.form.get("return_to"), "")), \
            422 if error else 200
    if error:
        return _render_show(meeting, 422, outcome_error=error)
    flash(_("Outcome saved."), "success")
    return redirect(safe_local_url(request.form.get("return_to"),
                                 url_for("meetings.show", meeting_id=meeting.id)))


@bp.get("/meetings/<int:meeting_id>")
@login_required
def show(meeting_id: int):
    return _render_show(_meeting_or_404(meeting_id, include_deleted=True))


def _render_show(meeting: Meeting, status: int = 200, outcome_error: str | None = None):
    messages = list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.meeting_id == meeting.id, OutboxMessage.account_id == g.account_id)
        .order_by(OutboxMessage.id)))
    from webapp.calendars.models import CalendarSync
    sync = db.session.scalar(sa.select(CalendarSync).where(
        CalendarSync.meeting_id == meeting.id, CalendarSync.account_id == g.account_id))
    return render_template(
        "meetings/show.html", meeting=meeting, messages=messages, sync=sync,
        graph_mails=calendar_ops.provider_mails_attendees(meeting.host_id),
        provider_name=conferencing.provider_name(meeting),
        outcomes=outcome_catalog(g.account_id), outcome_error=outcome_error,
        associations=ops.record_labels(g.account_id, [(a.record_type, a.record_id)
                                                      for a in meeting.associations]),
        not_invited=delivery.not_invited(meeting)), status


@bp.post("/meetings/<int:meeting_id>/messages/<int:message_id>/retry")
@login_required
def retry_message(meeting_id: int, message_id: int):
    meeting = _meeting_or_404(meeting_id, include_deleted=True)
    row = db.session.scalar(sa.select(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.meeting_id == meeting.id,
        OutboxMessage.account_id == g.account_id))
    if row is None:
        abort(404)
    if delivery.retry(row):
        db.session.commit()
        _relay_after_commit()
        flash(_("The message will be sent again."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


@bp.get("/meetings/<int:meeting_id>.ics")
@login_required
def download_ics(meeting_id: int):
    meeting = _meeting_or_404(meeting_id, include_deleted=True)
    return Response(ical.single(meeting), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'})


@bp.get("/meetings/<int:meeting_id>/attachments/<int:attachment_id>")
@login_required
def attachment(meeting_id: int, attachment_id: int):
    meeting = _meeting_or_404(meeting_id, include_deleted=True)
    item = db.session.scalar(sa.select(Attachment).where(
        Attachment.id == attachment_id, Attachment.meeting_id == meeting.id,
        Attachment.account_id == g.account_id))
    if item is None:
        abort(404)
    path = os.path.join(current_app.config["UPLOAD_DIR"], item.storage_key)
    return send_file(path, mimetype=item.content_type, as_attachment=True,
                     download_name=item.filename)


@bp.get("/meetings/calendar")
@login_required
def calendar():
    account = _account()
    hosts = ops.hosts_for(account, current_user)
    host_id = request.args.get("host_id", type=int) or current_user.id
    host = next((h for h in hosts if h.id == host_id), None)
    if host is None:
        abort(404)
    try:
        day = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        day = to_zone(utcnow(), current_user.zone).date()
    zone = request.args.get("timezone") or current_user.zone
    if zone not in timezone_names():
        zone = current_user.zone
    return render_template("meetings/_week.html",
                           week=calendar_view.week(account.id, host, current_user,
                                                   calendar_view.week_start(day), zone))


@bp.get("/meetings/people")
@login_required
def people():
    q = request.args.get("q", "")[:100]
    chips = ops.search_people(g.account_id, q) if q.strip() else []
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


# --- RSVP, iTIP REPLY, feed: no login; a signed token or secret names the person -------

@bp.route("/rsvp/<token>", methods=["GET", "POST"])
def rsvp(token: str):
    attendee = delivery.attendee_from_token(token)
    if attendee is None:
        abort(404)
    meeting = attendee.meeting
    saved = False
    if request.method == "POST":
        if meeting.deleted_at is not None:
            abort(410)
        if not delivery.record_response(attendee, request.form.get("response", "")):
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
        updated = delivery.apply_itip_reply(request.get_data(),
                                            request.headers.get("X-Parley-Mail-From"))
    except ValueError as exc:
        return {"error": "Send a text/calendar body with METHOD:REPLY naming one attendee, "
                         f"its sender ({exc})."}, 422
    db.session.commit()
    return {"updated": updated}


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    from webapp.auth.models import User, feed_token_hash
    user = db.session.scalar(sa.select(User).where(User.feed_token == feed_token_hash(token)))
    if user is None:
        abort(404)
    meetings = ops.user_feed_meetings(user, utcnow() - timedelta(days=90))
    return Response(ical.feed(meetings, f"Parley — {user.name}"), mimetype="text/calendar")


@bp.post("/settings/calendar-feed/reset")
@login_required
def reset_feed():
    token = ops.reset_feed_token(current_user)
    db.session.commit()
    flash(_("Your calendar feed has a new address; the old one stopped working."), "success")
    # Shown this once (only its hash is kept), on the page itself rather than through a
    # redirect, so it never sits in the session cookie.
    from webapp.auth.routes import profile_page
    return profile_page(new_feed_url=f"{current_app.config['BASE_URL']}/calendar/{token}.ics")


@bp.app_template_filter("local")
def local(value: datetime, zone: str) -> datetime:
    return to_zone(value, zone)
