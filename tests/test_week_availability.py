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


def test_colleagues_not_free_make_one_bar_and_each_slot_names_who(client, make, login, db):
    """Two attendee colleagues busy at overlapping times: the overlay is one bar over the
    time either is not free (not a bar each drawn over the other), and each slot names
    whoever is not free in it."""
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    rep, ann, bob = (make.user(account, name=name, seat_kind_id=seat.id,
                               timezone="America/New_York") for name in ("Rita", "Ann", "Bob"))
    for user in (rep, ann, bob):
        availability.save_profile(user, {"use_hours": ""})  # any hour is working time
    monday = monday_after()
    for user, start, end in ((ann, "10:00", "11:30"), (bob, "11:00", "12:00"),
                             (bob, "15:00", "16:00")):
        db.session.add(Meeting(account_id=account.id, title="Busy", host_id=user.id,
                               organizer_id=user.id, start_at=local(monday, start),
                               end_at=local(monday, end), timezone="America/New_York",
                               sequence=0, outcome="scheduled"))
    db.session.commit()
    login(rep)
    html = client.get(f"/meetings/calendar?host_id={rep.id}&week={monday.isoformat()}"
                      f"&timezone=America/New_York&with={ann.id},{bob.id}").get_data(as_text=True)
    column = day_column(html, monday)
    assert re.findall(r'class="shade shade-attendee" style="top: (\d+)px; height: (\d+)px"',
                      column) == [("480", "96"), ("720", "48")]  # 10:00-12:00, 15:00-16:00
    assert 'data-why="Ann is not free"' in slot(html, monday, "10:30")
    assert 'data-why="Ann is not free; Bob is not free"' in slot(html, monday, "11:00")
    assert 'data-why="Bob is not free"' in slot(html, monday, "11:30")
    assert "data-why" not in slot(html, monday, "12:00")
    assert 'shade-attendee' not in day_column(html, monday + timedelta(days=1))


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


#: The day column as meetings/_week.html drew it in Jinja before #24 moved it to
#: webapp.meetings.week_grid: the reference the Python drawing must equal byte for byte
#: (but for its dashes, written as character references).
JINJA_COLUMN = (
    """{% for sh in day.shades %}<div class="shade shade-{{ sh.kind }}" style="top: {{ sh.top }}px; height: {{ sh.height }}px" aria-hidden="true"></div>{% endfor %}
      {% for sh in day.overlays %}<div class="shade shade-attendee" style="top: {{ sh.top }}px; height: {{ sh.height }}px" aria-hidden="true"></div>{% endfor %}
      {% for hm in slot_labels %}{% set why = day.why.get(hm) %}<button type="button" class="slot{{ ' unavailable' if why }}" data-date="{{ iso }}" data-time="{{ hm }}" aria-label="{{ day_label }} {{ hm }}{{ ': ' ~ why if why }}"{% if why %} title="{{ why }}" data-why="{{ why }}"{% endif %} tabindex="-1"></button>{% endfor %}
      {% for b in day.blocks %}{% set text = busy_label if b.busy else b.title %}<div class="event{{ ' busy' if b.busy }}" style="top: {{ b.top }}px; height: {{ b.height }}px" title="{{ text }} {{ b.label }}"><span>{{ text }}</span> <small>{{ b.label }}</small></div>{% endfor %}""")  # noqa: E501


def test_the_week_grid_is_drawn_as_the_jinja_template_drew_it(client, make, login, db, app,
                                                               monkeypatch):
    from markupsafe import Markup

    from webapp.meetings import week_grid
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    rep = make.user(account, name="Rita <Rep>", seat_kind_id=seat.id,
                    timezone="America/New_York")
    boss = make.user(account, name="Bo Boss", seat_kind_id=seat.id, role="admin",
                     timezone="America/New_York")
    colleague = make.user(account, name="Cal & Co", timezone="America/New_York")
    availability.save_profile(rep, {"use_hours": "1", **{f"day_{d}": "09:00-17:00"
                                                         for d in range(5)},
                                    "buffer_before": "30"})
    monday = date(2027, 3, 8)  # the week of the March 2027 clock change
    for title, day, start, end, host in (
            ("Long <workshop> & lunch", monday, "10:00", "12:00", rep),
            ("Short \"check\"", monday, "10:30", "11:00", rep),
            ("Late call", monday + timedelta(days=2), "23:30", "23:59", rep),
            ("Cal's review", monday + timedelta(days=1), "14:00", "15:00", colleague),
            ("Sunday shift", date(2027, 3, 14), "01:00", "04:00", rep)):
        db.session.add(Meeting(account_id=account.id, title=title, host_id=host.id,
                               organizer_id=host.id, start_at=local(day, start),
                               end_at=local(day, end), timezone="America/New_York",
                               sequence=0, outcome="scheduled"))
    db.session.commit()
    login(rep)
    url = (f"/meetings/calendar?host_id={rep.id}&week={monday.isoformat()}"
           f"&timezone=America/New_York&with={colleague.id}")
    drawn = client.get(url).get_data(as_text=True)
    # The first meeting (by start) holding a time names it, though a later one overlaps.
    assert 'data-why="Long &lt;workshop&gt; &amp; lunch (Parley)"' in slot(drawn, monday, "10:30")
    assert 'data-why="Buffer between meetings"' in slot(drawn, monday, "09:30")
    assert "Cal &amp; Co is not free" in slot(drawn, monday + timedelta(days=1), "14:00")
    assert 'class="shade shade-dst_gap"' in drawn and drawn.count('class="event') == 4
    day_column_drawn = week_grid.day_column
    reference = app.jinja_env.from_string(JINJA_COLUMN)
    # Each view drawn, not a kept grid served (whichever drawing made it).
    monkeypatch.setitem(app.config, "WEEK_GRIDS_KEPT", 0)
    monkeypatch.setattr(week_grid, "day_column", lambda day, slot_labels, iso, day_label,
                        busy_label: Markup(reference.render(
                            day=day, slot_labels=slot_labels, iso=iso, day_label=day_label,
                            busy_label=busy_label)))
    # The same but for the blocks' dashes, character references in the Python drawing: an
    # English grid is ASCII.
    assert drawn.isascii() and "10:00&#8211;12:00" in drawn
    assert client.get(url).get_data(as_text=True) == drawn.replace("&#8211;", "–")
    client.post("/logout")
    login(boss)  # sees "Busy", not the titles
    drawn = client.get(url.replace(f"&with={colleague.id}", "")).get_data(as_text=True)
    monkeypatch.setattr(week_grid, "day_column", day_column_drawn)
    assert client.get(url.replace(f"&with={colleague.id}", "")).get_data(
        as_text=True).replace("&#8211;", "–") == drawn
    assert "workshop" not in drawn and 'title="Busy 10:00–12:00"' in drawn


def day_column(html: str, day: date) -> str:
    match = re.search(rf'<div class="day-col" data-date="{day.isoformat()}">(.*?)\n    </div>',
                      html, re.S)
    assert match, day
    return match.group(1)


def test_on_a_day_the_clocks_change_shades_and_events_keep_to_the_wall_clock_rows(
        client, make, login, db):
    # 31 October 2027 in London has 25 hours (01:00-02:00 twice); the column still has 48
    # rows of half an hour, so what starts at 10:00 is drawn on the 10:00 row, not an hour
    # lower, and nothing runs past the column's end (48 x 24 px).
    account = make.account(timezone="Europe/London")
    user = make.user(account, timezone="Europe/London")
    availability.save_profile(user, {"use_hours": "1", "day_6": "10:00-14:00"})
    sunday = date(2027, 10, 31)
    db.session.add(Meeting(account_id=account.id, title="Sunday brunch", host_id=user.id,
                           organizer_id=user.id, start_at=local(sunday, "11:00", "Europe/London"),
                           end_at=local(sunday, "12:00", "Europe/London"),
                           timezone="Europe/London", sequence=0, outcome="scheduled"))
    db.session.commit()
    login(user)
    html = client.get(f"/meetings/calendar?host_id={user.id}&week=2027-10-25"
                      f"&timezone=Europe/London").get_data(as_text=True)
    column = day_column(html, sunday)
    assert ('class="shade shade-outside_hours" style="top: 0px; height: 480px"' in column)
    assert ('class="shade shade-outside_hours" style="top: 672px; height: 480px"' in column)
    assert 'style="top: 528px; height: 48px" title="Sunday brunch 11:00&#8211;12:00"' in column
    assert "data-why" not in slot(html, sunday, "13:30")
    assert 'data-why="Outside working hours"' in slot(html, sunday, "14:00")


def test_a_slot_names_each_colleague_not_free_in_their_order():
    """The names after a slot's reason (#21): every colleague whose overlay holds the slot,
    in the order they were given, up to the sixteen a slot's code holds."""
    from webapp.meetings.calendar_view import _who
    assert _who(["Ann", "Bo", "Cy"], [[(0, 2)], [(1, 3), (3, 3)], []], 4) == [
        "Ann", "Ann; Bo", "Bo", ""]
    names = [f"User {k}" for k in range(16)]
    assert _who(names, [[(0, 1)]] * 15 + [[(1, 2)]], 3) == [
        "; ".join(names[:15]), "User 15", ""]
