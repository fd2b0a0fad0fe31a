"""Reports of #22: meetings by where they were made (Meeting.source), every source shown,
the CSV behind each figure, a fixed number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.test_reports import RANGE, T0, book, csv_rows, report, team  # noqa: F401

SOURCES = {"scheduler": 3, "phone": 2, "api": 1, "proposed_times": 1}


def seed(account, ann, db, per_source=SOURCES, offset=0):
    n = offset
    for source, count in per_source.items():
        for _ in range(count):
            book(account, ann, T0 + timedelta(hours=3 * n), title=f"From {source}",
                 source=source)
            n += 1
    db.session.commit()
    return n


def test_meetings_by_source(client, team, make, db):  # noqa: F811
    account, ann, _ben, _cy = team
    seed(account, ann, db)
    other = make.account()
    book(other, make.user(other), T0, title="Elsewhere", source="api")
    db.session.commit()
    rows = report(client, by="source")
    assert rows == {"Scheduler (desktop)": 3, "Phone": 2, "API": 1, "Scheduling page": 0,
                    "Proposed times": 1}
    # The rows behind one figure, each with its source.
    phone = csv_rows(client, by="source", bucket="phone")
    assert [r["Title"] for r in phone] == ["From phone", "From phone"]
    assert {r["Where it was made"] for r in phone} == {"Phone"}
    everything = csv_rows(client, by="source")
    assert len(everything) == 7
    # A bucket that is no source is refused.
    r = client.get("/reports/meetings.csv", query_string={**RANGE, "by": "source",
                                                           "bucket": "fax"})
    assert r.status_code == 422


def test_filters_apply_to_the_source_report(client, team, db):  # noqa: F811
    account, ann, ben, _cy = team
    seed(account, ann, db)
    book(account, ann, T0 + timedelta(days=5), host=ben, source="proposed_times")
    db.session.commit()
    assert report(client, by="source", host=ben.id)["Proposed times"] == 1
    assert sum(report(client, by="source", host=ben.id).values()) == 1


def test_source_report_queries_do_not_grow(client, team, db, count_queries):  # noqa: F811
    account, ann, _ben, _cy = team
    n = seed(account, ann, db, {"api": 1})
    with count_queries() as counter:
        client.get("/reports", query_string={**RANGE, "by": "source"})
    few = counter.count
    seed(account, ann, db, {s: 10 for s in SOURCES}, offset=n)
    with count_queries() as counter:
        html = client.get("/reports", query_string={**RANGE, "by": "source"}).get_data(
            as_text=True)
    assert "41 meetings in total" in html
    assert counter.count == few, counter.statements[few:]
    assert len([s for s in counter.statements if "GROUP BY" in s.upper()]) == 1


def booked_through(page, meeting, n):
    from webapp.booking.models import Booking
    return Booking(account_id=page.account_id, page_id=page.id, meeting_id=meeting.id,
                   token_hash=f"{page.id:08d}{n:056d}", answers={}, timezone="UTC",
                   status="booked")


def test_no_show_rate_per_scheduling_page(client, team, make, db, clock):  # noqa: F811
    from webapp.booking import operations as booking_ops
    account, ann, ben, _cy = team
    intro, _ = booking_ops.create_page(account, ann, {"title": "Intro", "slug": "intro-r"})
    demo, _ = booking_ops.create_page(account, ben, {"title": "Demo", "slug": "demo-r"})
    db.session.commit()
    now = clock.now()
    days = {"from": (now - timedelta(days=20)).date().isoformat(),
            "to": (now + timedelta(days=20)).date().isoformat()}

    def held(meeting, days_ago, outcome):
        # Booked earlier, held since: moved into the past as time would have.
        meeting.start_at = now - timedelta(days=days_ago)
        meeting.end_at = meeting.start_at + timedelta(minutes=30)
        meeting.outcome = outcome

    # Intro: 5 meetings; 3 ended and held (2 no-shows, 1 completed), 1 canceled (not
    # counted as held), 1 still to come. Demo: 1 ended, attended.
    n = 0
    for i, outcome in enumerate(("no_show", "no_show", "completed", "canceled", None)):
        meeting = book(account, ann, now + timedelta(days=1 + i), title=f"Intro {i}",
                       source="scheduling_page")
        db.session.add(booked_through(intro, meeting, n := n + 1))
        if outcome:
            held(meeting, 1 + i, outcome)
    meeting = book(account, ben, now + timedelta(days=2), title="Demo 0",
                   source="scheduling_page")
    held(meeting, 2, "completed")
    db.session.add(booked_through(demo, meeting, n := n + 1))
    held(book(account, ann, now + timedelta(days=3), title="Not from a page"), 3, "no_show")
    # Another account's page and no-show are not counted.
    other = make.account()
    stranger = make.user(other)
    elsewhere, _ = booking_ops.create_page(other, stranger, {"title": "Intro", "slug": "x-r"})
    db.session.flush()
    theirs = book(other, stranger, now + timedelta(days=1), source="scheduling_page")
    held(theirs, 1, "no_show")
    db.session.add(booked_through(elsewhere, theirs, n := n + 1))
    db.session.commit()

    r = client.get("/reports", query_string={**days, "by": "page"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert report(client, by="page", **days) == {"Intro": 5, "Demo": 1}
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>(?:<td>[^<]*</td>){4}'
                           r'<td class="no-show-rate">([^<]+)</td>', html))
    # Intro: 2 no-shows of 3 ended, held meetings (the canceled one is left out): 67 %.
    assert rows == {"Intro": "67%", "Demo": "0%"}
    assert "<td>3</td><td>2</td>" in html.split("Intro</th>", 1)[1].split("</tr>", 1)[0]
    # The CSV behind one page's figure.
    assert [r["Title"] for r in csv_rows(client, by="page", bucket=str(demo.id), **days)
            ] == ["Demo 0"]
    theirs_csv = client.get("/reports/meetings.csv", query_string={
        **days, "by": "page", "bucket": str(elsewhere.id)}).get_data(as_text=True)
    assert theirs_csv.count("\n") == 1  # the header only: another account's page


def test_page_report_queries_do_not_grow(client, team, db, count_queries):  # noqa: F811
    from webapp.booking import operations as booking_ops
    account, ann, _ben, _cy = team
    pages = [booking_ops.create_page(account, ann, {"title": f"P{i}", "slug": f"p{i}-q"})[0]
             for i in range(3)]
    db.session.commit()
    meeting = book(account, ann, T0, source="scheduling_page")
    db.session.add(booked_through(pages[0], meeting, 1))
    db.session.commit()
    with count_queries() as counter:
        client.get("/reports", query_string={**RANGE, "by": "page"})
    few = counter.count
    for i in range(1, 31):
        meeting = book(account, ann, T0 + timedelta(hours=3 * i), source="scheduling_page")
        db.session.add(booked_through(pages[i % 3], meeting, i + 1))
    db.session.commit()
    with count_queries() as counter:
        html = client.get("/reports", query_string={**RANGE, "by": "page"}).get_data(
            as_text=True)
    assert "31 meetings in total" in html
    assert counter.count == few, counter.statements[few:]
