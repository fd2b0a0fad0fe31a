"""RSVP through the invitation: schedule with a contact attendee, find the invitation in
the dev mailbox, follow its link as the attendee (no login), accept, and see "Accepted"
on the meeting page.

Runs once per viewport setup (desktop 1280x800, phone = Pixel 7). The server sends mail
from a background thread (JOBS_MODE=thread) into the dev mailbox, shortly after the save.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from playwright.sync_api import Browser, Page, Playwright, expect

from e2e.conftest import context_options, login, shot
from e2e.meeting_helpers import (
    USER_ZONE,
    PageProblems,
    meeting_id,
    open_contact,
    open_scheduler,
    timeline_item,
)
from tests.meeting_helpers import future_day

MAIL_TIMEOUT = 10.0


@pytest.fixture()
def problems(ui: Page) -> PageProblems:
    watcher = PageProblems()
    watcher.watch(ui)
    return watcher


@pytest.fixture()
def attendee_page(browser: Browser, playwright: Playwright, ui_name: str,
                  problems: PageProblems) -> Iterator[Page]:
    """The attendee's own browser: same viewport setup, no Parley session."""
    context = browser.new_context(**context_options(playwright, ui_name))
    context.set_default_timeout(10_000)
    yield problems.watch(context.new_page())
    context.close()


def _schedule(page: Page, contact: str, title: str, day: str, start: str, end: str) -> int:
    """Schedule from the contact's page with the fewest fields; the meeting's id."""
    open_contact(page, contact)
    open_scheduler(page)
    expect(page.locator("#attendee-chips")).to_contain_text(contact)
    page.get_by_label("Title").fill(title)
    page.locator("#start_date").fill(day)
    page.locator("#start_time").fill(start)
    page.locator("#end_time").fill(end)
    page.locator("#save-meeting").click()
    expect(page.locator("#flash-area .flash-success")).to_contain_text(
        "Meeting scheduled. The invitation is on its way to 1 person.")
    item = timeline_item(page, title)
    expect(item).to_have_count(1)
    return meeting_id(item)


def _open_mail(page: Page, subject: str, to: str) -> None:
    """Reload the dev mailbox until a message `subject` to `to` is listed; open it."""
    row = page.locator("table tbody tr").filter(has_text=to).filter(
        has=page.get_by_role("link", name=subject, exact=True))
    deadline = time.monotonic() + MAIL_TIMEOUT
    while True:
        page.goto("/dev/mail")
        expect(page.get_by_role("heading", level=1)).to_have_text("Dev mailbox")
        if row.count():
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail {subject!r} to {to} in the dev mailbox after "
                                 f"{MAIL_TIMEOUT:.0f} s")
        page.wait_for_timeout(250)
    expect(row).to_have_count(1)
    row.get_by_role("link", name=subject, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)


def _rsvp_link(page: Page, live_server: str, title: str) -> str:
    """The RSVP address in the open mail's text/plain part (a link in its <pre>)."""
    plain = page.locator("section.mail-part").filter(
        has=page.get_by_role("heading", name="text/plain", exact=True))
    expect(plain).to_have_count(1)
    expect(plain.locator("pre.mail-body")).to_contain_text(title)
    link = plain.locator("pre.mail-body a").filter(has_text="/rsvp/")
    expect(link).to_have_count(1)
    href = link.get_attribute("href")
    assert re.fullmatch(re.escape(live_server) + r"/rsvp/[\w.-]+", href), href
    assert link.inner_text() == href
    return href


def test_rsvp_from_invitation(ui: Page, ui_name: str, demo, live_server: str,
                              attendee_page: Page, problems: PageProblems):
    page = ui
    name = f"rsvp-{ui_name}"
    contact, email = "Lena Chen", "lena.11@example.org"
    title = f"Onboarding review ({ui_name})"

    login(page)
    ident = _schedule(page, contact, title, future_day(5).isoformat(), "11:00", "11:45")

    # The invitation: the RSVP link in the text part, the same one in the HTML part.
    _open_mail(page, f"Invitation: {title}", email)
    href = _rsvp_link(page, live_server, title)
    html = page.frame_locator("iframe.mail-html")
    expect(html.get_by_role("heading", level=1)).to_have_text(title)
    expect(html.get_by_role("link", name="Reply: yes, no or maybe")).to_have_attribute(
        "href", href)
    shot(page, f"{name}-01-invitation")

    # The attendee follows the link in a browser of their own, without a Parley login.
    attendee = attendee_page
    attendee.goto(href)
    expect(attendee.get_by_role("heading", level=1)).to_have_text(title)
    expect(attendee.locator("#current-response")).to_have_text("No reply yet")
    attendee.get_by_role("button", name="Yes, I will attend").click()
    expect(attendee.get_by_role("status")).to_have_text("Thank you, your reply is saved.")
    expect(attendee.locator("#current-response")).to_have_text("Accepted")
    shot(attendee, f"{name}-02-accepted")

    # The organizer sees the reply on the meeting page.
    page.goto(f"/meetings/{ident}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    row = page.locator(".attendee-list li").filter(has_text=contact)
    expect(row).to_have_count(1)
    expect(row.locator(".response")).to_have_text("Accepted")
    delivery = page.locator("#delivery .delivery-row").filter(has_text=email)
    expect(delivery).to_have_count(1)
    expect(delivery).to_contain_text("Invitation")
    expect(delivery).to_have_attribute("data-status", "sent")
    shot(page, f"{name}-03-meeting-page")

    problems.check()


def test_rsvp_page_shows_the_attendees_time(ui: Page, ui_name: str, demo, live_server: str,
                                            attendee_page: Page, problems: PageProblems):
    page = ui
    contact, email, zone = "Hiro Kumar", "hiro.7@example.org", "Australia/Sydney"
    title = f"Sydney check-in ({ui_name})"
    day = future_day(5)

    login(page)
    _schedule(page, contact, title, day.isoformat(), "17:00", "17:30")
    _open_mail(page, f"Invitation: {title}", email)
    href = _rsvp_link(page, live_server, title)

    start = datetime.combine(day, datetime.strptime("17:00", "%H:%M").time(),
                             tzinfo=ZoneInfo(USER_ZONE))
    sydney = ZoneInfo(zone)
    expected = (f"{format_date(start.astimezone(sydney), 'full', locale='en')}, "
                f"{format_time(start, 'short', tzinfo=sydney, locale='en')} – "
                f"{format_time(start.replace(minute=30), 'short', tzinfo=sydney, locale='en')}")
    # The invitation itself is right: the time in the contact's zone.
    expect(page.locator("section.mail-part pre.mail-body").first).to_contain_text(expected)

    attendee_page.goto(href)
    when = attendee_page.locator("dt", has_text="When").locator("xpath=following-sibling::dd[1]")
    expect(when).to_contain_text(f"({zone}, GMT")  # the zone and its offset then
    shot(attendee_page, f"rsvp-zone-{ui_name}")
    problems.check()
    expect(when).to_contain_text(expected, timeout=1_000)
