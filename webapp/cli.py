"""Flask CLI commands: demo data."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import click
import sqlalchemy as sa
from flask import Flask

from webapp.auth.models import Account, SeatKind, User
from webapp.extensions import db
from webapp.records import operations as record_ops
from webapp.records.models import Company, Contact, Deal, Ticket

FIRST = ["Ava", "Ben", "Chen", "Daniela", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas",
         "Kiri", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tanvi",
         "Uma", "Victor", "Wei", "Ximena", "Yusuf", "Zoe", "Mei-Ling", "Arjun", "Sakura", "Liam"]
LAST = ["Anderson", "Borges", "Chen", "Dubois", "Eze", "Fischer", "García", "Haddad", "Ito",
        "Johansson", "Kowalski", "Lin", "Müller", "Nakamura", "Okafor", "Patel", "Quispe",
        "Rossi", "Schmidt", "Tanaka", "Wang", "Yilmaz", "Zhang", "O'Brien", "Kumar"]
ZONES_PHONES = [
    ("America/New_York", "+1 212 555 01{:02d}"), ("America/Los_Angeles", "+1 415 555 01{:02d}"),
    ("Europe/London", "+44 20 7946 0{:03d}"), ("Europe/Berlin", "+49 30 901820{:02d}"),
    ("Asia/Taipei", "+886 2 2345 67{:02d}"), ("Asia/Tokyo", "+81 3 1234 56{:02d}"),
    ("Asia/Kolkata", "+91 22 4000 10{:02d}"), ("Australia/Sydney", "+61 2 9374 41{:02d}"),
    ("America/Sao_Paulo", "+55 11 3003 40{:02d}"), ("Africa/Lagos", "+234 2033 12 34{:02d}"),
    ("Australia/Lord_Howe", "+61 2 6563 20{:02d}"), ("Europe/Dublin", "+353 1 555 01{:02d}"),
]
COMPANIES = ["Initech", "Umbrella Corp", "Stark Industries", "Wayne Enterprises", "Hooli",
             "Soylent", "Cyberdyne", "Tyrell", "Vandelay Industries", "Wonka Industries"]


def _user(account: Account, email: str, name: str, password: str, role: str = "member",
          seat: SeatKind | None = None, zone: str | None = None) -> User:
    user = User(account=account, email=email, name=name, role=role, seat_kind=seat,
                timezone=zone)
    user.set_password(password)
    db.session.add(user)
    return user


def seed_demo(contacts: int = 50) -> bool:
    """Create the demo accounts unless they exist. Returns True when it created them."""
    if db.session.scalar(sa.select(User.id).where(User.email == "demo@example.com")):
        return False
    rng = random.Random(42)
    acme = Account(name="Acme", timezone="America/New_York", reminders_default_on=True,
                   default_reminders=[[1, "hours"], [1, "days"]])
    db.session.add(acme)
    pro = SeatKind(account=acme, name="Sales Hub Professional", is_paid=True)
    core = SeatKind(account=acme, name="Core (free)", is_paid=False)
    db.session.add_all([pro, core])
    _user(acme, "demo@example.com", "Dana Demo", "demo", "admin", pro, "America/New_York")
    _user(acme, "alex@example.com", "Alex Account-Exec", "demo", "member", pro, "Europe/London")
    _user(acme, "sam@example.com", "Sam Support", "demo", "member", core, "Asia/Taipei")
    db.session.flush()

    companies = []
    for i, name in enumerate(COMPANIES):
        company = Company(account_id=acme.id, name=name,
                          domain=name.lower().replace(" ", "") + ".example",
                          city=["New York", "Taipei", "Berlin", "Sydney", "London"][i % 5])
        companies.append(company)
    db.session.add_all(companies)
    db.session.flush()
    for i in range(contacts):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        zone, phone = ZONES_PHONES[i % len(ZONES_PHONES)]
        contact = Contact(account_id=acme.id, first_name=first, last_name=last,
                          # A few contacts lack an email: they cannot be invited (S13).
                          email=None if i % 17 == 5 else f"{first.lower()}.{i}@example.org",
                          phone=record_ops.normalize_phone_safe(phone.format(i % 100)),
                          timezone=zone, company_id=companies[i % len(companies)].id)
        db.session.add(contact)
        db.session.flush()
        record_ops.link(acme.id, contact, companies[i % len(companies)])
    for i in range(10):
        deal = Deal(account_id=acme.id, name=f"{COMPANIES[i]} renewal",
                    amount=Decimal(rng.randrange(5, 200) * 1000), stage="qualified",
                    close_date=date.today() + timedelta(days=30 + i))
        ticket = Ticket(account_id=acme.id, subject=f"{COMPANIES[i]}: login issue #{100 + i}",
                        status="new", priority=["low", "medium", "high"][i % 3])
        db.session.add_all([deal, ticket])
        db.session.flush()
        record_ops.link(acme.id, deal, companies[i])
        record_ops.link(acme.id, ticket, companies[i])

    _seed_meeting_settings(acme)
    _seed_meetings(acme)
    _seed_scheduling_page(acme)

    globex = Account(name="Globex", timezone="Europe/Paris")
    db.session.add(globex)
    _user(globex, "other@example.com", "Olga Other", "other", "admin")
    db.session.flush()
    db.session.add(Contact(account_id=globex.id, first_name="Hank", last_name="Scorpio",
                           email="hank@globex.example", timezone="Europe/Paris"))
    sandbox = Account(name="Acme Sandbox", timezone="America/New_York", is_sandbox=True)
    db.session.add(sandbox)
    _user(sandbox, "sandbox@example.com", "Sandy Box", "sandbox", "admin")
    db.session.flush()
    db.session.add(Contact(account_id=sandbox.id, first_name="Test", last_name="Contact",
                           email="test.contact@example.org", timezone="UTC"))
    db.session.flush()
    return True


def _seed_meeting_settings(account: Account) -> None:
    from webapp.meetings.models import MeetingType, Snippet
    from webapp.settings import operations as settings_ops

    account.custom_meeting_types_enabled = True
    db.session.add_all([MeetingType(account_id=account.id, name=n)
                        for n in ("Discovery call", "Demo", "Quarterly review")])
    # The five default outcomes come with every account; one custom outcome shows O2.
    settings_ops.add_outcome(account.id, "Follow-up booked")
    db.session.add_all([
        Snippet(account_id=account.id, name="Agenda",
                body_html="<p><b>Agenda</b></p><ul><li>Introductions</li><li>Your goals</li>"
                          "<li>Next steps</li></ul>"),
        Snippet(account_id=account.id, name="Dial-in help",
                body_html="<p>Call us at +1 212 555 0100 if the link does not work.</p>"),
    ])
    db.session.flush()


def _seed_scheduling_page(account: Account) -> None:
    """Dana's one-on-one scheduling page (排程頁面), /book/dana-intro: what a contact sees
    (Dana has no working hours of her own, so the page offers the account's default)."""
    from webapp.booking import operations as booking_ops

    demo = db.session.scalar(sa.select(User).where(User.email == "demo@example.com"))
    _page, errors = booking_ops.create_page(account, demo, {
        "title": "Intro call with Dana", "slug": "dana-intro", "durations": [30, 60],
        "questions": {"phone": True, "company": True, "note": True}})
    assert not errors, errors


def _seed_meetings(account: Account) -> None:
    """A few meetings on the first contacts' timelines (no invitations are sent for them)."""
    from datetime import UTC, datetime

    from webapp.meetings.models import Attendee, Meeting, MeetingAssociation

    demo = db.session.scalar(sa.select(User).where(User.email == "demo@example.com"))
    alex = db.session.scalar(sa.select(User).where(User.email == "alex@example.com"))
    contacts = list(db.session.scalars(sa.select(Contact).where(
        Contact.account_id == account.id).order_by(Contact.id).limit(3)))
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    # The last one Dana booked for Alex: reports tell "created by" and "assigned to" apart.
    plans = [("Discovery call", -3, "completed", demo), ("Product demo", 2, "scheduled", demo),
             ("Quarterly review", 9, "scheduled", alex)]
    for contact, (title, days, outcome, host) in zip(contacts, plans, strict=False):
        start = now + timedelta(days=days, hours=1)
        meeting = Meeting(account_id=account.id, title=f"{title} with {contact.first_name}",
                          start_at=start, end_at=start + timedelta(minutes=30),
                          timezone=account.timezone, location_kind="phone",
                          location_value=contact.phone, host_id=host.id, organizer_id=demo.id,
                          outcome=outcome)
        meeting.attendees.append(Attendee(contact_id=contact.id, name=contact.display_name,
                                          email=contact.email))
        meeting.associations.append(MeetingAssociation(
            account_id=account.id, record_type="contact", record_id=contact.id))
        if contact.company_id:
            meeting.associations.append(MeetingAssociation(
                account_id=account.id, record_type="company", record_id=contact.company_id))
        db.session.add(meeting)
    db.session.flush()


def register(app: Flask) -> None:
    """Add the CLI commands to app."""

    @app.cli.command("seed-demo")
    @click.option("--contacts", default=50, show_default=True)
    def seed_demo_command(contacts: int) -> None:
        """Create the demo accounts (Acme, Globex, a sandbox) on an empty database."""
        created = seed_demo(contacts)
        db.session.commit()
        click.echo("Demo data created: log in as demo@example.com / demo" if created
                   else "Demo data already present.")
