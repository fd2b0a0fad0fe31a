"""Reports of #22: meetings by where they were made (Meeting.source), every source shown,
the CSV behind each figure, a fixed number of queries."""

from __future__ import annotations

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
