"""The scheduler's week shows why time is not free (#21): shaded by reason, each slot's
reason in its title (hover) and data-why (tap), attendee users' busy time overlaid."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.meeting_helpers import local
from webapp.availability import settings as availability
from webapp.meetings.models import Meeting


def slot(html: str, day: date, hhmm: str) -> str:
    match = re.search(rf'<button type="button" class="slot[^"]*" data-date="{day.isoformat()}" '
                      rf'data-time="{hhmm}"[^>]*>', html)
    assert match, (day, hhmm)
    return match.group(0)


def monday_after(days: int = 14) -> date:
    from datetime import UTC, datetime
    day = datetime.now(UTC).date() + timedelta(days=days)
    return day - timedelta(days=day.weekday())


def test_the_week_says_why_each_slot_is_not_free(client, make, login, db):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    rep = make.user(account, name="Rita Rep", seat_kind_id=seat.id, timezone="America/New_York")
    boss = make.user(account, name="Bo Boss", seat_kind_id=seat.id, role="admin",
                     timezone="America/New_York")
    colleague = make.user(account, name="Cal Colleague", seat_kind_id=seat.id,
                          timezone="America/New_York")
    availability.save_profile(rep, {"use_hours": "1", **{f"day_{d}": "09:00-17:00"
                                                         for d in range(5)},
                                    "buffer_after": "30"})
    monday = monday_after()
    tuesday = monday + timedelta(days=1)
    db.session.add(Meeting(account_id=account.id, title="Secret pricing call", host_id=rep.id,
                           organizer_id=rep.id, start_at=local(monday, "10:00"),
                           end_at=local(monday, "11:00"), timezone="America/New_York",
                           sequence=0, outcome="scheduled"))
    db.session.add(Meeting(account_id=account.id, title="Cal's review", host_id=colleague.id,
                           organizer_id=colleague.id, start_at=local(tuesday, "14:00"),
                           end_at=local(tuesday, "15:00"), timezone="America/New_York",
                           sequence=0, outcome="scheduled"))
    db.session.commit()
    login(rep)
    url = f"/meetings/calendar?host_id={rep.id}&week={monday.isoformat()}&timezone=America/New_York"
    html = client.get(url).get_data(as_text=True)
    assert 'data-why="Outside working hours"' in slot(html, monday, "08:30")
    assert 'title="Outside working hours"' in slot(html, monday, "08:30")
    assert "data-why" not in slot(html, monday, "09:00")
    assert 'data-why="Secret pricing call (Parley)"' in slot(html, monday, "10:00")
    assert 'data-why="Buffer between meetings"' in slot(html, monday, "11:00")
    assert "data-why" not in slot(html, monday, "11:30")
    assert 'class="shade shade-outside_hours"' in html and 'class="shade shade-buffer"' in html
    assert 'id="week-why" aria-live="polite"' in html
    # Another user sees the reason and the calendar, not the title.
    client.post("/logout")
    login(boss)
    html = client.get(url).get_data(as_text=True)
    assert 'data-why="Busy on Parley"' in slot(html, monday, "10:00")
    assert "Secret pricing call" not in html
    # Attendee users' busy time overlaid; another account's user is ignored.
    outsider = make.user(make.account(), name="Olga Outside")
    html = client.get(f"{url}&with={colleague.id},{outsider.id}").get_data(as_text=True)
    assert "Cal Colleague is not free" in slot(html, tuesday, "14:00")
    assert "shade shade-attendee" in html and "Olga" not in html
    assert "Cal&#39;s review" not in html and "Cal's review" not in html


def test_the_skipped_hour_is_shaded_with_the_dst_reason(client, make, login, db):
    account = make.account(timezone="America/New_York")
    user = make.user(account, timezone="America/New_York")
    login(user)
    monday = date(2027, 3, 8)  # the week of Sunday 14 March 2027, 02:00 -> 03:00
    html = client.get(f"/meetings/calendar?host_id={user.id}&week={monday.isoformat()}"
                      f"&timezone=America/New_York").get_data(as_text=True)
    sunday = date(2027, 3, 14)
    assert "the clocks change" in slot(html, sunday, "02:30")
    assert "data-why" not in slot(html, sunday, "03:00") or "clocks" not in slot(
        html, sunday, "03:00")
    assert "shade shade-dst_gap" in html


def test_an_unreachable_calendar_is_named_on_the_week(client, make, login, db):
    from webapp.calendars.models import CalendarConnection
    account = make.account(timezone="America/New_York")
    user = make.user(account, timezone="America/New_York")
    db.session.add(CalendarConnection(account_id=account.id, user_id=user.id,
                                      provider="google", status="reconnect_needed"))
    db.session.commit()
    login(user)
    html = client.get(f"/meetings/calendar?host_id={user.id}&week={monday_after().isoformat()}"
                      f"&timezone=America/New_York").get_data(as_text=True)
    assert "Google calendar not reachable: busy time may be incomplete." in html
