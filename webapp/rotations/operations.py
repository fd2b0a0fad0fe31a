"""Meeting rotations: manage them (account settings), pick hosts, keep the counts (B2, B3).

The pick rule: among the members who are available, still hold a paid seat and are free
for the meeting's start and end (working hours, busy time, buffers, day cap, notice and
horizon: webapp.availability), the one with the fewest meetings booked through the
rotation per unit of weight (with the head start a member got on joining); on a tie, the
one booked least recently (never booked counts as least recent); then the one who joined
first. Every pick and override writes a ledger row (RotationPick) saying why (#21).

Counts change only under the rotation row's lock (`_claim`), and the members are read
after taking it, so concurrent bookings never pick on stale counts. Operations change
state and flush; the caller commits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from webapp.auth.models import Account, SeatKind, User
from webapp.extensions import db
from webapp.meetings.inputs import Errors, MeetingInput, add_error
from webapp.meetings.models import Meeting
from webapp.rotations.models import Rotation, RotationMember, RotationPick
from webapp.types import utcnow

MAX_NAME = 80
MAX_WEIGHT = 10
NEVER = datetime.min.replace(tzinfo=UTC)


class RotationError(Exception):
    """The booking cannot go through the rotation as asked; `field` names the form field."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = str(message)

    @property
    def errors(self) -> Errors:
        return {self.field: [self.message]}


# --- reading ------------------------------------------------------------------------------

def rotations(account_id: int) -> list[Rotation]:
    """The account's rotations that are not deleted, by name, members and users loaded."""
    return list(db.session.scalars(_rotations_statement(), {"account_id": account_id}))


@cache
def _rotations_statement():
    """rotations()' SELECT, built once a process (every scheduler view runs it, #24)."""
    return (sa.select(Rotation).where(Rotation.account_id == sa.bindparam("account_id"),
                                      Rotation.deleted_at.is_(None))
            .options(so.selectinload(Rotation.members).joinedload(RotationMember.user))
            .order_by(Rotation.name, Rotation.id))


def get_rotation(account_id: int, rotation_id: int,
                 include_deleted: bool = False) -> Rotation | None:
    """The rotation if it belongs to the account, else None."""
    stmt = sa.select(Rotation).where(Rotation.id == rotation_id,
                                     Rotation.account_id == account_id)
    if not include_deleted:
        stmt = stmt.where(Rotation.deleted_at.is_(None))
    return db.session.scalar(stmt)


def get_member(rotation: Rotation, member_id: int) -> RotationMember | None:
    return next((m for m in rotation.members if m.id == member_id), None)


def seated_users(account_id: int) -> list[User]:
    """Users of the account with a paid seat: who may be a rotation member (B1)."""
    return list(db.session.scalars(
        sa.select(User).join(SeatKind, SeatKind.id == User.seat_kind_id)
        .where(User.account_id == account_id, SeatKind.is_paid).order_by(User.name)))


def offered(account: Account, actor: User) -> list[Rotation]:
    """Rotations the scheduler offers the actor: only to users with a paid seat."""
    return rotations(account.id) if actor.has_paid_seat else []


# --- the pick rule ------------------------------------------------------------------------

def is_eligible(member: RotationMember, account_id: int | None = None) -> bool:
    """Available, still seated, and (when given) of the account: may host through it."""
    user = member.user
    return (member.available and user is not None and user.has_paid_seat
            and (account_id is None or user.account_id == account_id))


def pick(members: list[RotationMember],
         skipped: Mapping[int, list[str]] | None = None) -> RotationMember | None:
    """B2: the eligible member not skipped (member id -> reasons they are not free) with
    the fewest bookings per unit of weight, then booked least recently."""
    skipped = skipped or {}
    candidates = [m for m in members if is_eligible(m) and not skipped.get(m.id)]
    if not candidates:
        return None
    return min(candidates, key=_order)


def _order(m: RotationMember):
    return (m.load, m.last_booked_at or NEVER, m.id)


#: A rotation member whose connected calendar could not be read (or, under the booking's
#: lock, was not read just before): not taken as free.
CALENDAR_UNREADABLE = "calendar_unreadable"


def external_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The range of calendar busy time a pick for [start, end) reads: the slot widened by
    the longest buffer a member may have (the same for every member, so one cache key
    serves the check before the save and the pick under the lock)."""
    from datetime import timedelta

    from webapp.availability.settings import MAX_BUFFER
    margin = timedelta(minutes=MAX_BUFFER)
    return start - margin, end + margin


def read_calendars(members: list[RotationMember], start: datetime | None,
                   end: datetime | None) -> None:
    """Read the eligible members' calendar busy time for [start, end) now (providers are
    called on a cache miss), before a booking takes the rotation's lock: the pick under
    the lock then reads it from the cache and calls no provider (webapp.availability.busy).
    """
    if start is None or end is None or not start < end:
        return
    from webapp.availability.busy import external_busy_many
    users = [m.user for m in members if is_eligible(m)]
    if users:
        external_busy_many(users, *external_window(start, end))


def pick_free(members: list[RotationMember], start: datetime | None,
              end: datetime | None, schedule_of=None, *,
              fetch: bool = True) -> tuple[RotationMember | None, dict[int, list[str]]]:
    """The member pick() chooses among those free for [start, end), and the reason kinds
    (webapp.availability.engine) of each member skipped before it. Free means working
    hours, Parley meetings, buffers, the day cap, notice and horizon, and the busy time of
    their connected calendars (#21); a member whose calendar cannot be read is skipped
    (CALENDAR_UNREADABLE), not taken as free. Members are checked in the rule's order and
    only until one is free. fetch=False (under the rotation's lock): calendars only from
    the cache that read_calendars() filled. No times: by counts only.
    schedule_of(user, start, end): the member's Schedule, calendars included (a scheduling
    page gives its rules and the calendars it read before the lock, #22); default: their
    own hours and rules."""
    candidates = sorted((m for m in members if is_eligible(m)), key=_order)
    if start is None or end is None or not start < end:
        return (candidates[0] if candidates else None), {}
    from webapp.availability import engine
    from webapp.availability import settings as availability
    from webapp.availability.busy import external_busy
    now = utcnow()
    window = external_window(start, end)
    skipped: dict[int, list[str]] = {}
    for m in candidates:
        if schedule_of is not None:
            schedule = schedule_of(m.user, start, end)
        else:
            external, unreadable = external_busy(m.user, *window, fetch=fetch)
            schedule = availability.schedule_for(m.user, start, end, external, unreadable)
        kinds = list(dict.fromkeys(r.kind for r in engine.reasons_in(schedule, start, end,
                                                                     now)))
        if schedule.unreadable:
            kinds.append(CALENDAR_UNREADABLE)
        if not kinds:
            return m, skipped
        skipped[m.id] = kinds
    return None, skipped


def _ledger(account_id: int, rotation_id: int, members: list[RotationMember],
            chosen: RotationMember, kind: str, data: MeetingInput,
            skipped: Mapping[int, list[str]]) -> RotationPick:
    """The ledger row of a pick or override: each member's count, weight and why skipped."""
    rows = []
    for m in members:
        why = list(skipped.get(m.id, []))
        if not m.available:
            why.insert(0, "switched_off")
        elif not is_eligible(m, account_id):
            why.insert(0, "no_seat")
        rows.append({
            "member_id": m.id, "user_id": m.user_id, "name": m.user.name if m.user else "",
            "count": m.booked_count or 0, "head_start": m.head_start or 0,
            "weight": m.weight or 1,
            "last_booked_at": m.last_booked_at.isoformat() if m.last_booked_at else None,
            "skipped": why or None})
    row = RotationPick(
        account_id=account_id, rotation_id=rotation_id, user_id=chosen.user_id, kind=kind,
        detail={"start": data.start.isoformat() if data.start else None,
                "end": data.end.isoformat() if data.end else None, "members": rows})
    db.session.add(row)
    return row


def eligible_users(rotation: Rotation) -> list[User]:
    """Members the user may choose as host instead of the pick, by name."""
    users = [m.user for m in rotation.members if is_eligible(m, rotation.account_id)]
    return sorted(users, key=lambda u: (u.name.lower(), u.id))


NO_ONE_AVAILABLE = _l("No one in this meeting rotation is available. Turn a member's "
                      "availability on in the rotation's settings, or choose a host yourself.")
NO_ONE_FREE = _l("No one in this meeting rotation is free at this time (working hours, "
                 "other meetings, buffers or a daily limit). Choose another time, or a host "
                 "yourself.")
DELETED = _l("This meeting rotation was deleted. Choose another rotation or a host.")
NOT_FOUND = _l("No such meeting rotation.")


def _override_error(members: list[RotationMember], account_id: int, host_id: int):
    """Why host_id may not host through the rotation, or None when they may."""
    member = next((m for m in members if m.user_id == host_id), None)
    if member is None:
        return _l("Choose a host who is a member of this meeting rotation.")
    if not member.available:
        return _l("%(name)s is marked unavailable in this meeting rotation.",
                  name=member.user.name)
    if not is_eligible(member, account_id):
        return _l("%(name)s has no paid seat, so they cannot host.", name=member.user.name)
    return None


def wants_override(data: MeetingInput) -> bool:
    """True when the user chose a host other than the one the rotation suggested."""
    return data.host_id is not None and data.host_id != data.suggested_host_id


def check_booking(account: Account, actor: User, data: MeetingInput, errors: Errors) -> None:
    """Validate a booking through data.rotation_id (read only). Without an override, set
    data.host_id to the member the rule picks now; it is picked again under the lock at save.
    """
    if not actor.has_paid_seat:
        add_error(errors, "rotation_id", _l("Only users with a paid seat can book through a "
                                       "meeting rotation."))
        return
    rotation = get_rotation(account.id, data.rotation_id, include_deleted=True)
    if rotation is None:
        add_error(errors, "rotation_id", NOT_FOUND)
        return
    if rotation.is_deleted:
        add_error(errors, "rotation_id", DELETED)
        return
    # Before the save: the pick under the lock reads these from the cache.
    read_calendars(rotation.members, data.start, data.end)
    if wants_override(data):
        problem = _override_error(rotation.members, account.id, data.host_id)
        if problem is not None:
            add_error(errors, "host_id", problem)
        return
    member = pick(rotation.members)
    if member is None:
        add_error(errors, "rotation_id", NO_ONE_AVAILABLE)
        return
    member, _skipped = pick_free(rotation.members, data.start, data.end, data.host_schedule)
    if member is None:
        add_error(errors, "rotation_id", NO_ONE_FREE)
        return
    data.host_id = data.suggested_host_id = member.user_id


def suggest(account: Account, rotation: Rotation, start: datetime | None = None,
            end: datetime | None = None) -> RotationMember | None:
    """The member the rule would pick now for [start, end) (no times: by counts only),
    for the scheduler's host field (no lock)."""
    return pick_free(rotation.members, start, end)[0]


# --- counts, under the rotation row's lock ------------------------------------------------

def _claim(rotation_id: int, delta: int, account_id: int | None = None,
           live_only: bool = False) -> bool:
    """Add delta to the rotation's total; False when no such row.

    This UPDATE is the lock. On PostgreSQL it holds the rotation's row until commit, as
    SELECT ... FOR UPDATE would; on SQLite, which has no row locks and reads outside
    transactions, only a write makes the next booking wait. Either way a concurrent booking
    through this rotation blocks here, and the member counts read after it are committed.
    """
    stmt = sa.update(Rotation).where(Rotation.id == rotation_id)
    if account_id is not None:
        stmt = stmt.where(Rotation.account_id == account_id)
    if live_only:
        stmt = stmt.where(Rotation.deleted_at.is_(None))
    stmt = stmt.values(booked_count=Rotation.booked_count + delta).execution_options(
        synchronize_session=False)
    return db.session.execute(stmt).rowcount == 1


def _fresh_members(rotation_id: int) -> list[RotationMember]:
    # populate_existing: rows already in the session (read before the lock) are refreshed.
    return list(db.session.scalars(
        sa.select(RotationMember).where(RotationMember.rotation_id == rotation_id)
        .options(so.joinedload(RotationMember.user).joinedload(User.seat_kind))
        .order_by(RotationMember.id).execution_options(populate_existing=True)))


def _count(member: RotationMember, delta: int, now: datetime | None = None) -> None:
    values = {"booked_count": RotationMember.booked_count + delta}
    if now is not None:
        values["last_booked_at"] = now
    stmt = sa.update(RotationMember).where(RotationMember.id == member.id)
    if delta < 0:
        stmt = stmt.where(RotationMember.booked_count > 0)
    db.session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    db.session.expire(member, ["booked_count", "last_booked_at"])


def book(account: Account, data: MeetingInput) -> RotationMember:
    """B3: lock the rotation, pick the host again on committed counts and calendars (or
    check the override), add one to that member's count and write the ledger row (its
    meeting is linked by `record_meeting`). Raises RotationError."""
    if not _claim(data.rotation_id, +1, account.id, live_only=True):
        rotation = get_rotation(account.id, data.rotation_id, include_deleted=True)
        raise RotationError("rotation_id", DELETED if rotation else NOT_FOUND)
    members = _fresh_members(data.rotation_id)
    if wants_override(data):
        problem = _override_error(members, account.id, data.host_id)
        if problem is not None:
            raise RotationError("host_id", problem)
        member = next(m for m in members if m.user_id == data.host_id)
        # Why the rule would have skipped the members before the chosen one, for the ledger.
        _pick, skipped = pick_free(members, data.start, data.end, data.host_schedule,
                                   fetch=False)
        kind = "override"
    else:
        member, skipped = pick_free(members, data.start, data.end, data.host_schedule,
                                    fetch=False)
        if member is None:
            raise RotationError("rotation_id", NO_ONE_AVAILABLE if pick(members) is None
                                else NO_ONE_FREE)
        kind = "pick"
    data.rotation_pick = _ledger(account.id, data.rotation_id, members, member, kind, data,
                                 skipped)
    _count(member, +1, utcnow())
    db.session.flush()
    return member


def record_meeting(data: MeetingInput, meeting: Meeting) -> None:
    """Link the ledger row of the booking to its meeting (same transaction)."""
    row = getattr(data, "rotation_pick", None)
    if row is not None:
        row.meeting_id = meeting.id


def picks(account_id: int, rotation_id: int, limit: int = 50) -> list[RotationPick]:
    """The rotation's latest ledger rows, newest first."""
    return list(db.session.scalars(
        sa.select(RotationPick).where(RotationPick.account_id == account_id,
                                      RotationPick.rotation_id == rotation_id)
        .options(so.joinedload(RotationPick.user))
        .order_by(RotationPick.id.desc()).limit(limit)))


def pick_for_meeting(account_id: int, meeting_id: int) -> RotationPick | None:
    return db.session.scalar(
        sa.select(RotationPick).where(RotationPick.account_id == account_id,
                                      RotationPick.meeting_id == meeting_id)
        .order_by(RotationPick.id.desc()).limit(1))


def unbook(meeting: Meeting) -> None:
    """B3: a deleted meeting booked through a rotation takes one from its host's count."""
    if meeting.rotation_id is None:
        return
    _claim(meeting.rotation_id, -1)
    member = db.session.scalar(sa.select(RotationMember).where(
        RotationMember.rotation_id == meeting.rotation_id,
        RotationMember.user_id == meeting.host_id))
    if member is not None:
        _count(member, -1)
    db.session.flush()


def move(meeting: Meeting, new_host_id: int) -> None:
    """The host of a meeting booked through a rotation changed: the count follows the
    meeting to the new host when they are a member, else the meeting leaves the rotation."""
    if meeting.rotation_id is None or new_host_id == meeting.host_id:
        return
    members = {m.user_id: m for m in db.session.scalars(sa.select(RotationMember).where(
        RotationMember.rotation_id == meeting.rotation_id))}
    joins = new_host_id in members
    _claim(meeting.rotation_id, 0 if joins else -1)
    if meeting.host_id in members:
        _count(members[meeting.host_id], -1)
    if joins:
        _count(members[new_host_id], +1, utcnow())
    else:
        meeting.rotation_id = None
    db.session.flush()


# --- account settings ---------------------------------------------------------------------

def _check_name(account_id: int, name: str, errors: Errors,
                rotation: Rotation | None = None) -> str:
    name = (name or "").strip()
    if not name:
        add_error(errors, "name", _l("Enter a name for the rotation."))
    elif len(name) > MAX_NAME:
        add_error(errors, "name", _l("Keep the name under 80 characters."))
    else:
        clash = db.session.scalar(sa.select(Rotation.id).where(
            Rotation.account_id == account_id, Rotation.deleted_at.is_(None),
            sa.func.lower(Rotation.name) == name.lower()))
        if clash is not None and (rotation is None or clash != rotation.id):
            add_error(errors, "name", _l("Another rotation already has this name."))
    return name


def _seated(account_id: int, user_ids: list[int], errors: Errors) -> list[User]:
    wanted = list(dict.fromkeys(user_ids))
    users = {u.id: u for u in seated_users(account_id)}
    if any(i not in users for i in wanted):
        add_error(errors, "members", _l("Members must be users of your account with a paid seat."))
        return []
    return [users[i] for i in wanted]


def _initial_count(rotation_id: int, user_id: int) -> int:
    # A member who is added again picks up the meetings they still host through it.
    return db.session.scalar(sa.select(sa.func.count(Meeting.id)).where(
        Meeting.rotation_id == rotation_id, Meeting.host_id == user_id,
        Meeting.deleted_at.is_(None))) or 0


def create_rotation(account: Account, name: str,
                    user_ids: list[int]) -> tuple[Rotation | None, Errors]:
    """A new rotation with the given seated members; (None, errors) on bad input."""
    errors: Errors = {}
    name = _check_name(account.id, name, errors)
    users = _seated(account.id, user_ids, errors)
    if errors:
        return None, errors
    rotation = Rotation(account_id=account.id, name=name, booked_count=0)
    rotation.members = [RotationMember(user_id=u.id, user=u) for u in users]
    db.session.add(rotation)
    db.session.flush()
    return rotation, {}


def rename_rotation(rotation: Rotation, name: str) -> Errors:
    errors: Errors = {}
    name = _check_name(rotation.account_id, name, errors, rotation)
    if not errors:
        rotation.name = name
        db.session.flush()
    return errors


def add_member(rotation: Rotation, user_id: int | None) -> Errors:
    errors: Errors = {}
    if user_id is None:
        add_error(errors, "user_id", _l("Choose a user to add."))
        return errors
    users = _seated(rotation.account_id, [user_id], {})
    if not users:
        add_error(errors, "user_id", _l("Members must be users of your account with a paid seat."))
    elif any(m.user_id == user_id for m in rotation.members):
        add_error(errors, "user_id", _l("%(name)s is already a member.", name=users[0].name))
    else:
        count = _initial_count(rotation.id, user_id)
        rotation.members.append(RotationMember(
            user_id=user_id, user=users[0], booked_count=count, weight=1,
            head_start=_head_start(rotation, count, 1)))
        db.session.flush()
    return errors


def _head_start(rotation: Rotation, count: int, weight: int) -> int:
    """A new member starts at the current minimum share of the eligible members (bookings
    per unit of weight), not at zero, which would give them every booking for a while."""
    loads = [m.load for m in rotation.members if is_eligible(m)]
    if not loads:
        return 0
    return max(0, math.floor(min(loads) * weight) - count)


def set_weight(member: RotationMember, weight: int | None) -> Errors:
    """A member of weight 2 gets twice the share of one of weight 1 (1-10)."""
    errors: Errors = {}
    if weight is None or not 1 <= weight <= MAX_WEIGHT:
        add_error(errors, "weight", _l("Enter a weight from 1 to 10."))
        return errors
    member.weight = weight
    db.session.flush()
    return errors


def set_available(member: RotationMember, available: bool) -> None:
    """The holiday switch: unavailable members are skipped by the pick."""
    member.available = available
    db.session.flush()


def remove_member(member: RotationMember) -> None:
    member.rotation.members.remove(member)
    db.session.flush()


def delete_rotation(rotation: Rotation) -> None:
    """No longer offered; meetings booked through it keep the link (and the host)."""
    if rotation.deleted_at is None:
        rotation.deleted_at = utcnow()
        db.session.flush()
