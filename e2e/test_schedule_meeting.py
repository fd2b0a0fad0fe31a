"""Schedule a meeting from a record: the scheduler with every field, the collapsed calendar,
bad input; then edit, delete and set the outcome from the record's timeline.

Runs once per viewport setup (desktop 1280x800, phone = Pixel 7). Demo data: webapp.cli
seed_demo (meeting types, the "Agenda" snippet, default reminders 1 hour and 1 day;
seeded meetings on the first three contacts).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from e2e.conftest import ARTIFACTS, login, shot
from e2e.meeting_helpers import (
    PageProblems,
    meeting_id,
    open_actions,
    open_contact,
    open_scheduler,
    timeline_item,
    timeline_items,
    when_text,
)
from tests.meeting_helpers import future_day

CONTACT = "Giulia Rossi"  # has an email, no seeded meetings, company Cyberdyne
SECOND_CONTACT = "Hiro Kumar"
USER = "Alex Account-Exec"
DEAL = "Hooli renewal"
HOST = "Dana Demo"

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture()
def problems(ui: Page) -> PageProblems:
    watcher = PageProblems()
    watcher.watch(ui)
    return watcher


def _mark_document(page: Page) -> None:
    page.evaluate("window.__e2eSameDocument = true")


def _same_document(page: Page) -> bool:
    return page.evaluate("window.__e2eSameDocument === true")


def _scroll_to_middle(page: Page, selector: str) -> None:
    page.locator(selector).evaluate(
        "el => el.scrollIntoView({block: 'center', inline: 'center'})")


def _center(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _slot(day: str, time: str) -> str:
    return f'#week-calendar .slot[data-date="{day}"][data-time="{time}"]'


def _expect_times(page: Page, day: str, start: str, end: str) -> None:
    expect(page.locator("#start_date")).to_have_value(day)
    expect(page.locator("#start_time")).to_have_value(start)
    expect(page.locator("#end_time")).to_have_value(end)


def _painted(field: Locator) -> bool:
    """True when the topmost element at the field's center is the field itself."""
    field.scroll_into_view_if_needed()
    return field.evaluate("""el => { const r = el.getBoundingClientRect();
        return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el; }""")


def _type_date(page: Page, selector: str, day: date) -> None:
    """Type a date into a native date input with the keyboard (en-US: mm dd yyyy)."""
    page.locator(selector).focus()
    page.keyboard.type(day.strftime("%m%d%Y"))


def _type_time(page: Page, selector: str, hhmm: str) -> None:
    """Type a time into a native time input with the keyboard (en-US: hh mm AM/PM)."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    page.locator(selector).focus()
    page.keyboard.type(f"{(hour % 12) or 12:02d}{minute:02d}{'P' if hour >= 12 else 'A'}")


def test_schedule_with_every_field(ui: Page, ui_name: str, demo, problems, tmp_path: Path):
    page = ui
    name = f"schedule-{ui_name}"
    title = "Renewal kick-off"
    pdf = tmp_path / "pricing-notes.pdf"
    pdf.write_bytes(MINIMAL_PDF)

    login(page)
    open_contact(page, CONTACT)
    expect(page.locator("#timeline")).to_contain_text("No activities yet")
    phone_layout = open_scheduler(page)
    assert not phone_layout or ui_name == "phone", "the desktop button is hidden on desktop"
    form = page.locator("#meeting-form")
    # The record's contact is an attendee already; the record and its company are associated.
    expect(page.locator("#attendee-chips")).to_contain_text(CONTACT)
    expect(page.locator("#association-chips")).to_contain_text(CONTACT)
    expect(page.locator("#association-chips")).to_contain_text("Cyberdyne")
    shot(page, f"{name}-01-scheduler")

    # --- calendar: next week, click a slot, then drag over three slots ---
    calendar = page.locator("#week-calendar")
    last_day = date.fromisoformat(calendar.locator(".day-col").last.get_attribute("data-date"))
    day = (last_day + timedelta(days=7)).isoformat()
    calendar.get_by_role("link", name="Next week").click()
    expect(page.locator(f'#week-calendar .day-col[data-date="{day}"]')).to_have_count(1)

    page.locator(_slot(day, "10:00")).click()
    _expect_times(page, day, "10:00", "10:30")
    expect(page.locator(_slot(day, "10:00"))).to_have_attribute("aria-pressed", "true")

    _scroll_to_middle(page, _slot(day, "10:30"))  # 10:00 to 11:00 all on screen
    x0, y0 = _center(page, _slot(day, "10:00"))
    x1, y1 = _center(page, _slot(day, "11:00"))
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=6)
    page.mouse.up()
    _expect_times(page, day, "10:00", "11:30")
    expect(page.locator("#week-calendar .slot.selected")).to_have_count(3)
    shot(page, f"{name}-02-slots-dragged")

    # --- title, type, attendees, location ---
    page.get_by_label("Title").fill(title)
    page.get_by_label("Meeting type").select_option(label="Demo")

    chips = page.locator("#attendee-chips")
    search = page.locator("#attendee-search")
    search.fill("Hiro")
    page.locator("#attendee-results").get_by_role(
        "button", name=re.compile(f"^{SECOND_CONTACT}")).click()
    expect(chips).to_contain_text(SECOND_CONTACT)
    expect(search).to_have_value("")
    expect(page.locator("#attendee-results .pick")).to_have_count(0)
    search.fill("Alex")
    page.locator("#attendee-results").get_by_role(
        "button", name=re.compile(f"^{USER}.*user")).click()
    expect(chips).to_contain_text(USER)
    expect(chips.locator("input[name=attendees]")).to_have_count(3)

    page.get_by_label("Location type").select_option(label="In person")
    page.get_by_label("Location details").fill("221B Baker Street, London")

    # --- reminders: two defaults, a third, no fourth, remove one, set values ---
    rows = page.locator("#reminder-rows .reminder-row")
    add = page.locator("#add-reminder")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("input[name=reminder_amount]")).to_have_value("1")
    expect(rows.nth(0).locator("select[name=reminder_unit]")).to_have_value("hours")
    expect(rows.nth(1).locator("input[name=reminder_amount]")).to_have_value("1")
    expect(rows.nth(1).locator("select[name=reminder_unit]")).to_have_value("days")
    expect(add).to_be_visible()
    add.click()
    expect(rows).to_have_count(3)
    expect(add).to_be_hidden()
    expect(rows.nth(2).locator("input[name=reminder_amount]")).to_be_focused()
    rows.nth(0).get_by_role("button", name="Remove reminder").click()
    expect(rows).to_have_count(2)
    expect(add).to_be_visible()
    rows.nth(0).locator("input[name=reminder_amount]").fill("2")  # was 1 day
    rows.nth(1).locator("input[name=reminder_amount]").fill("30")  # the new row, 1 hour
    rows.nth(1).locator("select[name=reminder_unit]").select_option("minutes")
    include = page.get_by_label("Include attendee description in the reminder email body")
    include.check()
    expect(include).to_be_checked()

    # --- attendee description: text, bold, the "Agenda" snippet ---
    description = page.get_by_role("textbox", name="Attendee description")
    description_wrap = page.locator(".rte").filter(has=page.locator("#description_html"))
    description.click()
    page.keyboard.type("Looking forward to it. ")
    description_wrap.get_by_role("button", name="Bold").click()
    page.keyboard.type("Bring the contract.")
    expect(description.locator("b, strong")).to_have_text("Bring the contract.")
    description_wrap.get_by_label("Insert snippet…").select_option(label="Agenda")
    expect(description.locator("li")).to_have_text(["Introductions", "Your goals", "Next steps"])
    expect(page.locator("#description_html")).to_be_hidden()  # the editor replaces it

    # --- internal-only attachment and internal note ---
    page.locator("#attachments").set_input_files(pdf)
    page.get_by_text("+ Add internal note").click()
    note = page.get_by_role("textbox", name="Internal note")
    note.click()
    page.keyboard.type("Budget approved up to 40k; do not mention.")
    expect(note).to_have_text("Budget approved up to 40k; do not mention.")

    # --- associations: a deal ---
    page.locator("#association-search").fill("renewal")
    page.locator("#association-results").get_by_role(
        "button", name=re.compile(f"^{DEAL}")).click()
    associations = page.locator("#association-chips")
    expect(associations).to_contain_text(DEAL)
    expect(associations.locator("input[name=associations]")).to_have_count(3)
    shot(page, f"{name}-03-form-filled")

    # --- save: back on the contact, with the meeting on the timeline ---
    form.locator("#save-meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    expect(page.locator("#flash-area .flash-success")).to_contain_text(
        "Meeting scheduled. Invitations are on their way to 3 people.")
    item = timeline_item(page, title)
    expect(item).to_have_count(1)
    expect(item).to_contain_text(when_text(date.fromisoformat(day), "10:00", "11:30"))
    expect(item).to_contain_text("221B Baker Street, London")
    expect(item.locator("dl")).to_contain_text(f"Host{HOST}")
    expect(item.locator("dl")).to_contain_text(f"Organizer{HOST}")
    expect(item.locator(".outcome")).to_have_text("Scheduled")
    ident = meeting_id(item)
    shot(page, f"{name}-04-on-timeline")

    # --- the meeting page ---
    item.get_by_role("link", name=title).click()
    expect(page).to_have_url(re.compile(f"/meetings/{ident}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    details = page.locator(".record-left")
    expect(details).to_contain_text("Demo")  # the meeting type
    expect(details).to_contain_text("221B Baker Street, London")
    attendees = page.locator(".attendee-list li")
    expect(attendees).to_have_count(3)
    for person in (CONTACT, SECOND_CONTACT, USER):
        expect(attendees.filter(has_text=person).locator(".response")).to_have_text("No reply yet")
    with page.expect_download() as download:
        page.get_by_role("link", name="pricing-notes.pdf").click()
    assert download.value.suggested_filename == "pricing-notes.pdf"
    assert Path(download.value.path()).read_bytes() == MINIMAL_PDF
    expect(page.locator(".richtext").nth(0).locator("b, strong")).to_have_text(
        ["Bring the contract.", "Agenda"])
    expect(page.locator(".richtext").nth(0)).to_contain_text("Introductions")
    expect(page.locator(".richtext").nth(1)).to_have_text(
        "Budget approved up to 40k; do not mention.")
    expect(page.locator("#delivery .delivery-row")).to_have_count(3)
    expect(page.locator("#delivery")).to_contain_text("Invitation")
    aside = page.locator(".record-right")
    for record in (CONTACT, "Cyberdyne", DEAL):
        expect(aside.get_by_role("link", name=record)).to_be_visible()
    shot(page, f"{name}-05-meeting-page")

    # --- edit the time from the timeline's Actions menu (the phone layout's menu leads
    # to the phone form, which asks "Continue and send?" before it saves) ---
    open_contact(page, CONTACT)
    item = timeline_item(page, title)
    open_actions(page, item, title).get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit meeting")
    expect(page.get_by_label("Title")).to_have_value(title)
    _expect_times(page, day, "10:00", "11:30")
    page.locator("#start_time").fill("14:00")
    page.locator("#end_time").fill("15:00")
    page.locator("#save-meeting").click()
    if phone_layout:
        expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
        expect(page.locator("#recipients li")).to_have_count(3)
        expect(page.locator("#recipients")).to_contain_text("Update")
        page.locator("#confirm-send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    expect(page.locator("#flash-area .flash-success")).to_contain_text(
        "Meeting updated. Attendees will receive the update.")
    expect(item).to_contain_text(when_text(date.fromisoformat(day), "14:00", "15:00"))
    shot(page, f"{name}-06-edited")
    # Only the time changed: formatting, note and file are kept.
    item.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".richtext").nth(0).locator("b, strong")).to_have_text(
        ["Bring the contract.", "Agenda"])
    expect(page.locator(".richtext").nth(0).locator("li")).to_have_count(3)
    expect(page.locator(".richtext").nth(1)).to_have_text(
        "Budget approved up to 40k; do not mention.")
    expect(page.get_by_role("link", name="pricing-notes.pdf")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)

    # --- delete it from the Actions menu ---
    menu = open_actions(page, item, title)
    page.once("dialog", lambda dialog: dialog.accept())
    menu.get_by_role("button", name="Delete").click()
    expect(page.locator("#flash-area .flash-success")).to_contain_text("Meeting deleted.")
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
    expect(timeline_item(page, title)).to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("No activities yet")
    shot(page, f"{name}-07-deleted")

    # --- the outcome of a seeded meeting: in place (htmx), or on the phone layout
    # through the menu's "Set outcome" page ---
    seeded = "Product demo with Ben"
    open_contact(page, "Ben Haddad")
    item = timeline_item(page, seeded)
    expect(item.locator(".outcome")).to_have_text("Scheduled")
    _mark_document(page)
    menu = open_actions(page, item, seeded)
    if phone_layout:
        menu.get_by_role("link", name="Set outcome").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Set outcome")
        page.get_by_label("No show").check()
        page.get_by_role("button", name="Save outcome").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Ben Haddad")
        expect(page.locator("#flash-area .flash-success")).to_contain_text("Outcome saved.")
        expect(item.locator(".outcome")).to_have_text("No show")
    else:
        menu.get_by_label("Outcome").select_option(label="No show")
        with page.expect_response(lambda r: r.url.endswith("/outcome")
                                  and r.request.method == "POST") as posted:
            menu.get_by_role("button", name="Set outcome").click()
        assert posted.value.status == 200
        expect(item.locator(".outcome")).to_have_text("No show")
        expect(item.locator(".menu-items")).to_be_hidden()  # swapped: the menu is closed
        assert _same_document(page), "setting the outcome reloaded the page"
    shot(page, f"{name}-08-outcome")
    page.reload()
    expect(timeline_item(page, seeded).locator(".outcome")).to_have_text("No show")

    problems.check()


def test_schedule_with_calendar_hidden(ui: Page, ui_name: str, demo, problems):
    page = ui
    name = f"schedule-collapsed-{ui_name}"
    title = "Contract walkthrough"
    day = future_day(8)

    login(page)
    open_contact(page, "Ines García")
    open_scheduler(page)
    toggle = page.locator("#toggle-calendar")
    expect(toggle).to_have_text("Hide calendar")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#calendar-panel")).to_be_visible()
    toggle.click()
    expect(page.locator("#calendar-panel")).to_be_hidden()
    expect(toggle).to_have_text("Show calendar")
    expect(toggle).to_have_attribute("aria-expanded", "false")

    # The form is usable by keyboard alone.
    page.get_by_label("Title").focus()
    page.keyboard.type(title)
    _type_date(page, "#start_date", day)
    _type_time(page, "#start_time", "09:30")
    _type_time(page, "#end_time", "10:15")
    _expect_times(page, day.isoformat(), "09:30", "10:15")
    expect(page.get_by_label("Title")).to_have_value(title)
    expect(page.locator("#calendar-panel")).to_be_hidden()
    shot(page, f"{name}-01-form")
    page.locator("#save-meeting").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Ines García")
    expect(page.locator("#flash-area .flash-success")).to_contain_text(
        "Meeting scheduled. The invitation is on its way to 1 person.")
    item = timeline_item(page, title)
    expect(item).to_have_count(1)
    expect(item).to_contain_text(when_text(day, "09:30", "10:15"))
    shot(page, f"{name}-02-timeline")

    # The choice is remembered the next time the scheduler opens.
    open_scheduler(page)
    expect(page.locator("#calendar-panel")).to_be_hidden()
    expect(page.locator("#toggle-calendar")).to_have_text("Show calendar")
    page.locator("#toggle-calendar").click()
    expect(page.locator("#calendar-panel")).to_be_visible()
    expect(page.locator("#toggle-calendar")).to_have_text("Hide calendar")

    problems.check()


def test_end_before_start_is_refused(ui: Page, ui_name: str, demo, problems):
    page = ui
    name = f"schedule-invalid-{ui_name}"
    title = "Backwards meeting"
    contact = "Ava Anderson"  # has one seeded meeting
    day = future_day(6).isoformat()

    login(page)
    open_contact(page, contact)
    before = timeline_items(page).count()
    assert before == 1
    open_scheduler(page)
    page.get_by_label("Title").fill(title)
    page.locator("#start_date").fill(day)
    page.locator("#start_time").fill("15:00")
    page.locator("#end_time").fill("14:00")
    with page.expect_response(lambda r: "/meetings/new" in r.url
                              and r.request.method == "POST") as posted:
        page.locator("#save-meeting").click()
    assert posted.value.status == 422

    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule meeting")
    expect(page.locator(".flash-error")).to_contain_text(
        "Please correct the fields marked below. Nothing was saved or sent.")
    error = page.locator("#end-error")
    expect(error).to_have_text("The end must be after the start.")
    end = page.locator("#end_time")
    expect(end).to_have_attribute("aria-invalid", "true")
    expect(end).to_have_attribute("aria-describedby", "end-error")
    # Shown right under the time fields, not somewhere else on the page.
    end_box, error_box = end.bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (end_box["y"] + end_box["height"]) < 80, (end_box, error_box)
    # What was typed is kept.
    expect(page.get_by_label("Title")).to_have_value(title)
    _expect_times(page, day, "15:00", "14:00")
    shot(page, f"{name}-01-error")

    # Nothing was saved: the timeline is unchanged.
    page.locator(".crumbs").get_by_role("link", name=contact).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(contact)
    expect(timeline_items(page)).to_have_count(before)
    expect(timeline_item(page, title)).to_have_count(0)
    shot(page, f"{name}-02-timeline-unchanged")

    problems.check()


def test_added_reminder_row_is_visible(ui: Page, ui_name: str, demo, problems):
    page = ui
    login(page)
    open_contact(page, "Jonas Nakamura")
    open_scheduler(page)
    rows = page.locator("#reminder-rows .reminder-row")
    page.locator("#add-reminder").click()
    expect(rows).to_have_count(3)
    page.locator("#reminders").screenshot(
        path=str(ARTIFACTS / f"schedule-reminder-row-{ui_name}.png"))
    problems.check()
    for field in ("input[name=reminder_amount]", "select[name=reminder_unit]"):
        first, added = rows.nth(0).locator(field), rows.nth(2).locator(field)
        if not _painted(first):  # pytest.fail: not an AssertionError, so never "xfailed"
            pytest.fail(f"the check is wrong: the first row's {field} counts as not shown")
        hit = _painted(added)
        width, expected = added.bounding_box()["width"], first.bounding_box()["width"]
        assert hit and width >= 0.9 * expected, (
            f"the added reminder row's {field} is not shown like the others "
            f"(hit test {hit}, width {width:.0f}px, first row {expected:.0f}px)")


def test_editor_link_form_and_described_by(ui: Page, ui_name: str, demo, problems):
    """The one rich-text editor (scheduler and snippets): the link button opens a small
    form in the page, never a browser prompt; a bad address is refused there; the editor
    carries the textarea's help line (aria-describedby), as a screen reader needs."""
    page = ui
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page)
    open_contact(page, CONTACT)
    open_scheduler(page)
    description = page.get_by_role("textbox", name="Attendee description")
    expect(description).to_have_attribute("aria-describedby", "description-help")
    wrap = page.locator(".rte").filter(has=page.locator("#description_html"))
    description.click()
    page.keyboard.type("See the agenda")
    page.keyboard.press("Shift+Home")  # select what was typed
    wrap.get_by_role("button", name="Link").click()
    address = wrap.get_by_label("Link address (https://…)")
    expect(address).to_be_focused()
    address.fill("javascript:alert(1)")
    address.press("Enter")  # adds the link (here: refuses it); never submits the form
    expect(wrap.locator(".rte-link .field-error")).to_contain_text("https://")
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule meeting")
    address.fill("https://example.org/agenda")
    wrap.get_by_role("button", name="Add link").click()
    expect(address).to_be_hidden()
    expect(description.locator("a")).to_have_attribute("href", "https://example.org/agenda")
    expect(description.locator("a")).to_have_text("See the agenda")
    # With nothing selected, the address itself becomes the link; Escape closes the form.
    page.keyboard.press("End")
    wrap.get_by_role("button", name="Link").click()
    wrap.get_by_label("Link address (https://…)").press("Escape")
    expect(wrap.get_by_label("Link address (https://…)")).to_be_hidden()
    wrap.get_by_role("button", name="Link").click()
    wrap.get_by_label("Link address (https://…)").fill("mailto:team@example.org")
    wrap.get_by_role("button", name="Add link").click()
    expect(description.locator("a")).to_have_count(2)
    expect(description.locator("a").nth(1)).to_have_text("mailto:team@example.org")
    assert "https://example.org/agenda" in page.locator("#description_html").input_value()
    shot(page, f"editor-link-{ui_name}")

    # The snippet form (account settings) uses the same editor.
    page.goto("/settings/snippets")
    body = page.get_by_role("textbox", name="Text")
    expect(body).to_be_visible()
    page.locator(".rte").get_by_role("button", name="Link").click()
    expect(page.locator(".rte").get_by_label("Link address (https://…)")).to_be_visible()
    assert dialogs == [], dialogs
    problems.check()
