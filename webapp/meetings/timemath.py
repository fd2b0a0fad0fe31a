"""Time math for scheduling: wall-clock input to UTC, reminder due times. Pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Largest offset per unit: a year ahead is the most anyone plans a reminder.
MAX_OFFSET = {"minutes": 525_600, "hours": 8_760, "days": 365, "weeks": 52}


class NonexistentLocalTime(ValueError):
    """The wall-clock time falls in a daylight-saving gap of the zone."""


def occurrences(day: date, at: time, zone: str) -> list[datetime]:
    """The UTC instants of wall-clock `day at` in zone, earliest first: one, or two in the
    repeated hour when clocks go back. A time skipped by a DST change raises
    NonexistentLocalTime."""
    tz = ZoneInfo(zone)
    out: list[datetime] = []
    for fold in (0, 1):
        local = datetime.combine(day, at, tzinfo=tz).replace(fold=fold)
        utc = local.astimezone(UTC)
        if utc.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None) \
                and utc not in out:
            out.append(utc)
    if not out:
        raise NonexistentLocalTime(f"{day} {at} does not exist in {zone}")
    return sorted(out)


def change_names(day: date, at: time, zone: str) -> tuple[str, str]:
    """The zone's names (EST, EDT, or "+03" where it has none) on either side of a clock
    change at wall time `day at`: before and after a skipped time, or the first and second
    of a time that happens twice."""
    tz = ZoneInfo(zone)
    wall = datetime.combine(day, at)
    return wall.replace(tzinfo=tz, fold=0).tzname() or "", \
        wall.replace(tzinfo=tz, fold=1).tzname() or ""


def local_to_utc(day: date, at: time, zone: str, fold: int = 0) -> datetime:
    """The UTC instant of wall-clock `day at` in zone.

    A time skipped by a DST change raises NonexistentLocalTime; an ambiguous time (the
    repeated hour) is taken at its first occurrence, or its second with fold=1.
    """
    options = occurrences(day, at, zone)
    return options[min(fold, len(options) - 1)]


def offset_fits(value: datetime, zone: str) -> bool:
    """Whether value's own UTC offset is the one zone has at that instant: a time given
    as "2027-03-14T02:30:00-05:00" in America/New_York does not fit (at that instant the
    zone is at -04:00: the wall time 02:30 was skipped). UTC itself always fits."""
    offset = value.utcoffset()
    if offset is None:
        return False
    return offset == timedelta(0) or value.astimezone(ZoneInfo(zone)).utcoffset() == offset


def reminder_due(start: datetime, amount: int, unit: str, zone: str) -> datetime:
    """When a reminder `amount unit` before start is due, in UTC.

    Minutes and hours are exact durations. Days and weeks keep the wall-clock time in the
    meeting's zone ("1 day before 10:00" is 10:00 the day before, across a DST change).
    """
    if start.tzinfo is None:
        raise ValueError("naive start")
    if amount <= 0 or amount > MAX_OFFSET[unit]:
        raise ValueError("offset out of range")
    if unit in ("minutes", "hours"):
        return (start - timedelta(**{unit: amount})).astimezone(UTC)
    tz = ZoneInfo(zone)
    local = start.astimezone(tz)
    days = amount * (7 if unit == "weeks" else 1)
    wall = (local.replace(tzinfo=None) - timedelta(days=days))
    due = wall.replace(tzinfo=tz).astimezone(UTC)
    # In a DST gap the wall time shifts; never let that push the reminder past the start.
    return min(due, start.astimezone(UTC) - timedelta(days=days - 1, hours=23))


def to_zone(value: datetime, zone: str) -> datetime:
    """value (aware) seen in zone."""
    return value.astimezone(ZoneInfo(zone))
