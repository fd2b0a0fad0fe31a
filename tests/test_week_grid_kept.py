"""The scheduler's week grid kept by all it shows (#24, calendar_view.week_html): a kept
grid is the grid drawn at that moment, and whatever it shows changing draws it again at
the next view, while a colleague's save elsewhere in the account leaves it kept."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import g
from flask_babel import refresh

from tests.meeting_helpers import form, future_day, local, reads_meeting_rows, schedule
from webapp.availability import settings as availability
from webapp.meetings.calendar_view import week_start
from webapp.meetings.models import Meeting

ZONE = "America/New_York"


@pytest.fixture()
def team(make, login):
    account = make.account(timezone=ZONE)
    seat = make.seat(account, paid=True)
    rep = login(make.user(account, timezone=ZONE, name="Rita Rep", seat_kind_id=seat.id))
    colleague = make.user(account, timezone=ZONE, name="Cal Colleague", seat_kind_id=seat.id)
    return account, rep, colleague


def minute_start(clock) -> None:
    """A kept grid is kept for its minute: start the test at the minute's first second
    (the clock ticks on), so that no view of it crosses into the next minute."""
    clock.move_to(clock.now().replace(second=1, microsecond=0))


def view(client, count_queries, db, url: str) -> tuple[int, str]:
    """One view as a fresh request makes it: (statements, HTML)."""
    db.session.rollback()
    g.pop("_login_user", None)
    refresh()  # the test's app context outlives requests: forget the language chosen
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    view.drawn = reads_meeting_rows(counter.statements)
    return counter.count, response.get_data(as_text=True)


def grid_url(host_id: int, day: date) -> str:
    return (f"/meetings/calendar?host_id={host_id}&week={week_start(day).isoformat()}"
            f"&timezone={ZONE}")


def test_what_the_grid_shows_changing_draws_it_again(client, team, db, count_queries, clock):
    account, rep, colleague = team
    minute_start(clock)
    day = future_day(9)
    assert schedule(client, title="Pricing call", start_date=day).status_code == 302
    meeting = db.session.query(Meeting).filter_by(title="Pricing call").one()
    url = grid_url(rep.id, day)
    drawn, first = view(client, count_queries, db, url)
    assert "Pricing call<" in first
    kept, again = view(client, count_queries, db, url)
    assert again == first and kept < drawn

    # A colleague's meeting, in the same account and the same week: nothing this grid
    # shows, so it stays kept.
    colleague_meeting = Meeting(account_id=account.id, title="Cal's own call",
                                host_id=colleague.id, organizer_id=colleague.id,
                                start_at=local(day, "13:00"), end_at=local(day, "14:00"),
                                timezone=ZONE, sequence=0, outcome="scheduled")
    db.session.add(colleague_meeting)
    db.session.commit()
    count, html = view(client, count_queries, db, url)
    assert count == kept and html == first

    # Renamed in the scheduler: the new title at the next view.
    r = client.post(f"/meetings/{meeting.id}/edit", data=form(title="Renamed call",
                                                              start_date=day))
    assert r.status_code == 302
    count, html = view(client, count_queries, db, url)
    assert count == drawn and "Renamed call<" in html and "Pricing call" not in html

    # Moved to another time of the day: drawn at its new place.
    client.post(f"/meetings/{meeting.id}/edit", data=form(title="Renamed call", start_date=day,
                                                          start_time="15:00",
                                                          end_time="15:30"))
    _, moved = view(client, count_queries, db, url)
    assert moved != html and "15:00&#8211;15:30" in moved

    # The rep becomes an attendee of the colleague's meeting: it is on their grid now.
    client.post(f"/meetings/{colleague_meeting.id}/edit", data=form(
        title="Cal's own call", start_date=day, start_time="13:00", end_time="14:00",
        attendees=[f"user:{rep.id}"]))
    db.session.rollback()
    assert rep.id in [a.user_id for a in db.session.get(Meeting, colleague_meeting.id).attendees]
    _, html = view(client, count_queries, db, url)
    assert "Cal&#39;s own call<" in html and view.drawn

    # Deleted: gone at the next view.
    assert client.post(f"/meetings/{meeting.id}/delete").status_code in (302, 303)
    _, html = view(client, count_queries, db, url)
    assert "Renamed call" not in html


def test_hours_language_viewer_and_the_clock_each_draw_their_own_grid(
        client, team, make, login, db, count_queries, clock):
    account, rep, colleague = team
    minute_start(clock)
    day = future_day(9)
    schedule(client, title="Secret pricing call", start_date=day)
    url = grid_url(rep.id, day)
    view(client, count_queries, db, url)
    kept, html = view(client, count_queries, db, url)
    assert 'class="shade shade-outside_hours"' not in html  # no working hours: any hour

    # Working hours set in the profile: shaded at the next view.
    availability.save_profile(rep, {"use_hours": "1", **{f"day_{d}": "09:00-17:00"
                                                         for d in range(5)}})
    db.session.commit()
    _, html = view(client, count_queries, db, url)
    assert 'class="shade shade-outside_hours"' in html
    assert "Outside working hours" in html

    # Another language: its own grid.
    rep.locale = "zh_Hant"
    db.session.commit()
    _, chinese = view(client, count_queries, db, url)
    assert "非工作時間" in chinese and "Outside working hours" not in chinese
    rep.locale = "en"
    db.session.commit()
    count, english = view(client, count_queries, db, url)
    assert count == kept and english == html

    # A colleague sees the rep's kept week without its titles.
    client.post("/logout")
    login(colleague)
    _, theirs = view(client, count_queries, db, url)
    assert "Secret pricing call" not in theirs and "Busy" in theirs
    _, again = view(client, count_queries, db, url)
    assert again == theirs and not view.drawn

    # A week beyond the rep's notice and horizon does not move with the clock: kept a
    # minute later.
    clock.shift(timedelta(minutes=1))
    view(client, count_queries, db, url)
    assert not view.drawn


def test_a_week_the_clock_reaches_into_is_kept_for_its_minute(client, team, db,
                                                               count_queries, clock):
    """The past (and what is before the host's minimum notice) is shaded from "now"."""
    account, rep, colleague = team
    minute_start(clock)
    this_week = grid_url(rep.id, future_day(0))
    view(client, count_queries, db, this_week)
    view(client, count_queries, db, this_week)
    assert not view.drawn
    clock.shift(timedelta(minutes=1))
    view(client, count_queries, db, this_week)
    assert view.drawn

    # A later week, reached by a notice of 30 days.
    later = grid_url(rep.id, future_day(9))
    view(client, count_queries, db, later)
    clock.shift(timedelta(minutes=1))
    view(client, count_queries, db, later)
    assert not view.drawn
    availability.save_profile(rep, {"min_notice": str(60 * 24 * 30)})
    db.session.commit()
    _, html = view(client, count_queries, db, later)
    assert view.drawn and "Too soon (minimum notice)" in html
    view(client, count_queries, db, later)
    assert not view.drawn
    clock.shift(timedelta(minutes=1))
    view(client, count_queries, db, later)
    assert view.drawn


def test_a_kept_grid_is_the_grid_drawn(client, team, db, count_queries, app, monkeypatch,
                                       clock):
    account, rep, colleague = team
    minute_start(clock)
    day = future_day(9)
    schedule(client, title="Pricing call", start_date=day, attendees=[f"user:{colleague.id}"])
    url = grid_url(rep.id, day) + f"&with={colleague.id}"
    view(client, count_queries, db, url)
    _, kept = view(client, count_queries, db, url)
    monkeypatch.setitem(app.config, "WEEK_GRIDS_KEPT", 0)
    _, drawn = view(client, count_queries, db, url)
    assert kept == drawn and "Cal Colleague is not free" in drawn
