"""In-process CPU per request: app CPU (time.process_time) around test-client requests.

Not a benchmark of throughput: it isolates the app's own CPU per request, which a shared
machine's wall clock cannot (docs/PERFORMANCE.md, "#24"). Run it explicitly, it is not
collected with the tests:

    .venv/bin/python -m pytest bench/inproc.py -q -s -p no:randomly [-k record]

The subjects are bench/datagen.py's: a contact with 500 meetings on its timeline (3
attendees each), a host with 300 events in the week being scheduled. Each figure is the
median of N requests after a warm-up.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from tests.conftest import client, count_queries, login  # noqa: F401 (fixtures)
from webapp.meetings import forms as meeting_forms
from webapp.meetings.calendar_view import week_start
from webapp.meetings.models import Attendee, Meeting, MeetingAssociation
from webapp.meetings.timemath import to_zone
from webapp.types import utcnow

ZONE = "Europe/Berlin"
N = 200


def cpu_ms(fn, n: int = N, warm: int = 5) -> float:
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(n):
        t = time.process_time()
        fn()
        samples.append((time.process_time() - t) * 1000)
    if os.environ.get("PARLEY_STAT") == "p10":  # steadier than the median on a busy machine
        return sorted(samples)[len(samples) // 10]
    return statistics.median(samples)


@pytest.fixture()
def subjects(make, db, login):  # noqa: F811
    account = make.account(timezone=ZONE)
    seat = make.seat(account, paid=True)
    rep = login(make.user(account, timezone=ZONE, name="Rep", seat_kind_id=seat.id))
    contact = make.contact(account)
    others = [make.contact(account) for _ in range(2)]
    start = utcnow().replace(second=0, microsecond=0)
    for i in range(500):
        at = start - timedelta(hours=7 * i)
        m = Meeting(account_id=account.id, title=f"Timeline meeting {i}", start_at=at,
                    end_at=at + timedelta(minutes=30), timezone=ZONE, host_id=rep.id,
                    organizer_id=rep.id, location_kind="in_person",
                    location_value=f"Room {i % 7}")
        for c in [contact, *others]:
            m.attendees.append(Attendee(contact_id=c.id, name=c.display_name, email=c.email))
        m.associations.append(MeetingAssociation(account_id=account.id,
                                                 record_type="contact", record_id=contact.id))
        db.session.add(m)
    day, _, _ = meeting_forms.initial_times(to_zone(utcnow(), ZONE))
    monday = datetime.combine(week_start(day), dtime(0), tzinfo=ZoneInfo(ZONE))
    for i in range(300):
        at = monday + timedelta(days=i % 7, hours=7 + (i // 7) % 12, minutes=15 * (i % 4))
        db.session.add(Meeting(account_id=account.id, title=f"Week event {i}", start_at=at,
                               end_at=at + timedelta(minutes=30), timezone=ZONE,
                               host_id=rep.id, organizer_id=rep.id))
    db.session.commit()
    return account, rep, contact


def _dump(name: str, html: str) -> None:
    """PARLEY_DUMP=<folder>: keep the page, to compare two versions' output."""
    if os.environ.get("PARLEY_DUMP"):
        with open(os.path.join(os.environ["PARLEY_DUMP"], name), "w") as f:
            f.write(html)


def _get(client, db, url):  # noqa: F811
    def go():
        db.session.rollback()
        r = client.get(url)
        assert r.status_code == 200, url
    return go


def test_record_page(client, db, subjects, count_queries):  # noqa: F811
    _account, _rep, contact = subjects
    url = f"/contacts/{contact.id}"
    db.session.rollback()
    with count_queries() as counter:
        page = client.get(url)
        assert page.status_code == 200
    _dump("record.html", page.get_data(as_text=True))
    if os.environ.get("PARLEY_SQL"):
        print("\n".join(" ".join(q.split())[:300] for q in counter.statements))
    print(f"\nrecord page rendered: {cpu_ms(_get(client, db, url)):.2f} ms app CPU, "
          f"{counter.count} statements")
    if os.environ.get("PARLEY_PROFILE"):
        profile(_get(client, db, url), n=200)


def test_scheduler(client, db, subjects, count_queries):  # noqa: F811
    import re
    _account, _rep, contact = subjects
    url = f"/meetings/new?record_type=contact&record_id={contact.id}"
    db.session.rollback()
    with count_queries() as counter:
        html = client.get(url).get_data(as_text=True)
    _dump("scheduler.html", html)
    if os.environ.get("PARLEY_SQL"):
        print("\n".join(" ".join(q.split())[:250] for q in counter.statements))
    print(f"\nscheduler form rendered: {cpu_ms(_get(client, db, url)):.2f} ms app CPU, "
          f"{counter.count} statements, {len(html)} B")
    if os.environ.get("PARLEY_PROFILE"):
        profile(_get(client, db, url), n=200)
    week = re.search(r'hx-get="(/meetings/calendar\?[^"]+)"', html)
    if week:
        week_url = week.group(1).replace("&amp;", "&")
        db.session.rollback()
        with count_queries() as counter:
            html = client.get(week_url).get_data(as_text=True)
        assert html.count('class="event') >= 300 or "Week event 299" in html
        print(f"scheduler week grid: {cpu_ms(_get(client, db, week_url)):.2f} ms app CPU, "
              f"{counter.count} statements, {len(html)} B")


def test_floor(tmp_path, db_url):
    """The constant route through Parley's hooks against a bare Flask route."""
    from tests.support import base_config
    from webapp import create_app
    parley = create_app(base_config(db_url, tmp_path))

    @parley.get("/bench/constant")
    def constant():
        return "ok"

    bare = Flask("bare")

    @bare.get("/bench/constant")
    def bare_constant():
        return "ok"

    pc, bc = parley.test_client(), bare.test_client()
    p = cpu_ms(lambda: pc.get("/bench/constant"), n=2000, warm=50)
    b = cpu_ms(lambda: bc.get("/bench/constant"), n=2000, warm=50)
    print(f"\nconstant route: Parley {p:.3f} ms, bare Flask {b:.3f} ms, ratio {b / p:.2f}")
    if os.environ.get("PARLEY_PROFILE"):
        profile(lambda: pc.get("/bench/constant"), n=2000)


def profile(fn, n: int = 50, top: int = 40) -> None:
    """cProfile of n calls, sorted by cumulative time (PARLEY_PROFILE=1)."""
    import cProfile
    import pstats
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        fn()
    prof.disable()
    stats = pstats.Stats(prof).sort_stats(os.environ.get("SORT", "tottime"))
    stats.print_stats(os.environ.get("PROFILE_FILTER", ""), int(os.environ.get("TOP", top)))
    if os.environ.get("PARLEY_GROUPS"):
        groups: dict[str, float] = {}
        for (path, _line, _name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
            key = path.split("site-packages/")[-1].split("/")[0] if "site-packages" in path \
                else ("templates" if "templates" in path else path.split("/")[-1])
            groups[key] = groups.get(key, 0) + tt
        total = sum(groups.values())
        for key, tt in sorted(groups.items(), key=lambda kv: -kv[1])[:25]:
            print(f"{key:40} {tt / n * 1000:6.2f} ms {tt / total:5.1%}")
    if os.environ.get("CALLERS"):
        stats.print_callers(os.environ["CALLERS"])


def _busy_account(app, db, make, subjects, save_every: int | None,
                  seconds: int = 20, reps: int = 8) -> float:
    """Mean app CPU ms per read: `reps` reps of the account each open the record page or
    the scheduler once a simulated second (alternating), each request loading its user as
    a real one does, while a colleague saves in the account every `save_every` simulated
    seconds (None: never). (Before #24 removed it, this compared the page cache.)"""
    from flask import g

    account, _rep, contact = subjects
    pages = [f"/contacts/{contact.id}",
             f"/meetings/new?record_type=contact&record_id={contact.id}"]
    clients = []
    for i in range(reps):
        user = make.user(account, timezone=ZONE, name=f"Rep {i}",
                         seat_kind_id=_rep.seat_kind_id)
        db.session.commit()
        c = app.test_client()
        for name in ("csrf_token", "_login_user"):
            g.pop(name, None)
        r = c.post("/login", data={"email": user.email, "password": "pw"})
        g.pop("_login_user", None)
        r2 = c.get(pages[0])
        assert r.status_code == 302 and r2.status_code == 200, (r2.headers, r2.get_data())
        clients.append(c)
    samples = []
    for second in range(seconds):
        if save_every and second % save_every == 0:
            contact.first_name = f"Saved {second}"
            db.session.commit()
        for i, c in enumerate(clients):
            for name in ("csrf_token", "_login_user"):
                g.pop(name, None)
            db.session.rollback()
            t = time.process_time()
            r = c.get(pages[(i + second) % 2])
            samples.append((time.process_time() - t) * 1000)
            assert r.status_code == 200, (r.headers.get("Location"), pages[(i + second) % 2])
    return statistics.mean(samples)


def test_busy_account(app, db, make, subjects):
    """Every page rendered, in an account where a colleague saves every second."""
    print(f"\nbusy account, a save every second, 8 reps reading once a second: "
          f"{_busy_account(app, db, make, subjects, 1):.2f} ms a read (mean)")
