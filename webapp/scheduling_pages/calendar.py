"""What the public booking page shows, worked out from the visitor's query string: their
zone, language, month, day and duration, the month grid, and the slots of each day in
their zone. Pure functions (no database, no request: the caller passes what it read).
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from webapp.validation import canonical_timezone

LANGS = ("en", "zh_Hant")


def visitor_zone(raw: str | None, fallback: str) -> str:
    """The zone the visitor chose (a canonical IANA name), else fallback."""
    return canonical_timezone((raw or "").strip()[:64]) or canonical_timezone(fallback) or "UTC"


def visitor_lang(raw: str | None) -> str | None:
    """'en' or 'zh_Hant' when the visitor switched language, else None (Accept-Language)."""
    raw = (raw or "").strip()
    return raw if raw in LANGS else None


def parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()[:10]) if raw else None
    except ValueError:
        return None


def parse_month(raw: str | None) -> date | None:
    """'2027-03' -> date(2027, 3, 1); None for anything else."""
    try:
        return date.fromisoformat(f"{(raw or '').strip()[:7]}-01") if raw else None
    except ValueError:
        return None


def add_months(first: date, n: int) -> date:
    index = first.year * 12 + first.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def parse_instant(raw: str | None) -> datetime | None:
    """An aware instant from the query string ('2027-03-04T14:00:00Z' or with an offset)."""
    text = (raw or "").strip()[:40].replace(" ", "+")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def choose_duration(raw: str | None, durations: list[int]) -> int:
    """The duration the visitor chose among the page's, else the page's first."""
    text = (raw or "").strip()
    if text.isdigit() and int(text) in durations:
        return int(text)
    return durations[0]


@dataclass(frozen=True)
class Window:
    """The month shown and the range of months the visitor can move through."""

    month: date
    first: date
    last: date

    @property
    def prev(self) -> date | None:
        return add_months(self.month, -1) if self.month > self.first else None

    @property
    def next(self) -> date | None:
        return add_months(self.month, 1) if self.month < self.last else None

    def utc_range(self, zone: str) -> tuple[datetime, datetime]:
        """The month's whole local days in zone, as a UTC range."""
        tz = ZoneInfo(zone)
        end = add_months(self.month, 1)
        return (datetime.combine(self.month, datetime.min.time(), tz),
                datetime.combine(end, datetime.min.time(), tz))


def window(requested: date | None, today: date, horizon_days: int | None) -> Window:
    """The month to show: the one asked for, kept between this month and the month of the
    booking horizon's last day (no horizon: a year ahead)."""
    first = today.replace(day=1)
    last_day = today + timedelta(days=horizon_days if horizon_days else 365)
    last = last_day.replace(day=1)
    month = requested or first
    return Window(min(max(month, first), last), first, last)


@dataclass(frozen=True)
class Cell:
    day: date | None
    free: bool = False
    chosen: bool = False
    today: bool = False


def month_grid(month: date, free_days: set[date], chosen: date | None, today: date,
               first_weekday: int) -> list[list[Cell]]:
    """The month's weeks, each seven cells (None before the 1st and after the last day);
    first_weekday 0 is Monday, 6 Sunday (the locale's)."""
    weeks = _calendar.Calendar(first_weekday).monthdatescalendar(month.year, month.month)
    return [[Cell(d, d in free_days, d == chosen, d == today) if d.month == month.month
             else Cell(None) for d in week] for week in weeks]


def weekday_order(first_weekday: int) -> list[int]:
    return [(first_weekday + i) % 7 for i in range(7)]


def utc_text(value: datetime) -> str:
    """The query-string form of an instant: '2027-03-04T14:00:00Z'."""
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
