"""The timeline's Actions menu on phones (#20, #24): it is loaded when first opened, opens
inside the screen on the iPhone 13 and Pixel 7 profiles (it used to start at -58 px,
Edit and Set outcome unreadable), and the keyboard reaches its items.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Playwright, expect

from e2e.conftest import login, shot
from e2e.test_phone_scheduling import PHONES, in_db, phone_context


def _discovery_meeting(app) -> tuple[int, int, str]:
    """(contact id, meeting id, title) of the demo's "Discovery call" (a past meeting)."""
    from webapp.meetings.models import Meeting, MeetingAssociation

    def find(db):
        meeting = db.session.scalar(sa.select(Meeting).where(
            Meeting.title.like("Discovery call%")))
        contact_id = db.session.scalar(sa.select(MeetingAssociation.record_id).where(
            MeetingAssociation.meeting_id == meeting.id,
            MeetingAssociation.record_type == "contact"))
        return contact_id, meeting.id, meeting.title
    return in_db(app, find)


def _inside(page: Page, locator, what: str) -> None:
    width = page.viewport_size["width"]
    box = locator.bounding_box()
    assert box is not None, what
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (what, box, width)


@pytest.mark.parametrize("profile", list(PHONES))
def test_actions_menu_stays_on_screen_and_answers_the_keyboard(
        profile, app, demo, browser: Browser, playwright: Playwright, live_server: str):
    context = phone_context(browser, playwright, live_server, PHONES[profile])
    try:
        page = context.new_page()
        login(page)
        contact_id, meeting_id, title = _discovery_meeting(app)
        page.goto(f"/contacts/{contact_id}")
        item = page.locator(f"#meeting-{meeting_id}")
        summary = item.get_by_label(f"Actions for {title}", exact=True)
        # Opened from the keyboard: the menu is fetched once, into the item.
        with page.expect_response(lambda r: f"/meetings/{meeting_id}/actions" in r.url):
            summary.focus()
            page.keyboard.press("Enter")
        menu = item.locator(".menu-items")
        edit = menu.get_by_role("link", name="Edit")
        outcome = menu.get_by_role("link", name="Set outcome")
        delete = menu.get_by_role("button", name="Delete")
        for what, locator in (("menu", menu), ("Edit", edit), ("Set outcome", outcome),
                              ("Delete", delete)):
            expect(locator).to_be_visible()
            _inside(page, locator, f"{profile}: {what}")
        shot(page, f"timeline-menu-{profile}")
        page.keyboard.press("Tab")
        expect(edit).to_be_focused()
        page.keyboard.press("Tab")
        expect(outcome).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Set outcome")

        # Closing and opening again does not fetch it again.
        page.go_back()
        item = page.locator(f"#meeting-{meeting_id}")
        summary = item.get_by_label(f"Actions for {title}", exact=True)
        summary.click()
        expect(item.locator(".menu-items").get_by_role("link", name="Edit")).to_be_visible()
        fetched = []
        page.on("request", lambda r: fetched.append(r.url) if "/actions" in r.url else None)
        summary.click()
        summary.click()
        expect(item.locator(".menu-items").get_by_role("link", name="Edit")).to_be_visible()
        assert fetched == []
    finally:
        context.close()
