"""The availability engine (#21): pure functions over intervals, DST-correct in every zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from webapp.availability import engine as av
from webapp.availability.hours import (
    WorkingHours,
    day_bounds,
    to_utc,
    wall_exists,
    working_intervals,
)
from webapp.availability.intervals import intersect, merge, subtract

ZONES = ["America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney",
         "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham", "America/Santiago",
         "Asia/Kathmandu", "Asia/Taipei", "UTC", "America/Havana", "Pacific/Apia"]
H = timedelta(hours=1)
M = timedelta(minutes=1)
NEVER_MIND = datetime(2000, 1, 1, tzinfo=UTC)  # a "now" long before every range


def _dst_days() -> list[tuple[str, date]]:
    """Every (zone, local date) of 2026-2027 whose length is not 24 hours."""
    out = []
    for zone in ZONES:
        tz = ZoneInfo(zone)
        day = date(2026, 1, 1)
        while day < date(2028, 1, 1):
            lo, hi = day_bounds(day, tz)
            if hi - lo != timedelta(days=1):
                out.append((zone, day))
            day += timedelta(days=1)
    return out


DST_DAYS = _dst_days()
WEEKDAY_9_17 = WorkingHours()
EVERY_DAY = WorkingHours({d: ((0, 1440),) for d in range(7)})


def wall_minutes(instant: datetime, tz: ZoneInfo) -> tuple[date, int]:
    local = instant.astimezone(tz)
    return local.date(), local.hour * 60 + local.minute


def ambiguous(instant: datetime, tz: ZoneInfo) -> bool:
    """The instant's wall time happens twice (the hour the clocks go back)."""
    local = instant.astimezone(tz).replace(tzinfo=None)
    return (local.replace(tzinfo=tz, fold=0).utcoffset()
            != local.replace(tzinfo=tz, fold=1).utcoffset())


# --- intervals ------------------------------------------------------------------------------

def test_interval_algebra():
    t = datetime(2027, 1, 4, tzinfo=UTC)
    a = [(t, t + 3 * H), (t + 2 * H, t + 4 * H), (t + 4 * H, t + 5 * H), (t + 9 * H, t + 9 * H)]
    assert merge(a) == [(t, t + 5 * H)]
    assert subtract([(t, t + 5 * H)], [(t + H, t + 2 * H), (t + 4 * H, t + 6 * H)]) == [
        (t, t + H), (t + 2 * H, t + 4 * H)]
    assert intersect([(t, t + 2 * H), (t + 3 * H, t + 5 * H)], [(t + H, t + 4 * H)]) == [
        (t + H, t + 2 * H), (t + 3 * H, t + 4 * H)]


# --- working hours, DST -----------------------------------------------------------------------

def test_dst_days_were_found_in_every_zone_that_has_them():
    zones = {z for z, _ in DST_DAYS}
    assert {"America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham"} <= zones
    assert "Asia/Taipei" not in zones and "UTC" not in zones


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(DST_DAYS))
def test_a_whole_day_of_working_hours_is_the_whole_local_day_on_dst_days(zone_day):
    zone, day = zone_day
    tz = ZoneInfo(zone)
    lo, hi = day_bounds(day, tz)
    assert hi - lo != timedelta(days=1)
    hours = WorkingHours({day.weekday(): ((0, 1440),)})
    assert working_intervals(hours, zone, lo - 3 * H, hi + 3 * H) == [(lo, hi)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone_day=st.sampled_from(DST_DAYS), start=st.integers(0, 47), length=st.integers(1, 48),
       probe=st.integers(-6 * 60, 30 * 60))
def test_an_instant_is_working_time_exactly_when_its_wall_time_is_in_a_range(
        zone_day, start, length, probe):
    """Over zones and their DST days: a wall-time range holds every instant whose wall
    time is in it, and no other instant except in the repeated hour (ranges are inclusive
    there). Wall times in the skipped hour stand for the jump."""
    zone, day = zone_day
    tz = ZoneInfo(zone)
    s, e = start * 30, min(1440, start * 30 + length * 30)
    assume(s < e)
    hours = WorkingHours({day.weekday(): ((s, e),)}, {})
    lo, hi = day_bounds(day, tz)
    spans = working_intervals(hours, zone, lo - 12 * H, hi + 12 * H)
    instant = lo + probe * M
    local_day, minutes = wall_minutes(instant, tz)
    in_range = local_day == day and s <= minutes < e
    inside = any(a <= instant < b for a, b in spans)
    if in_range:
        assert inside
    elif inside:
        assert local_day == day and ambiguous(instant, tz) or not wall_exists(
            datetime.combine(day, time(0)) + timedelta(minutes=s), tz)


def test_a_range_starting_in_the_skipped_hour_starts_at_the_jump():
    tz = ZoneInfo("America/New_York")
    day = date(2026, 3, 8)  # 02:00 EST -> 03:00 EDT
    jump = datetime(2026, 3, 8, 7, tzinfo=UTC)
    assert to_utc(datetime(2026, 3, 8, 2, 30), tz) == jump
    hours = WorkingHours({day.weekday(): ((150, 240),)})  # 02:30-04:00
    assert working_intervals(hours, "America/New_York", jump - 5 * H, jump + 5 * H) == [
        (jump, jump + H)]
    # Ordinary and long days: 09:00-17:00 is 8 hours, 00:00-02:00 on the long day 3.
    assert working_intervals(WEEKDAY_9_17, "America/New_York",
                             datetime(2026, 3, 9, tzinfo=UTC),
                             datetime(2026, 3, 10, tzinfo=UTC)) == [
        (datetime(2026, 3, 9, 13, tzinfo=UTC), datetime(2026, 3, 9, 21, tzinfo=UTC))]
    sunday = date(2026, 11, 1)
    lo, _hi = day_bounds(sunday, tz)
    spans = working_intervals(WorkingHours({6: ((0, 120),)}), "America/New_York", lo, lo + 6 * H)
    assert spans == [(lo, lo + 3 * H)]


def test_a_wall_time_in_the_skipped_hour_is_refused_with_the_dst_reason():
    assert av.wall_time_reason("America/New_York", datetime(2026, 3, 8, 2, 30)) == av.DST_GAP
    assert av.wall_time_reason("America/New_York", datetime(2026, 3, 8, 3, 30)) is None
    assert av.wall_time_reason("Australia/Lord_Howe", datetime(2026, 10, 4, 2, 15)) == av.DST_GAP
    assert av.wall_time_reason("Asia/Taipei", datetime(2026, 3, 8, 2, 30)) is None


def test_overrides_give_a_day_off_or_other_hours():
    hours = WorkingHours(overrides={date(2027, 1, 4): (), date(2027, 1, 9): ((600, 660),)})
    tz = "Europe/Berlin"
    monday = working_intervals(hours, tz, datetime(2027, 1, 4, tzinfo=UTC),
                               datetime(2027, 1, 5, tzinfo=UTC))
    saturday = working_intervals(hours, tz, datetime(2027, 1, 9, tzinfo=UTC),
                                 datetime(2027, 1, 10, tzinfo=UTC))
    tuesday = working_intervals(hours, tz, datetime(2027, 1, 5, tzinfo=UTC),
                                datetime(2027, 1, 6, tzinfo=UTC))
    assert monday == []
    assert saturday == [(datetime(2027, 1, 9, 9, tzinfo=UTC), datetime(2027, 1, 9, 10, tzinfo=UTC))]
    assert tuesday == [(datetime(2027, 1, 5, 8, tzinfo=UTC), datetime(2027, 1, 5, 16, tzinfo=UTC))]
    again = WorkingHours.from_json(hours.to_json())
    assert again == hours
    split = WorkingHours.from_json({"weekly": {"0": [["13:00", "17:00"], ["08:00", "12:00"]]}})
    assert split.weekly[0] == ((480, 720), (780, 1020))


# --- free intervals and reasons ------------------------------------------------------------------

busy_items = st.lists(st.tuples(st.integers(0, 14 * 24 * 4), st.integers(1, 16),
                                st.sampled_from(["Work", "Personal", "Parley"]),
                                st.booleans()), max_size=25)


def _drawn(zone, first, items, before, after, cap, notice, horizon, hours=WEEKDAY_9_17):
    """A schedule hypothesis drew: its first local midnight in UTC, its busy periods (in
    quarter hours from it), and the Schedule with those rules (minutes, hours, days)."""
    start = datetime.combine(first, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    busy = [av.Busy(start + q * 15 * M, start + (q + n) * 15 * M, cal, f"Secret {q}", meeting)
            for q, n, cal, meeting in items]
    rules = av.Rules(before * M, after * M, notice * H,
                     timedelta(days=horizon) if horizon else None, cap)
    return start, busy, av.Schedule(zone, hours, rules, busy)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), first=st.dates(date(2026, 1, 1), date(2027, 12, 1)),
       items=busy_items, before=st.integers(0, 60), after=st.integers(0, 60),
       cap=st.one_of(st.none(), st.integers(1, 4)), notice=st.integers(0, 48),
       horizon=st.one_of(st.none(), st.integers(1, 14)), probes=st.lists(
           st.integers(0, 14 * 24 * 60 - 1), min_size=1, max_size=20))
def test_free_time_and_reasons_partition_the_range(zone, first, items, before, after, cap,
                                                    notice, horizon, probes):
    """Over zones and dates (DST days among them): an instant is in a free interval exactly
    when no reason applies; free time never meets busy time or a buffer; a busy instant
    names its calendar; titles stay hidden unless asked for."""
    start, busy, schedule = _drawn(zone, first, items, before, after, cap, notice, horizon)
    end = start + timedelta(days=14)
    now = start + 2 * H
    free = av.free_intervals(schedule, start, end, now)
    assert free == merge(free) and all(start <= a < b <= end for a, b in free)
    assert intersect(free, [(b.start, b.end) for b in busy]) == []
    assert intersect(free, av._buffers(schedule)) == []
    assert subtract(free, working_intervals(WEEKDAY_9_17, zone, start, end)) == []
    for probe in probes:
        instant = start + probe * M
        reasons = av.reasons_at(schedule, instant, now)
        assert (not reasons) == any(a <= instant < b for a, b in free)
        for b in busy:
            if b.start <= instant < b.end:
                assert any(r.kind == av.BUSY and r.calendar == b.calendar and r.title is None
                           for r in reasons)
        if reasons:
            assert reasons[0].kind == next(k for s, e, k in av.bands(schedule, start, end, now)
                                           if s <= instant < e)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), first=st.dates(date(2026, 1, 1), date(2027, 12, 1)),
       items=busy_items, before=st.integers(0, 60), after=st.integers(0, 60),
       cap=st.one_of(st.none(), st.integers(1, 4)), notice=st.integers(0, 48),
       horizon=st.one_of(st.none(), st.integers(1, 14)), hours=st.booleans())
def test_a_colleagues_overlay_is_the_union_of_their_own_reasons(zone, first, items, before,
                                                                after, cap, notice, horizon,
                                                                hours):
    """What the week view overlays for an attendee colleague (#21) is exactly the time the
    bands give as busy, buffer, capped day or outside hours, joined: never their notice
    or horizon, over zones and DST days."""
    start, _, schedule = _drawn(zone, first, items, before, after, cap, notice, horizon,
                                WEEKDAY_9_17 if hours else None)
    end = start + timedelta(days=7)
    now = start + 30 * H
    own = (av.BUSY, av.BUFFER, av.DAY_CAP, av.OUTSIDE_HOURS)
    shaded = merge((s.timestamp(), e.timestamp())
                   for s, e, kind in av.bands(schedule, start, end, now) if kind in own)
    parts = av.blocked(schedule, start, end, now)
    assert shaded == merge((s.timestamp(), e.timestamp()) for kind in own for s, e in parts[kind])
    assert av.not_free_seconds(schedule, start, end) == shaded


T = datetime(2027, 1, 4, tzinfo=UTC)  # a Monday; London is on UTC in January
LONDON = "Europe/London"


def at(hours: float) -> datetime:
    return T + timedelta(hours=hours)


def test_buffers_at_day_edges():
    """A 09:00 meeting's buffer reaches back before working hours; a late meeting's buffer
    runs past midnight into the next day."""
    busy = [av.Busy(at(9), at(9.5), "Parley", "Demo", True),
            av.Busy(at(23.5), at(23.75), "Work", "Late call")]
    rules = av.Rules(buffer_before=timedelta(minutes=15), buffer_after=timedelta(minutes=30))
    schedule = av.Schedule(LONDON, EVERY_DAY, rules, busy)
    kinds = [r.kind for r in av.reasons_at(schedule, at(8.8), NEVER_MIND)]
    assert kinds == [av.BUFFER]
    assert av.reasons_at(schedule, at(24.1), NEVER_MIND)[0].kind == av.BUFFER
    assert av.reasons_at(schedule, at(24.1), NEVER_MIND)[0].start == at(23.75)
    assert av.reasons_at(schedule, at(24.3), NEVER_MIND) == []
    with_hours = av.Schedule(LONDON, WEEKDAY_9_17, rules, busy)
    kinds = [r.kind for r in av.reasons_at(with_hours, at(8.8), NEVER_MIND)]
    assert kinds == [av.BUFFER, av.OUTSIDE_HOURS]
    free = av.free_intervals(with_hours, T, at(24), NEVER_MIND)
    assert free == [(at(10), at(17))]
    assert not av.is_free(with_hours, at(9.5), at(10), NEVER_MIND)
    assert av.is_free(with_hours, at(10), at(10.5), NEVER_MIND)


def test_overlapping_busy_from_two_calendars():
    busy = [av.Busy(at(10), at(11), "Work", "Board"), av.Busy(at(10.5), at(12), "Personal",
                                                               "Dentist")]
    schedule = av.Schedule(LONDON, WEEKDAY_9_17, av.Rules(), busy)
    assert av.free_intervals(schedule, T, at(24), NEVER_MIND) == [(at(9), at(10)),
                                                                  (at(12), at(17))]
    reasons = av.reasons_at(schedule, at(10.75), NEVER_MIND)
    assert [(r.kind, r.calendar, r.title) for r in reasons] == [
        (av.BUSY, "Work", None), (av.BUSY, "Personal", None)]
    shown = av.reasons_at(schedule, at(10.75), NEVER_MIND, show_titles=True)
    assert [r.title for r in shown] == ["Board", "Dentist"]
    assert av.bands(schedule, at(9), at(18), NEVER_MIND) == [(at(10), at(12), av.BUSY),
                                                             (at(17), at(18), av.OUTSIDE_HOURS)]


def test_a_day_cap_reached_blocks_the_rest_of_that_local_day_only():
    tz_day = "America/New_York"  # local Monday 4 Jan 2027 is 05:00 UTC to 05:00 UTC
    busy = [av.Busy(at(14), at(15), "Parley", meeting=True),
            av.Busy(at(16), at(17), "Parley", meeting=True),
            av.Busy(at(18), at(19), "Work")]  # another calendar's event: not a meeting
    schedule = av.Schedule(tz_day, WEEKDAY_9_17, av.Rules(max_per_day=2), busy)
    reasons = av.reasons_at(schedule, at(19.5), NEVER_MIND)
    assert [r.kind for r in reasons] == [av.DAY_CAP]
    assert (reasons[0].start, reasons[0].end) == (at(5), at(29))
    assert av.free_intervals(schedule, at(5), at(29), NEVER_MIND) == []
    tuesday = av.free_intervals(schedule, at(29), at(53), NEVER_MIND)
    assert tuesday == [(at(38), at(46))]
    relaxed = av.Schedule(tz_day, WEEKDAY_9_17, av.Rules(max_per_day=3), busy)
    assert av.free_intervals(relaxed, at(5), at(29), NEVER_MIND) == [
        (at(15), at(16)), (at(17), at(18)), (at(19), at(22))]


def test_notice_and_horizon():
    rules = av.Rules(min_notice=timedelta(hours=4), horizon=timedelta(days=2))
    schedule = av.Schedule(LONDON, EVERY_DAY, rules)
    now = at(6)
    assert av.free_intervals(schedule, T, at(96), now) == [(at(10), at(54))]
    assert av.reasons_at(schedule, at(9), now)[0].kind == av.NOTICE
    assert av.reasons_at(schedule, at(3), now)[0].kind == av.NOTICE  # the past
    assert av.reasons_at(schedule, at(60), now)[0].kind == av.HORIZON


def test_several_users_are_free_together_only_when_each_is():
    ana = av.Schedule(LONDON, WEEKDAY_9_17, av.Rules(), [av.Busy(at(10), at(11), "Work")])
    ben = av.Schedule("Europe/Berlin", WEEKDAY_9_17, av.Rules())  # 08:00-16:00 UTC
    assert av.common_free([ana, ben], T, at(24), NEVER_MIND) == [(at(9), at(10)),
                                                                 (at(11), at(16))]
    assert av.common_free([], T, at(1), NEVER_MIND) == [(T, at(1))]


def test_no_working_hours_means_any_hour():
    schedule = av.Schedule("Asia/Taipei", None, av.Rules())
    assert av.free_intervals(schedule, T, at(48), NEVER_MIND) == [(T, at(48))]


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe"])
def test_busy_span_covers_whole_local_days_and_buffers(zone):
    rules = av.Rules(buffer_before=timedelta(minutes=10), buffer_after=timedelta(minutes=20))
    lo, hi = av.busy_span(av.Schedule(zone, None, rules), at(12), at(13))
    tz = ZoneInfo(zone)
    assert lo <= day_bounds(at(12).astimezone(tz).date(), tz)[0] - timedelta(minutes=20)
    assert hi >= day_bounds(at(13).astimezone(tz).date(), tz)[1] + timedelta(minutes=10)
