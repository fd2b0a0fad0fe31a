"""Outcomes and reports in a browser: set an outcome from the timeline (one htmx request,
no page load), add a custom outcome in the account settings, give it to a meeting, and
find it in the report's chart, its table and its CSV.

Runs once per viewport setup (desktop 1280x800, phone = Pixel 7).
"""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect

from e2e.conftest import login, open_menu, shot

MEETING = "Discovery call with Ava"  # on Ava Anderson's timeline in the demo data
CUSTOM = "Demo booked"


def _set_outcome_from_timeline(page: Page, label: str) -> None:
    item = page.locator(".timeline-item", has_text=MEETING)
    item.get_by_text("Actions", exact=True).click()
    # The menu is loaded when first opened (#24): Delete is in it on every layout.
    expect(item.get_by_role("button", name="Delete")).to_be_visible()
    if not item.get_by_label("Outcome").is_visible():
        # Phones (M3): the actions menu opens the outcome page with large choices.
        item.get_by_role("link", name="Set outcome").click()
        page.get_by_label(label, exact=True).check()
        page.get_by_role("button", name="Save outcome").click()
        expect(page.locator(".timeline-item", has_text=MEETING).locator(".outcome")
               ).to_have_text(label)
        return
    page.evaluate("window.__e2eSameDocument = true")
    item.get_by_label("Outcome").select_option(label=label)
    with page.expect_response(lambda r: r.url.endswith("/outcome")
                              and r.request.method == "POST") as posted:
        item.get_by_role("button", name="Set outcome").click()
    assert posted.value.status == 200
    assert posted.value.request.headers.get("hx-request") == "true"
    expect(page.locator(".timeline-item", has_text=MEETING).locator(".outcome")).to_have_text(
        label)
    assert page.evaluate("window.__e2eSameDocument === true"), "the page reloaded"


def _download(page: Page, link) -> list[dict]:
    with page.expect_download() as download:
        link.click()
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    return list(csv.DictReader(io.StringIO(text)))


def test_outcome_from_timeline_custom_outcome_in_reports(ui: Page, ui_name: str, demo):
    page = ui
    name = f"outcomes-{ui_name}"
    login(page)

    # O3: set an outcome from the meeting's actions menu on the timeline.
    page.locator("#record-list").get_by_role("link", name="Ava Anderson").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ava Anderson")
    contact_url = page.url
    item = page.locator(".timeline-item", has_text=MEETING)
    expect(item.locator(".outcome")).to_have_text("Completed")
    _set_outcome_from_timeline(page, "No show")
    shot(page, f"{name}-01-timeline-outcome")
    page.reload()
    expect(page.locator(".timeline-item", has_text=MEETING).locator(".outcome")).to_have_text(
        "No show")

    # O2: an admin adds a custom outcome in the account settings.
    open_menu(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account settings")
    page.get_by_role("navigation", name="Account settings").get_by_role(
        "link", name="Meeting outcomes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meeting outcomes")
    page.get_by_label("Outcome name").fill("no SHOW")
    page.get_by_role("button", name="Add outcome").click()
    expect(page.get_by_role("alert").filter(has_text="already an outcome")).to_be_visible()
    page.get_by_label("Outcome name").fill(CUSTOM)
    page.get_by_role("button", name="Add outcome").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Outcome “{CUSTOM}” added.")
    expect(page.locator("#outcome-list input[name=name]").last).to_have_value(CUSTOM)
    shot(page, f"{name}-02-settings-outcomes")

    # The timeline offers it at once.
    page.goto(contact_url)
    _set_outcome_from_timeline(page, CUSTOM)

    # Reports: by outcome, the custom outcome has its bar, its row and its CSV rows.
    open_menu(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Meeting reports")
    page.get_by_label("Count meetings by").select_option(label="Outcome")
    with page.expect_response(lambda r: "/reports?" in r.url and "by=outcome" in r.url):
        page.get_by_role("button", name="Show report").click()
    expect(page).to_have_url(re.compile(r"/reports\?.*by=outcome"))
    svg = page.locator("#report-chart")
    expect(svg.locator("text.chart-label", has_text=CUSTOM)).to_have_count(1)
    row = svg.locator("g.chart-row", has=page.locator(f"text:text-is('{CUSTOM}')"))
    expect(row.locator("text.chart-count")).to_have_text("1")
    expect(row.locator("rect.chart-bar")).to_have_attribute("width", re.compile(r"^[1-9]"))
    expect(svg.locator("g.chart-row", has=page.locator("text:text-is('No show')"))
           .locator("text.chart-count")).to_have_text("0")
    table_row = page.locator("#report-table tbody tr", has_text=CUSTOM)
    expect(table_row.locator("td").first).to_have_text("1")
    shot(page, f"{name}-03-report-chart")

    rows = _download(page, table_row.get_by_role("link"))
    assert [(r["Title"], r["Outcome"]) for r in rows] == [(MEETING, CUSTOM)]
    everything = _download(page, page.get_by_role("link", name="Download meetings (CSV)"))
    assert (MEETING, CUSTOM) in [(r["Title"], r["Outcome"]) for r in everything]
    assert len(everything) == 3  # the demo account's three meetings
