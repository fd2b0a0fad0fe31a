"""Scheduling pages and bookings (request side: flush, never commit; the caller commits,
then calls the result's after_commit()). Every query takes the account, except the public
page's look-up by its globally unique slug and a booking's by its manage token.

No double booking: a booking locks a row per host (booking_locks, in user id order) before
it checks again, on committed data, that the slot is still free: SELECT ... FOR UPDATE on
PostgreSQL; on SQLite the first write of the transaction takes the database's write lock
(as rotations' counts do, webapp.rotations.operations._claim), so the next booking waits
and then sees this one's meeting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from datetime import datetime, timedelta
from html import escape

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from webapp import jobs
from webapp.auth.models import Account, User
from webapp.booking import slots as slot_rules
from webapp.booking.models import (
    BOOKING_STATUSES,  # noqa: F401  (re-exported for the pages)
    BUILTIN_QUESTIONS,
    PAGE_KINDS,
    PAGE_LOCATIONS,
    Booking,
    BookingKey,
    BookingLock,
    SchedulingPage,
)
from webapp.booking.slots import page_hosts  # noqa: F401  (part of the interface)
from webapp.extensions import db
from webapp.meetings import pipeline
from webapp.meetings.inputs import Errors, MeetingInput, add_error
from webapp.meetings.models import REMINDER_UNITS, Meeting, MeetingType
from webapp.records.models import Company, Contact
from webapp.rotations import operations as rotation_ops
from webapp.types import utcnow
from webapp.validation import is_valid_email, is_valid_timezone, normalize_email

MAX_TITLE = 200
MAX_SLUG = 80
MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE = 32
MAX_COMPANY = 200
MAX_NOTE = 2000
MAX_CUSTOM = 10
MAX_ANSWER = 500
MAX_DURATION = 8 * 60
MAX_DURATIONS = 6
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")

TAKEN = _l("This time was just taken. Choose another time.")
TOO_LATE = _l("It is too late to change this booking online: contact the host.")
CANCELED = _l("This booking was canceled.")


# --- abuse --------------------------------------------------------------------------------

#: The form field people never see (and the JSON body's key): filled in, it is a robot.
HONEYPOT = "website"


def over_limit(address: str | None) -> int | None:
    """Count a public request from the address (the API's one-minute window, in Redis when
    there is one; BOOKING_RATE_LIMIT a minute): None when allowed, else the seconds to
    wait (Retry-After)."""
    from webapp.api import ratelimit
    allowed, retry_after = ratelimit.hit(f"book:{address}",
                                         current_app.config["BOOKING_RATE_LIMIT"])
    return None if allowed else retry_after


# --- pages --------------------------------------------------------------------------------

def pages(account_id: int, owner_id: int | None = None) -> list[SchedulingPage]:
    """The account's pages (or one owner's), by title."""
    stmt = sa.select(SchedulingPage).where(SchedulingPage.account_id == account_id)
    if owner_id is not None:
        stmt = stmt.where(SchedulingPage.owner_id == owner_id)
    return list(db.session.scalars(stmt.order_by(SchedulingPage.title, SchedulingPage.id)))


def get_page(account_id: int, page_id: int) -> SchedulingPage | None:
    return db.session.scalar(sa.select(SchedulingPage).where(
        SchedulingPage.id == page_id, SchedulingPage.account_id == account_id))


def public_page(slug: str) -> SchedulingPage | None:
    """The page at /book/<slug>, or None when there is none or it is paused: the caller
    answers both with the same 404, so pages cannot be found by guessing."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        return None
    page = db.session.scalar(sa.select(SchedulingPage).where(SchedulingPage.slug == slug))
    return None if page is None or page.paused else page


def _int(values: dict, key: str, low: int, high: int, errors: Errors,
         optional: bool = False) -> int | None:
    value = values.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        add_error(errors, key, _l("Enter a whole number from %(low)s to %(high)s.",
                                  low=low, high=high))
        return None
    return value


#: Pages only an account admin makes: they book other users' time.
TEAM_KINDS = ("round_robin", "group")


def _check_page(account: Account, actor: User, page: SchedulingPage, values: dict,
                errors: Errors) -> None:
    """Apply values to page, adding errors for the invalid ones."""
    if "title" in values:
        title = str(values["title"] or "").strip()
        if not 1 <= len(title) <= MAX_TITLE:
            add_error(errors, "title", _l("Give the page a title (at most 200 characters)."))
        page.title = title
    if "slug" in values:
        slug = str(values["slug"] or "").strip().lower()
        if not SLUG_RE.match(slug):
            add_error(errors, "slug", _l("Use 1 to 80 lower-case letters, digits and "
                                         "hyphens, not starting or ending with a hyphen."))
        elif db.session.scalar(sa.select(SchedulingPage.id).where(
                SchedulingPage.slug == slug, SchedulingPage.id != (page.id or 0))):
            add_error(errors, "slug", _l("This address is taken. Choose another."))
        page.slug = slug
    if "kind" in values:
        if values["kind"] not in PAGE_KINDS:
            add_error(errors, "kind", _l("Choose one-on-one, round robin or group."))
        elif values["kind"] in TEAM_KINDS and values["kind"] != page.kind \
                and not actor.is_admin:
            add_error(errors, "kind", _l("Only account admins can make team pages (round "
                                         "robin or group)."))
        else:
            page.kind = values["kind"]
    if "durations" in values:
        durations = values["durations"]
        if (not isinstance(durations, list) or not 1 <= len(durations) <= MAX_DURATIONS
                or any(isinstance(d, bool) or not isinstance(d, int)
                       or not 5 <= d <= MAX_DURATION for d in durations)):
            add_error(errors, "durations", _l("Give one to six durations, in minutes "
                                              "from 5 to 480."))
        else:
            page.durations = sorted(set(durations))
    if "location_kind" in values:
        if values["location_kind"] not in PAGE_LOCATIONS:
            add_error(errors, "location_kind", _l("Choose where the meeting takes place."))
        else:
            page.location_kind = values["location_kind"]
    if "location_value" in values:
        value = values["location_value"]
        if value is not None and (not isinstance(value, str) or len(value) > 500):
            add_error(errors, "location_value", _l("At most 500 characters."))
        else:
            page.location_value = (value or "").strip() or None
    if page.location_kind in ("address", "custom") and not page.location_value:
        add_error(errors, "location_value", _l("Give the address or the place."))
    if "questions" in values:
        page.questions = _questions(values["questions"], errors)
    for key, high in (("buffer_before_minutes", 240), ("buffer_after_minutes", 240),
                      ("min_notice_minutes", 60 * 24 * 30), ("slot_interval_minutes", 240),
                      ("horizon_days", 730)):
        if key in values:
            low = 5 if key == "slot_interval_minutes" else (1 if key == "horizon_days" else 0)
            value = _int(values, key, low, high, errors)
            if value is not None:
                setattr(page, key, value)
    if "max_per_day" in values:
        page.max_per_day = _int(values, "max_per_day", 1, 50, errors, optional=True)
    if "meeting_type_id" in values:
        type_id = values["meeting_type_id"]
        if type_id is not None and not db.session.scalar(sa.select(MeetingType.id).where(
                MeetingType.account_id == account.id, MeetingType.id == type_id)):
            add_error(errors, "meeting_type_id", _l("No such meeting type."))
        else:
            page.meeting_type_id = type_id
    if "reminders" in values:
        reminders = values["reminders"]
        if reminders is not None and (not isinstance(reminders, list) or len(reminders) > 5
                                      or any(not isinstance(r, list | tuple) or len(r) != 2
                                             or not isinstance(r[0], int) or r[0] < 1
                                             or r[1] not in REMINDER_UNITS
                                             for r in reminders)):
            add_error(errors, "reminders", _l("Give up to five reminders as amount and "
                                              "unit."))
        else:
            page.reminders = [list(r) for r in reminders] if reminders is not None else None
    if "paused" in values:
        page.paused = bool(values["paused"])
    if "rotation_id" in values:
        page.rotation_id = values["rotation_id"]
    if "host_ids" in values:
        page.host_ids = values["host_ids"]
    _check_hosts(account, actor, page, errors)


def _questions(value, errors: Errors) -> dict:
    if not isinstance(value, dict):
        add_error(errors, "questions", _l("Questions are an object."))
        return {}
    out = {q: bool(value.get(q)) for q in BUILTIN_QUESTIONS}
    custom = value.get("custom") or []
    if not isinstance(custom, list) or len(custom) > MAX_CUSTOM:
        add_error(errors, "questions", _l("At most ten custom questions."))
        return out
    rows, keys = [], set()
    for n, q in enumerate(custom):
        label = str((q or {}).get("label") or "").strip() if isinstance(q, dict) else ""
        if not 1 <= len(label) <= 200:
            add_error(errors, "questions", _l("Every custom question needs a label (at "
                                              "most 200 characters)."))
            continue
        key = str(q.get("key") or f"q{n + 1}")[:40]
        if key in keys:
            key = f"q{n + 1}"
        keys.add(key)
        rows.append({"key": key, "label": label, "required": bool(q.get("required"))})
    out["custom"] = rows
    return out


def _check_hosts(account: Account, actor: User, page: SchedulingPage,
                 errors: Errors) -> None:
    if page.kind == "round_robin":
        page.host_ids = [page.owner_id]
        rotation_id = page.rotation_id
        if isinstance(rotation_id, bool) or not isinstance(rotation_id, int) or \
                rotation_ops.get_rotation(account.id, rotation_id) is None:
            add_error(errors, "rotation_id", _l("Choose a meeting rotation of your account."))
        elif not page.owner.has_paid_seat:
            add_error(errors, "rotation_id", _l("Only users with a paid seat can book through "
                                                "a meeting rotation."))
        return
    page.rotation_id = None
    if page.kind != "group":
        page.host_ids = [page.owner_id]
        return
    ids = page.host_ids or []
    if not isinstance(ids, list) or any(isinstance(i, bool) or not isinstance(i, int)
                                        for i in ids):
        add_error(errors, "host_ids", _l("Choose the hosts among your account's users."))
        return
    ids = list(dict.fromkeys([page.owner_id, *ids]))
    found = set(db.session.scalars(sa.select(User.id).where(
        User.account_id == account.id, User.id.in_(ids))))
    if len(ids) < 2 or set(ids) - found or len(ids) > 20:
        add_error(errors, "host_ids", _l("A group page has 2 to 20 hosts of your account."))
    page.host_ids = ids


def create_page(account: Account, actor: User, values: dict) -> tuple[
        SchedulingPage | None, Errors]:
    """A new page owned (and, one-on-one, hosted) by actor, with the account's defaults:
    30 minutes, video, 4 hours' notice, 60 days ahead, a slot every 30 minutes, the
    account's default reminders."""
    errors: Errors = {}
    page = SchedulingPage(account_id=account.id, owner_id=actor.id, owner=actor,
                          kind="one_on_one", title="", slug="", durations=[30],
                          location_kind="video", location_value=None, questions={},
                          buffer_before_minutes=0, buffer_after_minutes=0,
                          min_notice_minutes=240, horizon_days=60, slot_interval_minutes=30,
                          host_ids=[actor.id], paused=False)
    for required in ("title", "slug"):
        if required not in values:
            add_error(errors, required, _l("Required."))
    _check_page(account, actor, page, values, errors)
    if errors:
        db.session.expunge(page) if page in db.session else None
        return None, errors
    db.session.add(page)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        return None, {"slug": [str(_l("This address is taken. Choose another."))]}
    return page, {}


def update_page(account: Account, actor: User, page: SchedulingPage, values: dict) -> Errors:
    """Change the page; nothing is kept when an error is returned (the caller rolls back)."""
    errors: Errors = {}
    _check_page(account, actor, page, values, errors)
    if not errors:
        db.session.flush()
    return errors


def delete_page(page: SchedulingPage) -> None:
    """Delete the page; its bookings' meetings stay (the bookings go with the page)."""
    db.session.execute(sa.delete(BookingKey).where(BookingKey.page_id == page.id))
    db.session.execute(sa.delete(Booking).where(Booking.page_id == page.id,
                                                Booking.account_id == page.account_id))
    db.session.delete(page)
    db.session.flush()


# --- bookings -----------------------------------------------------------------------------

@dataclasses.dataclass
class BookingRequest:
    """What a visitor submits (the public form or the JSON API), already typed."""

    start: datetime | None
    duration: int | None
    timezone: str
    name: str = ""
    email: str = ""
    answers: dict = dataclasses.field(default_factory=dict)
    #: The field people never see: filled in, the request is a bot's.
    honeypot: str = ""


@dataclasses.dataclass
class BookingResult:
    booking: Booking | None = None
    meeting: Meeting | None = None
    errors: Errors = dataclasses.field(default_factory=dict)
    #: The slot is no longer free (409): show fresh slots.
    taken: bool = False
    #: Inside the page's minimum notice: no change online.
    too_late: bool = False
    #: The honeypot was filled: answer as if booked, nothing was made.
    fake: bool = False
    #: An earlier request with the same idempotency key made this booking.
    replayed: bool = False
    saved: pipeline.SaveResult | None = None

    @property
    def ok(self) -> bool:
        return self.booking is not None and not self.errors and not self.taken \
            and not self.too_late

    @property
    def manage_url(self) -> str | None:
        return manage_url(self.booking) if self.booking is not None else None

    def after_commit(self) -> None:
        if self.saved is not None:
            self.saved.after_commit()
        else:
            jobs.request_relay()


class KeyReused(Exception):
    """The idempotency key came with another request body."""


def _token(booking_id: int, uid: str) -> str:
    """The manage token: signed by the app's secret, so the database (which keeps only its
    hash) cannot make one."""
    secret = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(secret, f"parley-booking-manage:{booking_id}:{uid}".encode(),
                   hashlib.sha256).hexdigest()
    return f"{booking_id}-{mac[:40]}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def manage_token(booking: Booking) -> str:
    return _token(booking.id, booking.meeting.uid)


def manage_url(booking: Booking) -> str:
    """The manage link sent to the contact: BASE_URL/book/manage/<token>."""
    return f"{current_app.config['BASE_URL']}/book/manage/{manage_token(booking)}"


def booking_by_token(token: str) -> Booking | None:
    """The booking of a manage token, or None (unknown, forged or its page deleted)."""
    if not isinstance(token, str) or not 10 <= len(token) <= 80:
        return None
    booking = db.session.scalar(sa.select(Booking).where(Booking.token_hash == _hash(token)))
    if booking is None or not hmac.compare_digest(manage_token(booking), token):
        return None
    return booking


def check_answers(page: SchedulingPage, name: str, email: str, answers: dict) -> Errors:
    """The visitor's name, email and answers against the page's questions and the length
    limits."""
    errors: Errors = {}
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME:
        add_error(errors, "name", _l("Enter your name (at most 200 characters)."))
    if not isinstance(email, str) or len(email) > MAX_EMAIL or not is_valid_email(email):
        add_error(errors, "email", _l("Enter a valid email address."))
    if not isinstance(answers, dict):
        add_error(errors, "answers", _l("Answers are an object."))
        return errors
    limits = {"phone": MAX_PHONE, "company": MAX_COMPANY, "note": MAX_NOTE}
    for q in BUILTIN_QUESTIONS:
        value = answers.get(q)
        if value is None:
            continue
        if q not in page.asks or not isinstance(value, str) or len(value) > limits[q]:
            add_error(errors, f"answers.{q}", _l("At most %(n)s characters.", n=limits[q])
                      if q in page.asks else _l("This page does not ask this."))
    if page.location_kind == "phone" and not str(answers.get("phone") or "").strip():
        add_error(errors, "answers.phone", _l("Enter the number the host should call."))
    custom = answers.get("custom") or {}
    keys = {q["key"]: q for q in page.custom_questions}
    if not isinstance(custom, dict) or set(custom) - set(keys):
        add_error(errors, "answers.custom", _l("Answer only this page's questions."))
        return errors
    for key, q in keys.items():
        value = custom.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_ANSWER):
            add_error(errors, f"answers.custom.{key}", _l("At most %(n)s characters.",
                                                          n=MAX_ANSWER))
        elif q["required"] and not str(value or "").strip():
            add_error(errors, f"answers.custom.{key}", _l("Please answer this question."))
    extra = set(answers) - {*BUILTIN_QUESTIONS, "custom"}
    if extra:
        add_error(errors, "answers", _l("Unknown answers: %(names)s.",
                                        names=", ".join(sorted(extra))[:100]))
    return errors


def _check_request(page: SchedulingPage, req: BookingRequest) -> Errors:
    errors = check_answers(page, req.name, req.email, req.answers)
    errors.update(_check_time(page, req))
    return errors


def _check_time(page: SchedulingPage, req: BookingRequest) -> Errors:
    errors: Errors = {}
    if not is_valid_timezone(req.timezone):
        add_error(errors, "timezone", _l("Choose a time zone."))
    if req.duration not in (page.durations or []):
        add_error(errors, "duration", _l("Choose one of this page's durations."))
    if req.start is None or req.start.tzinfo is None:
        add_error(errors, "start", _l("Choose a time."))
    return errors


def lock_hosts(user_ids) -> None:
    """Take each host's booking lock, in id order (two bookings never wait on each other
    in a circle). The rows are made on first use."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(BookingLock).values(
        [{"user_id": i, "bookings": 0} for i in ids]).on_conflict_do_nothing())
    if dialect == "postgresql":
        db.session.execute(sa.select(BookingLock.user_id).where(BookingLock.user_id.in_(ids))
                           .order_by(BookingLock.user_id).with_for_update())
    else:  # the write lock: pysqlite's BEGIN comes before this first write
        db.session.execute(sa.update(BookingLock).where(BookingLock.user_id.in_(ids))
                           .values(bookings=BookingLock.bookings + 1)
                           .execution_options(synchronize_session=False))


def _external(page: SchedulingPage, hosts: list[User], start: datetime,
              end: datetime) -> dict:
    """Busy time of the hosts' calendars, read before the lock (a provider is never
    called inside a save)."""
    from webapp.availability.busy import external_busy
    pad = timedelta(days=1, minutes=max(page.buffer_before_minutes or 0,
                                        page.buffer_after_minutes or 0))
    return {u.id: external_busy(u, start - pad, end + pad) for u in hosts}


def _answers_html(page: SchedulingPage, req: BookingRequest) -> str:
    """The visitor's answers as the meeting's internal note (escaped)."""
    lines = [(str(_l("Booked through")), page.title), (str(_l("Name")), req.name),
             (str(_l("Email")), req.email)]
    labels = {"phone": _l("Phone"), "company": _l("Company"), "note": _l("Note")}
    for q in BUILTIN_QUESTIONS:
        if req.answers.get(q):
            lines.append((str(labels[q]), req.answers[q]))
    custom = req.answers.get("custom") or {}
    for q in page.custom_questions:
        if custom.get(q["key"]):
            lines.append((q["label"], custom[q["key"]]))
    return "".join(f"<p><strong>{escape(k)}:</strong> {escape(str(v))}</p>" for k, v in lines)


def _contact_for(page: SchedulingPage, req: BookingRequest) -> Contact:
    """The account's contact with this email (never changed), or a new one with the
    visitor's answers."""
    email = normalize_email(req.email)
    contact = db.session.scalar(sa.select(Contact).where(
        Contact.account_id == page.account_id,
        sa.func.lower(Contact.email) == email.lower()).order_by(Contact.id).limit(1))
    if contact is not None:
        return contact
    first, _sep, last = req.name.strip().partition(" ")
    company_id = None
    company_name = str(req.answers.get("company") or "").strip()
    if company_name:
        company_id = db.session.scalar(sa.select(Company.id).where(
            Company.account_id == page.account_id,
            sa.func.lower(Company.name) == company_name.lower()).limit(1))
    contact = Contact(account_id=page.account_id, first_name=first[:100],
                      last_name=last.strip()[:100], email=email,
                      phone=str(req.answers.get("phone") or "").strip()[:MAX_PHONE] or None,
                      timezone=req.timezone, company_id=company_id)
    db.session.add(contact)
    db.session.flush()
    return contact


def _location(page: SchedulingPage, req: BookingRequest) -> dict:
    if page.location_kind == "phone":
        return {"location_kind": "phone",
                "location_value": str(req.answers.get("phone") or "").strip()}
    if page.location_kind == "address":
        return {"location_kind": "in_person", "location_value": page.location_value}
    if page.location_kind == "custom":
        return {"location_kind": "custom", "location_value": page.location_value}
    return {"location_kind": "video", "video_provider": page.location_value or "jitsi"}


def _meeting_input(account: Account, page: SchedulingPage, req: BookingRequest,
                   contact: Contact, hosts: list[User], external: dict) -> MeetingInput:
    end = req.start + timedelta(minutes=req.duration)
    reminders = page.reminders if page.reminders is not None else (
        account.default_reminders if account.reminders_default_on else [])
    data = MeetingInput(
        title=f"{page.title}: {req.name.strip()}"[:200], start=req.start, end=end,
        timezone=req.timezone, meeting_type_id=page.meeting_type_id,
        internal_note_html=_answers_html(page, req),
        attendees=[("contact", contact.id)] + [("user", u.id) for u in hosts[1:]
                                               if page.kind == "group"],
        reminders=[tuple(r) for r in reminders],
        default_reminders=frozenset(tuple(r) for r in reminders),
        associations=[("contact", contact.id)] + (
            [("company", contact.company_id)] if contact.company_id else []),
        source="scheduling_page", **_location(page, req))
    if page.kind == "round_robin":
        data.rotation_id = page.rotation_id
        # The rotation picks among the members free under the page's rules (its ledger
        # says why), with the calendars read before the lock.
        data.host_schedule = lambda user, start, end: slot_rules.host_schedule(
            page, user, start, end, external.get(user.id))
    else:
        data.host_id = hosts[0].id
    return data


def _earlier(page: SchedulingPage, key: str, digest: str) -> Booking | None:
    from webapp.api.idempotency import KEEP_FOR
    row = db.session.scalar(sa.select(BookingKey).where(
        BookingKey.page_id == page.id, BookingKey.key == key,
        BookingKey.created_at >= utcnow() - KEEP_FOR))
    if row is None:
        return None
    if row.fingerprint != digest:
        raise KeyReused(key)
    return db.session.scalar(sa.select(Booking).where(Booking.id == row.booking_id,
                                                      Booking.account_id == page.account_id))


def book(page: SchedulingPage, req: BookingRequest, key: str | None = None,
         fingerprint: str = "") -> BookingResult:
    """Book the slot for the visitor through the save pipeline. Flushes; the caller
    commits then calls after_commit(), or rolls back when not ok. Raises KeyReused."""
    if req.honeypot:
        return BookingResult(fake=True)
    errors = _check_request(page, req)
    if errors:
        return BookingResult(errors=errors)
    if key:
        earlier = _earlier(page, key, fingerprint)
        if earlier is not None:
            return BookingResult(booking=earlier, meeting=earlier.meeting, replayed=True)
    account = db.session.get(Account, page.account_id)
    hosts = page_hosts(page)
    end = req.start + timedelta(minutes=req.duration)
    external = _external(page, hosts, req.start, end)
    lock_hosts(u.id for u in hosts)
    db.session.expire_all()
    if key:  # the same key sent at the same moment: the first one's booking, committed
        earlier = _earlier(page, key, fingerprint)
        if earlier is not None:
            return BookingResult(booking=earlier, meeting=earlier.meeting, replayed=True)
    hosts = page_hosts(page)
    free = slot_rules.slot_hosts(page, hosts, req.start, end, utcnow(), external)
    if not free:
        db.session.rollback()
        return BookingResult(taken=True, errors={"start": [str(TAKEN)]})
    contact = _contact_for(page, req)
    data = _meeting_input(account, page, req, contact, hosts, external)
    saved = pipeline.save(account, page.owner, data)
    if not saved.ok:
        db.session.rollback()
        if "rotation_id" in saved.errors:
            return BookingResult(taken=True, errors={"start": [str(TAKEN)]})
        return BookingResult(errors=saved.errors)
    meeting = saved.meeting
    booking = Booking(account_id=page.account_id, page_id=page.id, meeting_id=meeting.id,
                      contact_id=contact.id, token_hash="-", timezone=req.timezone,
                      answers={"name": req.name.strip(), "email": req.email.strip(),
                               **{k: v for k, v in req.answers.items() if v}},
                      status="booked", meeting=meeting)
    db.session.add(booking)
    db.session.flush()
    booking.token_hash = _hash(_token(booking.id, meeting.uid))
    db.session.flush()
    if key:
        try:
            with db.session.begin_nested():
                db.session.add(BookingKey(page_id=page.id, key=key, fingerprint=fingerprint,
                                          booking_id=booking.id))
        except IntegrityError:
            db.session.rollback()  # the same key at the same time: that request's booking
            earlier = _earlier(page, key, fingerprint)
            return BookingResult(booking=earlier, meeting=earlier and earlier.meeting,
                                 replayed=True)
    return BookingResult(booking=booking, meeting=meeting, saved=saved)


def _inside_notice(booking: Booking, now: datetime) -> bool:
    return booking.meeting.start_at < now + timedelta(minutes=booking.page.min_notice_minutes
                                                      or 0)


def reschedule(booking: Booking, start: datetime | None, duration: int | None,
               timezone: str) -> BookingResult:
    """Move the booking to another free slot: the same meeting (UID), SEQUENCE raised, an
    update to everyone through the pipeline's edit. Round robin keeps its host when free,
    else picks another free member (the rotation's counts move with it)."""
    page, meeting = booking.page, booking.meeting
    req = BookingRequest(start=start, duration=duration, timezone=timezone)
    if booking.status == "canceled" or meeting.outcome == "canceled" or meeting.is_deleted:
        return BookingResult(booking=booking, errors={"booking": [str(CANCELED)]})
    if _inside_notice(booking, utcnow()):
        return BookingResult(booking=booking, too_late=True,
                             errors={"booking": [str(TOO_LATE)]})
    errors = _check_time(page, req)
    if errors:
        return BookingResult(booking=booking, errors=errors)
    account = db.session.get(Account, page.account_id)
    end = start + timedelta(minutes=duration)
    hosts = page_hosts(page)
    if page.kind == "round_robin":
        current = [u for u in hosts if u.id == meeting.host_id]
        hosts = current + [u for u in hosts if u.id != meeting.host_id]
    external = _external(page, hosts, start, end)
    lock_hosts(u.id for u in hosts)
    db.session.expire_all()
    free = slot_rules.slot_hosts(page, hosts, start, end, utcnow(), external,
                                 exclude_meeting=meeting.id)
    if not free:
        db.session.rollback()
        return BookingResult(booking=booking, taken=True, errors={"start": [str(TAKEN)]})
    data = MeetingInput.from_meeting(meeting)
    data.start, data.end, data.timezone = start, end, timezone
    data.outcome = "rescheduled"
    if page.kind == "round_robin" and meeting.host_id not in {u.id for u in free}:
        data.host_id = free[0].id
    saved = pipeline.save(account, page.owner, data, meeting)
    if not saved.ok:
        db.session.rollback()
        return BookingResult(booking=booking, errors=saved.errors)
    booking.status = "rescheduled"
    booking.timezone = timezone
    db.session.flush()
    return BookingResult(booking=booking, meeting=meeting, saved=saved)


def cancel(booking: Booking) -> BookingResult:
    """Cancel the booking: the meeting kept with the outcome Canceled, an iTIP CANCEL to
    everyone who was sent it, the rotation's count given back."""
    page, meeting = booking.page, booking.meeting
    if booking.status == "canceled" or meeting.outcome == "canceled":
        return BookingResult(booking=booking, meeting=meeting)
    if _inside_notice(booking, utcnow()):
        return BookingResult(booking=booking, too_late=True,
                             errors={"booking": [str(TOO_LATE)]})
    account = db.session.get(Account, page.account_id)
    saved = pipeline.cancel(account, page.owner, meeting)
    booking.status = "canceled"
    db.session.flush()
    return BookingResult(booking=booking, meeting=meeting, saved=saved)


def booking_for_meeting(account_id: int, meeting_id: int) -> Booking | None:
    """The booking that made the meeting (the timeline's "booked through <page>")."""
    return db.session.scalar(sa.select(Booking).where(Booking.account_id == account_id,
                                                      Booking.meeting_id == meeting_id))


def manage_url_for(meeting: Meeting, contact_id: int) -> str | None:
    """The manage link of the booking that made the meeting for this contact, if any (the
    invitation and reminders carry it)."""
    booking = db.session.scalar(sa.select(Booking).where(
        Booking.account_id == meeting.account_id, Booking.meeting_id == meeting.id,
        Booking.contact_id == contact_id))
    return manage_url(booking) if booking is not None else None


def page_title_for(meeting: Meeting) -> str | None:
    """The title of the page the meeting was booked through, or None."""
    if meeting.source != "scheduling_page":
        return None
    return db.session.scalar(sa.select(SchedulingPage.title).join(
        Booking, Booking.page_id == SchedulingPage.id).where(
        Booking.account_id == meeting.account_id, Booking.meeting_id == meeting.id))
