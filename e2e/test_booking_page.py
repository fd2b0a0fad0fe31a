"""A contact books through a scheduling page on a phone in Traditional Chinese (#22): the
browser's zone is detected, a day and a slot are chosen, the form is sent; then the manage
link reschedules and cancels. axe-core on the public page, the confirmation and the manage
page. Screenshots under e2e/artifacts/booking-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Playwright, expect

from e2e.a11y import assert_accessible, assert_touch_targets
from e2e.conftest import shot
from e2e.test_phone_scheduling import in_db

SLUG = "acme-intro"


@pytest.fixture()
def scheduling_page(app, demo) -> str:
    """A one-on-one page of the demo user (Acme), taking bookings."""
    from webapp.auth.models import User
    from webapp.booking import operations as booking_ops

    def make(db):
        user = db.session.scalar(sa.select(User).where(User.email == demo["email"]))
        page, errors = booking_ops.create_page(user.account, user, {
            "title": "Acme intro call", "slug": SLUG, "durations": [30],
            "questions": {"company": True}})
        assert not errors, errors
        db.session.commit()
        return page.slug
    return in_db(app, make)


@pytest.fixture()
def taipei_phone(browser: Browser, playwright: Playwright, live_server: str) -> Iterator[Page]:
    options = dict(playwright.devices["Pixel 7"])
    options.pop("default_browser_type", None)
    context = browser.new_context(base_url=live_server, **options, locale="zh-TW",
                                  timezone_id="Asia/Taipei")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def choose_first_slot(page: Page) -> str:
    """Click the first free day (this month, else the next) and its first slot; the slot's
    time as shown."""
    days = page.locator("a.bk-day")
    if days.count() == 0:
        page.get_by_role("link", name="下個月").click()
        expect(days.first).to_be_visible()
    days.first.click()
    slot = page.locator("a.bk-slot").first
    expect(slot).to_be_visible()
    label = slot.inner_text()
    slot.click()
    return label


def booking_row(app):
    from webapp.booking.models import Booking
    from webapp.meetings.models import Meeting

    def read(db):
        booking = db.session.scalar(sa.select(Booking))
        meeting = db.session.get(Meeting, booking.meeting_id)
        return booking.status, meeting.start_at, meeting.sequence, meeting.timezone
    return in_db(app, read)


def test_book_reschedule_and_cancel_on_a_phone_in_traditional_chinese(
        app, scheduling_page, taipei_phone: Page):
    page = taipei_phone
    page.goto(f"/book/{scheduling_page}")
    # The browser's zone replaces the host's (static/js/booking.js), in the URL too.
    expect(page.locator("#bk-zone")).to_have_value("Asia/Taipei")
    expect(page).to_have_url(re.compile(r"zone=Asia%2FTaipei"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    expect(page.get_by_role("heading", name="選擇日期")).to_be_visible()
    shot(page, "booking-phone-month")
    assert_accessible(page, "public booking page")
    assert_touch_targets(page, "public booking page")

    shown = choose_first_slot(page)
    expect(page.get_by_label("您的姓名")).to_be_visible()
    assert_accessible(page, "booking form")
    page.get_by_label("您的姓名").fill("林小明")
    page.get_by_label("電子郵件").fill("ming@example.org")
    page.get_by_label("公司").fill("Example Ltd")
    shot(page, "booking-phone-form")
    page.get_by_role("button", name="預約會議").click()

    expect(page.get_by_role("heading", name="預約完成")).to_be_visible()
    expect(page.locator("#bk-when")).to_contain_text(shown)
    expect(page.locator("#bk-when")).to_contain_text("Asia/Taipei")
    expect(page.locator("#bk-manage-link")).to_be_visible()
    shot(page, "booking-phone-confirmed")
    assert_accessible(page, "confirmation")
    status, first_start, first_sequence, zone = booking_row(app)
    assert status == "booked" and zone == "Asia/Taipei"

    # Reschedule from the manage page: another day's first slot.
    page.goto(page.locator("#bk-manage-link").get_attribute("href"))
    days = page.locator("a.bk-day")
    expect(days.first).to_be_visible()
    (days.nth(1) if days.count() > 1 else days.first).click()
    slots = page.locator("a.bk-slot")
    expect(slots.first).to_be_visible()
    slots.nth(1 if slots.count() > 1 else 0).click()
    page.get_by_role("button", name="將我的會議改到這個時間").click()
    expect(page.get_by_role("heading", name="您的會議已改期")).to_be_visible()
    status, moved_start, moved_sequence, _zone = booking_row(app)
    assert moved_start != first_start and moved_sequence > first_sequence
    shot(page, "booking-phone-rescheduled")

    # Cancel, through its confirm step.
    page.get_by_role("link", name="取消會議…").click()
    page.get_by_role("button", name="是，取消會議").click()
    expect(page.get_by_role("heading", name="此會議已取消")).to_be_visible()
    assert booking_row(app)[0] == "canceled"
    assert_accessible(page, "canceled booking")
    shot(page, "booking-phone-canceled")


def test_the_public_page_works_without_javascript(app, scheduling_page, browser: Browser,
                                                  playwright: Playwright, live_server: str):
    context = browser.new_context(base_url=live_server, java_script_enabled=False,
                                  viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"/book/{scheduling_page}")
        page.locator("#bk-zone").select_option("Europe/Berlin")
        page.get_by_role("button", name="Show times").click()
        expect(page).to_have_url(re.compile(r"zone=Europe%2FBerlin"))
        choose_first_slot_en(page)
        page.get_by_label("Your name").fill("No Script")
        page.get_by_label("Email").fill("noscript@example.org")
        page.get_by_role("button", name="Book the meeting").click()
        expect(page.get_by_role("heading", name="You are booked")).to_be_visible()
        expect(page.locator("#bk-when")).to_contain_text("Europe/Berlin")
        shot(page, "booking-desktop-nojs-confirmed")
    finally:
        context.close()


def choose_first_slot_en(page: Page) -> None:
    days = page.locator("a.bk-day")
    if days.count() == 0:
        page.get_by_role("link", name="Next month").click()
    days.first.click()
    page.locator("a.bk-slot").first.click()


def test_the_owner_makes_a_page_in_settings_and_shares_it(app, demo, ui: Page, ui_name: str):
    from e2e.conftest import login, open_menu
    page = ui
    login(page)
    open_menu(page)
    page.goto("/settings/profile")
    page.locator("#scheduling-pages-link").click()
    page.locator("#new-page").click()
    page.get_by_label("Title").fill("Product demo")
    page.get_by_label("Link address").fill("Bad Address!")
    page.locator("#save-page").click()
    expect(page.locator("#slug-error")).to_be_visible()  # at its field, nothing saved
    assert_accessible(page, "scheduling page form with an error")
    page.get_by_label("Link address").fill("product-demo")
    page.get_by_label("Durations (minutes)").fill("30, 60")
    page.locator("#save-page").click()
    expect(page.locator("#public-link")).to_have_value(re.compile(r"/book/product-demo$"))
    expect(page.locator("#embed-snippet")).to_have_value(re.compile(r"<iframe src=\"[^\"]+/book/product-demo\""))
    assert_accessible(page, "scheduling page settings")
    shot(page, f"booking-settings-{ui_name}")
    page.goto("/book/product-demo")
    expect(page.locator("#bk-duration")).to_be_visible()  # two durations: the visitor picks
