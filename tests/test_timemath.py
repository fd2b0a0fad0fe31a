"""Time math: wall clock to UTC, reminder due times, across every zone and DST change."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.meetings.timemath import MAX_OFFSET, NonexistentLocalTime, local_to_utc, reminder_due
from webapp.validation import timezone_names

zones = st.sampled_from(timezone_names())
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2037, 12, 31))
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
units = st.sampled_from(["minutes", "hours", "days", "weeks"])


@settings(max_examples=400, deadline=None)
@given(zones, days, times)
def test_local_to_utc_round_trips_or_reports_a_gap(zone, day, at):
    try:
        utc = local_to_utc(day, at, zone)
    except NonexistentLocalTime:
        # Really a gap: the wall time does not survive a round trip.
        naive = datetime.combine(day, at)
        back = naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC).astimezone(ZoneInfo(zone))
        assert back.replace(tzinfo=None) != naive
        return
    assert utc.tzinfo is not None and utc.utcoffset() == timedelta(0)
    local = utc.astimezone(ZoneInfo(zone))
    assert (local.date(), local.time()) == (day, at)


@settings(max_examples=400, deadline=None)
@given(zones, st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2037, 1, 1),
                           timezones=st.just(UTC)), units, st.integers(min_value=1))
def test_reminder_is_never_after_the_start(zone, start, unit, amount):
    amount = 1 + amount % MAX_OFFSET[unit]
    due = reminder_due(start, amount, unit, zone)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due < start
    exact = start - timedelta(**{unit: amount}) if unit in ("minutes", "hours", "weeks") else \
        start - timedelta(days=amount)
    # Wall-clock days differ from 24 h steps by the zone's offset changes: an hour for DST,
    # more where a zone moved its standard time (Antarctica/Casey +3 h, Samoa a whole day).
    assert abs((due - exact).total_seconds()) <= 26 * 3600


@pytest.mark.parametrize(("zone", "day", "at", "gap"), [
    ("America/New_York", date(2026, 3, 8), time(2, 30), True),
    ("Europe/Berlin", date(2026, 3, 29), time(2, 30), True),
    ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15), True),  # 30-minute DST
    ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 45), False),
    ("Asia/Kolkata", date(2026, 3, 29), time(2, 30), False),
    ("Europe/Dublin", date(2026, 3, 29), time(1, 30), True),
])
def test_dst_regression_dates(zone, day, at, gap):
    if gap:
        with pytest.raises(NonexistentLocalTime):
            local_to_utc(day, at, zone)
    else:
        local_to_utc(day, at, zone)


def test_ambiguous_time_takes_first_occurrence():
    utc = local_to_utc(date(2026, 11, 1), time(1, 30), "America/New_York")
    assert utc == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # EDT, the first 01:30


def test_one_day_before_keeps_wall_clock_across_dst():
    start = local_to_utc(date(2026, 3, 8), time(10, 0), "America/New_York")  # DST starts 02:00
    due = reminder_due(start, 1, "days", "America/New_York")
    local = due.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.time()) == (date(2026, 3, 7), time(10, 0))
    assert start - due == timedelta(hours=23)
    assert reminder_due(start, 1, "hours", "America/New_York") == start - timedelta(hours=1)


def test_kolkata_half_hour_offset():
    utc = local_to_utc(date(2026, 6, 1), time(9, 0), "Asia/Kolkata")
    assert utc == datetime(2026, 6, 1, 3, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        reminder_due(datetime(2026, 1, 1, 10), 1, "hours", "UTC")
