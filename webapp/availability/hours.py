"""Working hours: weekly ranges of wall time in the user's zone, several a day, and date
overrides (a day off, or other hours that day), turned into UTC intervals DST-correctly.

Pure: no database, no clock. Wall times are minutes since local midnight, 0-1440
("24:00" is the end of the day).

DST: a range is wall time, so 09:00-17:00 is eight hours on every ordinary day, seven
on the day the clocks go forward across it and nine when they go back across it. A wall
time that does not exist (the hour skipped in spring) stands for the instant the clocks
jump; a wall time that happens twice starts a range at its first occurrence and ends a
range at its second, so the range holds all of its wall time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from webapp.availability.intervals import Interval, merge

Range = tuple[int, int]  # minutes since local midnight, start < end <= 1440
DAY = 1440

#: The built-in account default: 09:00-17:00, Monday to Friday.
DEFAULT_WEEKLY: dict[int, tuple[Range, ...]] = {d: ((540, 1020),) for d in range(5)}


def parse_hhmm(text: str) -> int:
    """'09:30' -> 570; '24:00' -> 1440. Raises ValueError."""
    hours, _, minutes = str(text).strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(text)
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or not 0 <= value <= DAY:
        raise ValueError(text)
    return value


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def normalize(ranges: Iterable[Range]) -> tuple[Range, ...]:
    """Sorted, overlapping or touching ranges joined; raises ValueError on an empty or
    reversed range."""
    out: list[list[int]] = []
    for start, end in sorted(ranges):
        if not 0 <= start < end <= DAY:
            raise ValueError((start, end))
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((s, e) for s, e in out)


@dataclass(frozen=True)
class WorkingHours:
    """weekly[0] is Monday's ranges; a day missing is a day off. overrides[date] replaces
    that date's ranges (empty: the day off)."""

    weekly: Mapping[int, tuple[Range, ...]] = field(default_factory=lambda: dict(DEFAULT_WEEKLY))
    overrides: Mapping[date, tuple[Range, ...]] = field(default_factory=dict)

    def ranges_on(self, day: date) -> tuple[Range, ...]:
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), ())

    # --- stored form (JSON) ---------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "weekly": {str(d): [[format_hhmm(s), format_hhmm(e)] for s, e in r]
                       for d, r in sorted(self.weekly.items()) if r},
            "overrides": {d.isoformat(): [[format_hhmm(s), format_hhmm(e)] for s, e in r]
                          for d, r in sorted(self.overrides.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping | None) -> WorkingHours | None:
        """None when there is nothing stored (no working hours: any hour)."""
        if not data:
            return None
        weekly = {int(d): normalize((parse_hhmm(s), parse_hhmm(e)) for s, e in r)
                  for d, r in (data.get("weekly") or {}).items()}
        overrides = {date.fromisoformat(d): normalize((parse_hhmm(s), parse_hhmm(e))
                                                      for s, e in r)
                     for d, r in (data.get("overrides") or {}).items()}
        return cls(weekly, overrides)


def wall_exists(wall: datetime, tz: ZoneInfo) -> bool:
    """False when the naive wall time falls in the hour skipped by a DST change."""
    there = wall.replace(tzinfo=tz)
    back = there.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == wall


def to_utc(wall: datetime, tz: ZoneInfo, fold: int = 0) -> datetime:
    """The UTC instant of a naive wall time in tz. A wall time in a DST gap gives the
    instant of the jump; a repeated one gives its first (fold=0) or second (fold=1)."""
    if wall_exists(wall, tz):
        return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
    # In a gap, fold=1 reads it with the offset after the jump (an instant before it) and
    # fold=0 with the offset before (an instant after it): the jump lies between.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if low > high:
        low, high = high, low
    before = low.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == before:
            low = mid
        else:
            high = mid
    return high.replace(microsecond=0) if high.microsecond else high


def _wall(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(0)) + timedelta(minutes=minutes)


def local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """Every local date that [start, end) touches, one day of margin each side."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_bounds(day: date, tz: ZoneInfo) -> Interval:
    """The UTC interval of a whole local day (23 or 25 hours on DST days)."""
    return (to_utc(_wall(day, 0), tz), to_utc(_wall(day, DAY), tz))


def working_intervals(hours: WorkingHours | None, zone: str, start: datetime,
                      end: datetime) -> list[Interval]:
    """The UTC intervals of working time within [start, end); no hours: all of it."""
    if hours is None:
        return [(start, end)] if start < end else []
    tz = ZoneInfo(zone)
    out = []
    for day in local_days(start, end, tz):
        for s, e in hours.ranges_on(day):
            lo = to_utc(_wall(day, s), tz, fold=0)
            hi = to_utc(_wall(day, e), tz, fold=1)
            lo, hi = max(lo, start), min(hi, end)
            if lo < hi:
                out.append((lo, hi))
    return merge(out)
