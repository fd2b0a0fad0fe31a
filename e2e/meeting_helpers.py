"""Shared steps for the meeting browser tests (scheduler, timeline, RSVP)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from playwright.sync_api import Locator, Page, expect

USER_ZONE = "America/New_York"  # the demo user's zone, and the browser's (conftest)


class PageProblems:
    """Uncaught JavaScript errors and server errors (5xx) seen by the watched pages."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda exc: self.items.append(f"JS error on {page.url}: {exc}"))
        page.on("response", lambda r: r.status >= 500 and self.items.append(
            f"HTTP {r.status} for {r.request.method} {r.url}"))
        return page

    def check(self) -> None:
        assert not self.items, "problems in the browser:\n" + "\n".join(self.items)


def when_text(day: date, start: str, end: str, zone: str = USER_ZONE) -> str:
    """The timeline's rendering of a meeting's time ("Jun 3, 2026, 2:00 PM – 3:00 PM"):
    no seconds."""
    tz = ZoneInfo(zone)
    s = datetime.combine(day, datetime.strptime(start, "%H:%M").time(), tzinfo=tz)
    e = datetime.combine(day, datetime.strptime(end, "%H:%M").time(), tzinfo=tz)
    return (f"{format_date(s, 'medium', locale='en')}, "
            f"{format_time(s, 'short', tzinfo=tz, locale='en')} – "
            f"{format_time(e, 'short', tzinfo=tz, locale='en')}")


def open_contact(page: Page, name: str) -> None:
    """From anywhere: the contacts list, then the contact's page."""
    page.goto("/contacts")
    page.locator("#record-list").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def open_scheduler(page: Page) -> bool:
    """From a record page, the desktop scheduler: click "Schedule meeting".

    Returns True on a phone layout, where that button is hidden by CSS: below 800 px the
    record page offers More > Meeting, the phone flow (e2e/test_phone_scheduling.py),
    and the desktop scheduler stays reachable by its address, which is followed here.
    """
    button = page.locator("#schedule-meeting")
    expect(button).to_have_count(1)
    phone_layout = not button.is_visible()
    if phone_layout:
        expect(page.locator("#more-actions")).to_be_visible()  # the phone's way in
        page.goto(button.get_attribute("href"))
    else:
        button.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule meeting")
    # scheduler.js has run: it builds the rich-text editors.
    expect(page.locator(".rte-area").first).to_be_visible()
    return phone_layout


def timeline_items(page: Page) -> Locator:
    return page.locator("#timeline .timeline-item")


def timeline_item(page: Page, title: str) -> Locator:
    return timeline_items(page).filter(
        has=page.locator(".timeline-title", has_text=re.compile(f"^{re.escape(title)}$")))


def meeting_id(item: Locator) -> int:
    return int(item.get_attribute("id").removeprefix("meeting-"))


def open_actions(page: Page, item: Locator, title: str) -> Locator:
    """Open the timeline item's Actions menu; the menu's items."""
    item.get_by_label(f"Actions for {title}", exact=True).click()
    menu = item.locator(".menu-items")
    expect(menu).to_be_visible()
    return menu
