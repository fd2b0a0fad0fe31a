"""Booking for a colleague through a meeting rotation (B1, B2, B3, B6, B7, B9) in a browser.

The admin Dana (paid seat) sets up a rotation with herself and Alex, marks herself away,
then books from a contact's page: the rotation fills the host with Alex, the calendar
switches to Alex's week with his events reading "Busy", and after saving both Alex and
the contact find the invitation in the dev mailbox. Runs at desktop and phone sizes.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from e2e.conftest import login, shot
from e2e.meeting_helpers import open_scheduler

PRIVATE_TITLE = "Alex private pipeline review"
TITLE = "Intro through the rotation"


def _meeting_day():
    """A week from today in New York: far enough for the demo's default reminders."""
    return datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=7)


def _alex_meeting(app) -> None:
    """A meeting Alex hosts at noon, New York time, on the day Dana books."""
    from webapp.auth.models import User
    from webapp.extensions import db
    from webapp.meetings.models import Meeting

    with app.app_context():
        alex = db.session.scalar(sa.select(User).where(User.email == "alex@example.com"))
        day = _meeting_day()
        start = datetime(day.year, day.month, day.day, 12,
                         tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
        db.session.add(Meeting(account_id=alex.account_id, title=PRIVATE_TITLE, start_at=start,
                               end_at=start + timedelta(hours=1), timezone="America/New_York",
                               host_id=alex.id, organizer_id=alex.id))
        db.session.commit()
        db.session.remove()


def _wait_for_mail(page: Page, recipient: str, subject_part: str, timeout: float = 20.0) -> None:
    """Reload the dev mailbox until a row to recipient mentions subject_part."""
    deadline = time.monotonic() + timeout
    row = page.locator("tr", has_text=recipient).filter(has_text=subject_part)
    while True:
        page.goto("/dev/mail")
        if row.count():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {recipient} about {subject_part!r}:\n"
                                 + page.locator("main").inner_text())
        time.sleep(0.5)


def test_book_through_a_rotation_for_a_colleague(ui: Page, ui_name: str, demo, app):
    page = ui
    name = f"rotation-{ui_name}"
    _alex_meeting(app)
    login(page)

    # Account settings: a rotation of Dana and Alex; Dana is away.
    page.goto("/settings/profile")
    page.get_by_role("link", name="Meeting rotations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meeting rotations")
    page.get_by_label("Name").fill("Inbound sales")
    page.get_by_label("Dana Demo").check()
    page.get_by_label("Alex Account-Exec").check()
    expect(page.get_by_label("Sam Support")).to_have_count(0)  # no paid seat
    page.get_by_role("button", name="Create rotation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbound sales")
    members = page.locator("#members")
    dana_switch = members.get_by_role("switch", name="Dana Demo available")
    expect(dana_switch).to_have_attribute("aria-checked", "true")
    page.evaluate("window.__sameDocument = true")
    dana_switch.click()
    expect(members.get_by_role("switch", name="Dana Demo available")).to_have_attribute(
        "aria-checked", "false")
    expect(members.locator("tr", has_text="Dana Demo")).to_contain_text("Unavailable")
    assert page.evaluate("window.__sameDocument === true"), "the switch reloaded the page"
    shot(page, f"{name}-01-settings")

    # The scheduler from a contact: choosing the rotation fills the host with Alex.
    page.goto("/contacts")
    page.get_by_role("link", name="Ava Anderson").click()
    open_scheduler(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule meeting")
    page.wait_for_load_state("load")  # htmx and scheduler.js (deferred) are wired up
    calendar = page.locator("#week-calendar")
    expect(calendar).to_contain_text("Dana Demo's calendar")
    with page.expect_response(lambda r: "/meetings/calendar" in r.url):
        page.get_by_label("Start date").fill(_meeting_day().isoformat())
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("End time").fill("10:30")
    with page.expect_response(lambda r: "/meetings/calendar" in r.url):
        page.get_by_label("Meeting rotation").select_option(label="Inbound sales")
    host = page.get_by_label("Host", exact=True)
    expect(host.locator("option:checked")).to_have_text("Alex Account-Exec")
    expect(host.locator("option")).to_have_count(1)  # Dana is away: Alex is the only choice
    expect(page.locator("#rotation-suggestion")).to_contain_text("Alex Account-Exec")
    # B4, B9: Alex's week, his meeting reading "Busy" to Dana.
    expect(calendar).to_contain_text("Alex Account-Exec's calendar")
    expect(calendar.locator(".event.busy").first).to_contain_text("Busy")
    expect(calendar).not_to_contain_text(PRIVATE_TITLE)
    shot(page, f"{name}-02-scheduler")

    page.get_by_label("Title").fill(TITLE)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ava Anderson")
    expect(page.locator("#flash-area")).to_contain_text(
        "Booked through Inbound sales with Alex Account-Exec as host.")
    # B7: host and organizer, separately, on the timeline.
    item = page.locator(".timeline-item", has_text=TITLE)
    expect(item).to_contain_text("Alex Account-Exec")
    expect(item.locator("dt:text-is('Organizer') + dd")).to_have_text("Dana Demo")
    expect(item.locator("dt:text-is('Host') + dd")).to_have_text("Alex Account-Exec")
    shot(page, f"{name}-03-timeline")

    # B6: the contact and the host both receive the invitation; Dana is not an attendee.
    _wait_for_mail(page, "ava.0@example.org", TITLE)
    _wait_for_mail(page, "alex@example.com", TITLE)
    expect(page.locator("tr", has_text="demo@example.com").filter(has_text=TITLE)).to_have_count(0)
    shot(page, f"{name}-04-mailbox")

    # B3: Alex's count went up by one.
    page.goto("/settings/rotations")
    page.get_by_role("link", name="Inbound sales").click()
    alex_row = page.locator("#members tr", has_text="Alex Account-Exec")
    expect(alex_row.locator(".booked-count")).to_have_text("1")
    expect(page.locator("#members tr", has_text="Dana Demo").locator(".booked-count")
           ).to_have_text("0")
    assert re.search(r"/settings/rotations/\d+$", page.url)
