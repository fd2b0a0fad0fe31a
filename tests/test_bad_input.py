"""No 500 from input: NUL characters, ids beyond any column, odd uploads, a download cut
off midway, and a fuzz test over every route's parameters."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.meeting_helpers import form, schedule
from tests.test_reports import RANGE, T0, book
from webapp.meetings.models import Attachment, Meeting


@pytest.fixture()
def rep(make, login):
    account = make.account()
    user = login(make.user(account, role="admin"))
    return account, user


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_nul_in_a_field_or_a_search_is_a_clear_400(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    r = schedule(client, contact, title="Lunch\x00")
    assert r.status_code == 400 and "NUL character" in r.get_data(as_text=True)
    assert count(db, Meeting) == 0
    for url in ("/contacts?q=a%00b", "/meetings/people?q=%00", "/reports?from=%00"):
        assert client.get(url).status_code == 400, url
    assert client.post("/api/v1/meetings", json={"title": "\x00"}).status_code in (400, 401)


@pytest.mark.parametrize("path", ["/meetings/99999999999", "/meetings/2147483648/edit",
                                  "/contacts/18446744073709551616",
                                  "/calendar/%00.ics", "/rsvp/%00"])
def test_ids_beyond_any_column_and_nul_in_a_path_are_404(client, rep, path):
    assert client.get(path).status_code == 404


def test_ids_beyond_any_column_in_a_form_are_refused_not_500(client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    r = schedule(client, contact, attendees=["contact:99999999999"],
                 associations=["deal:99999999999999999999"])
    assert 400 <= r.status_code < 500
    assert count(db, Meeting) == 0
    assert client.get("/meetings/new?record_type=contact&record_id=99999999999") \
        .status_code in (400, 404)


def files_on_disk(app) -> list[str]:
    folder = app.config["UPLOAD_DIR"]
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_odd_uploads_are_stored_cleanly_and_leave_no_stray_file(app, client, rep, make, db):
    account, _ = rep
    contact = make.contact(account)
    before = files_on_disk(app)
    data = form(title="With files")
    data["attachments"] = [
        (io.BytesIO(b"%PDF-1.4"), "plan.pdf", "application/" + "x" * 200),
        (io.BytesIO(b"hello"), "no\x00tes.txt", "text/plain"),
    ]
    r = client.post(f"/meetings/new?record_type=contact&record_id={contact.id}", data=data,
                    content_type="multipart/form-data")
    assert r.status_code in (302, 400), r.status_code
    rows = db.session.scalars(sa.select(Attachment)).all()
    for row in rows:
        assert len(row.content_type) <= 100 and "\x00" not in row.filename
    # Every file on disk belongs to a row: nothing is left behind by a refused upload.
    assert len(files_on_disk(app)) - len(before) == len(rows)


def test_a_refused_save_leaves_no_file_on_disk(app, client, rep, make, db, monkeypatch):
    from webapp.meetings import operations as meeting_ops
    account, _ = rep
    contact = make.contact(account)
    before = files_on_disk(app)
    real_flush = meeting_ops.db.session.flush

    def failing_flush(*args, **kwargs):
        raise sa.exc.DataError("INSERT", {}, Exception("value too long"))

    data = form(title="Refused")
    data["attachments"] = [(io.BytesIO(b"%PDF-1.4"), "plan.pdf", "application/pdf")]
    original = meeting_ops.add_attachments

    def add_then_fail(meeting, user, uploads):
        meeting_ops.db.session.flush = failing_flush
        try:
            original(meeting, user, uploads)
        finally:
            meeting_ops.db.session.flush = real_flush

    monkeypatch.setattr(meeting_ops, "add_attachments", add_then_fail)
    r = client.post(f"/meetings/new?record_type=contact&record_id={contact.id}", data=data,
                    content_type="multipart/form-data")
    assert r.status_code == 400
    assert files_on_disk(app) == before


@pytest.fixture()
def reports(make, login, db):
    account = make.account()
    ann = login(make.user(account, role="admin", timezone="UTC"))
    for i in range(30):
        book(account, ann, T0 + timedelta(minutes=40 * i), title=f"Row {i}")
    db.session.commit()
    return account, ann


@pytest.mark.committing  # it looks at the server's connections from one of its own
def test_a_csv_export_cut_off_midway_leaves_the_app_working(app, client, reports, db):
    response = client.get("/reports/meetings.csv", query_string=RANGE, buffered=False)
    chunks = iter(response.response)
    next(chunks)
    next(chunks)
    response.close()  # the browser went away: the server closes the generator here
    if db.engine.dialect.name == "postgresql":
        # No connection is left inside the export's transaction, holding its cursor.
        with db.engine.connect() as conn:
            stuck = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction' AND query ILIKE '%FROM meetings%'")).scalar()
        assert stuck == 0
    again = client.get("/reports/meetings.csv", query_string=RANGE)
    assert again.status_code == 200 and again.get_data(as_text=True).count("Row ") == 30
    assert client.get("/contacts").status_code == 200


def test_csv_cells_after_any_separator_cannot_start_a_formula(client, reports, db):
    account, ann = reports
    book(account, ann, T0, title="Lunch;=HYPERLINK(\"http://evil.example\")")
    book(account, ann, T0, title="Notes\t+1;@SUM(A1)")
    book(account, ann, T0, title="Q3 - review; fine")
    db.session.commit()
    text = client.get("/reports/meetings.csv", query_string=RANGE).get_data(as_text=True)
    assert "Lunch;'=HYPERLINK" in text
    assert "Notes\t'+1;'@SUM(A1)" in text
    assert "Q3 - review; fine" in text


# --- fuzz ---------------------------------------------------------------------------------

NAMES = ["q", "record_type", "record_id", "return_to", "next", "page", "from", "to", "by",
         "bucket", "title", "start_date", "start_time", "end_time", "timezone", "attendees",
         "associations", "response", "outcome", "to_type", "to_id", "name", "email",
         "location_kind", "reminder_amount", "reminder_unit", "host_id", "week", "day",
         "amount", "unit", "url", "username", "password", "video_provider"]
NASTY = st.sampled_from(["\x00", "-1", "99999999999", "1e309", "NaN", "%", "../..", "' OR 1=1",
                         "contact:99999999999", "deal:-1", "2027-02-30", "25:61", "", " ",
                         "Europe/Nowhere", "\ud7ff" * 3, "A" * 5000, "<script>", "[]", "{}"])
VALUE = st.one_of(NASTY, st.text(max_size=40), st.integers(-2**70, 2**70).map(str))
FIELDS = st.dictionaries(st.sampled_from(NAMES), st.lists(VALUE, min_size=1, max_size=2),
                         max_size=6)
SEGMENT = st.one_of(st.integers(-1, 2**70), st.text(min_size=1, max_size=20), NASTY)
#: Routes whose whole point is to leave the app or to end the test's session.
SKIP = {"static", "auth.logout", "auth.logout_everywhere", "calendars.connect",
        "calendars.callback", "conferencing.zoom_connect", "conferencing.zoom_callback"}
BUDGET_SECONDS = 75


def test_no_route_answers_500_to_any_parameter(app, client, rep, make, db):
    account, user = rep
    contact = make.contact(account)
    book(account, user, T0, title="Fuzzed")
    db.session.commit()
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIP]
    deadline = time.monotonic() + BUDGET_SECONDS
    failures = []

    @settings(max_examples=6, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def fuzz(data, rule):
        if time.monotonic() > deadline:
            return
        values = {}
        for arg in rule.arguments:
            kind = type(rule._converters[arg]).__name__
            values[arg] = data.draw(st.integers(-1, 2**70) if "Int" in kind or "Id" in kind
                                    else SEGMENT) if arg != "plural" else data.draw(
                st.sampled_from(["contacts", "companies", "deals", "tickets"]))
        if "record_id" in values and data.draw(st.booleans()):
            values["record_id"] = contact.id
        try:
            path = app.url_map.bind("localhost").build(rule.endpoint, values)
        except Exception:
            return  # a value the URL cannot carry (the router would not reach the view)
        method = data.draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
        fields = data.draw(FIELDS)
        kwargs = {"query_string": fields} if method == "GET" else {"data": fields}
        if rule.rule.startswith("/api/"):
            kwargs = {"query_string": fields} if method in ("GET", "DELETE") else {
                "json": {k: v[0] for k, v in fields.items()}}
        response = client.open(path, method=method, **kwargs)
        if response.status_code >= 500:
            failures.append((method, path, fields, response.status_code))
        db.session.rollback()

    for rule in rules:
        fuzz(rule=rule)
        if time.monotonic() > deadline:
            break
    assert not failures, failures[:5]
    assert time.monotonic() <= deadline + 30  # bounded: the test stops at its budget
