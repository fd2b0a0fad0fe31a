"""Free slots of a scheduling page (read only): the availability engine's free time of the
page's hosts (webapp.availability), with the page's rules over each host's, cut into
starts every slot interval that leave room for the chosen duration.

One-on-one: the owner free; round robin: any rotation member free; group: every host free
(engine.common_free). A host with no working hours is taken to work 09:00-17:00 Monday to
Friday in their zone (the account's default hours) on a page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.auth.models import User
from webapp.availability import changes, engine
from webapp.availability import settings as availability
from webapp.availability.busy import external_busy, external_busy_many
from webapp.availability.intervals import Interval
from webapp.extensions import db
from webapp.localcache import LocalCache
from webapp.rotations import operations as rotation_ops
from webapp.types import utcnow

#: The widest range of days one slots request answers.
MAX_DAYS = 62


def page_hosts(page) -> list[User]:
    """Who may host: one-on-one the owner; group every host (owner first); round robin
    the rotation's eligible members in the rotation's pick order."""
    if page.kind == "round_robin":
        from webapp.rotations.models import Rotation, RotationMember
        # The members with their users and seats in one statement (lazily, one each).
        found = db.session.scalars(
            sa.select(RotationMember).join(Rotation, Rotation.id == RotationMember.rotation_id)
            .where(Rotation.id == (page.rotation_id or 0),
                   Rotation.account_id == page.account_id, Rotation.deleted_at.is_(None))
            .options(so.joinedload(RotationMember.user).joinedload(User.seat_kind))).all()
        members = sorted((m for m in found if rotation_ops.is_eligible(m, page.account_id)),
                         key=rotation_ops._order)
        return [m.user for m in members]
    ids = list(page.host_ids or [page.owner_id]) if page.kind == "group" else [page.owner_id]
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.account_id == page.account_id, User.id.in_(ids)))}
    return [users[i] for i in ids if i in users]


def page_rules(page, host_rules: engine.Rules) -> engine.Rules:
    """The page's rules over the host's: buffers, notice and horizon are the page's; its
    daily cap when it has one, else the host's."""
    return engine.Rules(
        buffer_before=timedelta(minutes=page.buffer_before_minutes or 0),
        buffer_after=timedelta(minutes=page.buffer_after_minutes or 0),
        min_notice=timedelta(minutes=page.min_notice_minutes or 0),
        horizon=timedelta(days=page.horizon_days) if page.horizon_days else None,
        max_per_day=page.max_per_day if page.max_per_day else host_rules.max_per_day)


def host_schedule(page, user: User, start: datetime, end: datetime,
                  external: tuple[list, list] | None = None,
                  exclude_meeting: int | None = None, profile=False,
                  default_hours=None) -> engine.Schedule:
    """The engine's view of one host for [start, end) under the page's rules. external:
    (busy, unreadable) already read from their calendar; None reads it now (a provider
    call: never inside a save). exclude_meeting: a meeting that does not count as busy
    (the one being rescheduled). profile, default_hours: already loaded (a page's hosts
    are read together)."""
    pad = _pad(page)
    lo, hi = start - pad, end + pad
    if external is None:
        external = external_busy(user, lo, hi)
    schedule = availability.schedule_for(user, lo, hi, *external, profile=profile)
    if exclude_meeting is not None:
        from webapp.meetings.models import Meeting
        gone = db.session.get(Meeting, exclude_meeting)
        if gone is not None:
            schedule.busy = [b for b in schedule.busy if not (
                b.meeting and b.start == gone.start_at and b.end == gone.end_at)]
    schedule.hours = schedule.hours or default_hours or availability.account_default(
        user.account_id)
    schedule.rules = page_rules(page, schedule.rules)
    return schedule


def _grid(intervals: Iterable[Interval], zone: str, step: timedelta,
          length: timedelta) -> set[datetime]:
    """Starts inside the intervals on the page's grid (every `step` from the host's local
    midnight) that leave `length` before the interval's end."""
    tz = ZoneInfo(zone)
    out = set()
    minutes = int(step.total_seconds() // 60)
    for s, e in intervals:
        local = s.astimezone(tz)
        past = (local.hour * 60 + local.minute) % minutes
        t = s - timedelta(minutes=past, seconds=local.second, microseconds=local.microsecond)
        if t < s:
            t += step
        while t + length <= e:
            out.add(t)
            t += step
    return out


def window(first_day: date, last_day: date, zone: str) -> tuple[datetime, datetime]:
    """The UTC bounds of the visitor's local days first_day..last_day."""
    from webapp.meetings.timemath import local_to_utc
    return (local_to_utc(first_day, time(0), zone),
            local_to_utc(last_day + timedelta(days=1), time(0), zone))


def slot_hosts(page, hosts: list[User], start: datetime, end: datetime,
               now: datetime | None = None, external: dict | None = None,
               exclude_meeting: int | None = None) -> list[User]:
    """The hosts free for [start, end) under the page's rules: one-on-one and group,
    all of them or none; round robin, the free ones (in the order given)."""
    now = now or utcnow()
    if not _on_grid(page, hosts, start):
        return []
    free = [u for u in hosts if engine.is_free(
        host_schedule(page, u, start, end, (external or {}).get(u.id), exclude_meeting),
        start, end, now)]
    if page.kind == "round_robin":
        return free
    return hosts if len(free) == len(hosts) and hosts else []


def _on_grid(page, hosts: list[User], start: datetime) -> bool:
    """True when start is one of the page's starts: every slot interval from the first
    host's local midnight, on the minute."""
    if not hosts:
        return False
    local = start.astimezone(ZoneInfo(hosts[0].zone))
    minutes = page.slot_interval_minutes or 30
    return (local.second == 0 and local.microsecond == 0
            and (local.hour * 60 + local.minute) % minutes == 0)


#: Computed months of free starts, in this process, by everything they depend on (_key):
#: nothing to invalidate, a change makes another key. Not in Redis: a hit costs no round
#: trip nor decoding, a Redis outage cannot touch the pages, and each worker computes a
#: changed month once. Bounded (an entry is a few hundred instants).
KEPT = LocalCache(256)
KEPT_SECONDS = 3600


def free_slots(page, first_day: date, last_day: date, zone: str, duration: int,
               now: datetime | None = None, hosts: list[User] | None = None,
               exclude_meeting: int | None = None) -> list[datetime]:
    """The page's free starts (UTC, sorted) on the visitor's days first_day..last_day in
    zone, for a meeting of `duration` minutes. exclude_meeting: the booking's own meeting
    when it is being rescheduled (its time counts as free).

    The starts of the whole range are kept (KEPT) without the page's minimum notice and
    horizon, which are applied here to the kept starts: "now" is never part of what is
    kept, so a kept month cannot offer a time that has come too close."""
    now = now or utcnow()
    hosts = page_hosts(page) if hosts is None else hosts
    if not hosts:
        return []
    lo, hi = window(first_day, last_day, zone)
    length = timedelta(minutes=duration)
    earliest = now + timedelta(minutes=page.min_notice_minutes or 0)
    latest = now + timedelta(days=page.horizon_days) if page.horizon_days else hi
    if not max(lo, earliest) < min(hi, latest):
        return []
    return [s for s in _starts(page, hosts, lo, hi, duration, exclude_meeting)
            if s >= earliest and s + length <= latest]


def _starts(page, hosts: list[User], lo: datetime, hi: datetime, duration: int,
            exclude_meeting: int | None) -> tuple[datetime, ...]:
    """Every free start in [lo, hi), the page's notice and horizon aside: kept by what
    it depends on (the page's settings, the hosts and their zones, changes.stamp()'s changes of
    their hours and Parley meetings, their calendars' cached busy time), else computed."""
    ids = [u.id for u in hosts]
    pad = _pad(page)
    stamp = changes.stamp(page.account_id, ids, lo - pad - timedelta(days=2),
                   hi + pad + timedelta(days=2))
    stamps: dict = {}
    external: dict = {}
    if stamp[-1]:  # a host has a calendar connection: its cached busy time counts
        external = external_busy_many(hosts, lo - pad, hi + pad, stamps=stamps)
    key = repr((
        page.id, page.updated_at, page.kind, page.buffer_before_minutes,
        page.buffer_after_minutes, page.slot_interval_minutes, page.max_per_day,
        lo, hi, duration, exclude_meeting, [(u.id, u.zone) for u in hosts], stamp,
        sorted(stamps.items())))
    found = KEPT.get(key)
    if found is not None:
        return found
    profiles = availability.profiles_of(ids)
    default = None
    if any(profiles.get(u.id) is None or profiles[u.id].hours is None for u in hosts):
        default = availability.account_default(page.account_id)
    schedules = [host_schedule(page, u, lo, hi, external=external.get(u.id, ([], [])),
                               profile=profiles.get(u.id), default_hours=default,
                               exclude_meeting=exclude_meeting) for u in hosts]
    for schedule in schedules:  # notice and horizon: applied to the kept starts
        schedule.rules = replace(schedule.rules, min_notice=timedelta(0), horizon=None)
    step = timedelta(minutes=page.slot_interval_minutes or 30)
    length = timedelta(minutes=duration)
    grid_zone = hosts[0].zone
    if page.kind == "round_robin":
        out: set[datetime] = set()
        for schedule in schedules:
            out |= _grid(engine.free_intervals(schedule, lo, hi, lo), grid_zone, step, length)
    else:
        out = _grid(engine.common_free(schedules, lo, hi, lo), grid_zone, step, length)
    found = tuple(sorted(out))
    KEPT.put(key, found, KEPT_SECONDS)
    return found


def _pad(page) -> timedelta:
    """Busy time is read this much around a range (host_schedule)."""
    return timedelta(days=1, minutes=max(page.buffer_before_minutes or 0,
                                         page.buffer_after_minutes or 0))


def by_day(slots: Iterable[datetime], zone: str) -> dict[date, list[datetime]]:
    """Slots grouped by the visitor's local day, in order."""
    tz = ZoneInfo(zone)
    out: dict[date, list[datetime]] = {}
    for s in sorted(slots):
        out.setdefault(s.astimezone(tz).date(), []).append(s)
    return out
