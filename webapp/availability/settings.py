"""Availability settings (request side: flush, never commit): a user's working hours and
rules, the account's default hours, and the Schedule the engine reads for a user.

Busy time here is what Parley knows without calling a provider: the user's Parley
meetings (hosting or attending) and, when the caller has them, busy periods read from
their calendars. A save never calls a provider (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.auth.models import User
from webapp.availability import engine
from webapp.availability.hours import DEFAULT_WEEKLY, WorkingHours, normalize, parse_hhmm
from webapp.availability.models import AccountAvailability, AvailabilityProfile
from webapp.extensions import db

PARLEY = "Parley"
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
MAX_BUFFER = 240
MAX_NOTICE = 60 * 24 * 30
MAX_HORIZON = 730
MAX_PER_DAY = 50

Errors = dict[str, list[str]]


# --- reading ------------------------------------------------------------------------------

def profile_of(user_id: int) -> AvailabilityProfile | None:
    return db.session.get(AvailabilityProfile, user_id)


def profiles_of(user_ids: Iterable[int]) -> dict[int, AvailabilityProfile]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    return {p.user_id: p for p in db.session.scalars(
        sa.select(AvailabilityProfile).where(AvailabilityProfile.user_id.in_(ids)))}


def users_and_profiles(account_id: int, user_ids: Iterable[int], also: int
                       ) -> tuple[list[User], dict[int, AvailabilityProfile]]:
    """The account's users among user_ids (by name, `also` left out) and the availability
    profiles of them and of user `also`, in one statement: what the week grid with
    attendee colleagues overlaid reads for them and its host (#21)."""
    rows = db.session.execute(_users_and_profiles_statement(), {
        "account_id": account_id, "user_ids": sorted({*user_ids, also})}).all()
    return ([user for user, _profile in rows if user.id != also],
            {user.id: profile for user, profile in rows if profile is not None})


@cache
def _users_and_profiles_statement():
    """users_and_profiles()'s SELECT, built once a process (building it and its cache key
    cost about as much as running it, #24)."""
    return (sa.select(User, AvailabilityProfile)
            .outerjoin(AvailabilityProfile, AvailabilityProfile.user_id == User.id)
            .where(User.id.in_(sa.bindparam("user_ids", expanding=True)),
                   User.account_id == sa.bindparam("account_id"))
            .order_by(User.name, User.id))


def account_default(account_id: int) -> WorkingHours:
    """The hours new users of the account start with (built in: 09:00-17:00 Mon-Fri)."""
    row = db.session.get(AccountAvailability, account_id)
    return (WorkingHours.from_json(row.working_hours) if row else None) or WorkingHours(
        dict(DEFAULT_WEEKLY))


def parley_busy(account_id: int, user_id: int, start: datetime, end: datetime,
                show_titles: bool = True, rows: list | None = None,
                read: list | None = None) -> list[engine.Busy]:
    """The user's Parley meetings overlapping [start, end), as busy time that counts
    toward the day cap. A canceled meeting (kept on the timelines) frees its time (#22: a
    booking canceled by its contact can be booked again). rows: a list that receives the
    meetings read (queries.users_meetings rows, canceled ones too), for a caller that draws
    them (the week grid reads them once). read: the user's meetings already read over a
    range holding [start, end) (meetings_of), instead of reading them here."""
    from webapp.meetings import queries
    if read is None:
        read = queries.host_meetings(account_id, user_id, start, end)
    else:
        read = [row for row in read if row[3] < end and row[4] > start]  # start_at, end_at
    if rows is not None:
        rows.extend(read)
    return [engine.busy_of((start_at, end_at, PARLEY, title if show_titles else None, True))
            for _user, _id, title, start_at, end_at, outcome in read if outcome != "canceled"]


def schedule_for(user: User, start: datetime, end: datetime,
                 external: Iterable[engine.Busy] = (), unreadable: Iterable[str] = (),
                 profile: AvailabilityProfile | None | bool = False,
                 rows: list | None = None, read: list | None = None) -> engine.Schedule:
    """The engine's view of user for answering [start, end): their hours, rules, Parley
    meetings over the whole local days around it (the cap counts per day) and the
    external busy time given. profile: already loaded (None: the user has none). rows:
    receives the Parley meetings read (parley_busy). read: their meetings already read
    (meetings_of)."""
    if profile is False:
        profile = profile_of(user.id)
    bare = engine.Schedule(user.zone, profile.hours if profile else None,
                           profile.rules if profile else engine.Rules(), user_id=user.id)
    lo, hi = engine.busy_span(bare, start, end)
    bare.busy = [*parley_busy(user.account_id, user.id, lo, hi, rows=rows, read=read),
                 *external]
    bare.unreadable = list(unreadable)
    return bare


def meetings_of(users: list[User], start: datetime, end: datetime,
                profiles: Mapping[int, AvailabilityProfile]) -> dict[int, list]:
    """Each user's Parley meetings over all schedule_for(user, start, end) reads (whole
    local days in their zone, widened by their buffers), in one statement: pass each as
    schedule_for's `read`. profiles: the users' (profiles_of)."""
    if not users:
        return {}
    from webapp.meetings import queries
    spans = []
    for user in users:
        profile = profiles.get(user.id)
        spans.append(engine.busy_span(engine.Schedule(
            user.zone, None, profile.rules if profile else engine.Rules()), start, end))
    return queries.users_meetings(users[0].account_id, [u.id for u in users],
                                  min(s for s, _ in spans), max(e for _, e in spans))


# --- new users ----------------------------------------------------------------------------

def start_new_user(user: User) -> AvailabilityProfile:
    """A new user starts with the account's default working hours and no rules."""
    db.session.flush()
    profile = AvailabilityProfile(user_id=user.id, account_id=user.account_id,
                                  working_hours=account_default(user.account_id).to_json(),
                                  buffer_before_minutes=0, buffer_after_minutes=0,
                                  min_notice_minutes=0)
    db.session.add(profile)
    db.session.flush()
    return profile


# --- the profile form ---------------------------------------------------------------------

def _ranges(text: str) -> tuple:
    """'09:00-12:00, 13:00-17:00' -> ((540, 720), (780, 1020)); '' -> (); ValueError."""
    out = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        start, sep, end = part.replace("–", "-").partition("-")
        if not sep:
            raise ValueError(part)
        out.append((parse_hhmm(start), parse_hhmm(end)))
    return normalize(out)


def format_ranges(ranges) -> str:
    from webapp.availability.hours import format_hhmm
    return ", ".join(f"{format_hhmm(s)}-{format_hhmm(e)}" for s, e in ranges)


def format_overrides(overrides: Mapping[date, tuple]) -> str:
    return "\n".join(f"{d.isoformat()}: {format_ranges(r) if r else 'off'}"
                     for d, r in sorted(overrides.items()))


def parse_hours(form: Mapping, errors: Errors, prefix: str = "") -> WorkingHours | None:
    """Working hours from a form: `<prefix>day_0` .. `day_6` ranges, `<prefix>overrides`
    lines of "YYYY-MM-DD: off" or "YYYY-MM-DD: 10:00-12:00"."""
    weekly = {}
    for day in range(7):
        field = f"{prefix}day_{day}"
        try:
            ranges = _ranges(form.get(field, ""))
        except ValueError:
            errors.setdefault(field, []).append(str(_l(
                "Write hours as 09:00-12:00, with a comma between ranges.")))
            continue
        if ranges:
            weekly[day] = ranges
    overrides = {}
    for line in (form.get(f"{prefix}overrides") or "").splitlines():
        if not line.strip():
            continue
        day_text, _sep, rest = line.partition(":")
        try:
            day = date.fromisoformat(day_text.strip())
            rest = rest.strip()
            overrides[day] = () if rest.lower() in ("off", "") else _ranges(rest)
        except ValueError:
            errors.setdefault(f"{prefix}overrides", []).append(str(_l(
                "Write one date a line: 2027-01-04: off, or 2027-01-09: 10:00-12:00.")))
            break
    return WorkingHours(weekly, overrides)


def _number(form: Mapping, field: str, high: int, errors: Errors,
            optional: bool = False) -> int | None:
    text = str(form.get(field) or "").strip()
    if not text:
        return None if optional else 0
    if not text.isdigit() or int(text) > high:
        errors.setdefault(field, []).append(str(_l(
            "Enter a whole number from 0 to %(high)s.", high=high)))
        return None if optional else 0
    value = int(text)
    return (value or None) if optional else value


def save_profile(user: User, form: Mapping) -> Errors:
    """The profile's availability section: hours (or any hour) and rules. Flushes."""
    errors: Errors = {}
    hours = parse_hours(form, errors) if form.get("use_hours") else None
    values = {
        "buffer_before_minutes": _number(form, "buffer_before", MAX_BUFFER, errors),
        "buffer_after_minutes": _number(form, "buffer_after", MAX_BUFFER, errors),
        "min_notice_minutes": _number(form, "min_notice", MAX_NOTICE, errors),
        "horizon_days": _number(form, "horizon_days", MAX_HORIZON, errors, optional=True),
        "max_per_day": _number(form, "max_per_day", MAX_PER_DAY, errors, optional=True),
    }
    if errors:
        return errors
    profile = profile_of(user.id)
    if profile is None:
        profile = AvailabilityProfile(user_id=user.id, account_id=user.account_id)
        db.session.add(profile)
    profile.working_hours = hours.to_json() if hours is not None else None
    for name, value in values.items():
        setattr(profile, name, value)
    db.session.flush()
    return {}


def save_account_default(account_id: int, form: Mapping) -> Errors:
    errors: Errors = {}
    hours = parse_hours(form, errors)
    if errors:
        return errors
    row = db.session.get(AccountAvailability, account_id)
    if row is None:
        row = AccountAvailability(account_id=account_id, working_hours={})
        db.session.add(row)
    row.working_hours = hours.to_json()
    db.session.flush()
    return {}


def form_values(user: User) -> dict:
    """What the profile's availability section shows."""
    profile = profile_of(user.id)
    hours = profile.hours if profile else None
    shown = hours or account_default(user.account_id)
    values = {f"day_{d}": format_ranges(shown.weekly.get(d, ())) for d in range(7)}
    values["overrides"] = format_overrides(shown.overrides)
    values["use_hours"] = hours is not None
    values["buffer_before"] = profile.buffer_before_minutes if profile else 0
    values["buffer_after"] = profile.buffer_after_minutes if profile else 0
    values["min_notice"] = profile.min_notice_minutes if profile else 0
    values["horizon_days"] = (profile.horizon_days or "") if profile else ""
    values["max_per_day"] = (profile.max_per_day or "") if profile else ""
    return values
