"""The phone flow (M1-M3) and the partials both schedulers share.

- /m/meetings/new, /m/meetings/<id>/edit: one column, native date and time pickers,
  plain text boxes, the host's video providers (X4). Saving asks "Continue and send?"
  naming every recipient before anything is saved or sent: a POST first runs the
  operation as a dry run (saving.schedule_meeting / saving.edit_meeting with dry_run=True: no
  video provider is called, since a rollback cannot take back a conference), reads the
  outbox rows it wrote, and rolls the transaction back. The POST with confirm=1, the
  digest of those recipients and the page's idempotency key then saves for real and
  commits; a second POST with the same key (double tap, retried request) saves nothing
  and goes to the meeting the first one saved (MeetingSubmission).
- /m/meetings/<id>/outcome: the outcome as a list of large choices (M3).
- /m/meetings/availability: the host's week as a list that fits a phone (X4).
- /meetings/mentions: @mention type-ahead over the account's users.
- /meetings/local-times: each contact attendee's local time for the slot (X8), for the
  phone flow and the desktop scheduler alike.
- /meetings/when-check: the clock changes at the time fields (a time that happens twice,
  one the clocks skip) as the rep types, for both forms (meetings/_occurrence.html).

Desktop keeps /meetings/new; the record page and the timeline menu show the phone links
below 800 px only (CSS), so both flows stay reachable by URL.
"""

from __future__ import annotations

import hashlib
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from webapp.conferencing import operations as conferencing
from webapp.extensions import db
from webapp.meetings import (
    bp,
    calendar_view,
    forms,
    local_times,
    pickers,
    pipeline,
    queries,
    validation,
    views,
)
from webapp.meetings import operations as meeting_ops
from webapp.meetings.models import REMINDER_UNITS, Meeting
from webapp.meetings.outcomes import catalog as outcome_catalog
from webapp.meetings.submissions import new_submission_key, submission_key
from webapp.meetings.timemath import to_zone
from webapp.notifications import operations as notifications
from webapp.reminders.rules import MAX_REMINDERS
from webapp.richtext import from_text, to_text
from webapp.types import utcnow
from webapp.urls import safe_local_url
from webapp.validation import timezone_names
from webapp.views import page_or_partial

#: Location kinds offered on the phone, in order.
LOCATION_CHOICES = ("none", "phone", "in_person", "video", "custom")
#: Form fields the confirmation step must not carry over.
CONTROL_FIELDS = {"csrf_token", "confirm", "back", "confirmed", "submission_key"}


def _same_text(a: str | None, b: str | None) -> bool:
    norm = lambda s: "\n".join(line.rstrip() for line in (s or "").replace("\r\n", "\n")  # noqa: E731
                               .strip().split("\n"))
    return norm(a) == norm(b)


def parse_phone_form(form: MultiDict, default_zone: str):
    """forms.parse() over the phone form, whose description and note are plain text.

    An untouched text box keeps the meeting's original HTML, so editing on a phone never
    loses formatting made on the desktop (and never sends an update for it)."""
    fields = MultiDict(form)
    for name in ("description", "internal_note"):
        text = form.get(f"{name}_text", "")
        if f"{name}_text_orig" in form and _same_text(text, form.get(f"{name}_text_orig")):
            html = form.get(f"{name}_html_orig", "")
        else:
            html = from_text(text)
        fields.setlist(f"{name}_html", [html])
    data, errors = forms.parse(fields, default_zone)
    data.source = "phone"
    return data, errors


def _phone_values(values: dict) -> dict:
    """Desktop form values (views.form_values) with the text boxes the phone uses."""
    out = dict(values)
    for name in ("description", "internal_note"):
        html = values.get(f"{name}_html") or ""
        out[f"{name}_text"] = out[f"{name}_text_orig"] = to_text(html)
        out[f"{name}_html_orig"] = html
    if not out.get("end_date"):
        out["end_date"] = out.get("start_date", "")
    return out


def _values_from_request() -> dict:
    values = views.posted_values(("description_text", "description_text_orig",
                                  "description_html_orig", "internal_note_text",
                                  "internal_note_text_orig", "internal_note_html_orig"))
    # Fields of the original meeting that only travel as hidden values.
    for key in ("description_text_orig", "internal_note_text_orig"):
        if key not in request.form:
            values.pop(key)
    return values


def _render_form(values: dict, errors: dict, meeting: Meeting | None, record,
                 return_to: str, status: int = 200, *, logging: bool = False,
                 offer_log: bool = False):
    account = views.account()
    reminders = list(values.get("reminders") or [])[:MAX_REMINDERS]
    reminders += [("", "hours")] * (MAX_REMINDERS - len(reminders))
    hosts = queries.hosts_for(account, current_user)
    host = next((h for h in hosts if str(h.id) == str(values.get("host_id"))), current_user)
    return render_template(
        "meetings/mobile/form.html", values=values, errors=errors, meeting=meeting,
        record=record, account=account, hosts=hosts,
        video_options=conferencing.options_for(host),
        timezones=timezone_names(), reminder_rows=reminders, units=REMINDER_UNITS,
        meeting_types=validation.active_meeting_types(account.id)
        if account.custom_meeting_types_enabled else [],
        attendee_chips=pickers.people_labels(account.id, views.int_pairs(values["attendees"])),
        association_chips=views.association_chips(account.id, values),
        location_choices=LOCATION_CHOICES, return_to=return_to,
        occurrences=forms.occurrence_choices(values),
        logging=logging or bool(meeting is not None and meeting.log_only),
        offer_log=offer_log, outcomes=outcome_catalog(account.id),
        outcome_hint=views.outcome_hint(meeting)), status


def _digest(messages: list[dict]) -> str:
    """Names what a confirmation page promised to send: the real save must match it."""
    return hashlib.sha256("|".join(sorted(
        f"{m['kind']}:{m['email'].lower()}" for m in messages)).encode()).hexdigest()[:32]


def _already_saved(result: pipeline.SaveResult, return_to: str):
    """A second POST of a confirmation that was saved: nothing again, go to the meeting."""
    if result.duplicate_of is None:  # the key is taken, but not by a meeting this user sees
        abort(409)
    flash(_("This meeting was already saved. Nothing was sent a second time."), "info")
    return redirect(safe_local_url(return_to, url_for("meetings.show",
                                                   meeting_id=result.duplicate_of.id)))


def _submit(meeting: Meeting | None, record, return_to: str, logging: bool = False):
    """POST of the phone form: validate, confirm, save. See the module docstring.
    logging: the "Log a meeting" form (nothing is sent, so nothing to confirm)."""
    account = views.account()
    confirmed = request.form.get("confirm") == "1"
    key = submission_key(request.form.get("submission_key")) if confirmed else None
    earlier = pipeline.earlier_save(account, current_user, key)
    if earlier is not None:
        return _already_saved(earlier, return_to)
    data, errors = parse_phone_form(request.form,
                                    meeting.timezone if meeting else current_user.zone)
    data.log_only = data.log_only or logging

    def again(errors: dict, status: int = 422):
        return _render_form(_values_from_request(), errors, meeting, record, return_to, status,
                            logging=data.log_only,
                            offer_log=views.offers_logging(data, meeting))

    preview = pipeline.preview(account, current_user, data, meeting, errors=errors)
    if request.form.get("back") or not preview.ok:
        return again(preview.errors, 422 if preview.errors else 200)
    digest = _digest(preview.messages)
    if preview.messages and not (key and request.form.get("confirmed") == digest):
        fields = [(k, v) for k, v in request.form.items(multi=True) if k not in CONTROL_FIELDS]
        zone = current_user.zone
        summary = {**preview.summary, "zone": zone, "start": to_zone(preview.summary["start"], zone),
                   "end": to_zone(preview.summary["end"], zone)}
        return render_template(
            "meetings/mobile/confirm.html", result={
                "messages": preview.messages, "mentioned": preview.mentioned,
                "not_invited": preview.not_invited, "digest": digest, "summary": summary},
            fields=fields, meeting=meeting, record=record, return_to=return_to,
            recheck=key is not None, submission_key=new_submission_key(),
            action=request.url), 200
    # Saving: the key first, then the save again, for real (it calls the provider).
    data, errors = parse_phone_form(request.form,
                                    meeting.timezone if meeting else current_user.zone)
    data.log_only = data.log_only or logging
    result = pipeline.save(account, current_user, data, meeting, key=key, errors=errors)
    if result.duplicate:
        return _already_saved(result, return_to)
    if not result.ok:
        return again(result.errors)
    messages = views.saved_messages(result)
    saved_id = result.meeting.id
    db.session.commit()
    result.after_commit()
    for message, category in messages:
        flash(message, category)
    return redirect(safe_local_url(return_to, url_for("meetings.show", meeting_id=saved_id)))


@bp.route("/m/meetings/new", methods=["GET", "POST"])
@login_required
def mobile_new():
    return _new_meeting_form()


@bp.route("/m/meetings/log", methods=["GET", "POST"])
@login_required
def mobile_log():
    """Log a meeting that already happened, on the phone (the More menu's "Log meeting")."""
    return _new_meeting_form(logging=True)


def _new_meeting_form(logging: bool = False):
    """The phone form for a new meeting, or a new logged one (logging): GET and POST."""
    record = views.source_record()
    return_to = safe_local_url(request.values.get("return_to"),
                             views.record_url(*record.ref) if record is not None else "")
    if request.method == "POST":
        return _submit(None, record, return_to, logging=logging)
    values = _phone_values(views.log_form_values(record) if logging else
                           views.form_values(None, record, views.account()))
    return _render_form(values, {}, None, record, return_to, logging=logging)


@bp.route("/m/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def mobile_edit(meeting_id: int):
    meeting = views.meeting_or_404(meeting_id)
    return_to = safe_local_url(request.values.get("return_to"),
                             url_for("meetings.show", meeting_id=meeting.id))
    if request.method == "POST":
        return _submit(meeting, None, return_to)
    values = _phone_values(views.form_values(meeting, None, views.account()))
    return _render_form(values, {}, meeting, None, return_to)


@bp.route("/m/meetings/<int:meeting_id>/outcome", methods=["GET", "POST"])
@login_required
def mobile_outcome(meeting_id: int):
    meeting = views.meeting_or_404(meeting_id)
    return_to = safe_local_url(request.values.get("return_to"),
                             url_for("meetings.show", meeting_id=meeting.id))
    outcomes = meeting_ops.outcome_choices(g.account_id)
    error = None
    if request.method == "POST":
        if meeting_ops.set_outcome(meeting, request.form.get("outcome", "")):
            db.session.commit()
            flash(_("Outcome saved."), "success")
            return redirect(return_to)
        error = _("Choose one of the outcomes.")
    return render_template("meetings/mobile/outcome.html", meeting=meeting, outcomes=outcomes,
                           error=error, return_to=return_to), 422 if error else 200


def _slot_from_args():
    """The chosen slot from query arguments (same fields as the forms), or (None, None)."""
    data, errors = forms.parse(request.args, current_user.zone)
    if errors or data.start is None or data.end is None or data.end <= data.start:
        return data, None, None
    return data, data.start, data.end


@bp.get("/m/meetings/availability")
@login_required
def mobile_availability():
    account = views.account()
    host, zone = views.week_host_and_zone()
    chosen_day = views.day_arg("start_date", None)
    day = views.day_arg("week", chosen_day) or to_zone(utcnow(), zone).date()
    _data, start, end = _slot_from_args()
    conflicts = []
    if start is not None:
        busy_only = host.id != current_user.id
        conflicts = [{"title": _("Busy") if busy_only else title,
                      "start": to_zone(start_at, zone), "end": to_zone(end_at, zone)}
                     for _user, _id, title, start_at, end_at, _outcome
                     in queries.host_meetings(account.id, host.id, start, end)]
    week = calendar_view.week(account.id, host, current_user, calendar_view.week_start(day),
                              zone)
    context = {"week": week, "host": host, "zone": zone, "conflicts": conflicts,
               "slot": (to_zone(start, zone), to_zone(end, zone)) if start else None,
               "chosen_day": chosen_day,
               "nav_args": {k: v for k, v in request.args.items() if k != "week"}}
    return page_or_partial("meetings/mobile/availability.html",
                           "meetings/mobile/_availability.html", "availability", **context)


@bp.get("/meetings/mentions")
@login_required
def mention_search():
    q = (request.args.get("mention_q") or request.args.get("q") or "")[:60]
    users = notifications.search_users(g.account_id, q) if q.strip() else []
    return render_template("meetings/mobile/_mention_results.html", users=users, q=q)


def _local_label(value, zone: str) -> str:
    locale = str(get_locale() or "en")
    tz = ZoneInfo(zone)
    return f"{format_skeleton('MMMEd', value, tzinfo=tz, locale=locale)} " \
           f"{format_time(value, 'short', tzinfo=tz, locale=locale)}"


@bp.get("/meetings/local-times")
@login_required
def attendee_local_times():
    data, start, end = _slot_from_args()
    rows = []
    if start is not None:
        locale = str(get_locale() or "en")
        for item in local_times.for_slot(views.account(), data.attendees, start, end):
            rows.append({"item": item, "start": _local_label(item.start, item.zone),
                         "end": format_time(item.end, "short", tzinfo=ZoneInfo(item.zone),
                                            locale=locale),
                         "same_day": item.start.date() == item.end.date()})
    has_contacts = any(kind == "contact" for kind, _i in data.attendees)
    return render_template("meetings/_local_times.html", rows=rows,
                           has_contacts=has_contacts, has_slot=start is not None,
                           work_start=local_times.WORK_START, work_end=local_times.WORK_END)


@bp.get("/meetings/when-check")
@login_required
def when_check():
    """The time fields' clock-change block (the contents of meetings/_occurrence.html) for
    the dates, times and zone as typed: a time that happens twice is named, with the first
    marked as the one used until the rep chooses; a time the clocks skip is refused at the
    field."""
    values = {k: request.args.get(k, "") for k in (
        "start_date", "start_time", "end_date", "end_time", "timezone", "start_offered",
        "end_offered", *forms.OCCURRENCE_FIELDS)}
    return render_template("meetings/_occurrence_fields.html", values=values, errors={},
                           occurrences=forms.occurrence_choices(values, offer_first=True))
