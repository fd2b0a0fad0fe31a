"""The scheduler's week says why a time is not free (#21), in a browser: Dana turns her
working hours on in her settings; in the scheduler a slot outside them is shaded, its
reason is its title on hover (desktop) and is said in the line under the week on tap
(phone). Runs at desktop and phone sizes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from e2e.conftest import login, shot
from e2e.meeting_helpers import PageProblems


def _a_weekday():
    day = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=14)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def test_a_shaded_slot_says_why_on_hover_and_on_tap(ui: Page, ui_name: str, demo):
    page = ui
    problems = PageProblems()
    problems.watch(page)
    login(page)
    page.goto("/settings/profile")
    page.get_by_role("link", name="Edit working hours and rules").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Working hours and booking rules")
    expect(page.locator("#day-0")).to_have_value("09:00-17:00")  # the account default
    page.get_by_label("Only book me during my working hours").check()
    page.get_by_label("Buffer after meetings (minutes)").fill("15")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#flash-area")).to_contain_text("Your working hours and booking rules are saved.")
    shot(page, f"availability-{ui_name}-01-settings")

    page.goto("/meetings/new")
    page.wait_for_load_state("load")
    # The week grid is loaded after the form (#24): let that first week arrive, so that it
    # cannot land after (and over) the week of the date chosen below.
    expect(page.locator("#week-calendar .slot").first).to_be_attached()
    day = _a_weekday()
    with page.expect_response(lambda r: "/meetings/calendar" in r.url):
        page.get_by_label("Start date").fill(day.isoformat())
    early = page.locator(f'#week-calendar .slot[data-date="{day.isoformat()}"][data-time="07:00"]')
    working = page.locator(f'#week-calendar .slot[data-date="{day.isoformat()}"][data-time="10:00"]')
    expect(early).to_have_attribute("data-why", "Outside working hours")
    expect(working).not_to_have_attribute("data-why", "Outside working hours")
    expect(page.locator("#week-calendar .shade-outside_hours").first).to_be_attached()
    why = page.locator("#week-why")
    if ui_name == "phone":
        early.scroll_into_view_if_needed()
        early.tap()
    else:
        early.hover()
        expect(early).to_have_attribute("title", "Outside working hours")
        early.click()
    expect(why).to_contain_text("Outside working hours")
    expect(page.get_by_label("Start time")).to_have_value("07:00")  # still choosable
    shot(page, f"availability-{ui_name}-02-week")
    problems.check()
