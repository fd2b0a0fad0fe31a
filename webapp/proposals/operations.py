"""Proposed times (request side: flush, never commit): propose slots to a contact, the
links' signed tokens, "next 3 free" from the availability engine, and booking the slot
a contact clicked through the one save pipeline (webapp.meetings.pipeline)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from webapp.auth.models import Account, User
from webapp.availability import engine
from webapp.availability import settings as availability
from webapp.availability.busy import external_busy
from webapp.extensions import db, read_columns
from webapp.meetings import pipeline
from webapp.meetings.inputs import Errors, MeetingInput, add_error
from webapp.proposals.models import MAX_SLOTS, MIN_SLOTS, Proposal, ProposedSlot
from webapp.records.models import Contact
from webapp.types import utcnow
from webapp.validation import is_valid_email, is_valid_timezone, normalize_phone

#: Links book nothing after this many days (PROPOSAL_EXPIRY_DAYS overrides it).
DEFAULT_EXPIRY_DAYS = 7
DURATIONS = (15, 30, 45, 60, 90, 120)
#: Where a proposed meeting takes place. For "video" the proposal keeps the provider's
#: key (one of the host's: jitsi, zoom, google_meet, app:<id>) as its location_value; the
#: link is made when the time is booked.
LOCATION_KINDS = ("none", "phone", "in_person", "custom", "video")
#: "Next 3 free" looks this far ahead, in steps of the week grid's half hour.
SEARCH_DAYS, STEP = 14, timedelta(minutes=30)


# --- tokens --------------------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="parley-proposed-slot")


def slot_token(slot: ProposedSlot, proposal: Proposal) -> str:
    """The signed token of one slot's link: the slot, its proposal and the proposal's
    random nonce. The same each time (the email job makes it again from the rows)."""
    return _serializer().dumps({"s": slot.id, "p": proposal.id, "n": proposal.nonce})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def slot_from_token(token: str) -> ProposedSlot | None:
    """The slot a link's token names, when the signature holds and the slot stands."""
    if len(token) > 300:
        return None
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    slot = db.session.scalar(sa.select(ProposedSlot).where(
        ProposedSlot.token_hash == token_hash(token)).options(
        so.joinedload(ProposedSlot.proposal)))
    if slot is None or slot.id != data.get("s") or slot.proposal_id != data.get("p"):
        return None
    if slot.proposal.contact is None:
        return None  # the contact was deleted (SQLite keeps the row: no cascade there)
    return slot


# --- proposing -----------------------------------------------------------------------------

def expiry(now: datetime) -> datetime:
    days = int(current_app.config.get("PROPOSAL_EXPIRY_DAYS") or DEFAULT_EXPIRY_DAYS)
    return now + timedelta(days=days)


@dataclasses.dataclass
class ProposalInput:
    """What the rep's form asks for, already typed."""

    title: str
    duration_minutes: int | None
    timezone: str
    contact_id: int | None
    starts: list[datetime]
    location_kind: str = "none"
    location_value: str | None = None
    #: With location_kind "video": the host's provider.
    video_provider: str | None = None


def host_schedule(host: User, start: datetime, end: datetime) -> engine.Schedule:
    """The engine's view of the host over [start, end): working hours, rules, Parley
    meetings and the connected calendar's busy time (read here, never under a lock)."""
    bare = availability.schedule_for(host, start, end)
    lo, hi = engine.busy_span(bare, start, end)
    external, unreadable = external_busy(host, lo, hi)
    bare.busy = [*bare.busy, *external]
    bare.unreadable = unreadable
    return bare


def next_free(host: User, duration: timedelta, now: datetime, count: int = 3) -> list[datetime]:
    """The host's next `count` free starts for a meeting of duration: on the half hour,
    not overlapping one another, within the next SEARCH_DAYS."""
    start = now.replace(second=0, microsecond=0)
    start += timedelta(minutes=(-start.minute) % 30)
    end = start + timedelta(days=SEARCH_DAYS)
    schedule = host_schedule(host, start, end)
    out: list[datetime] = []
    for lo, hi in engine.free_intervals(schedule, start, end, now):
        at = lo.replace(second=0, microsecond=0)
        if at < lo:
            at += timedelta(minutes=1)
        at += timedelta(minutes=(-at.minute) % 30)
        while at + duration <= hi and len(out) < count:
            out.append(at)
            at += max(STEP, duration + (-duration) % STEP)
        if len(out) >= count:
            break
    return out


def contacts_for(account_id: int, record) -> list[Contact]:
    """Whom a proposal from record can go to: the contact itself, or the record's
    associated contacts."""
    if record.record_type == "contact":
        return [record]
    from webapp.records import operations as record_ops
    return record_ops.associations(account_id, record)["contact"]


def validate(account: Account, host: User, record, data: ProposalInput, now: datetime) -> Errors:
    """Every error names its field. Normalizes data in place."""
    errors: Errors = {}
    data.title = (data.title or "").strip()
    if not data.title:
        add_error(errors, "title", _l("Enter a title."))
    elif len(data.title) > 200:
        add_error(errors, "title", _l("Keep the title under 200 characters."))
    if data.duration_minutes not in DURATIONS:
        add_error(errors, "duration", _l("Choose a duration from the list."))
    if not is_valid_timezone(data.timezone):
        add_error(errors, "timezone", _l("Choose a time zone from the list."))
    contact = next((c for c in contacts_for(account.id, record) if c.id == data.contact_id),
                   None)
    if contact is None:
        add_error(errors, "contact_id", _l("Choose the contact to send the times to."))
    elif not is_valid_email(contact.email):
        add_error(errors, "contact_id", _l("This contact has no valid email address: the "
                                           "times cannot be sent."))
    _check_location(host, data, errors)
    starts = sorted(set(data.starts))
    data.starts = starts
    if not MIN_SLOTS <= len(starts) <= MAX_SLOTS:
        add_error(errors, "slots", _l("Choose from %(low)d to %(high)d times.",
                                      low=MIN_SLOTS, high=MAX_SLOTS))
    elif any(s <= now for s in starts):
        add_error(errors, "slots", _l("Every proposed time must be in the future."))
    elif data.duration_minutes in DURATIONS:
        length = timedelta(minutes=data.duration_minutes)
        if any(b < a + length for a, b in zip(starts, starts[1:], strict=False)):
            add_error(errors, "slots", _l("Two proposed times overlap."))
        else:
            schedule = host_schedule(host, starts[0], starts[-1] + length)
            taken = [s for s in starts if not engine.is_free(schedule, s, s + length, now)]
            if taken:
                add_error(errors, "slots", _l(
                    "%(name)s is not free at %(count)d of these times (working hours, "
                    "meetings or buffers). Choose free times.", name=host.name,
                    count=len(taken)))
    return errors


def _check_location(host: User, data: ProposalInput, errors: Errors) -> None:
    value = (data.location_value or "").strip() or None
    if data.location_kind not in LOCATION_KINDS:
        add_error(errors, "location_kind", _l("Choose a location type from the list."))
    elif data.location_kind == "none":
        value = None
    elif data.location_kind == "video":
        from webapp.conferencing import operations as conferencing
        value = data.video_provider or None
        message = conferencing.check_choice(host, value)
        if message:
            add_error(errors, "video_provider", message)
    elif not value:
        add_error(errors, "location_value", _l("Enter the location details."))
    elif len(value) > 500:
        add_error(errors, "location_value", _l("Keep the location under 500 characters."))
    elif data.location_kind == "phone":
        try:
            value = normalize_phone(value)
        except ValueError as exc:
            add_error(errors, "location_value", str(exc))
    data.location_value = value


def propose(account: Account, actor: User, record, data: ProposalInput) -> Proposal:
    """Write a validated proposal and its slots (their token hashes), its email owed."""
    now = utcnow()
    proposal = Proposal(
        account_id=account.id, record_type=record.record_type, record_id=record.id,
        host_id=actor.id, organizer_id=actor.id, contact_id=data.contact_id,
        title=data.title, duration_minutes=data.duration_minutes, timezone=data.timezone,
        location_kind=data.location_kind, location_value=data.location_value,
        status="open", created_at=now, expires_at=expiry(now), nonce=secrets.token_hex(16),
        email_status="pending", email_attempts=0, email_next_attempt_at=now)
    db.session.add(proposal)
    db.session.flush()
    for start in data.starts:
        slot = ProposedSlot(proposal_id=proposal.id, start_at=start, token_hash="")
        proposal.slots.append(slot)
        db.session.flush()
        slot.token_hash = token_hash(slot_token(slot, proposal))
    db.session.flush()
    return proposal


def location_text(proposal: Proposal) -> str:
    """Where, as the contact reads it: the place, the number, or the video provider."""
    if proposal.location_kind == "video":
        from webapp.conferencing.operations import NAMES, options_for
        name = NAMES.get(proposal.location_value or "") or dict(
            options_for(proposal.host)).get(proposal.location_value or "", "")
        return str(_l("Video call (%(provider)s): the link comes with the invitation.",
                      provider=name))
    return proposal.location_value or ""


def withdraw(proposal: Proposal) -> bool:
    """The rep takes an open proposal back: its links book nothing any more."""
    if proposal.status != "open":
        return False
    proposal.status = "withdrawn"
    if proposal.email_status == "pending":
        proposal.email_status, proposal.email_error = "skipped", "Withdrawn before it went out."
    db.session.flush()
    return True


def get_proposal(account_id: int, proposal_id: int) -> Proposal | None:
    return db.session.scalar(sa.select(Proposal).where(
        Proposal.id == proposal_id, Proposal.account_id == account_id))


@dataclasses.dataclass
class ShownProposal:
    """What the record page shows of a proposal (proposals/_on_record.html), read as rows,
    not entities (#24): its columns, its contact (`contact.display_name`) and its slots
    (rows of id, start_at, proposal_id; in order of start)."""

    id: int
    title: str
    status: str
    expires_at: datetime
    email_status: str
    created_at: datetime
    duration_minutes: int
    meeting_id: int | None
    booked_slot_id: int | None
    contact: _Named
    slots: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Named:
    display_name: str


def for_record(account_id: int, record, limit: int = 10) -> list[ShownProposal]:
    """The record's proposals, newest first, with their contacts' names and their slots
    (two queries; one when it has none: every record page asks, #24)."""
    rows = read_columns(_for_record_statement(), {
        "account_id": account_id, "record_type": record.record_type,
        "record_id": record.id, "limit": limit}).all()
    shown = [ShownProposal(*row[:9], contact=_Named(f"{row[9]} {row[10]}".strip()))
             for row in rows]
    if shown:
        by_id = {p.id: p for p in shown}
        for slot in read_columns(_slots_statement(), {"ids": list(by_id)}):
            by_id[slot.proposal_id].slots.append(slot)
    return shown


@functools.cache
def _for_record_statement():
    """for_record()'s SELECT, built once a process (building it cost more than running it
    on a record without proposals, #24)."""
    return (sa.select(Proposal.id, Proposal.title, Proposal.status, Proposal.expires_at,
                      Proposal.email_status, Proposal.created_at, Proposal.duration_minutes,
                      Proposal.meeting_id, Proposal.booked_slot_id, Contact.first_name,
                      Contact.last_name)
            # Inner: a proposal whose contact was deleted is not shown (SQLite does not
            # cascade).
            .join(Contact, Contact.id == Proposal.contact_id)
            .where(Proposal.account_id == sa.bindparam("account_id"),
                   Proposal.record_type == sa.bindparam("record_type"),
                   Proposal.record_id == sa.bindparam("record_id"))
            .order_by(Proposal.id.desc()).limit(sa.bindparam("limit")))


@functools.cache
def _slots_statement():
    """The slots of the proposals `ids`, in order of start (as Proposal.slots orders them)."""
    return (sa.select(ProposedSlot.id, ProposedSlot.start_at, ProposedSlot.proposal_id)
            .where(ProposedSlot.proposal_id.in_(sa.bindparam("ids", expanding=True)))
            .order_by(ProposedSlot.start_at, ProposedSlot.id))


def shown_status(proposal: Proposal | ShownProposal, now: datetime) -> str:
    """The status as it is now: an open proposal past its expiry is expired."""
    if proposal.status == "open" and proposal.expires_at <= now:
        return "expired"
    return proposal.status


# --- booking -------------------------------------------------------------------------------

BOOKED, ALREADY, EXPIRED, WITHDRAWN, TAKEN, REFUSED = (
    "booked", "already_booked", "expired", "withdrawn", "taken", "refused")


@dataclasses.dataclass
class BookResult:
    """What a click on a link did: `kind` one of BOOKED, ALREADY (another link booked it:
    `booked_at` is its time), EXPIRED, WITHDRAWN, TAKEN (not free any more: `remaining`
    are the proposal's other times still free), REFUSED (the save refused: `errors`)."""

    kind: str
    result: pipeline.SaveResult | None = None
    booked_at: datetime | None = None
    remaining: list[ProposedSlot] = dataclasses.field(default_factory=list)
    errors: Errors = dataclasses.field(default_factory=dict)


def _claim(proposal_id: int, slot_id: int, now: datetime) -> bool:
    """The proposal's lock: one conditional UPDATE open -> booked. A second click waits
    on the row (PostgreSQL) or the write lock (SQLite) and then finds it booked."""
    result = db.session.execute(
        sa.update(Proposal).where(Proposal.id == proposal_id, Proposal.status == "open",
                                  Proposal.expires_at > now)
        .values(status="booked", booked_slot_id=slot_id, booked_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _refusal(proposal: Proposal, now: datetime) -> BookResult:
    """Why the proposal books nothing: booked (and when), withdrawn, or expired (then
    marked so; the caller commits)."""
    db.session.refresh(proposal)
    if proposal.status == "booked":
        booked = next((s.start_at for s in proposal.slots if s.id == proposal.booked_slot_id),
                      None)
        return BookResult(ALREADY, booked_at=booked)
    if proposal.status == "withdrawn":
        return BookResult(WITHDRAWN)
    db.session.execute(sa.update(Proposal).where(Proposal.id == proposal.id,
                                                 Proposal.status == "open",
                                                 Proposal.expires_at <= now)
                       .values(status="expired")
                       .execution_options(synchronize_session=False))
    return BookResult(EXPIRED)


def still_free(proposal: Proposal, slots: Sequence[ProposedSlot], now: datetime,
               schedule: engine.Schedule | None = None) -> list[ProposedSlot]:
    """The slots that are still free for the host (and in the future)."""
    length = timedelta(minutes=proposal.duration_minutes)
    slots = [s for s in slots if s.start_at > now]
    if not slots:
        return []
    if schedule is None:
        schedule = host_schedule(proposal.host, min(s.start_at for s in slots),
                                 max(s.start_at for s in slots) + length)
    return [s for s in slots if engine.is_free(schedule, s.start_at, s.start_at + length, now)]


def book(slot: ProposedSlot, now: datetime) -> BookResult:
    """Book the clicked slot: claim the proposal, check the time is still free for the
    host, then save the meeting through the pipeline (source proposed_times), the contact
    as attendee, the record associated. Anything refused rolls the claim back. The
    caller commits a BOOKED result and then calls result.result.after_commit()."""
    proposal = slot.proposal
    if shown_status(proposal, now) != "open":
        return _refusal(proposal, now)
    length = timedelta(minutes=proposal.duration_minutes)
    # Calendars are read before the lock is taken: no provider is called while it is held.
    schedule = host_schedule(proposal.host, slot.start_at, slot.start_at + length)
    external = [b for b in schedule.busy if not b.meeting]
    if not _claim(proposal.id, slot.id, now):
        db.session.rollback()
        return _refusal(proposal, now)
    # The host's booking lock, as a scheduling page's booking takes it (webapp.booking):
    # a page and a proposal never book one host's time twice. Always after the proposal
    # row's lock, never before it, so two clicks cannot wait on each other in a circle.
    from webapp.booking.operations import lock_hosts
    lock_hosts([proposal.host_id])
    # Under the locks: the host's Parley meetings as committed now.
    fresh = availability.schedule_for(proposal.host, slot.start_at, slot.start_at + length,
                                      external)
    if not engine.is_free(fresh, slot.start_at, slot.start_at + length, now):
        db.session.rollback()
        others = [s for s in proposal.slots if s.id != slot.id]
        return BookResult(TAKEN, remaining=still_free(proposal, others, now))
    account = db.session.get(Account, proposal.account_id)
    organizer = proposal.organizer
    defaults = [tuple(r) for r in account.default_reminders] \
        if account.reminders_default_on else []
    data = MeetingInput(
        title=proposal.title, start=slot.start_at, end=slot.start_at + length,
        timezone=proposal.timezone, location_kind=proposal.location_kind,
        location_value=None if proposal.location_kind == "video" else proposal.location_value,
        video_provider=proposal.location_value if proposal.location_kind == "video" else None,
        attendees=[("contact", proposal.contact_id)],
        associations=[(proposal.record_type, proposal.record_id)]
        if proposal.record_type != "contact" else [],
        reminders=defaults, default_reminders=frozenset(defaults),
        host_id=proposal.host_id, source="proposed_times")
    result = pipeline.save(account, organizer, data)
    if not result.ok:
        db.session.rollback()
        return BookResult(REFUSED, errors=result.errors)
    db.session.execute(sa.update(Proposal).where(Proposal.id == proposal.id)
                       .values(meeting_id=result.meeting.id)
                       .execution_options(synchronize_session=False))
    return BookResult(BOOKED, result=result, booked_at=slot.start_at)
