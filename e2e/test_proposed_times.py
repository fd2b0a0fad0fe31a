"""Propose times from a record at desktop size, then book one through the emailed link on
a phone (Pixel 7, Traditional Chinese, no Parley login): the meeting lands on the
contact's timeline, and another link of the same email says the times are booked."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from e2e.a11y import assert_accessible
from e2e.conftest import context_options, login, shot, wait_for
from e2e.meeting_helpers import PageProblems, open_contact

MAIL_TIMEOUT = 10.0


@pytest.fixture()
def desktop(browser: Browser, playwright: Playwright, live_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server,
                                  **context_options(playwright, "desktop"))
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture()
def phone(browser: Browser, playwright: Playwright) -> Iterator[Page]:
    """The contact's phone: a browser in Traditional Chinese, without a Parley session."""
    context = browser.new_context(**{**context_options(playwright, "phone"),
                                     "locale": "zh-TW", "timezone_id": "Europe/Dublin"})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _links(page: Page, subject: str, to: str) -> list[str]:
    """The /proposed/ links of the mail `subject` to `to` in the dev mailbox."""
    row = page.locator("table tbody tr").filter(has_text=to).filter(
        has=page.get_by_role("link", name=subject, exact=True))
    wait_for(lambda: page.goto("/dev/mail") and row.count(), f"mail {subject!r} to {to}",
             timeout=MAIL_TIMEOUT)
    row.get_by_role("link", name=subject, exact=True).click()
    plain = page.locator("section.mail-part").filter(
        has=page.get_by_role("heading", name="text/plain", exact=True))
    hrefs = plain.locator("pre.mail-body a").filter(has_text="/proposed/")
    return [hrefs.nth(i).get_attribute("href") for i in range(hrefs.count())]


def test_propose_at_desktop_and_book_on_a_phone(desktop: Page, phone: Page, demo,
                                                live_server: str):
    problems = PageProblems()
    problems.watch(desktop)
    problems.watch(phone)
    csp: list[str] = []
    for page in (desktop, phone):
        page.on("console", lambda m: "Content Security Policy" in m.text and csp.append(m.text))
    contact, email, title = "Lena Chen", "lena.11@example.org", "Renewal check-in"

    login(desktop)
    open_contact(desktop, contact)
    desktop.locator("#propose-times").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Propose times")
    desktop.get_by_label("Title").fill(title)
    # Two free half hours picked on the week grid fill the first two time rows.
    free = desktop.locator("#week-calendar .slot:not(.unavailable)")
    expect(free.first).to_be_attached()
    first, second = free.nth(0), free.nth(4)
    picked = [(s.get_attribute("data-date"), s.get_attribute("data-time"))
              for s in (first, second)]
    first.click()
    second.click()
    expect(desktop.locator("#slot_date_0")).to_have_value(picked[0][0])
    expect(desktop.locator("#slot_time_0")).to_have_value(picked[0][1])
    expect(desktop.locator("#slot_time_1")).to_have_value(picked[1][1])
    expect(first).to_have_attribute("aria-pressed", "true")
    assert_accessible(desktop, "propose times (desktop)")
    shot(desktop, "proposed-01-picked")
    desktop.locator("#send-proposal").click()
    expect(desktop.locator("#flash-area .flash-success")).to_contain_text(
        "2 times proposed. The email with a link for each is on its way to Lena Chen.")
    proposal = desktop.locator("#proposals .proposal")
    expect(proposal).to_have_count(1)
    expect(proposal).to_contain_text("Waiting for the contact")
    expect(proposal.locator("li")).to_have_count(2)
    assert_accessible(desktop, "record page with proposed times")
    shot(desktop, "proposed-02-record")

    links = _links(desktop, f"Dana Demo proposes times to meet: {title}", email)
    assert len(links) == 2 and all(re.fullmatch(re.escape(live_server) + r"/proposed/[\w.-]+",
                                                h) for h in links), links

    # The contact, on a phone in Traditional Chinese: the link shows, the button books.
    phone.goto(links[1])
    expect(phone.get_by_role("heading", level=1)).to_have_text(title)
    expect(phone.locator("#proposed-time")).to_contain_text("Europe/Dublin")
    phone.set_viewport_size({"width": 360, "height": 740})
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(phone, "proposed time link (phone, zh-Hant)")
    shot(phone, "proposed-03-phone-link")
    phone.get_by_role("button", name="預約這個時間").click()
    expect(phone.get_by_role("status")).to_contain_text("已預約")
    shot(phone, "proposed-04-phone-booked")
    # The other link of the same email: already booked, at the booked time.
    phone.goto(links[0])
    expect(phone.get_by_role("status")).to_contain_text("這些時間已被預約")
    expect(phone.get_by_role("button", name="預約這個時間")).to_have_count(0)
    assert_accessible(phone, "proposed time already booked (phone, zh-Hant)")

    # The rep sees the proposal booked and the meeting on the contact's timeline.
    open_contact(desktop, contact)
    expect(proposal).to_contain_text("Booked")
    expect(desktop.locator("#timeline .timeline-item").filter(has_text=title)).to_have_count(1)
    shot(desktop, "proposed-05-timeline")
    problems.check()
    assert not csp, csp


@pytest.fixture()
def rep_phone(browser: Browser, playwright: Playwright, live_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server, **context_options(playwright, "phone"))
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_propose_from_a_phone_with_next_three_free(rep_phone: Page, demo, live_server: str):
    page = rep_phone
    problems = PageProblems()
    problems.watch(page)
    login(page)
    open_contact(page, "Hiro Kumar")
    page.locator("#more-actions > summary").click()
    page.locator("#more-propose-times").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Propose times")
    expect(page.locator("#calendar-panel")).to_be_hidden()  # the week grid is for desktops
    page.get_by_label("Title").fill("Quick intro")
    page.locator("#next-free").click()
    expect(page.get_by_role("status").filter(has_text="free times found")).to_contain_text(
        "3 free times found in your calendar.")
    for i in range(3):
        expect(page.locator(f"#slot_time_{i}")).not_to_have_value("")
    expect(page.locator("#slot_time_3")).to_have_value("")
    expect(page.get_by_label("Title")).to_have_value("Quick intro")  # kept across the fill
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert_accessible(page, "propose times (phone)")
    shot(page, "proposed-06-phone-form")
    page.locator("#send-proposal").click()
    expect(page.locator("#flash-area .flash-success")).to_contain_text("3 times proposed.")
    expect(page.locator("#proposals .proposal li")).to_have_count(3)
    links = _links(page, "Dana Demo proposes times to meet: Quick intro",
                   "hiro.7@example.org")
    assert len(links) == 3
    problems.check()
