"""N+1 guards: the record page and the scheduler page run a fixed number of SQL statements
however many meetings, attendees, hosts and associations they show (docs/PERFORMANCE.md)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import g

from tests.clock import clock_edges
from tests.meeting_helpers import reads_meeting_rows
from webapp.meetings import forms as meeting_forms
from webapp.meetings.calendar_view import week_start
from webapp.meetings.models import Attendee, Meeting, MeetingAssociation
from webapp.meetings.timemath import to_zone
from webapp.proposals.models import Proposal, ProposedSlot
from webapp.records import operations as record_ops
from webapp.types import utcnow

ZONE = "America/New_York"


@pytest.fixture()
def team(make, login):
    """An account with a logged-in rep, a colleague, and records to associate."""
    account = make.account(timezone=ZONE)
    seat = make.seat(account, paid=True)
    rep = login(make.user(account, timezone=ZONE, name="Rep", seat_kind_id=seat.id))
    colleague = make.user(account, timezone=ZONE, name="Colleague", seat_kind_id=seat.id)
    return account, rep, colleague


def add_meeting(db, account, host, title: str, start: datetime, contacts=(), users=(),
                records=(), deleted: bool = False) -> Meeting:
    """A meeting as the scheduler saves it: attendees, and associations for every record
    and every contact attendee."""
    meeting = Meeting(account_id=account.id, title=title, start_at=start,
                      end_at=start + timedelta(minutes=30), timezone=ZONE, host_id=host.id,
                      organizer_id=host.id, deleted_at=utcnow() if deleted else None)
    for c in contacts:
        meeting.attendees.append(Attendee(contact_id=c.id, name=c.display_name, email=c.email))
    for u in users:
        meeting.attendees.append(Attendee(user_id=u.id, name=u.name, email=u.email))
    for ref in dict.fromkeys([c.ref for c in contacts] + [r.ref for r in records]):
        meeting.associations.append(MeetingAssociation(account_id=account.id,
                                                       record_type=ref[0], record_id=ref[1]))
    db.session.add(meeting)
    db.session.commit()
    return meeting


def count_get(client, count_queries, db, url: str) -> tuple[int, str, list[str]]:
    # The test shares the app's session: end its transaction (which expires every row and
    # forgets what the transaction looked up once), as a fresh request would start.
    db.session.rollback()
    # The test's app context outlives its requests: forget the user Flask-Login kept in
    # it, so the request loads its user (with the account) as production's requests do.
    g.pop("_login_user", None)
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count, response.get_data(as_text=True), counter.statements


def test_record_page_queries_do_not_grow_with_its_timeline(client, team, make, db,
                                                           count_queries):
    account, rep, colleague = team
    # As the benchmark's subject: a contact with a company, linked to the company and
    # deals (the associations panel), with proposed times (each with its slots).
    company, deal = make.company(account, name="Linked Co"), make.deal(account, name="Big deal")
    contact = make.contact(account, company_id=company.id)
    for other in (company, deal, make.deal(account, name="Second deal")):
        record_ops.link(account.id, contact, other)
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    for n in range(2):
        proposal = Proposal(account_id=account.id, record_type="contact", record_id=contact.id,
                            host_id=rep.id, organizer_id=rep.id, contact_id=contact.id,
                            title=f"Proposed {n}", duration_minutes=30, timezone=ZONE,
                            expires_at=start, nonce=f"n{n}")
        proposal.slots = [ProposedSlot(start_at=start + timedelta(hours=h),
                                       token_hash=f"{n}-{h}") for h in range(3)]
        db.session.add(proposal)
    db.session.commit()
    add_meeting(db, account, rep, "First", start, [contact])
    client.get(f"/contacts/{contact.id}")  # warm-up: nothing cached differs afterwards
    few, html, _ = count_get(client, count_queries, db, f"/contacts/{contact.id}")
    assert "First" in html

    # 45 more: other hosts, more attendees (contacts and users), more associations.
    for i in range(45):
        others = [make.contact(account) for _ in range(2)]
        add_meeting(db, account, colleague if i % 2 else rep, f"Grown {i}",
                    start - timedelta(days=i + 1), [contact, *others],
                    users=[rep] if i % 3 == 0 else [], records=[company, deal][: i % 3])
    many, html, statements = count_get(client, count_queries, db, f"/contacts/{contact.id}")
    assert many == few, statements[few:]
    assert html.count('class="timeline-item"') == 20 and "Older activities" in html
    assert "Colleague" in html and "Grown 0" in html
    # What the page shows of them: the company, the linked records, the proposals, the
    # items' attendees (contacts and users, in the order they were added).
    assert "<dd>Linked Co</dd>" in html and f'/companies/{company.id}">Linked Co</a>' in html
    assert f'/deals/{deal.id}">Big deal</a>' in html and ">Second deal</a>" in html
    assert "Proposed 0" in html and "Proposed 1" in html
    grown_0 = html[html.index("Grown 0"):]
    grown_0 = grown_0[:grown_0.index("</li>")]
    assert f"{contact.display_name}, " in grown_0 and ", Rep<" in grown_0

    # At most 8 statements (#24): the session and its user, the record with its company,
    # its associations with their names, the timeline page with its attendees' names, the
    # account's outcomes, the bell's notifications, the proposals and their slots.
    # Nothing counts the whole timeline.
    assert many <= 8, "\n".join(s.split("\n")[0][:120] for s in statements)
    assert not [s for s in statements if "count(" in s.lower() and "meeting" in s], statements

    # "Older activities" continues after the last item shown (keyset), as a page without
    # JavaScript and as the fragment htmx appends; a later page costs what the first does.
    cursor = re.search(r'href="/contacts/\d+\?before=([\d-]+)#timeline"', html).group(1)
    deeper, html, statements = count_get(client, count_queries, db,
                                         f"/contacts/{contact.id}?before={cursor}")
    assert deeper == few, statements
    assert html.count('class="timeline-item"') == 20 and "Grown 19" in html
    assert "Grown 18<" not in html
    cursor = re.search(r'\?before=([\d-]+)#timeline"', html).group(1)
    fragment, html, statements = count_get(client, count_queries, db,
                                           f"/contacts/{contact.id}/timeline?before={cursor}")
    assert fragment < few, statements
    assert html.count('class="timeline-item"') == 6 and "Grown 44" in html
    assert "Older activities" not in html and "<html" not in html
    # Its items return to the record page.
    assert f"return_to=/contacts/{contact.id}" in html


def _shown_week(user_zone: str) -> datetime:
    """Monday 00:00 of the week the scheduler opens on (the day of its initial times)."""
    day, _, _ = meeting_forms.initial_times(to_zone(utcnow(), user_zone))
    return datetime.combine(week_start(day), time(0), tzinfo=ZoneInfo(user_zone))


def _week_url(host_id: int, monday: datetime) -> str:
    """The week grid of the week that starts at monday. ?week= takes a date: a datetime's
    isoformat is not one, and the grid would quietly show the week of today instead (which
    is another week when the scheduler's next half hour is Monday 00:00, e.g. Sunday 23:45)."""
    return f"/meetings/calendar?host_id={host_id}&week={monday.date().isoformat()}&timezone={ZONE}"


@clock_edges
def test_scheduler_queries_do_not_grow_with_the_host_week(client, team, make, db,
                                                          count_queries, app, monkeypatch):
    account, rep, colleague = team
    # The grid as it is drawn at every view (a kept grid: the next test).
    monkeypatch.setitem(app.config, "WEEK_GRIDS_KEPT", 0)
    # As the benchmark's subject: a contact with a company, linked to it and to deals (the
    # association chips: the contact and its companies, the deals left out).
    company = make.company(account, name="Linked Co")
    contact = make.contact(account, company_id=company.id)
    for other in (company, make.deal(account, name="Big deal"),
                  make.deal(account, name="Second deal")):
        record_ops.link(account.id, contact, other)
    monday = _shown_week(ZONE)
    add_meeting(db, account, rep, "Week event 0", monday + timedelta(hours=9), [contact])
    url = f"/meetings/new?record_type=contact&record_id={contact.id}"
    client.get(url)
    form_few, html, _ = count_get(client, count_queries, db, url)
    # The week grid is loaded after the form (#24): the form runs no calendar query.
    week_url = re.search(r'hx-get="(/meetings/calendar\?[^"]+)" hx-trigger="load"', html) \
        .group(1).replace("&amp;", "&")
    assert "Week event 0" not in html
    few, html, _ = count_get(client, count_queries, db, week_url)
    assert "Week event 0" in html

    # A busy week: hosting, attending a colleague's meetings, across all seven days; a
    # deleted meeting, one next week and one of another account stay off the calendar.
    for i in range(1, 36):
        at = monday + timedelta(days=i % 7, hours=8 + i % 10, minutes=15 * (i % 4))
        if i % 4 == 0:
            add_meeting(db, account, colleague, f"Week event {i}", at, [contact], users=[rep])
        else:
            add_meeting(db, account, rep, f"Week event {i}", at,
                        [contact, make.contact(account)])
    add_meeting(db, account, rep, "Deleted event", monday + timedelta(days=2), deleted=True)
    add_meeting(db, account, rep, "Next week event", monday + timedelta(days=8))
    stranger = make.user(make.account())
    add_meeting(db, stranger.account, stranger, "Foreign event", monday + timedelta(days=1))

    form_many, form_html, statements = count_get(client, count_queries, db, url)
    assert form_many == form_few, statements[form_few:]
    # The form's statements (#24): the user and its account, the record, its links with
    # the linked records' names, the hosts with their seats, the rotations, the snippets,
    # the calendar connection, the Zoom connection with the video apps, the bell. The
    # record the form was opened from is read once (its attendee and association chips
    # come from the session, not two more reads), its companies once (with the links).
    assert form_many <= 9, "\n".join(s.split("\n")[0][:120] for s in statements)
    assert sum(s.startswith("SELECT contacts.") and "FROM contacts" in s
               for s in statements) == 1, statements
    assert not any(s.startswith("SELECT companies.") for s in statements), statements
    chips = re.search(r'id="association-chips".*?</div>', form_html, re.S).group(0)
    assert f'value="contact:{contact.id}"' in chips and f'value="company:{company.id}"' in chips
    assert "Linked Co" in chips and "Big deal" not in chips
    many, html, statements = count_get(client, count_queries, db, week_url)
    assert many == few, statements[few:]
    # The week's meetings in one query, besides the user, the host and the connection: the
    # one the host's availability reads (#21: day caps and buffers over whole local days,
    # a wider span than the grid's) also gives the meetings the grid draws.
    assert sum("FROM meetings" in s for s in statements) == 1, statements
    # The user, the availability profile, the meetings, the calendar connections: the
    # user's own week reads neither their seat nor the account's hosts (#24).
    assert many <= 4, "\n".join(s.split("\n")[0][:120] for s in statements)
    assert not any("FROM seat_kinds" in s for s in statements), statements
    assert all(f"Week event {i}<" in html for i in range(36))
    assert "Deleted event" not in html and "Next week event" not in html
    assert "Foreign event" not in html


def test_colleagues_overlaid_on_the_week_are_read_in_the_same_statement(
        client, team, make, db, count_queries, app, monkeypatch):
    """The week grid with attendee colleagues overlaid (#21, ?with=): their meetings come
    in the one statement that reads the host's, and the colleagues themselves in the one
    that reads the availability profiles, so the overlay costs no statement more than the
    host's week alone, however many colleagues are added and however busy they are."""
    account, rep, colleague = team
    monkeypatch.setitem(app.config, "WEEK_GRIDS_KEPT", 0)
    seat = make.seat(account, paid=True)
    other = make.user(account, timezone=ZONE, name="Other", seat_kind_id=seat.id)
    monday = _shown_week(ZONE)
    add_meeting(db, account, rep, "Host event", monday + timedelta(hours=9))
    add_meeting(db, account, colleague, "Colleague event", monday + timedelta(hours=13))
    base = _week_url(rep.id, monday)
    alone, _, _ = count_get(client, count_queries, db, base)
    one, html, _ = count_get(client, count_queries, db, f"{base}&with={colleague.id}")
    assert "Colleague is not free" in html
    for i in range(20):
        at = monday + timedelta(days=i % 7, hours=10 + i % 6)
        add_meeting(db, account, colleague if i % 2 else other, f"Busy {i}", at,
                    users=[other] if i % 3 == 0 else ())
    two, html, statements = count_get(client, count_queries, db,
                                      f"{base}&with={colleague.id},{other.id}")
    assert "Colleague is not free" in html and "Other is not free" in html
    assert sum("FROM meetings" in s for s in statements) == 1, statements
    assert one == two == alone, "\n".join(s.split("\n")[0][:120] for s in statements)


def test_a_kept_week_grid_reads_no_meeting_rows(client, team, db, count_queries, clock):
    """A week grid kept by all it shows (calendar_view.week_html): a view that finds it
    kept reads what its key is made of (the user, the availability profile, the calendar
    connections, one aggregate over the meetings around the week) and no meeting row; a
    view after a change draws it again with one statement more."""
    account, rep, colleague = team
    # Kept for its minute: start at the minute's first second (the clock ticks on).
    clock.move_to(clock.now().replace(second=1, microsecond=0))
    monday = _shown_week(ZONE)
    for i in range(12):
        add_meeting(db, account, rep, f"Kept event {i}", monday + timedelta(days=i % 7,
                                                                            hours=9 + i % 5))
    url = _week_url(rep.id, monday)
    drawn, first, statements = count_get(client, count_queries, db, url)
    assert f'data-date="{monday.date().isoformat()}"' in first, "not the week asked for"
    assert drawn <= 5, "\n".join(s.split("\n")[0][:120] for s in statements)
    assert reads_meeting_rows(statements)
    kept, again, statements = count_get(client, count_queries, db, url)
    assert again == first and "Kept event 11<" in again
    assert kept == drawn - 1, "\n".join(s.split("\n")[0][:120] for s in statements)
    assert not reads_meeting_rows(statements)
    add_meeting(db, account, rep, "Added event", monday + timedelta(days=2, hours=15))
    count, html, _ = count_get(client, count_queries, db, url)
    assert count == drawn and "Added event<" in html


def test_edit_scheduler_queries_do_not_grow_with_attendees_and_associations(
        client, team, make, db, count_queries):
    account, rep, colleague = team
    start = _shown_week(ZONE) + timedelta(days=1, hours=10)
    # One of each record type: chips are loaded with one query per type.
    small = add_meeting(db, account, rep, "Small", start, [make.contact(account)],
                        users=[colleague], records=[make.company(account), make.deal(account),
                                                    make.ticket(account)])
    client.get(f"/meetings/{small.id}/edit")
    few, html, _ = count_get(client, count_queries, db, f"/meetings/{small.id}/edit")

    contacts = [make.contact(account) for _ in range(8)]
    records = ([make.company(account) for _ in range(4)] + [make.deal(account) for _ in range(4)]
               + [make.ticket(account) for _ in range(4)])
    big = add_meeting(db, account, rep, "Big", start + timedelta(hours=2), contacts,
                      users=[colleague], records=records)
    many, html, statements = count_get(client, count_queries, db, f"/meetings/{big.id}/edit")
    # At most as many: a chip whose row the request has already read costs no query (#24).
    assert many <= few, statements[few:]
    assert all(f'value="contact:{c.id}"' in html for c in contacts)
    assert all(f'value="{r.record_type}:{r.id}"' in html for r in records)
    assert f'value="user:{colleague.id}"' in html


def test_saving_a_meeting_runs_a_fixed_handful_of_statements(client, team, make, db,
                                                             count_queries, monkeypatch):
    """3 contact attendees, 3 reminders, 3 associated records: the user, the attendee
    contacts (once: validation's rows are reused), the records, four INSERTs (the meeting,
    then one per kind of row), the host's calendar connection and the outbox INSERT
    (docs/PERFORMANCE.md). The record the form was opened from is not read."""
    from tests.meeting_helpers import form, future_day
    account, rep, _colleague = team
    contacts = [make.contact(account) for _ in range(3)]
    company, deal, ticket = make.company(account), make.deal(account), make.ticket(account)
    data = form(title="Counted", start_date=future_day(30),
                attendees=[f"contact:{c.id}" for c in contacts],
                associations=[f"company:{company.id}", f"deal:{deal.id}",
                              f"ticket:{ticket.id}"],
                reminder_amount=["15", "1", "1"], reminder_unit=["minutes", "hours", "days"])
    url = f"/meetings/new?record_type=contact&record_id={contacts[0].id}"
    monkeypatch.setattr("webapp.jobs.enqueue", lambda *a, **k: True)  # the save alone
    db.session.rollback()
    # A context of its own (its own session and g), as a request starts in production:
    # nothing looked up or loaded yet.
    with client.application.app_context(), count_queries() as counter:
        r = client.post(url, data=data)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    attendee_reads = [s for s in counter.statements
                      if "FROM contacts" in s and "contacts.id IN" in s]
    assert len(attendee_reads) == 1, attendee_reads
    assert counter.count <= 9, "\n".join(s.split("\n")[0][:90] for s in counter.statements)
    # One INSERT per table, on SQLite too (not one per row).
    assert sum(s.startswith("INSERT") for s in counter.statements) == 5, counter.statements
