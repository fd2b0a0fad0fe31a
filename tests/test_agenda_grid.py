"""My meetings' desktop week is a time grid (issue #20): hours down, days across, each
meeting placed by its start and end, overlapping meetings side by side, a multi-day
meeting on each of its days, the grid opened at the working day; the phone keeps its day
list. (The query count stays fixed: tests/test_agenda.py.)"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from tests import test_query_counts
from tests.test_agenda import _desktop, _monday, _week
from tests.test_query_counts import add_meeting
from webapp.meetings.agenda_grid import place_day

ZONE = "America/New_York"
TZ = ZoneInfo(ZONE)
team = test_query_counts.team
DAY = date(2027, 3, 3)


def _item(title, start, end, day=DAY):
    return SimpleNamespace(title=title, start=datetime.combine(day, start, tzinfo=TZ) if not
                           isinstance(start, datetime) else start,
                           end=datetime.combine(day, end, tzinfo=TZ) if not
                           isinstance(end, datetime) else end)


def _placed(items, day=DAY):
    placed, columns = place_day(items, day, TZ)
    return {p.item.title: (p.row, p.rows, p.column, p.columns) for p in placed}, columns


def test_overlapping_meetings_sit_side_by_side_and_others_take_the_width():
    placed, columns = _placed([
        _item("A", time(9), time(10)), _item("B", time(9, 30), time(10, 30)),
        _item("C", time(10), time(11)),                      # overlaps B only: A's lane
        _item("D", time(13), time(14)), _item("E", time(13), time(13, 30)),
        _item("F", time(13), time(13, 10)), _item("Alone", time(15), time(15, 5))])
    assert columns == 6  # 2 lanes and 3 lanes share it exactly
    # 09:00 is row 109 (5-minute rows from 1); an hour is 12 rows.
    assert placed["A"] == (109, 12, 1, 3) and placed["B"] == (115, 12, 4, 3)
    assert placed["C"] == (121, 12, 1, 3)
    assert [placed[k][2:] for k in "DEF"] == [(1, 2), (3, 2), (5, 2)]
    assert placed["Alone"] == (181, 1, 1, 6)  # five minutes: one row, the whole width


def test_a_meeting_widens_over_free_lanes_to_its_right():
    placed, _ = _placed([_item("Long", time(9), time(12)), _item("Early", time(9), time(10)),
                         _item("Late", time(11), time(12)), _item("Mid", time(9, 30),
                                                                  time(10, 30))])
    # Three lanes: Long, Early/Late, Mid. Late overlaps nothing in the third lane: it widens.
    assert placed["Long"][2:] == (1, 1) and placed["Early"][2:] == (2, 1)
    assert placed["Mid"][2:] == (3, 1) and placed["Late"][2:] == (2, 2)


def test_a_multi_day_meeting_is_on_each_of_its_days():
    start = datetime.combine(DAY, time(22), tzinfo=TZ)
    item = _item("Offsite", start, start + timedelta(hours=36))
    first, _ = _placed([item])
    second, _ = _placed([item], DAY + timedelta(days=1))
    third, _ = _placed([item], DAY + timedelta(days=2))
    assert first["Offsite"][:2] == (265, 24)  # 22:00 to midnight
    assert second["Offsite"][:2] == (1, 288)  # the whole day
    assert third["Offsite"][:2] == (1, 120)   # until 10:00


def test_the_week_page_is_a_time_grid_opened_at_the_working_day(client, team, make, db):
    account, rep, colleague = team
    monday = _monday()
    first = add_meeting(db, account, rep, "Pipeline review", monday + timedelta(hours=9))
    second = add_meeting(db, account, colleague, "Pricing call",
                         monday + timedelta(hours=9, minutes=15), users=[rep])
    add_meeting(db, account, colleague, "Secret", monday + timedelta(days=1, hours=14))
    html = _week(client, day=monday.date().isoformat())
    week = _desktop(html)
    events = re.findall(r'<li class="agenda-event[^"]*" style="grid-row: (\d+) / span (\d+); '
                        r'grid-column: (\d+) / span (\d+)"[^>]*>\s*<a class="agenda-title" '
                        r'href="/meetings/(\d+)"', week)
    assert sorted(events) == [("109", "6", "1", "1", str(first.id)),
                              ("112", "6", "2", "1", str(second.id))]
    assert week.count('class="agenda-day-grid') == 7 and week.count('class="agenda-hour"') == 24
    assert re.search(r'class="agenda-hour" data-scroll-here>08:00<', week)
    assert 'src="/static/js/agenda.js' in html or "js/agenda.js" in html
    # The phone's day list is still a list of the day's meetings.
    day_list = html.split('id="agenda-day"')[1]
    assert "Pipeline review" in day_list and "Pricing call" in day_list
    # A colleague's week: their meeting the rep is not part of is a Busy block, no title.
    theirs = _desktop(_week(client, day=monday.date().isoformat(), user=colleague.id))
    busy = re.search(r'<li class="agenda-event busy[^"]*" style="grid-row: (\d+) / span (\d+)',
                     theirs)
    assert busy and busy.groups() == ("169", "6") and "Secret" not in theirs


def test_an_early_meeting_opens_the_grid_at_its_hour(client, team, db):
    account, rep, _colleague = team
    monday = _monday()
    add_meeting(db, account, rep, "Early call", monday + timedelta(days=2, hours=6, minutes=30))
    week = _desktop(_week(client, day=monday.date().isoformat()))
    assert re.search(r'class="agenda-hour" data-scroll-here>06:00<', week)
