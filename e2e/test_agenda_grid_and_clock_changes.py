"""Issue #20 in the browser: My meetings' desktop week as a time grid (overlapping meetings
side by side, opened at the working day; the phone keeps its day list), and the clock
changes named at the time fields as the rep types (the repeated hour and the skipped one),
on the desktop form and the phone form at 360 px, iPhone 13 and Pixel 7.
Screenshots under e2e/artifacts/issue20-grid-* and issue20-clock-*."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Playwright, expect

from e2e.a11y import assert_accessible
from e2e.conftest import context_options, login, shot
from e2e.test_everyday_forms import CONTACT, contact_id, open_meeting_form
from e2e.test_phone_scheduling import in_db, phone_context

ZONE = ZoneInfo("America/New_York")
PROFILES = {"desktop": None, "narrow": None, "iphone": "iPhone 13", "pixel": "Pixel 7"}


@pytest.fixture(params=list(PROFILES))
def device(request, browser: Browser, playwright: Playwright, live_server: str) -> Iterator:
    profile = request.param
    if profile == "desktop":
        context = browser.new_context(base_url=live_server,
                                      **context_options(playwright, "desktop"))
    elif profile == "narrow":  # the narrowest phones the pages are made for
        context = browser.new_context(
            base_url=live_server, viewport={"width": 360, "height": 740}, is_mobile=True,
            has_touch=True, device_scale_factor=2, locale="en-US",
            timezone_id="America/New_York")
    else:
        context = phone_context(browser, playwright, live_server, PROFILES[profile])
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield profile, page
    context.close()


def _seed_overlap(app) -> dict[str, int]:
    """Two of Dana's meetings today that overlap (10:00-11:00 and 10:30-11:30, New York),
    and one alone in the afternoon."""
    from webapp.auth.models import User
    from webapp.meetings.models import Meeting

    def seed(db):
        dana = db.session.scalar(sa.select(User).where(User.email == "demo@example.com"))
        today = datetime.now(UTC).astimezone(ZONE).date()
        ids = {}
        for title, (h, m), minutes in (("Grid first", (10, 0), 60),
                                       ("Grid second", (10, 30), 60),
                                       ("Grid alone", (15, 0), 30)):
            start = datetime.combine(today, time(h, m), tzinfo=ZONE).astimezone(UTC)
            meeting = Meeting(account_id=dana.account_id, title=title, start_at=start,
                              end_at=start + timedelta(minutes=minutes),
                              timezone="America/New_York", host_id=dana.id,
                              organizer_id=dana.id)
            db.session.add(meeting)
            db.session.flush()
            ids[title] = meeting.id
        db.session.commit()
        return ids

    return in_db(app, seed)


def test_my_meetings_week_is_a_time_grid(device, app, demo):
    profile, page = device
    _seed_overlap(app)
    login(page)
    page.goto("/calendar")
    if profile != "desktop":
        expect(page.locator("#agenda-week")).to_be_hidden()
        day = page.locator("#agenda-day")
        for title in ("Grid first", "Grid second", "Grid alone"):
            expect(day).to_contain_text(title)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        return
    grid = page.locator("#agenda-week")
    first = grid.get_by_role("link", name="Grid first")
    second = grid.get_by_role("link", name="Grid second")
    alone = grid.get_by_role("link", name="Grid alone")
    expect(first).to_be_visible()
    # Opened scrolled to the working day: 08:00 at the top, not midnight.
    assert grid.evaluate("el => el.scrollTop") > 0
    hour8 = grid.locator(".agenda-hour", has_text="08:00").bounding_box()
    head = grid.locator(".agenda-head").first.bounding_box()
    assert abs(hour8["y"] - (head["y"] + head["height"])) <= 2
    a = first.locator("xpath=..").bounding_box()
    b = second.locator("xpath=..").bounding_box()
    c = alone.locator("xpath=..").bounding_box()
    # Side by side, as wide as each other, the second lower by half an hour...
    assert a["x"] + a["width"] <= b["x"] + 1 and abs(a["width"] - b["width"]) <= 2
    assert abs((b["y"] - a["y"]) - a["height"] / 2) <= 3
    # ... and an hour long each; the one alone takes the day's whole width.
    assert abs(c["width"] - (b["x"] + b["width"] - a["x"])) <= 3
    assert abs(c["height"] - a["height"] / 2) <= 3
    assert first.evaluate("el => el.scrollWidth <= el.clientWidth + 1")  # title not cut
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page, "agenda time grid")
    shot(page, "issue20-grid-desktop")


def _zone(page: Page) -> None:
    page.locator("#timezone").select_option("America/New_York")


def test_clock_changes_are_named_at_the_time_fields(device, app, demo):
    profile, page = device
    login(page)
    open_meeting_form(page, "desktop" if profile == "desktop" else "phone",
                      contact_id(app, CONTACT))
    _zone(page)
    page.locator("#start_date").fill("2027-11-07")
    page.locator("#start_time").fill("01:30")
    start = page.locator("#start-occurrence")
    expect(start).to_contain_text("on Sun, Nov 7, happens twice in America/New_York")
    expect(start).to_contain_text("(EDT, then EST: the clocks go back)")
    expect(start.get_by_label("First time, GMT-04:00 (EDT)")).to_be_checked()
    expect(start).to_contain_text("The first (EDT) is used unless you choose the second.")
    start.get_by_label("Second time, GMT-05:00 (EST)").check()
    # The end follows the start (an ordinary 2:00 AM); the rep's choice stays.
    page.locator("#end_time").fill("03:00")
    page.locator("#end_time").dispatch_event("change")
    expect(page.locator("#end-occurrence")).to_have_count(0)
    expect(page.locator("#start-occurrence").get_by_label(
        "Second time, GMT-05:00 (EST)")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page, f"repeated hour at the field ({profile})")
    shot(page, f"issue20-clock-twice-{profile}")
    # The spring gap: refused at the field as it is typed.
    page.locator("#start_date").fill("2027-03-14")
    page.locator("#start_time").fill("02:30")
    expect(page.locator("#start-skipped")).to_contain_text(
        "does not exist on Sun, Mar 14 in America/New_York: the clocks skip it, going from "
        "EST to EDT. Choose another time.")
    expect(page.locator("#start-occurrence")).to_have_count(0)
    shot(page, f"issue20-clock-skipped-{profile}")


def test_the_phone_edit_form_sets_the_outcome_of_a_past_meeting(device, app, demo):
    profile, page = device
    from webapp.auth.models import User
    from webapp.meetings.models import Meeting

    def seed(db):
        dana = db.session.scalar(sa.select(User).where(User.email == "demo@example.com"))
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
        meeting = Meeting(account_id=dana.account_id, title="Held yesterday", start_at=start,
                          end_at=start + timedelta(minutes=30), timezone="America/New_York",
                          host_id=dana.id, organizer_id=dana.id)
        db.session.add(meeting)
        db.session.commit()
        return meeting.id

    meeting_id = in_db(app, seed)
    login(page)
    prefix = "" if profile == "desktop" else "/m"
    page.goto(f"{prefix}/meetings/{meeting_id}/edit")
    outcome = page.get_by_label("Outcome")
    expect(outcome).to_have_value("scheduled")
    expect(page.locator("#outcome-hint")).to_have_text(
        "This meeting has ended: how did it go? Set its outcome.")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert_accessible(page, f"edit form with the outcome ({profile})")
    shot(page, f"issue20-edit-outcome-{profile}")
    outcome.select_option("no_show")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/meetings/{meeting_id}$"))
    assert in_db(app, lambda db: db.session.get(Meeting, meeting_id).outcome) == "no_show"


def test_a_long_unbroken_title_stays_inside_my_meetings(device, app, demo):
    profile, page = device
    from e2e.test_everyday_forms import LONG_TITLE, overflow
    from webapp.auth.models import User
    from webapp.meetings.models import Meeting

    def title(minutes: int) -> str:  # 200 characters, the longest a title may be
        return f"{LONG_TITLE[:-len(str(minutes))]}{minutes}"

    def seed(db):
        dana = db.session.scalar(sa.select(User).where(User.email == "demo@example.com"))
        now = datetime.now(UTC)
        # On the grid's 5-minute rows, whatever the minute the test runs.
        start = now.replace(minute=now.minute // 5 * 5, second=0, microsecond=0) + \
            timedelta(minutes=10)
        for minutes in (15, 90):
            db.session.add(Meeting(
                account_id=dana.account_id, title=title(minutes), start_at=start,
                end_at=start + timedelta(minutes=minutes), timezone="America/New_York",
                host_id=dana.id, organizer_id=dana.id))
        db.session.commit()

    in_db(app, seed)
    login(page)
    page.goto("/calendar")
    shown = page.locator("#agenda-week" if profile == "desktop" else "#agenda-day")
    expect(shown.get_by_role("link", name=title(15))).to_be_visible()
    assert overflow(page) <= 0
    if profile == "desktop":  # each block stays in its own column of the grid
        boxes = [shown.locator(".agenda-event", has_text=title(m)).bounding_box()
                 for m in (15, 90)]
        left, right = sorted(boxes, key=lambda b: b["x"])  # the longer one first
        assert left["x"] + left["width"] <= right["x"] + 1
        assert left["height"] > right["height"] * 5
    shot(page, f"issue20-grid-long-title-{profile}")
