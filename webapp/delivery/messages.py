"""Builds the email for one outbox row: iMIP invitations, updates, cancellations, reminders.

MIME layout (RFC 6047): multipart/mixed > [multipart/alternative > (text/plain, text/html,
text/calendar; method=M)] + invite.ics. Internal notes and attachments never appear.
"""

from __future__ import annotations

from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_gmt
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from webapp.delivery.outbox import message_id_for
from webapp.filters import join_date_time
from webapp.meetings import ical
from webapp.meetings.responses import rsvp_token
from webapp.richtext import to_text
from webapp.types import utcnow

METHODS = {"invite": "REQUEST", "update": "REQUEST", "cancel": "CANCEL"}


def skip_reason(row, meeting) -> str | None:
    """Why this row must not be sent any more, checked against the meeting as it is now."""
    if meeting is None:
        return "The meeting no longer exists."
    if row.kind in ("invite", "update", "reminder") and meeting.deleted_at is not None:
        return "The meeting was cancelled."
    if row.kind in ("invite", "update") and row.sequence < meeting.sequence:
        return "Superseded by a later update."
    if row.kind in ("invite", "update", "reminder") and row.attendee_id is None and \
            not _is_host(row, meeting):
        return "The attendee was removed."
    if row.kind == "reminder":
        if row.reminder_id is None:
            return "The meeting was rescheduled; a new reminder replaces this one."
        if meeting.start_at <= utcnow():
            return "The meeting has already started."
        attendee = _attendee(row, meeting)
        if attendee is not None and attendee.response == "declined":
            return "The attendee declined."
    return None


def _is_host(row, meeting) -> bool:
    return row.attendee_id is None and meeting.host.email.lower() == row.recipient_email.lower()


def _attendee(row, meeting):
    return next((a for a in meeting.attendees if a.id == row.attendee_id), None)


def recipient_zone_and_locale(row, meeting) -> tuple[str, str]:
    """S8: the contact's zone, else the zone the meeting was booked in, and the contact's
    language; users their own."""
    attendee = _attendee(row, meeting)
    if attendee is not None and attendee.contact is not None:
        contact = attendee.contact
        return contact.timezone or meeting.timezone, contact.language or "en"
    user = attendee.user if attendee is not None and attendee.user else (
        meeting.host if _is_host(row, meeting) else None)
    if user is not None:
        return user.timezone or meeting.timezone, user.locale or "en"
    return meeting.timezone, "en"


# The message is built with the standard library's compat32 classes: the default policy's
# EmailMessage parses and refolds every header it is given, which was half the cost of a
# message (docs/PERFORMANCE.md, invitations per worker). Names and subjects are still
# RFC 2047-encoded when not ASCII, and CR/LF never reach a header (ical.one_line).
_8BIT, _QP, _BASE64 = Charset("utf-8"), Charset("utf-8"), Charset("utf-8")
_8BIT.body_encoding = None  # 7bit or 8bit by content
_QP.body_encoding = QP
_BASE64.body_encoding = BASE64
#: RFC 5322: no line of a message is longer than 998 octets.
MAX_LINE = 998


def address(name: str, email: str) -> str:
    return formataddr((ical.one_line(name), email), charset="utf-8")


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


def _text(body: str, subtype: str) -> MIMEText:
    """A text part: as it is when its lines fit (7bit or 8bit), else quoted-printable
    (ASCII) or base64 (the rest: smaller than quoted-printable for Chinese)."""
    if not body.endswith("\n"):
        body += "\n"
    fits = max(len(line.encode()) for line in body.splitlines()) <= MAX_LINE
    if body.isascii():
        return MIMEText(body, subtype, "us-ascii" if fits else _QP)
    return MIMEText(body, subtype, _8BIT if fits else _BASE64)


def when_text(meeting, zone: str, locale: str) -> str:
    """The meeting's day and times in zone, for an email in locale: the end's date when it
    falls on another day, and the end's UTC offset when it differs from the start's (a
    meeting across a DST change)."""
    # The zone's id and UTC offset, not its long name: tz data names Europe/Dublin's
    # seasons the other way round ("Irish Standard Time" in winter).
    tz = ZoneInfo(zone)
    local, local_end = meeting.start_at.astimezone(tz), meeting.end_at.astimezone(tz)
    day = format_date(local, "full", locale=locale)
    start = format_time(meeting.start_at, "short", tzinfo=tz, locale=locale)
    end = format_time(meeting.end_at, "short", tzinfo=tz, locale=locale)
    start_offset = get_timezone_gmt(local, "long", locale=locale)
    end_offset = get_timezone_gmt(local_end, "long", locale=locale)
    if local_end.date() != local.date():
        end = join_date_time("full", format_date(local_end, "full", locale=locale), end, locale)
    # The day and the time joined as the locale joins them, as the pages do.
    begin = join_date_time("full", day, start, locale)
    if end_offset != start_offset:
        return f"{begin} ({start_offset}) – {end} ({end_offset}) ({zone})"
    return f"{begin} – {end} ({zone}, {start_offset})"


def compose(text: str, html: str, *, to: tuple[str, str], subject: str, message_id: str,
            calendar: tuple[bytes, str] | None = None) -> Message:
    """The one mail composer, for invitations and notification emails: the text and HTML
    alternatives, an iTIP calendar (ics, method) inline and as invite.ics when given, and
    the headers every message has (To, Subject, Date, Message-ID, Auto-Submitted). The
    caller adds From (and Sender, Reply-To)."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(_text(text, "plain"))
    alternative.attach(_text(html, "html"))
    if calendar is None:
        msg = alternative
    else:
        ics, method = calendar
        alternative.attach(_calendar_part(ics, method, attachment=False))
        msg = MIMEMultipart("mixed")
        msg.attach(alternative)
        msg.attach(_calendar_part(ics, method, attachment=True))
    for part in msg.walk():
        if part is not msg:
            del part["MIME-Version"]  # the top level says it once
    msg["To"] = address(*to)
    msg["Subject"] = _header(subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def is_host_copy(row, meeting) -> bool:
    """The host's own copy of a meeting a colleague booked for them: the host is its
    ORGANIZER, so it asks for no reply (METHOD:PUBLISH, every attendee listed)."""
    return _is_host(row, meeting) and meeting.organizer_id != meeting.host_id


def _sender_headers(msg: Message, meeting) -> None:
    """From, Sender and Reply-To. By default From is the ORGANIZER (the host, on whose
    behalf the message goes) and Sender is Parley's address (RFC 5322 3.6.2), so mail
    clients show "<host> invited you" and replies go to the host. MAIL_FROM_ORGANIZER=0
    is the alternative for a mail domain whose DMARC policy refuses mail From its users
    sent by another server: From is then Parley's address with the host's name, and
    Reply-To the host."""
    _parley_name, parley_addr = parseaddr(current_app.config["MAIL_FROM"])
    host = meeting.host
    if current_app.config.get("MAIL_FROM_ORGANIZER", True):
        msg["From"] = address(host.name, host.email)
        msg["Sender"] = address(_parley_name or "Parley", parley_addr)
    else:
        msg["From"] = address(f"{host.name} (Parley)", parley_addr)
    msg["Reply-To"] = address(host.name, host.email)


def guest_list(row, meeting) -> list[tuple[str, str, str]]:
    """The other invited attendees an invitation lists after its recipient (so their
    calendar shows who else comes), unless the meeting hides its guest list; each message
    still goes to its one recipient, with its own RSVP link."""
    if meeting.hide_guest_list:
        return []
    mine = row.recipient_email.lower()
    return [(a.email, a.name, a.response) for a in meeting.attendees
            if a.email and a.email.lower() != mine]


def _calendar_part(ics: bytes, method: str, attachment: bool) -> MIMEText:
    """text/calendar; charset=utf-8; method=M, inline or as the invite.ics attachment."""
    part = MIMEText(ics.decode("utf-8"), "calendar", _8BIT)
    part.set_param("method", method)
    if attachment:
        part.set_param("name", "invite.ics")
        part.add_header("Content-Disposition", "attachment", filename="invite.ics")
    return part


def _manage_url(row, meeting) -> str | None:
    """A booking's manage link, for its contact's messages (#22), else None."""
    if meeting.source != "scheduling_page" or row.kind == "cancel":
        return None
    attendee = _attendee(row, meeting)
    if attendee is None or not attendee.contact_id:
        return None
    from webapp.booking.operations import manage_url_for
    return manage_url_for(meeting, attendee.contact_id)


def build(row, meeting) -> Message:
    """The email for row, rendered in the recipient's language and time zone."""
    zone, locale = recipient_zone_and_locale(row, meeting)
    base = current_app.config["BASE_URL"]
    host_copy = is_host_copy(row, meeting)
    rsvp_url = f"{base}/rsvp/{rsvp_token(row.attendee_id, meeting)}" if row.attendee_id and \
        row.kind in ("invite", "update") else None
    manage_url = _manage_url(row, meeting)
    with force_locale(locale):
        subjects = {
            "invite": _("Invitation: %(title)s", title=meeting.title),
            "update": _("Updated invitation: %(title)s", title=meeting.title),
            "cancel": _("Canceled: %(title)s", title=meeting.title),
            "reminder": _("Reminder: %(title)s", title=meeting.title),
        }
        if host_copy and row.kind in ("invite", "update"):
            subjects[row.kind] = _("Booked for you: %(title)s", title=meeting.title)
        show_description = row.kind != "reminder" or meeting.include_description_in_reminders
        context = {
            "kind": row.kind, "meeting": meeting, "recipient_name": row.recipient_name,
            "when": when_text(meeting, zone, locale), "zone": zone,
            "location": ical.location_text(meeting), "location_kind": meeting.location_kind,
            "description_text": to_text(meeting.description_html) if show_description else "",
            "description_html": meeting.description_html if show_description else "",
            "rsvp_url": rsvp_url, "host": meeting.host, "organizer": meeting.organizer,
            "host_copy": host_copy, "manage_url": manage_url,
            "guests": [name for _email, name, _response in guest_list(row, meeting)]
            if row.kind != "cancel" and not host_copy else [],
        }
        text = render_template("emails/meeting.txt", **context)
        html = render_template("emails/meeting.html", **context)
        subject = ical.one_line(subjects[row.kind])
        rsvp_line = _("Reply: %(url)s", url=rsvp_url) if rsvp_url else ""
        booked_line = _("Booked by %(name)s for %(host)s.", name=meeting.organizer.name,
                        host=meeting.host.name) if host_copy else ""

    method = METHODS.get(row.kind)
    ics = None
    if method and host_copy:
        method = "PUBLISH"
        ics = ical.itip(meeting, method, None, row.sequence, description_extra=booked_line,
                        attendees=[(a.email, a.name, a.response) for a in meeting.attendees
                                   if a.email])
    elif method == "CANCEL":
        # It cancels for the recipient, named alone (the invitation listed the others,
        # unless the meeting hides its guest list); no reply.
        ics = ical.itip(meeting, method, None, row.sequence,
                        attendees=[(row.recipient_email, row.recipient_name, "needs_action")])
    elif method:
        attendee = _attendee(row, meeting)
        ics = ical.itip(meeting, method,
                        (row.recipient_email, row.recipient_name,
                         attendee.response if attendee else "needs_action"),
                        row.sequence, description_extra=rsvp_line,
                        attendees=guest_list(row, meeting))
    msg = compose(text, html, to=(row.recipient_name, row.recipient_email), subject=subject,
                  message_id=message_id_for(meeting.uid, row.sequence, row.recipient_email,
                                            row.kind, row.reminder_id),
                  calendar=(ics, method) if ics is not None else None)
    _sender_headers(msg, meeting)
    return msg
