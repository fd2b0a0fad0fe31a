"""My meetings (issue 20): the top bar's Calendar opens the signed-in user's agenda across
records (host, organizer or attendee), colleagues' meetings the viewer is not part of
only as Busy, filters by outcome and "needs an outcome", tenant isolation, a fixed number
of queries; calendar connections moved under the user's settings."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests import test_query_counts
from tests.test_query_counts import add_meeting, count_get
from webapp.meetings.calendar_view import week_start
from webapp.meetings.timemath import to_zone
from webapp.types import utcnow

ZONE = "America/New_York"
#: An account with a logged-in rep and a colleague (shared with the query-count tests).
team = test_query_counts.team


def _monday() -> datetime:
    today = to_zone(utcnow(), ZONE).date()
    return datetime.combine(week_start(today), time(0), tzinfo=ZoneInfo(ZONE))


def _week(client, **args) -> str:
    query = "&".join(f"{k}={v}" for k, v in args.items())
    response = client.get(f"/calendar?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _desktop(html: str) -> str:
    """The desktop week of an agenda page (the phone's day list follows it)."""
    return html.split('id="agenda-week"')[1].split('id="agenda-day"')[0]


def test_top_bar_calendar_opens_my_meetings(client, team):
    html = client.get("/contacts").get_data(as_text=True)
    assert 'href="/calendar" id="my-meetings"' in html
    page = client.get("/calendar").get_data(as_text=True)
    assert "My meetings" in page and 'id="agenda-week"' in page and 'id="agenda-day"' in page


def test_agenda_shows_meetings_as_host_organizer_and_attendee(client, team, make, db):
    account, rep, colleague = team
    contact = make.contact(account)
    monday = _monday()
    hosted = add_meeting(db, account, rep, "Hosted by me", monday + timedelta(hours=9),
                         [contact])
    attended = add_meeting(db, account, colleague, "Colleague invited me",
                           monday + timedelta(days=1, hours=9), users=[rep])
    organized = add_meeting(db, account, colleague, "Booked for colleague",
                            monday + timedelta(days=2, hours=9))
    organized.organizer_id = rep.id
    add_meeting(db, account, colleague, "Not mine", monday + timedelta(days=3, hours=9))
    add_meeting(db, account, rep, "Deleted one", monday + timedelta(days=3, hours=11),
                deleted=True)
    add_meeting(db, account, rep, "Meeting next week", monday + timedelta(days=8, hours=9))
    db.session.commit()
    html = _week(client, day=monday.date().isoformat())
    for m in (hosted, attended, organized):
        assert m.title in html and f'href="/meetings/{m.id}"' in html
    for title in ("Not mine", "Deleted one", "Meeting next week"):
        assert title not in html
    assert "Busy" not in _desktop(html)
    # The phone's day list: the chosen day only.
    day_list = _week(client, day=(monday + timedelta(days=1)).date().isoformat()) \
        .split('id="agenda-day"')[1]
    assert "Colleague invited me" in day_list and "Hosted by me" not in day_list
    assert "Meeting next week" in _week(client, day=(monday + timedelta(days=8)).date().isoformat())


def test_a_colleagues_agenda_shows_busy_without_titles(client, team, make, db):
    account, rep, colleague = team
    monday = _monday()
    private = add_meeting(db, account, colleague, "Secret pricing talk",
                          monday + timedelta(hours=10))
    shared = add_meeting(db, account, colleague, "We both attend",
                         monday + timedelta(days=1, hours=10), users=[rep])
    html = _week(client, day=monday.date().isoformat(), user=colleague.id)
    assert "Colleague&#39;s meetings" in html or "Colleague's meetings" in html
    assert "Secret pricing talk" not in html and f"/meetings/{private.id}" not in html
    assert _desktop(html).count(">Busy<") == 1
    assert "We both attend" in html and f'href="/meetings/{shared.id}"' in html
    # A filter leaves Busy blocks out (their outcome is not the viewer's to know).
    filtered = _week(client, day=monday.date().isoformat(), user=colleague.id,
                     outcome="scheduled")
    filtered = _desktop(filtered)
    assert ">Busy<" not in filtered and "We both attend" in filtered


def test_agenda_is_isolated_by_account(client, team, make, db):
    account, rep, _colleague = team
    stranger = make.user(make.account(), name="Stranger")
    add_meeting(db, stranger.account, stranger, "Foreign", _monday() + timedelta(hours=9),
                users=[])
    # A meeting of another account naming the rep's id as attendee is never shown.
    foreign = add_meeting(db, stranger.account, stranger, "Foreign with rep id",
                          _monday() + timedelta(hours=11))
    foreign.host_id = rep.id  # a forged row: the account check still hides it
    db.session.commit()
    html = _week(client, day=_monday().date().isoformat())
    assert "Foreign" not in html and "Busy" not in _desktop(html)
    assert client.get(f"/calendar?user={stranger.id}").status_code == 404
    assert "Stranger" not in html


def test_agenda_filters_by_outcome_and_needs_an_outcome(client, team, make, db, clock):
    account, rep, _colleague = team
    now = utcnow()
    monday = _monday()
    past = add_meeting(db, account, rep, "Past still scheduled",
                       max(monday, now - timedelta(days=2)) + timedelta(minutes=1))
    if past.end_at > now:  # the week began less than 31 minutes ago: move the clock on
        clock.shift(timedelta(hours=1))
    done = add_meeting(db, account, rep, "Past completed", past.start_at)
    done.outcome = "completed"
    future = add_meeting(db, account, rep, "Upcoming", now + timedelta(hours=2))
    db.session.commit()
    day = to_zone(past.start_at, ZONE).date().isoformat()
    html = _week(client, day=day, needs_outcome=1)
    assert "Past still scheduled" in html and "Needs an outcome" in html
    assert "Past completed" not in html and "Upcoming" not in html
    html = _week(client, day=day, outcome="completed")
    assert "Past completed" in html and "Past still scheduled" not in html
    unfiltered = _week(client, day=to_zone(future.start_at, ZONE).date().isoformat())
    assert "Upcoming" in unfiltered


def test_needs_an_outcome_lists_every_past_meeting_not_only_the_week(client, team, make, db,
                                                                     clock):
    account, rep, colleague = team
    now = utcnow()
    old = add_meeting(db, account, rep, "Three weeks ago", now - timedelta(days=21))
    done = add_meeting(db, account, rep, "Done last month", now - timedelta(days=30))
    done.outcome = "completed"
    add_meeting(db, account, colleague, "Not mine", now - timedelta(days=14))
    add_meeting(db, account, rep, "Later today", now + timedelta(hours=3))
    db.session.commit()
    html = _week(client, needs_outcome=1)  # this week: none of them is in it
    backlog = html.split('id="needs-outcome-backlog"')[1].split("</section>")[0]
    assert "Three weeks ago" in backlog and f"/meetings/{old.id}" in backlog
    assert "Done last month" not in backlog and "Not mine" not in backlog
    assert "Later today" not in backlog
    assert 'id="needs-outcome-backlog"' not in _week(client)


def test_calendar_connections_moved_under_settings(client, team):
    response = client.get("/settings/calendar?next=/calendar")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/settings/profile/calendar?next=/calendar")
    page = client.get("/settings/profile/calendar").get_data(as_text=True)
    assert "Connect a calendar" in page
    assert 'href="/settings/profile/calendar"' in client.get("/settings/profile") \
        .get_data(as_text=True)
    assert 'href="/settings/profile/calendar"' in client.get("/calendar").get_data(as_text=True)


def test_agenda_queries_do_not_grow_with_its_meetings(client, team, make, db, count_queries):
    account, rep, colleague = team
    monday = _monday()
    url = f"/calendar?day={monday.date().isoformat()}"
    add_meeting(db, account, rep, "First", monday + timedelta(hours=9), [make.contact(account)])
    client.get(url)
    few, html, _ = count_get(client, count_queries, db, url)
    assert "First" in html
    for i in range(30):
        at = monday + timedelta(days=i % 7, hours=8 + i % 9)
        if i % 3 == 0:
            add_meeting(db, account, colleague, f"Grown {i}", at, users=[rep])
        else:
            add_meeting(db, account, rep, f"Grown {i}", at, [make.contact(account)])
    many, html, statements = count_get(client, count_queries, db, url)
    assert many == few, statements[few:]
    assert "Grown 29" in html
    # A colleague's agenda, filtered: the same number, and one query for the meetings
    # that need an outcome beyond the week shown.
    other, _html, statements = count_get(client, count_queries, db,
                                         f"{url}&user={colleague.id}&needs_outcome=1")
    assert other == few + 1, statements
