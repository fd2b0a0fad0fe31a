"""Parse the scheduler form (strings) into a MeetingInput, with errors per field."""

from __future__ import annotations

import mimetypes
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage, MultiDict

from webapp.meetings.inputs import Errors, MeetingInput, add_error
from webapp.meetings.timemath import NonexistentLocalTime, change_names, occurrences
from webapp.validation import is_valid_timezone

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
CONTENT_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]{0,49}/[A-Za-z0-9][\w.+-]{0,49}")
ALLOWED_EXTENSIONS = {".pdf", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".txt", ".csv",
                      ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods"}


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _time(value: str | None) -> time | None:
    try:
        return time.fromisoformat((value or "").strip()[:5])
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


def _pairs(values: list[str], allowed: set[str], errors: Errors, field: str):
    out = []
    for raw in values:
        kind, _, ident = raw.partition(":")
        number = _int(ident)
        if kind not in allowed or number is None:
            add_error(errors, field, _l("Choose from the list."))
            continue
        out.append((kind, number))
    return out


def parse(form: MultiDict, default_zone: str) -> tuple[MeetingInput, Errors]:
    """MeetingInput from the scheduler's fields; errors for values that are not even
    well-formed (the domain checks come after, in operations.validate)."""
    errors: Errors = {}
    zone = form.get("timezone") or default_zone
    start_day = _date(form.get("start_date"))
    end_day = _date(form.get("end_date")) or start_day
    start_t, end_t = _time(form.get("start_time")), _time(form.get("end_time"))
    if form.get("start_date") and start_day is None:
        add_error(errors, "start", _l("Enter the date as YYYY-MM-DD."))
    if form.get("start_time") and start_t is None:
        add_error(errors, "start", _l("Enter the time as HH:MM."))
    if form.get("end_time") and end_t is None:
        add_error(errors, "end", _l("Enter the time as HH:MM."))
    if start_day and end_day == start_day and end_t == time(0) and start_t not in (None, time(0)):
        # Ending at 00:00 on the day it starts means at midnight, the end of that day:
        # the scheduler's own default at 23:30 is 23:30-00:00.
        end_day = start_day + timedelta(days=1)
    start = end = None
    if is_valid_timezone(zone) and start_day and start_t:
        start = _wall_time(form, "start", start_day, start_t, zone, errors)
    if is_valid_timezone(zone) and end_day and end_t:
        end = _wall_time(form, "end", end_day, end_t, zone, errors)

    reminders = []
    amounts, units = form.getlist("reminder_amount"), form.getlist("reminder_unit")
    for index, raw in enumerate(amounts):
        if not raw.strip():
            continue
        amount = _int(raw)
        unit = units[index] if index < len(units) else ""
        if amount is None:
            add_error(errors, "reminders", _l("A reminder needs a whole number above zero."))
            continue
        reminders.append((amount, unit))

    data = MeetingInput(
        title=form.get("title", ""), start=start, end=end, timezone=zone,
        location_kind=form.get("location_kind") or "none",
        location_value=form.get("location_value"),
        meeting_type_id=_int(form.get("meeting_type_id")) if form.get("meeting_type_id") else None,
        description_html=form.get("description_html", ""),
        internal_note_html=form.get("internal_note_html", ""),
        include_description_in_reminders=form.get("include_description_in_reminders") in (
            "1", "on", "true", "y"),
        hide_guest_list=form.get("hide_guest_list") in ("1", "on", "true", "y"),
        attendees=_pairs(form.getlist("attendees"), {"contact", "user"}, errors, "attendees"),
        reminders=reminders,
        default_reminders=frozenset(_default_reminders(form.getlist("default_reminder"))),
        associations=_pairs(form.getlist("associations"),
                            {"contact", "company", "deal", "ticket"}, errors, "associations"),
        host_id=_int(form.get("host_id")) if form.get("host_id") else None,
        rotation_id=_int(form.get("rotation_id")) if form.get("rotation_id") else None,
        suggested_host_id=_int(form.get("suggested_host_id")),
        video_provider=(form.get("video_provider") or "").strip()[:40] or None,
        log_only=form.get("log_only") in ("1", "on", "true", "y"),
        outcome=(form.get("outcome") or "").strip()[:40] or None,
    )
    if form.get("meeting_type_id") and data.meeting_type_id is None:
        add_error(errors, "meeting_type_id", _l("Choose a meeting type from the list."))
    if form.get("rotation_id") and data.rotation_id is None:
        add_error(errors, "rotation_id", _l("Choose a meeting rotation from the list."))
    return data, errors


#: Hidden and radio fields that keep a time's occurrence in the repeated hour.
OCCURRENCE_FIELDS = ("start_fold", "end_fold", "start_instant", "end_instant")


def _instant(value: str | None) -> datetime | None:
    """The UTC instant a form was opened with (start_instant, end_instant), or None."""
    try:
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _wall_words(day: date, at: time, zone: str) -> dict[str, str]:
    """A wall time as the forms name it in the user's language ("1:30 AM", "Sun, Nov 7"),
    with the zone and its names on either side of the clock change there."""
    from babel.dates import format_skeleton
    from babel.dates import format_time as babel_time
    from flask_babel import get_locale

    locale = str(get_locale() or "en")
    before, after = change_names(day, at, zone)
    return {"time": babel_time(at, "short", locale=locale),
            "day": format_skeleton("MMMEd", day, locale=locale), "zone": zone,
            "first": before, "second": after}


def skipped_message(day: date, at: time, zone: str) -> str:
    """What the forms say at a time the clocks skip (the spring gap)."""
    return str(_l("%(time)s does not exist on %(day)s in %(zone)s: the clocks skip it, "
                  "going from %(first)s to %(second)s. Choose another time.",
                  **_wall_words(day, at, zone)))


def _wall_time(form: MultiDict, field: str, day: date, at: time, zone: str,
               errors: Errors) -> datetime | None:
    """The instant of a wall time typed in the form. In the repeated hour it is the
    occurrence the user chose (field_fold: 0 first, 1 second; the form's live check,
    webapp.meetings.mobile.when_check, offers the first), else the one the form was opened
    with (field_instant, so an edit that does not touch the time keeps it); with neither,
    the user is asked to choose: never one chosen silently."""
    try:
        options = occurrences(day, at, zone)
    except NonexistentLocalTime:
        add_error(errors, field, skipped_message(day, at, zone))
        return None
    if len(options) == 1:
        return options[0]
    chosen = form.get(f"{field}_fold")
    if chosen in ("0", "1"):
        return options[int(chosen)]
    kept = _instant(form.get(f"{field}_instant"))
    if kept in options:
        return kept
    add_error(errors, field, _l(
        "%(time)s happens twice on %(day)s in %(zone)s (%(first)s, then %(second)s: the "
        "clocks go back). Choose which one.", **_wall_words(day, at, zone)))
    return None


def occurrence_choices(values: dict, offer_first: bool = False) -> dict[str, dict]:
    """For the start and the end, when their wall time happens twice: the two occurrences
    to choose from, with the one in force marked, to show at the field; when it does not
    exist (the clocks skip it), the message that says so. Desktop and phone forms both
    render it (meetings/_occurrence.html). offer_first: the live check as the time is
    typed marks the first when nothing else is chosen, and says it is used."""
    from babel.dates import get_timezone_gmt
    from flask_babel import get_locale

    zone = values.get("timezone") or ""
    if not is_valid_timezone(zone):
        return {}
    start_day = _date(values.get("start_date"))
    end_day = _date(values.get("end_date")) or start_day
    out = {}
    for field, day, at in (("start", start_day, _time(values.get("start_time"))),
                           ("end", end_day, _time(values.get("end_time")))):
        if day is None or at is None:
            continue
        try:
            options = occurrences(day, at, zone)
        except NonexistentLocalTime:
            out[field] = {"skipped": skipped_message(day, at, zone)}
            continue
        if len(options) < 2:
            continue
        chosen = str(values.get(f"{field}_fold") or "")
        if chosen not in ("0", "1"):
            kept = _instant(values.get(f"{field}_instant"))
            chosen = str(options.index(kept)) if kept in options else ""
        # Marked by an earlier check (its hidden field_offered), not chosen: still offered.
        offered = offer_first and (chosen == "" or (
            chosen == "0" and values.get(f"{field}_offered") == "1"))
        tz = ZoneInfo(zone)
        labels = (_l("First time, %(offset)s (%(abbr)s)"),
                  _l("Second time, %(offset)s (%(abbr)s)"))
        words = _wall_words(day, at, zone)
        out[field] = {**words, "offered": offered, "options": [
            {"value": str(i), "checked": chosen == str(i) or (offered and i == 0),
             "label": str(labels[i]) % {
                 "offset": get_timezone_gmt(o.astimezone(tz), "long", locale=get_locale()),
                 "abbr": o.astimezone(tz).tzname()}}
            for i, o in enumerate(options)]}
    return out


def occurrence_values(start: datetime, end: datetime, zone: str) -> dict[str, str]:
    """The hidden fields that keep a meeting's occurrences when its form is sent back:
    start_instant and end_instant (UTC), and start_fold and end_fold."""
    out = {}
    for field, value in (("start", start), ("end", end)):
        local = value.astimezone(ZoneInfo(zone))
        options = occurrences(local.date(), local.time().replace(tzinfo=None), zone)
        out[f"{field}_instant"] = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        out[f"{field}_fold"] = str(options.index(value.astimezone(UTC))) \
            if len(options) > 1 else ""
    return out


def parse_uploads(files: list[FileStorage], errors: Errors) -> list[Upload]:
    """Internal-only attachments: size and type checked; nothing is stored here."""
    uploads = []
    files = [f for f in files if f and f.filename]
    if len(files) > MAX_FILES:
        add_error(errors, "attachments", _l("Attach at most 10 files."))
        return []
    for f in files:
        name = _file_name(f.filename)
        ext = os.path.splitext(name)[1].lower()
        data = f.read(MAX_FILE_BYTES + 1)
        if ext not in ALLOWED_EXTENSIONS:
            add_error(errors, "attachments", _l(
                "%(name)s: this file type is not allowed. Use PDF, images, text or office "
                "documents.", name=name))
        elif len(data) > MAX_FILE_BYTES:
            add_error(errors, "attachments", _l("%(name)s is larger than 10 MB.", name=name))
        else:
            uploads.append(Upload(name, _content_type(f.mimetype, name), data))
    return uploads


def _file_name(raw: str) -> str:
    """The base name, without control characters (a NUL ended the name on some systems
    and failed the save on PostgreSQL), at most 200 characters as the column."""
    name = os.path.basename(raw.replace("\\", "/"))
    name = "".join(c for c in name if c.isprintable()).strip() or "file"
    stem, ext = os.path.splitext(name)
    return stem[:200 - len(ext[:20])] + ext[:20]


def _content_type(declared: str | None, name: str) -> str:
    """The browser's type when it is a plain type/subtype that fits the column, else
    one guessed from the name."""
    if declared and len(declared) <= 100 and CONTENT_TYPE.fullmatch(declared):
        return declared
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _default_reminders(values: list[str]) -> list[tuple[int, str]]:
    """The default reminders the form was opened with, sent back as "amount:unit"."""
    out = []
    for value in values:
        text, _, unit = value.partition(":")
        amount = _int(text)
        if amount is not None and unit:
            out.append((amount, unit))
    return out


def initial_times(now_local: datetime) -> tuple[date, time, time]:
    """The next half hour, lasting 30 minutes: the scheduler's starting values."""
    nxt = (now_local + timedelta(minutes=30)).replace(second=0, microsecond=0)
    nxt = nxt.replace(minute=0 if nxt.minute < 30 else 30)
    end = nxt + timedelta(minutes=30)
    return nxt.date(), nxt.time(), end.time()


def initial_log_times(now_local: datetime) -> tuple[datetime, datetime]:
    """The last half hour that has ended, as local datetimes: a logged meeting's starting
    values (it happened, so never later than now)."""
    end = now_local.replace(minute=0 if now_local.minute < 30 else 30, second=0,
                            microsecond=0)
    return end - timedelta(minutes=30), end
