"""The foundation in a browser: log in, search contacts, associations, timeline, language.

Runs once per viewport setup (desktop 1280x800, phone = Pixel 7).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from e2e.conftest import login, open_menu, shot

ROOT = Path(__file__).resolve().parent.parent


def _mark_document(page: Page) -> None:
    """Tag the current document; the tag survives htmx swaps but not a page load."""
    page.evaluate("window.__e2eSameDocument = true")


def _same_document(page: Page) -> bool:
    return page.evaluate("window.__e2eSameDocument === true")


def _catalog_translates(msgid: str, locale: str = "zh_Hant") -> bool:
    """True when the compiled catalog the app uses has a translation for msgid."""
    from babel.support import Translations

    mo = ROOT / "webapp" / "translations" / locale / "LC_MESSAGES" / "messages.mo"
    if not mo.exists():
        return False
    with mo.open("rb") as f:
        return Translations(f).gettext(msgid) != msgid


def test_records_flow(ui: Page, ui_name: str, demo):
    page = ui
    name = f"records-{ui_name}"

    # Log in and land on the contacts list.
    login(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts")
    records = page.locator("#record-list")
    expect(records).to_contain_text("12 records")
    expect(records).to_contain_text("Ava Anderson")
    shot(page, f"{name}-01-contacts")

    # Search: htmx swaps the list in place and pushes the query into the address bar.
    _mark_document(page)
    with page.expect_response(lambda r: "/contacts?q=ross" in r.url):
        page.get_by_role("searchbox", name="Search").press_sequentially("ross", delay=30)
    expect(records).to_contain_text("Giulia Rossi")
    expect(records).to_contain_text("1 record")
    expect(records).not_to_contain_text("Ava Anderson")
    expect(records).not_to_contain_text("Lena Chen")
    expect(page).to_have_url(re.compile(r"/contacts\?q=ross$"))
    assert _same_document(page), "the search reloaded the page instead of swapping the list"
    shot(page, f"{name}-02-search")

    # Open the contact.
    records.get_by_role("link", name="Giulia Rossi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Giulia Rossi")
    expect(page).to_have_url(re.compile(r"/contacts/\d+$"))
    associations = page.locator("#associations")
    expect(associations).to_contain_text("Cyberdyne")  # her company, linked by the seed

    # Timeline: empty state.
    timeline = page.locator("#timeline")
    expect(timeline).to_be_visible()
    expect(timeline).to_contain_text("No activities yet")

    # Add an association with a deal, without a page load.
    _mark_document(page)
    associations.get_by_text("Add association").click()
    associations.get_by_label("Record type").select_option(label="Deals")
    with page.expect_response(lambda r: "/associations/search" in r.url
                              and "q=renewal" in r.url and "to_type=deal" in r.url):
        associations.get_by_role("searchbox", name="Search").press_sequentially(
            "renewal", delay=30)
    results = page.locator("#assoc-results")
    expect(results.get_by_role("button")).to_have_count(10)
    expect(results.get_by_role("button", name=re.compile(r"^Add: "))).to_have_count(10)
    shot(page, f"{name}-03-association-search")
    with page.expect_response(lambda r: r.url.endswith("/associations")
                              and r.request.method == "POST") as posted:
        results.get_by_role("button", name="Add: Hooli renewal").click()
    assert posted.value.status == 200
    expect(associations.get_by_role("link", name="Hooli renewal")).to_be_visible()
    expect(associations).to_contain_text("Deals (1)")
    expect(associations).to_contain_text("Cyberdyne")
    assert _same_document(page), "adding an association reloaded the page"
    shot(page, f"{name}-04-association-added")

    # Remove it again.
    associations.get_by_role("button", name="Remove association with Hooli renewal").click()
    expect(associations.get_by_role("link", name="Hooli renewal")).to_have_count(0)
    expect(associations).to_contain_text("Deals (0)")
    expect(associations).to_contain_text("Cyberdyne")
    assert _same_document(page), "removing an association reloaded the page"

    # And the server agrees after a reload.
    page.reload()
    expect(page.locator("#associations")).not_to_contain_text("Hooli renewal")
    expect(page.locator("#associations")).to_contain_text("Cyberdyne")

    # Language: Traditional Chinese and back.
    nav = page.get_by_role("navigation", name=re.compile("Main|主要"))
    page.get_by_role("button", name="繁體中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    expect(page.get_by_role("button", name="English")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Giulia Rossi")
    open_menu(page)  # a phone's links are behind the menu button
    chinese_nav = nav.inner_text()
    shot(page, f"{name}-05-zh-hant")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    open_menu(page)
    expect(nav.get_by_role("link", name="Contacts")).to_be_visible()
    expect(page.get_by_role("button", name="繁體中文")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("No activities yet")
    shot(page, f"{name}-06-english")

    # Chinese labels (the seed article's term for Contacts).
    assert "聯絡人" in chinese_nav, chinese_nav
