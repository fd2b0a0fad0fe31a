"""M1-M3 on two phone profiles (an iPhone and a Pixel, both in Chromium): schedule from a
record through More > Meeting, "Continue and send?" (cancel sends nothing; confirm sends
the invitation), @mention notification, check availability, attendees' local times (X8),
edit and outcome from the timeline menu; a video meeting (X4, Jitsi) whose join link is on
the timeline, the meeting page and the invitation, and whose confirmation posted again
(a retried request) saves and sends nothing more; axe-core, touch targets and keyboard use
on every page of the flow. Screenshots under e2e/artifacts/phone-<profile>-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Playwright, expect

from e2e.a11y import assert_accessible, assert_touch_targets
from e2e.conftest import login, shot, wait_for
from tests.meeting_helpers import future_day
from tests.support import drain

PHONES = {"iphone": "iPhone 13", "pixel": "Pixel 7"}
CONTACT = "Giulia Rossi"  # demo contact #6: Asia/Kolkata, giulia.6@example.org
CONTACT_EMAIL = "giulia.6@example.org"
MENTIONED = "Alex Account-Exec"  # alex@example.com / demo


def phone_context(browser: Browser, playwright: Playwright, base_url: str, device: str):
    options = dict(playwright.devices[device])
    options.pop("default_browser_type", None)  # the iPhone profile runs in Chromium too
    context = browser.new_context(base_url=base_url, **options, locale="en-US",
                                  timezone_id="America/New_York")
    context.set_default_timeout(10_000)
    return context


@pytest.fixture(params=list(PHONES))
def phone(request, browser: Browser, playwright: Playwright, live_server: str) -> Iterator:
    context = phone_context(browser, playwright, live_server, PHONES[request.param])
    page = context.new_page()
    yield request.param, page
    context.close()


def in_db(app, fn):
    from webapp.extensions import db
    with app.app_context():
        try:
            return fn(db)
        finally:
            db.session.remove()


def meetings_titled(app, title: str) -> int:
    from webapp.meetings.models import Meeting
    return in_db(app, lambda db: db.session.scalar(
        sa.select(sa.func.count(Meeting.id)).where(Meeting.title == title)))


def mails(app) -> list[tuple[str, str]]:
    from webapp.mail.models import CapturedMail
    return in_db(app, lambda db: [(m.recipients, m.subject) for m in db.session.scalars(
        sa.select(CapturedMail).order_by(CapturedMail.id))])


def check_page(page: Page, name: str) -> None:
    """axe-core, 44 px touch targets, and a screenshot."""
    assert_accessible(page, name)
    assert_touch_targets(page, name)
    shot(page, name)


def open_record(page: Page) -> None:
    page.goto("/contacts?q=giulia")
    page.get_by_role("link", name=CONTACT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)


def open_phone_scheduler_by_keyboard(page: Page) -> None:
    """More, then Meeting, with the keyboard only."""
    expect(page.locator("#schedule-meeting")).to_be_hidden()  # the desktop button
    more = page.locator("#more-actions > summary")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Meeting", exact=True)).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Meeting", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("New meeting")


def set_times(page: Page, day: str, start: str, end: str) -> None:
    page.get_by_label("Start date").fill(day)
    page.get_by_label("Start time").fill(start)
    page.get_by_label("End date").fill(day)
    page.get_by_label("End time").fill(end)
    page.get_by_label("End time").dispatch_event("change")


def expected_outside(day: str, start: str, end: str, zone: str) -> bool:
    from webapp.meetings.local_times import outside_working_hours
    ny = ZoneInfo("America/New_York")
    s = datetime.fromisoformat(f"{day}T{start}").replace(tzinfo=ny).astimezone(ZoneInfo(zone))
    e = datetime.fromisoformat(f"{day}T{end}").replace(tzinfo=ny).astimezone(ZoneInfo(zone))
    return outside_working_hours(s, e)


def test_schedule_edit_and_outcome_on_a_phone(phone, app, demo, browser, playwright,
                                              live_server):
    profile, page = phone
    name = f"phone-{profile}"
    title = f"Phone kick-off {profile}"
    day = future_day(10).isoformat()

    page.goto("/login")
    assert_accessible(page, "login (phone)")
    login(page)
    open_record(page)
    check_page(page, f"{name}-01-record")
    open_phone_scheduler_by_keyboard(page)
    expect(page.locator("#attendee-chips")).to_contain_text(CONTACT)  # the record's contact
    for field, kind in (("Start date", "date"), ("Start time", "time"), ("End date", "date"),
                        ("End time", "time")):
        expect(page.get_by_label(field)).to_have_attribute("type", kind)  # native pickers
    check_page(page, f"{name}-02-form")

    # --- Cancel at "Continue and send?": nothing saved, nothing sent. ---
    mail_before = len(mails(app))
    page.get_by_label("Title").fill("Never sent")
    set_times(page, day, "09:00", "09:30")
    page.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
    expect(page.locator("#recipients")).to_contain_text(CONTACT)
    expect(page.locator("#recipients")).to_contain_text(CONTACT_EMAIL)
    check_page(page, f"{name}-03-confirm-cancel")
    page.locator("#confirm-cancel").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    drain(app)  # anything queued or due is sent now, before we look
    assert meetings_titled(app, "Never sent") == 0
    assert len(mails(app)) == mail_before
    page.goto("/dev/mail")
    expect(page.locator("main")).not_to_contain_text("Never sent")

    # --- The whole form, then confirm. ---
    open_record(page)
    page.locator("#more-actions > summary").click()
    page.get_by_role("link", name="Meeting", exact=True).click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill("Agenda:\nintroductions\nnext steps")
    set_times(page, day, "10:00", "10:30")

    # X8: the contact's local time, with the warning when it is outside 08:00-20:00.
    local = page.locator("#attendee-local-times")
    expect(local).to_contain_text(CONTACT)
    expect(local).to_contain_text("Asia/Kolkata")
    warning = f"Outside {CONTACT}’s working hours"
    outside = expected_outside(day, "10:00", "10:30", "Asia/Kolkata")
    if outside:
        expect(local).to_contain_text(warning)
    set_times(page, day, "08:00", "08:30")
    if expected_outside(day, "08:00", "08:30", "Asia/Kolkata"):
        expect(local).to_contain_text(warning)
    else:
        expect(local).not_to_contain_text(warning)
    set_times(page, day, "10:00", "10:30")
    expect(local).to_contain_text(warning) if outside else None

    # Check availability: the host's week as a list.
    page.get_by_role("button", name="Check availability").click()
    availability = page.locator("#availability")
    expect(availability).to_contain_text("Dana Demo's calendar")
    expect(availability.locator(".m-day")).to_have_count(7)
    expect(availability).to_contain_text("Free at the chosen time")
    check_page(page, f"{name}-04-availability")

    page.get_by_label("Meeting type").select_option(label="Demo")
    page.get_by_label("Location type").select_option(label="Phone call")
    page.get_by_label("Location details").fill("+1 212 555 0199")

    # @mention by keyboard: type, arrow down to the suggestion, Enter.
    note = page.get_by_label("Internal note")
    note.click()
    note.press_sequentially("Please prep the demo @Ale", delay=20)
    pick = page.locator("#mention-results .mention-pick", has_text=MENTIONED)
    expect(pick).to_be_visible()
    check_page(page, f"{name}-05-mention")
    note.press("ArrowDown")
    expect(pick).to_be_focused()
    page.keyboard.press("Enter")
    expect(note).to_have_value(f"Please prep the demo @{MENTIONED} ")
    expect(note).to_be_focused()
    note.press_sequentially("thanks", delay=10)

    # Associations: add a deal.
    search = page.get_by_label("Add records")
    search.press_sequentially("hooli", delay=20)
    page.locator("#association-results .pick", has_text="Hooli renewal").click()
    expect(page.locator("#association-chips")).to_contain_text("Hooli renewal")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
    expect(page.locator("#recipients")).to_contain_text(CONTACT_EMAIL)
    expect(page.locator("#mentioned")).to_contain_text(MENTIONED)
    check_page(page, f"{name}-06-confirm")
    # Back to edit keeps everything typed.
    page.get_by_role("button", name="Back to edit").click()
    expect(page.get_by_label("Title")).to_have_value(title)
    expect(page.get_by_label("Internal note")).to_have_value(
        f"Please prep the demo @{MENTIONED} thanks")
    expect(page.locator("#association-chips")).to_contain_text("Hooli renewal")
    assert meetings_titled(app, title) == 0
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Continue and send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    expect(page.locator("#flash-area")).to_contain_text("on its way to 1 person")
    item = page.locator(".timeline-item", has_text=title)
    expect(item).to_be_visible()
    expect(item).to_contain_text("+12125550199")
    shot(page, f"{name}-07-saved")
    assert meetings_titled(app, title) == 1

    # The invitation and the mention email reach the dev mailbox.
    wait_for(lambda: any(CONTACT_EMAIL in to and subject == f"Invitation: {title}"
                         for to, subject in mails(app)), "the invitation")
    wait_for(lambda: any("alex@example.com" in to and title in subject
                         for to, subject in mails(app)), "the mention email")
    page.goto("/dev/mail")
    expect(page.locator("main")).to_contain_text(f"Invitation: {title}")
    expect(page.locator("main")).to_contain_text(f"Dana Demo mentioned you in {title}")

    # --- The mentioned teammate sees the notification and opens the meeting. ---
    other = phone_context(browser, playwright, live_server, PHONES[profile])
    try:
        alex = other.new_page()
        login(alex, "alex@example.com", "demo")
        bell = alex.locator("#notification-bell")
        expect(bell).to_have_attribute("aria-label", "Notifications: 1 unread")
        bell.click()
        expect(alex.get_by_role("heading", level=1)).to_have_text("Notifications")
        check_page(alex, f"{name}-08-notifications")
        alex.get_by_role("button", name=re.compile(f"Dana Demo mentioned you in {title}")).click()
        expect(alex.get_by_role("heading", level=1)).to_have_text(title)
        expect(alex.locator("main")).to_contain_text("Please prep the demo")
        assert_accessible(alex, "meeting page (phone)")
        shot(alex, f"{name}-09-meeting")
        expect(alex.locator("#notification-bell")).to_have_attribute("aria-label",
                                                                     "Notifications")
    finally:
        other.close()

    # --- M2: edit from the activity's menu. ---
    open_record(page)
    item = page.locator(".timeline-item", has_text=title)
    item.get_by_text("Actions").click()
    item.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit meeting")
    expect(page.get_by_label("Title")).to_have_value(title)
    check_page(page, f"{name}-10-edit")
    page.get_by_label("Start time").fill("11:00")
    page.get_by_label("End time").fill("11:45")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
    expect(page.locator("#recipients")).to_contain_text(CONTACT_EMAIL)
    expect(page.locator("#recipients")).to_contain_text("Update")
    page.get_by_role("button", name="Continue and send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    expect(page.locator("#flash-area")).to_contain_text("Attendees will receive the update")
    item = page.locator(".timeline-item", has_text=title)
    expect(item.locator("time")).to_contain_text("11:00")
    wait_for(lambda: any(subject == f"Updated invitation: {title}"
                         for _to, subject in mails(app)), "the update")

    # --- M3: outcome from the same menu. ---
    item.get_by_text("Actions").click()
    item.get_by_role("link", name="Set outcome").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set outcome")
    check_page(page, f"{name}-11-outcome")
    page.get_by_label("Completed").check()
    page.get_by_role("button", name="Save outcome").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    expect(page.locator(".timeline-item", has_text=title).locator(".outcome")).to_have_text(
        "Completed")
    shot(page, f"{name}-12-outcome-saved")


def test_video_meeting_on_a_phone(phone, app, demo):
    profile, page = phone
    name = f"phone-{profile}-video"
    title = f"Phone video call {profile}"
    day = future_day(10).isoformat()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page)
    open_record(page)
    page.locator("#more-actions > summary").click()
    page.get_by_role("link", name="Meeting", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New meeting")
    page.get_by_label("Title").fill(title)
    set_times(page, day, "10:00", "10:30")

    # Video conference: the host's providers show, the free-text location goes away.
    expect(page.locator("#video-options")).to_be_hidden()
    page.get_by_label("Location type").select_option(label="Video conference")
    expect(page.locator("#video-options")).to_be_visible()
    expect(page.get_by_label("Location details")).to_be_hidden()
    provider = page.get_by_label("Video provider")
    expect(provider.locator("option")).to_contain_text(["Jitsi Meet"])
    provider.select_option(label="Jitsi Meet")
    check_page(page, f"{name}-01-form")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
    expect(page.locator("#recipients")).to_contain_text(CONTACT_EMAIL)
    expect(page.locator("#confirm-video")).to_contain_text("Video conference (Jitsi Meet)")
    expect(page.locator("#confirm-video")).to_contain_text(
        "The video link will be created when you send")
    check_page(page, f"{name}-02-confirm")
    assert meetings_titled(app, title) == 0
    # What the confirmation posts, to send it again later as a retried request would.
    action, body = page.evaluate("""() => {
        const form = document.querySelector("form[data-submit-once]");
        const data = new URLSearchParams(new FormData(form));
        data.set("confirm", "1");
        return [form.action, data.toString()];
    }""")
    page.get_by_role("button", name="Continue and send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    expect(page.locator("#flash-area")).to_contain_text("on its way to 1 person")

    # The timeline shows the join link; the meeting page has the same one.
    item = page.locator(".timeline-item", has_text=title)
    link = item.locator(".join-link")
    expect(link).to_be_visible()
    url = link.get_attribute("href")
    assert re.fullmatch(r"https://meet\.jit\.si/Parley-\w{20,}", url), url
    shot(page, f"{name}-03-saved")
    item.locator(".timeline-title").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("#join-link")).to_have_attribute("href", url)
    expect(page.locator("#video-conference")).to_contain_text("Jitsi Meet")
    check_page(page, f"{name}-04-meeting")

    # The invitation in the dev mailbox carries the link.
    def invitations():
        return [to for to, subject in mails(app) if subject == f"Invitation: {title}"]
    wait_for(lambda: invitations(), "the invitation")
    page.goto("/dev/mail")
    page.locator(f"a:has-text('Invitation: {title}')").first.click()
    mail = page.locator("body")
    expect(mail).to_contain_text(f"Join the video conference: {url}")
    expect(mail).to_contain_text(f"LOCATION:{url[:60]}")
    shot(page, f"{name}-05-invitation")

    # The same confirmation again (a double tap the browser let through, a retried
    # request): it lands on the saved meeting; nothing is saved or sent twice.
    # Sent by the page's own fetch, not page.request: Playwright's request client takes the
    # session cookie's Expires (the server's shifted clock) as already past and drops it,
    # where the browser corrects for the server's Date header.
    status, text = page.evaluate("""async ([action, body]) => {
        const response = await fetch(action, {method: "POST", body: body, headers: {
            "Content-Type": "application/x-www-form-urlencoded"}});
        return [response.status, await response.text()];
    }""", [action, body])
    assert status == 200 and "already saved" in text
    drain(app)  # a second send, had one been queued, is sent now, before we look
    assert meetings_titled(app, title) == 1
    assert len(invitations()) == 1
    assert errors == []
