"""Meeting reports (B8): the figures equal the meetings seeded; created by (organizer) and
assigned to (host) differ when someone books for someone else; periods in the viewer's
zone; filters; CSV of the rows behind each figure; bad input."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.clock import clock_edges
from webapp.meetings import inputs, queries, saving, validation
from webapp.meetings import operations as meeting_ops
from webapp.meetings.models import Meeting
from webapp.settings import operations as settings_ops

T0 = datetime(2027, 3, 10, 15, 0, tzinfo=UTC)
RANGE = {"from": "2027-03-01", "to": "2027-04-30"}


def book(account, organizer, start, host=None, title="Meeting", **kw):
    """Schedule through the same operation the scheduler uses (host may be someone else)."""
    data = inputs.MeetingInput(title=title, start=start, end=start + timedelta(minutes=30),
                                    timezone="UTC", host_id=host.id if host else None, **kw)
    errors = validation.validate(account, organizer, data)
    assert not errors, errors
    meeting = saving.schedule_meeting(account, organizer, data)
    if host is not None:
        assert meeting.host_id == host.id and meeting.organizer_id == organizer.id
    return meeting


@pytest.fixture()
def team(make, login, db):
    """Ann (admin, paid seat) books for herself and for Ben (paid seat); Cy has a free seat."""
    account = make.account(timezone="America/New_York")
    paid = make.seat(account, paid=True)
    free = make.seat(account, paid=False)
    ann = make.user(account, name="Ann Organizer", role="admin", seat_kind_id=paid.id,
                    timezone="UTC")
    ben = make.user(account, name="Ben Host", seat_kind_id=paid.id, timezone="UTC")
    cy = make.user(account, name="Cy Free", seat_kind_id=free.id, timezone="UTC")
    login(ann)
    return account, ann, ben, cy


def table(html: str) -> dict[str, int]:
    """{row label: count} from the report table."""
    body = html.split('id="report-table"', 1)[1].split("<tfoot>", 1)[0]
    return {label: int(n) for label, n in re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td>', body)}


def chart(html: str) -> dict[str, int]:
    """{bar label: count} from the SVG chart's bar titles."""
    svg = html.split('<svg id="report-chart"', 1)[1].split("</svg>", 1)[0]
    return {label: int(n) for label, n in re.findall(r"<title>([^<]+): (\d+)</title>", svg)}


def report(client, **args) -> dict[str, int]:
    r = client.get("/reports", query_string={**RANGE, **args})
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    html = r.get_data(as_text=True)
    rows = table(html)
    assert chart(html) == rows  # the chart draws the same figures as the table
    return rows


def csv_rows(client, **args) -> list[dict]:
    r = client.get("/reports/meetings.csv", query_string={**RANGE, **args})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(r.get_data().decode("utf-8-sig"))))


@pytest.fixture()
def seeded(team, make, db):
    """Seven counted meetings, plus a deleted one, one out of range, one of another account."""
    account, ann, ben, cy = team
    for i in range(3):
        book(account, ann, T0 + timedelta(days=i), title=f"Ann for Ann {i}")
    for i in range(2):
        book(account, ann, T0 + timedelta(days=i, hours=2), host=ben, title=f"Ann for Ben {i}")
    book(account, ben, T0 + timedelta(days=3), title="Ben for Ben")
    book(account, cy, T0 + timedelta(days=4), title="Cy for Cy")
    gone = book(account, ann, T0 + timedelta(days=5), host=ben, title="Deleted")
    saving.delete_meeting(gone, ann)
    book(account, ann, T0 + timedelta(days=90), title="Out of range")
    other = make.account()
    stranger = make.user(other, name="Ann Organizer")
    book(other, stranger, T0, title="Other account")
    db.session.commit()
    return team


def test_created_by_and_assigned_to_count_the_seeded_meetings(client, seeded):
    account, ann, ben, cy = seeded
    assert report(client, by="organizer") == {"Ann Organizer": 5, "Ben Host": 1, "Cy Free": 1}
    assert report(client, by="host") == {"Ann Organizer": 3, "Ben Host": 3, "Cy Free": 1}
    html = client.get("/reports", query_string={**RANGE, "by": "host"}).get_data(as_text=True)
    assert "7 meetings in total" in html
    # The rows behind Ben's bar: two booked by Ann, one by himself.
    rows = csv_rows(client, by="host", bucket=str(ben.id))
    assert sorted((r["Title"], r["Created by (organizer)"], r["Assigned to (host)"])
                  for r in rows) == [("Ann for Ben 0", "Ann Organizer", "Ben Host"),
                                     ("Ann for Ben 1", "Ann Organizer", "Ben Host"),
                                     ("Ben for Ben", "Ben Host", "Ben Host")]
    assert len(csv_rows(client, by="organizer", bucket=str(ann.id))) == 5
    everything = csv_rows(client, by="organizer")
    assert len(everything) == 7
    assert {"Deleted", "Out of range", "Other account"}.isdisjoint(r["Title"]
                                                                   for r in everything)


def test_filters_narrow_every_figure(client, seeded, make, db):
    account, ann, ben, cy = seeded
    assert report(client, by="organizer", host=ben.id) == {"Ann Organizer": 2, "Ben Host": 1}
    assert report(client, by="host", organizer=ann.id) == {"Ann Organizer": 3, "Ben Host": 2}
    assert report(client, by="host", organizer=ann.id, host=ann.id) == {"Ann Organizer": 3}
    deal = make.deal(account, name="Big deal")
    book(account, ann, T0 + timedelta(days=6), title="About the deal",
         associations=[("deal", deal.id)])
    db.session.commit()
    assert report(client, by="organizer", record_type="deal") == {"Ann Organizer": 1}
    assert [r["Title"] for r in csv_rows(client, by="organizer", record_type="deal")] == [
        "About the deal"]
    html = client.get("/reports", query_string={**RANGE, "by": "organizer",
                                                "record_type": "ticket"}).get_data(as_text=True)
    assert "No meetings match these filters." in html and 'id="report-table"' not in html


def test_outcomes_types_and_retired_outcomes(client, seeded, db):
    account, ann, ben, cy = seeded
    won = settings_ops.add_outcome(account.id, "Demo booked")
    lost = settings_ops.add_outcome(account.id, "Lost")
    demo_type = settings_ops.add_meeting_type(account.id, "Demo")
    account.custom_meeting_types_enabled = True
    # Rows of (user_id, id, title, start_at, end_at, outcome).
    ids = sorted(row[1] for row in queries.host_meetings(
        account.id, ben.id, T0 - timedelta(days=1), T0 + timedelta(days=30)))
    meetings = [db.session.get(Meeting, i) for i in ids]
    assert len(meetings) == 3
    assert meeting_ops.set_outcome(meetings[0], "completed")
    assert meeting_ops.set_outcome(meetings[1], won.key)
    assert meeting_ops.set_outcome(meetings[2], lost.key)
    settings_ops.set_outcome_active(lost, False)
    meetings[0].meeting_type_id = meetings[1].meeting_type_id = demo_type.id
    db.session.commit()
    assert report(client, by="outcome") == {"Scheduled": 4, "Completed": 1, "Rescheduled": 0,
                                            "No show": 0, "Canceled": 0, "Demo booked": 1,
                                            "Lost": 1}
    assert report(client, by="type") == {"No meeting type": 5, "Demo": 2}
    assert report(client, by="outcome", type=demo_type.id) == {
        "Scheduled": 0, "Completed": 1, "Rescheduled": 0, "No show": 0, "Canceled": 0,
        "Demo booked": 1}
    assert report(client, by="host", outcome="lost") == {"Ben Host": 1}
    rows = csv_rows(client, by="outcome", bucket=won.key)
    assert [(r["Outcome"], r["Meeting type"]) for r in rows] == [("Demo booked", "Demo")]
    assert len(csv_rows(client, by="type", bucket="none")) == 5


@clock_edges
def test_weeks_and_months_are_the_viewers(client, make, login, db):
    account = make.account(timezone="UTC")
    user = login(make.user(account, timezone="Asia/Taipei"))
    # Sunday 20:00 UTC is already Monday 04:00 in Taipei: the next week there.
    book(account, user, datetime(2027, 3, 7, 20, 0, tzinfo=UTC), title="Monday in Taipei")
    book(account, user, datetime(2027, 3, 7, 10, 0, tzinfo=UTC), title="Sunday in Taipei")
    # 31 March 18:00 UTC is 1 April 02:00 in Taipei.
    book(account, user, datetime(2027, 3, 31, 18, 0, tzinfo=UTC), title="April in Taipei")
    book(account, user, datetime(2027, 4, 30, 15, 59, tzinfo=UTC), title="Last minute")
    book(account, user, datetime(2027, 4, 30, 16, 0, tzinfo=UTC), title="May in Taipei")
    db.session.commit()
    weeks = report(client, by="week")
    assert list(weeks)[:3] == ["Week of Mar 1, 2027", "Week of Mar 8, 2027",
                               "Week of Mar 15, 2027"]
    assert weeks["Week of Mar 1, 2027"] == 1 and weeks["Week of Mar 8, 2027"] == 1
    assert weeks["Week of Mar 29, 2027"] == 1 and weeks["Week of Apr 26, 2027"] == 1
    assert sum(weeks.values()) == 4 and len(weeks) == 9  # every week shows, empty ones too
    assert report(client, by="month") == {"March 2027": 2, "April 2027": 2}
    html = client.get("/reports", query_string={**RANGE, "by": "week"}).get_data(as_text=True)
    assert "in your time zone, Asia/Taipei" in html
    rows = csv_rows(client, by="week", bucket="2027-03-08")
    assert [(r["Title"], r["Start (Asia/Taipei)"]) for r in rows] == [
        ("Monday in Taipei", "2027-03-08T04:00+08:00")]
    assert [r["Title"] for r in csv_rows(client, by="month", bucket="2027-04-01")] == [
        "April in Taipei", "Last minute"]


def test_months_across_daylight_saving_in_new_york(client, make, login, db):
    account = make.account(timezone="UTC")
    user = login(make.user(account, timezone="America/New_York"))
    # 23:30 on 31 March in New York (EDT, UTC-4) is 03:30 UTC on 1 April.
    book(account, user, datetime(2027, 4, 1, 3, 30, tzinfo=UTC))
    # 23:30 on 31 October (EDT) and 23:30 on 30 November (EST, UTC-5).
    book(account, user, datetime(2027, 11, 1, 3, 30, tzinfo=UTC))
    book(account, user, datetime(2027, 12, 1, 4, 30, tzinfo=UTC))
    db.session.commit()
    months = report(client, by="month", **{"from": "2027-03-01", "to": "2027-12-31"})
    assert months["March 2027"] == 1 and months["April 2027"] == 0
    assert months["October 2027"] == 1 and months["November 2027"] == 1
    assert months["December 2027"] == 0 and len(months) == 10


def test_counts_come_from_a_fixed_number_of_queries(client, team, db, count_queries):
    account, ann, ben, cy = team
    book(account, ann, T0)
    db.session.commit()
    few = {}
    for by in ("organizer", "host", "outcome", "type", "week", "month"):
        with count_queries() as counter:
            client.get("/reports", query_string={**RANGE, "by": by})
        few[by] = counter.count
    for i in range(30):
        book(account, ann, T0 + timedelta(hours=7 * i), host=ben if i % 2 else None)
    db.session.commit()
    for by, count in few.items():
        with count_queries() as counter:
            html = client.get("/reports", query_string={**RANGE, "by": by}).get_data(
                as_text=True)
        assert "31 meetings in total" in html
        assert counter.count == count, (by, counter.statements[count:])
        grouped = [s for s in counter.statements if "GROUP BY" in s.upper()]
        assert len(grouped) == 1, by


def test_csv_cells_cannot_run_as_formulas(client, team, db):
    account, ann, _ben, _cy = team
    book(account, ann, T0, title='=HYPERLINK("http://evil.example","x")')
    book(account, ann, T0 + timedelta(hours=1), title="+1 call")
    db.session.commit()
    titles = [r["Title"] for r in csv_rows(client, by="organizer")]
    assert titles == ['\'=HYPERLINK("http://evil.example","x")', "'+1 call"]


@pytest.mark.parametrize(("args", "field", "message"), [
    ({"from": "2027-13-01"}, "from", "YYYY-MM-DD"),
    ({"from": "2027-05-01", "to": "2027-04-01"}, "to", "on or after the start date"),
    ({"from": "2020-01-01", "to": "2027-01-01"}, "to", "at most two years"),
    ({"by": "weekday"}, "by", "Choose from the list"),
    ({"host": "999999"}, "host", "Choose a user from your account"),
    ({"organizer": "abc"}, "organizer", "Choose a user from your account"),
    ({"outcome": "bogus"}, "outcome", "Choose an outcome"),
    ({"type": "424242"}, "type", "Choose a meeting type"),
    ({"record_type": "planet"}, "record_type", "Choose a record type"),
])
def test_bad_filters_are_refused_at_the_field(client, seeded, args, field, message):
    r = client.get("/reports", query_string={**RANGE, **args})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert 'id="report-table"' not in html
    assert client.get("/reports/meetings.csv",
                      query_string={**RANGE, **args}).status_code == 422


def test_other_accounts_users_and_buckets_reveal_nothing(client, seeded, make, db):
    other = make.account()
    stranger = make.user(other, name="Stranger")
    book(other, stranger, T0, title="Secret")
    db.session.commit()
    r = client.get("/reports", query_string={**RANGE, "host": stranger.id})
    assert r.status_code == 422 and "Secret" not in r.get_data(as_text=True)
    rows = csv_rows(client, by="organizer", bucket=str(stranger.id))
    assert rows == []
    for by, bucket in (("organizer", "x"), ("host", "9" * 30), ("host", "-1"),
                       ("week", "2027-03-03"), ("month", "2030-01-01"), ("type", "zzz"),
                       ("outcome", "")):
        r = client.get("/reports/meetings.csv", query_string={**RANGE, "by": by,
                                                              "bucket": bucket})
        assert r.status_code == 422, (by, bucket)


def test_reports_need_a_login(client, db):
    r = client.get("/reports")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_report_page_is_swapped_by_htmx(client, seeded):
    r = client.get("/reports", query_string={**RANGE, "by": "host"},
                   headers={"HX-Request": "true", "HX-Target": "report"})
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="report">') and "<html" not in html
    assert table(html) == {"Ann Organizer": 3, "Ben Host": 3, "Cy Free": 1}
