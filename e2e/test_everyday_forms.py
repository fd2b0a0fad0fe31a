"""Issue #20 (second half), in the browser on desktop, iPhone 13 and Pixel 7: the end follows
the start and the duration presets set it; a contact saved with "No company"; a zone
picker found by typing a city; a zh-Hant contact's invitation and reminder in Chinese at a
real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Playwright, expect

from e2e.a11y import assert_accessible
from e2e.conftest import context_options, login, shot, wait_for
from e2e.test_phone_scheduling import in_db, phone_context
from e2e.test_phone_smtp_sink import mailing_server, sink  # noqa: F401 (fixtures)
from tests.meeting_helpers import future_day
from tests.support import drain

#: Desktop, and the two phone profiles the issue names.
PROFILES = {"desktop": None, "iphone": "iPhone 13", "pixel": "Pixel 7"}
CONTACT = "Giulia Rossi"  # demo contact: an email, company Cyberdyne


def open_context(browser: Browser, playwright: Playwright, base_url: str, profile: str):
    if PROFILES[profile] is None:
        context = browser.new_context(base_url=base_url,
                                      **context_options(playwright, "desktop"))
        context.set_default_timeout(10_000)
        return context
    return phone_context(browser, playwright, base_url, PROFILES[profile])


@pytest.fixture(params=list(PROFILES))
def device(request, browser: Browser, playwright: Playwright, live_server: str) -> Iterator:
    context = open_context(browser, playwright, live_server, request.param)
    page = context.new_page()
    yield request.param, page
    context.close()


def contact_id(app, name: str) -> int:
    from webapp.records.models import Contact
    first, last = name.split(" ", 1)
    return in_db(app, lambda db: db.session.scalar(sa.select(Contact.id).where(
        Contact.first_name == first, Contact.last_name == last)))


def open_meeting_form(page: Page, profile: str, record_id: int) -> None:
    """The desktop scheduler, or the phone flow on a phone."""
    prefix = "" if profile == "desktop" else "/m"
    page.goto(f"{prefix}/meetings/new?record_type=contact&record_id={record_id}")
    expect(page.locator("#start_time")).to_be_visible()


def test_the_end_follows_the_start_and_the_presets_set_it(device, app, demo):
    profile, page = device
    login(page)
    open_meeting_form(page, profile, contact_id(app, CONTACT))
    day = future_day(12)
    start_date, start_time = page.locator("#start_date"), page.locator("#start_time")
    end_date, end_time = page.locator("#end_date"), page.locator("#end_time")
    presets = page.locator("[data-duration-presets]")
    expect(presets).to_be_visible()
    assert_accessible(page, f"meeting form with presets ({profile})")

    # A meeting of an hour: 10:00-11:00 on the day.
    start_date.fill(day.isoformat())
    start_time.fill("10:00")
    end_time.fill("11:00")
    end_time.dispatch_event("change")
    # Moving the start moves the end by the same amount.
    start_time.fill("13:15")
    expect(end_time).to_have_value("14:15")
    next_day = day + timedelta(days=1)
    start_date.fill(next_day.isoformat())
    expect(end_time).to_have_value("14:15")
    if profile == "desktop":
        expect(end_date).to_have_value("")  # "ends on another day" stays closed
    else:
        expect(end_date).to_have_value(next_day.isoformat())
    # A start late in the evening carries the end over midnight, with its date.
    start_time.fill("23:30")
    expect(end_time).to_have_value("00:30")
    expect(end_date).to_have_value((next_day + timedelta(days=1)).isoformat())
    # Presets set the end from the start, and the duration is kept from then on.
    start_time.fill("09:00")
    presets.get_by_role("button", name="45 min").click()
    expect(end_time).to_have_value("09:45")
    expect(presets.get_by_role("button", name="45 min")).to_have_attribute(
        "aria-pressed", "true")
    start_time.fill("15:00")
    expect(end_time).to_have_value("15:45")
    # Changing the end by hand makes that the duration.
    end_time.fill("16:30")
    end_time.dispatch_event("change")
    start_time.fill("08:00")
    expect(end_time).to_have_value("09:30")
    expect(presets.get_by_role("button", name="45 min")).to_have_attribute(
        "aria-pressed", "false")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, f"end-follows-start-{profile}")


def test_a_contact_with_no_company_and_a_zone_found_by_typing(device, app, demo):
    profile, page = device
    login(page)
    page.goto("/contacts/new")
    page.get_by_label("First name").fill(f"Solo {profile}")
    page.get_by_label("Company").select_option(label="No company")
    zone_search = page.get_by_role("searchbox", name="Find a city or region")
    zone_search.fill("kolkata")
    expect(page.locator("#timezone")).to_have_value("Asia/Kolkata")
    zone_search.fill("calcutta")  # an old name is not offered
    expect(page.locator("#timezone option[value='Asia/Calcutta']")).to_have_count(0)
    zone_search.fill("new york")
    expect(page.locator("#timezone")).to_have_value("America/New_York")
    page.get_by_label("Language").select_option(label="繁體中文")
    assert_accessible(page, f"contact form ({profile})")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Solo {profile}")
    expect(page.locator("main")).to_contain_text("America/New_York")
    expect(page.locator("main")).to_contain_text("繁體中文")
    expect(page.locator(".field-error")).to_have_count(0)

    # The same in Traditional Chinese: no Simplified Chinese message anywhere.
    page.goto("/contacts/new")
    page.locator(".lang-switch button").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    page.locator("#first_name").fill(f"無公司 {profile}")
    page.locator("#company_id").select_option(value="")
    page.locator("main button.btn-primary[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"無公司 {profile}")
    page.locator(".lang-switch button").click()  # back to English for the next test


def _body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_a_zh_hant_contact_gets_a_chinese_invitation_and_reminder(
        app, demo, browser, playwright, mailing_server, sink, clock):  # noqa: F811
    context = open_context(browser, playwright, mailing_server, "desktop")
    page = context.new_page()
    try:
        login(page)
        # A contact in Traditional Chinese, made in the contact form.
        page.goto("/contacts/new")
        page.get_by_label("First name").fill("美玲")
        page.get_by_label("Last name").fill("林")
        page.get_by_label("Email").fill("meiling@example.org")
        page.locator("#timezone").select_option("Asia/Taipei")
        page.get_by_label("Language").select_option("zh_Hant")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("美玲 林")
        record = page.url.rstrip("/").rsplit("/", 1)[1]

        day: date = future_day(4)
        page.goto(f"/meetings/new?record_type=contact&record_id={record}")
        page.get_by_label("Title").fill("Pricing review")
        page.locator("#start_date").fill(day.isoformat())
        page.locator("#start_time").fill("10:00")
        page.locator("[data-duration-presets]").get_by_role("button", name="30 min").click()
        rows = page.locator("#reminder-rows .reminder-row")
        while rows.count():
            rows.nth(0).get_by_role("button", name="Remove reminder").click()
        page.locator("#add-reminder").click()
        rows.nth(0).locator("input[name=reminder_amount]").fill("2")
        rows.nth(0).locator("select[name=reminder_unit]").select_option("hours")
        page.locator("#save-meeting").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("美玲 林")

        drain(app, sink.url)  # whatever the server has not sent yet is sent now
        invitation = wait_for(lambda: [m for r, m in sink.messages
                                       if r == ["meiling@example.org"]], "the invitation")[0]
        assert "邀請" in str(invitation["Subject"]) and "Pricing review" in str(
            invitation["Subject"])
        text = _body(invitation)
        assert "年" in text and "Asia/Taipei" in text

        # The reminder, two hours before: the sweep run at that moment sends it.
        from webapp.meetings.models import Meeting
        due = in_db(app, lambda db: db.session.scalar(sa.select(Meeting).where(
            Meeting.title == "Pricing review")).reminders[0].due_at)
        sink.messages.clear()
        clock.move_to(due + timedelta(minutes=1))
        drain(app, sink.url)
        reminders = [m for r, m in sink.messages if r == ["meiling@example.org"]]
        assert len(reminders) == 1
        assert str(reminders[0]["Subject"]).startswith("提醒")
        assert "年" in _body(reminders[0])
    finally:
        context.close()


LONG_TITLE = "Quarterly" + "x" * 191  # 200 characters, no space to break at


def overflow(page: Page) -> int:
    """How far the page is wider than the viewport, in CSS px (0: not at all)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_a_long_unbroken_title_wraps_instead_of_widening_the_page(device, app, demo):
    profile, page = device
    if profile != "desktop":
        page.set_viewport_size({"width": 360, "height": 740})
    login(page)
    record = contact_id(app, CONTACT)
    open_meeting_form(page, profile, record)
    page.get_by_label("Title").fill(LONG_TITLE)
    page.locator("#start_date").fill(future_day(15).isoformat())
    page.locator("#start_time").fill("10:00")
    page.locator("#end_time").fill("10:30")
    if profile == "desktop":
        page.locator("#save-meeting").click()
    else:
        page.locator("#end_date").fill(future_day(15).isoformat())
        page.locator("#save-meeting").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
        assert overflow(page) <= 0, "the phone's confirmation"
        page.locator("#confirm-send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    item = page.locator(".timeline-item", has_text=LONG_TITLE[:40])
    expect(item).to_have_count(1)
    assert overflow(page) <= 0, "the record page"
    shot(page, f"long-title-{profile}-record")
    item.get_by_role("link", name=LONG_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(LONG_TITLE)
    assert overflow(page) <= 0, "the meeting page"
    page.goto("/contacts")
    assert overflow(page) <= 0, "the contacts list"
    page.goto(f"/contacts/{record}/edit")
    assert overflow(page) <= 0, "a form"


def test_the_phone_app_bar_is_compact(device, app, demo):
    """A menu button, Parley, the bell and the language on one row; the links behind the
    menu button, one per row, reachable from the keyboard."""
    profile, page = device
    login(page)
    page.goto("/contacts")
    bar = page.locator("header.topbar")
    toggle = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    if profile == "desktop":
        expect(toggle).to_be_hidden()
        expect(nav.get_by_role("link", name="Contacts")).to_be_visible()
        return
    box = bar.bounding_box()
    assert box["height"] <= 64, f"the app bar is {box['height']} px tall"
    expect(nav).to_be_hidden()
    for visible in (toggle, page.locator("#notification-bell"),
                    page.locator(".lang-switch button")):
        expect(visible).to_be_visible()
        assert visible.bounding_box()["y"] < box["y"] + box["height"]
    assert_accessible(page, f"app bar ({profile})")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Contacts")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert_accessible(page, f"app bar menu open ({profile})")
    shot(page, f"app-bar-{profile}-open")
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()
    toggle.click()
    nav.get_by_role("link", name="Deals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deals")


def test_type_ahead_and_calendar_slots_from_the_keyboard(device, app, demo):
    profile, page = device
    login(page)
    open_meeting_form(page, profile, contact_id(app, CONTACT))
    search = page.locator("#attendee-search")
    search.focus()
    page.keyboard.type("Hiro")
    results = page.locator("#attendee-results .pick")
    expect(results.first).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(results.first).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(search).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#attendee-chips")).to_contain_text("Hiro Kumar")
    expect(search).to_be_focused()
    if profile != "desktop":
        return  # the phone flow has no week grid (its availability is a day list)
    # The week grid: one slot in the tab order, opened scrolled to the working day.
    grid = page.locator("#week-calendar")
    slot = grid.locator('.slot[tabindex="0"]')
    expect(slot).to_have_count(1)
    assert grid.evaluate("el => el.scrollTop") > 0, "the grid opens at midnight"
    assert slot.get_attribute("data-time") in ("08:00", page.locator("#start_time").input_value()) \
        or grid.locator(".slot.selected").count()
    slot.focus()
    start = slot.get_attribute("data-time")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.dataset.time")
    hour, minute = (int(x) for x in start.split(":"))
    minutes = hour * 60 + minute + 30
    assert focused == f"{minutes // 60:02d}:{minutes % 60:02d}"
    day = page.evaluate("document.activeElement.dataset.date")
    page.keyboard.press("Enter")
    expect(page.locator("#start_date")).to_have_value(day)
    expect(page.locator("#start_time")).to_have_value(focused)
