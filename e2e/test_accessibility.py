"""axe-core on every page of the scheduling flows, at desktop and phone sizes; and the
attendees' local times (X8) in the desktop scheduler.

Pages: login, record page, desktop scheduler, phone flow (form, availability, confirmation,
outcome), meeting page, notifications. No serious or critical violation is allowed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from e2e.a11y import assert_accessible
from e2e.conftest import login, shot
from tests.meeting_helpers import local as local_time

SEEDED = "Ava Anderson"  # the demo's first contact: a seeded meeting on her timeline


def _record(page: Page, name: str) -> None:
    page.goto("/contacts?q=" + name.split()[0].lower())
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_scheduling_pages_pass_axe(ui: Page, ui_name: str, demo):
    page = ui
    page.goto("/login")
    assert_accessible(page, "login")
    login(page)

    _record(page, SEEDED)
    assert_accessible(page, "record page")
    record_url = page.url
    contact_id = re.search(r"/contacts/(\d+)", record_url).group(1)
    # The activity menu, opened.
    page.locator(".timeline-item .menu > summary").first.click()
    assert_accessible(page, "record page, activity menu open")

    page.goto(f"/meetings/new?record_type=contact&record_id={contact_id}")
    expect(page.locator("#attendee-local-times")).to_contain_text(SEEDED)
    assert_accessible(page, "desktop scheduler")
    shot(page, f"a11y-{ui_name}-scheduler")

    page.goto(f"/m/meetings/new?record_type=contact&record_id={contact_id}")
    page.get_by_label("Title").fill("Accessibility check")
    day = (date.today() + timedelta(days=10)).isoformat()
    page.get_by_label("Start date").fill(day)
    page.get_by_label("End date").fill(day)
    page.get_by_role("button", name="Check availability").click()
    expect(page.locator("#availability .m-day")).to_have_count(7)
    assert_accessible(page, "phone form with availability")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
    assert_accessible(page, "confirmation")
    page.get_by_role("link", name="Cancel").click()

    _record(page, SEEDED)
    page.locator(".timeline-item .timeline-title").first.click()
    expect(page.locator("#delivery")).to_be_visible()
    assert_accessible(page, "meeting page")
    meeting_id = re.search(r"/meetings/(\d+)", page.url).group(1)
    page.goto(f"/m/meetings/{meeting_id}/outcome")
    assert_accessible(page, "outcome (phone flow)")
    page.goto(f"/m/meetings/{meeting_id}/edit")
    assert_accessible(page, "edit (phone flow)")
    page.goto("/m/meetings/availability")
    assert_accessible(page, "availability page")
    page.goto("/notifications")
    assert_accessible(page, "notifications")


def test_desktop_scheduler_shows_each_contacts_local_time(ui: Page, ui_name: str, demo):
    page = ui
    login(page)
    _record(page, "Giulia Rossi")  # Asia/Kolkata
    contact_id = re.search(r"/contacts/(\d+)", page.url).group(1)
    page.goto(f"/meetings/new?record_type=contact&record_id={contact_id}")
    local = page.locator("#attendee-local-times")
    expect(local).to_contain_text("Giulia Rossi")
    expect(local).to_contain_text("Asia/Kolkata")
    # 07:00 in New York is late afternoon in Kolkata (16:30 in summer, 17:30 in winter, on
    # the day the form shows): inside working hours.
    page.get_by_label("Start time").fill("07:00")
    page.get_by_label("End time").fill("07:30")
    page.get_by_label("End time").dispatch_event("change")
    day = date.fromisoformat(page.get_by_label("Start date").input_value())
    kolkata = local_time(day, "07:00").astimezone(ZoneInfo("Asia/Kolkata"))
    expect(local).to_contain_text(f"{kolkata:%-I:%M} PM")
    expect(local).not_to_contain_text("Outside")
    # 13:00 in New York is late night there: a warning.
    page.get_by_label("Start time").fill("13:00")
    page.get_by_label("End time").fill("13:30")
    page.get_by_label("End time").dispatch_event("change")
    expect(local).to_contain_text("Outside Giulia Rossi’s working hours (08:00–20:00)")
    shot(page, f"x8-{ui_name}-scheduler-local-time")
    # Adding a second contact adds their local time without a page load.
    page.get_by_label("Search contacts and users").press_sequentially("lena", delay=20)
    page.locator("#attendee-results .pick", has_text="Lena").first.click()
    expect(local.locator("li")).to_have_count(2)
