"""Time math for scheduling: wall-clock input to UTC, reminder due times. Pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Largest offset per unit: a year ahead is the most anyone plans a reminder.
MAX_OFFSET = {"minutes": 525_600, "hours": 8_760, "days": 365, "weeks": 52}


class NonexistentLocalTime(ValueError):
    """The wall-clock time falls in a daylight-saving gap of the zone."""


def local_to_utc(day: date, at: time, zone: str) -> datetime:
    """The UTC instant of wall-clock `day at` in zone.

    A time skipped by a DST change raises NonexistentLocalTime; an ambiguous time (the
    repeated hour) is taken at its first occurrence.
    """
    tz = ZoneInfo(zone)
    local = datetime.combine(day, at, tzinfo=tz).replace(fold=0)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentLocalTime(f"{day} {at} does not exist in {zone}")
    return utc


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
