"""What the desktop scheduler and the phone flow share as front ends of the save pipeline:
the form's values (fresh, from a meeting, or as posted), the record the form was opened
from, and what to tell the user after a save. No commits here: the routes commit.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, g, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from webapp.auth.models import Account
from webapp.delivery import outbox
from webapp.extensions import db
from webapp.meetings import forms, pickers, queries
from webapp.meetings.inputs import MeetingInput
from webapp.meetings.models import Meeting
from webapp.meetings.pipeline import SaveResult
from webapp.meetings.timemath import to_zone
from webapp.meetings.validation import is_past_start
from webapp.records import operations as record_ops
from webapp.records.models import RECORD_MODELS
from webapp.reminders.rules import unit_phrase
from webapp.types import utcnow
from webapp.validation import timezone_names

#: The scheduler forms' single-valued fields, shown again as posted.
FORM_FIELDS = ("title", "start_date", "start_time", "end_date", "end_time", "timezone",
               "location_kind", "location_value", "meeting_type_id", "host_id",
               "rotation_id", "suggested_host_id", "video_provider", "outcome",
               *forms.OCCURRENCE_FIELDS)


def account() -> Account:
    return db.session.get(Account, g.account_id)


def meeting_or_404(meeting_id: int, include_deleted: bool = False) -> Meeting:
    meeting = queries.get_meeting(g.account_id, meeting_id, include_deleted)
    if meeting is None:
        abort(404)
    return meeting


def record_url(record_type: str, record_id: int) -> str:
    return url_for("records.show", plural=RECORD_MODELS[record_type].plural, record_id=record_id)


def source_record(missing_ok: bool = False):
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


def values_from_input(data: MeetingInput) -> dict:
    """Form values showing a meeting input (an edit opens with MeetingInput.from_meeting)."""
    start, end = to_zone(data.start, data.timezone), to_zone(data.end, data.timezone)
    return {
        "title": data.title, "start_date": start.date().isoformat(),
        "start_time": start.strftime("%H:%M"), "end_date": end.date().isoformat(),
        "end_time": end.strftime("%H:%M"), "timezone": data.timezone,
        "location_kind": data.location_kind, "location_value": data.location_value or "",
        "meeting_type_id": data.meeting_type_id or "",
        "description_html": data.description_html,
        "internal_note_html": data.internal_note_html,
        "include_description_in_reminders": data.include_description_in_reminders,
        "hide_guest_list": data.hide_guest_list,
        "reminders": list(data.reminders), "attendees": list(data.attendees),
        "associations": list(data.associations), "host_id": data.host_id,
        "rotation_id": "", "suggested_host_id": "", "video_provider": data.video_provider or "",
        # The occurrence in the repeated hour is kept (and shown) across the edit.
        **forms.occurrence_values(data.start, data.end, data.timezone),
    }


def form_values(meeting: Meeting | None, record, account: Account) -> dict:
    """Field values for a fresh form: from the meeting being edited, or defaults."""
    if meeting is not None:
        return values_from_input(MeetingInput.from_meeting(meeting))
    zone = current_user.zone
    day, start_t, end_t = forms.initial_times(to_zone(utcnow(), zone))
    attendees = [record.ref] if record is not None and record.record_type == "contact" else []
    defaults = [tuple(r) for r in account.default_reminders] \
        if account.reminders_default_on else []
    associations, association_names = pickers.default_associations(g.account_id, record) \
        if record else ([], {})
    return {
        "title": "", "start_date": day.isoformat(), "start_time": start_t.strftime("%H:%M"),
        "end_date": day.isoformat(), "end_time": end_t.strftime("%H:%M"), "timezone": zone,
        "location_kind": "none", "location_value": "", "meeting_type_id": "",
        "description_html": "", "internal_note_html": "",
        "include_description_in_reminders": False, "hide_guest_list": False,
        "reminders": defaults,
        # Sent back with the form: one of them already due is left out, not refused.
        "default_reminders": defaults,
        "attendees": attendees,
        "associations": associations,
        # The chips' names, read with the defaults (association_chips()).
        "association_names": association_names,
        "host_id": current_user.id, "rotation_id": "", "suggested_host_id": "",
        "video_provider": "",
    }


def log_form_values(record) -> dict:
    """Field values for a fresh "Log a meeting" form: the half hour that just ended,
    outcome Completed, no reminders (nothing is ever sent for a logged meeting)."""
    values = form_values(None, record, account())
    start, end = forms.initial_log_times(to_zone(utcnow(), current_user.zone))
    values.update(start_date=start.date().isoformat(), start_time=start.strftime("%H:%M"),
                  end_date=end.date().isoformat(), end_time=end.strftime("%H:%M"),
                  reminders=[], default_reminders=[], outcome="completed")
    return values


def outcome_hint(meeting: Meeting | None) -> str | None:
    """What the Edit forms (desktop and phone) say at the outcome of a meeting that has
    ended and still has its first outcome: it waits for one (the agenda's "Needs an
    outcome")."""
    if meeting is None or meeting.log_only or meeting.outcome != "scheduled" \
            or meeting.end_at > utcnow():
        return None
    return _("This meeting has ended: how did it go? Set its outcome.")


def offers_logging(data: MeetingInput, meeting: Meeting | None = None) -> bool:
    """True when a form sent back should offer to log the meeting instead of scheduling
    it: a new meeting whose start has passed (webapp.meetings.validation)."""
    return is_past_start(data, meeting)


def posted_values(extra: tuple[str, ...] = ()) -> dict:
    """The posted form's values, to show it again: FORM_FIELDS, extra fields, the
    reminder rows and the "a:b" lists (attendees, associations, default reminders)."""
    form = request.form
    values = {k: form.get(k, "") for k in (*FORM_FIELDS, *extra)}
    values["include_description_in_reminders"] = bool(form.get("include_description_in_reminders"))
    values["hide_guest_list"] = bool(form.get("hide_guest_list"))
    values["reminders"] = [(a, u) for a, u in zip(form.getlist("reminder_amount"),
                                                  form.getlist("reminder_unit"), strict=False)
                           if a.strip()]
    values.update({key: [tuple(v.split(":", 1)) for v in form.getlist(name) if ":" in v]
                   for key, name in (("attendees", "attendees"),
                                     ("associations", "associations"),
                                     ("default_reminders", "default_reminder"))})
    return values


def association_chips(account_id: int, values: dict) -> list[dict]:
    """The association picker's chips for the form's values: a fresh form's defaults come
    with their names; posted or edited ones are read (pickers.record_labels)."""
    return pickers.record_labels(account_id, int_pairs(values["associations"]),
                                 values.get("association_names"))


def int_pairs(pairs):
    out = []
    for kind, ident in pairs:
        try:
            out.append((kind, int(ident)))
        except (TypeError, ValueError):
            continue
    return out


def saved_messages(result: SaveResult) -> list[tuple[str, str]]:
    """(message, category) to flash after a save, for every front end that flashes."""
    meeting = result.meeting
    if meeting.log_only:
        return [(_("Meeting logged. Nothing was sent to the attendees.") if result.created
                 else _("Logged meeting updated. Nothing was sent."), "success")]
    if result.created:
        invited = len(outbox.recipients(meeting))
        messages = [(ngettext(
            "Meeting scheduled. The invitation is on its way to %(num)d person.",
            "Meeting scheduled. Invitations are on their way to %(num)d people.",
            invited) if invited else _("Meeting scheduled."), "success")]
        if meeting.rotation is not None:
            messages.append((_("Booked through %(rotation)s with %(name)s as host.",
                               rotation=meeting.rotation.name, name=meeting.host.name), "info"))
    elif any(result.changes.values()) or result.messages:
        messages = [(_("Meeting updated. Attendees will receive the update."), "success")]
    else:
        messages = [(_("Meeting updated."), "success")]
    if result.not_invited:
        messages.append((_("Not invited (no valid email address): %(names)s.",
                           names=", ".join(result.not_invited)), "error"))
    messages += [(_("The default reminder %(offset)s before was left out: the meeting "
                    "starts sooner than that.", offset=unit_phrase(amount, unit)), "info")
                 for amount, unit in result.skipped_reminders]
    return messages


def week_host_and_zone():
    """The host (?host_id=, one the user may book for, else 404) and zone (?timezone=,
    a known zone, else the user's) of a week grid."""
    host_id = request.args.get("host_id", type=int) or current_user.id
    if host_id == current_user.id:
        # Anyone may host their own meetings (hosts_for always lists the actor): the
        # user's own week reads neither their seat nor the account's hosts (#24).
        host = current_user._get_current_object()
    else:
        host = next((h for h in queries.hosts_for(account(), current_user)
                     if h.id == host_id), None)
    if host is None:
        abort(404)
    zone = request.args.get("timezone") or current_user.zone
    if zone not in timezone_names():
        zone = current_user.zone
    return host, zone


def overlay_users(host, limit: int = 10) -> tuple[list, dict | None]:
    """?with=1,2: users of the account (attendees of the meeting being planned) whose busy
    time the week overlays, the host left out (#21), and the availability profiles of
    them and the host read with them (None: no one to overlay, nothing read)."""
    from webapp.availability import settings as availability
    ids = []
    for part in (request.args.get("with") or "").split(",")[:limit]:
        if part.strip().isdigit() and int(part) != host.id:
            ids.append(int(part))
    if not ids:
        return [], None
    return availability.users_and_profiles(g.account_id, ids, host.id)


def day_arg(name: str, default: date | None) -> date | None:
    """?name=YYYY-MM-DD as a date, else default."""
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


def meeting_row_or_404(model, row_id: int, meeting: Meeting):
    """A row of the meeting (an outbox message, an attachment) in the user's account."""
    row = db.session.scalar(sa.select(model).where(
        model.id == row_id, model.meeting_id == meeting.id, model.account_id == g.account_id))
    if row is None:
        abort(404)
    return row
