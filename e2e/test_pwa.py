"""The PWA shell in Chromium: service worker, offline page, no authenticated page from
cache after logout, and installability (DevTools Protocol).

Each test starts a server of its own (`stoppable_server`), never the shared one: the
offline tests stop it mid-test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserType, Page, Playwright, expect

from e2e.conftest import context_options, login, shot

OFFLINE_TEXT = "You are offline"
SW_TIMEOUT_MS = 10_000
PRIVATE = ("Ava Anderson", "Dana Demo", "giulia.6@example.org")  # a contact, the user, an email


def _wait_for_service_worker(page: Page) -> str:
    """Wait until a service worker is active and controls the page; its script URL."""
    script = page.evaluate("""async (ms) => {
        const late = new Promise((_, reject) => setTimeout(
            () => reject(new Error(`no active service worker after ${ms} ms`)), ms));
        const registration = await Promise.race([navigator.serviceWorker.ready, late]);
        return registration.active.scriptURL;
    }""", SW_TIMEOUT_MS)
    # clients.claim() in the worker's activate step takes over the open page.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    return script


def _cached_paths(page: Page) -> list[str]:
    return page.evaluate("""async () => {
        const paths = [];
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) paths.push(new URL(request.url).pathname);
        }
        return paths.sort();
    }""")


def _assert_nothing_private(page: Page, where: str) -> None:
    html = page.content()
    for text in PRIVATE:
        assert text not in html, f"{text!r} shown at {where} ({page.url})"


@pytest.fixture()
def own_page(browser: Browser, playwright: Playwright, stoppable_server) -> Iterator[Page]:
    """A desktop page on the test's own server."""
    context = browser.new_context(base_url=stoppable_server.url,
                                  **context_options(playwright, "desktop"))
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def _browse_logged_in(page: Page) -> None:
    """Let the service worker take over, and visit a list and a record page."""
    _wait_for_service_worker(page)
    page.goto("/contacts")  # a navigation through the service worker
    expect(page.locator("#record-list")).to_contain_text("Ava Anderson")
    page.get_by_role("link", name="Giulia Rossi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Giulia Rossi")


def test_offline_page(own_page: Page, stoppable_server, demo):
    page = own_page
    login(page)
    script = _wait_for_service_worker(page)
    assert script == f"{stoppable_server.url}/sw.js"
    assert page.evaluate("window.isSecureContext")
    # The shell is cached at install, the offline page with it; no HTML page is.
    cached = _cached_paths(page)
    assert "/offline" in cached, cached
    for path in ("/static/css/app.css", "/static/js/app.js", "/static/js/mobile.js",
                 "/static/vendor/htmx/htmx.min.js"):
        assert path in cached, (path, cached)
    assert not [p for p in cached if p != "/offline" and not p.startswith("/static/")], cached

    _browse_logged_in(page)
    record_url = page.url

    stoppable_server.stop()
    for url in ("/contacts", record_url, "/"):
        page.goto(url)
        expect(page.get_by_text(OFFLINE_TEXT)).to_be_visible()
        _assert_nothing_private(page, f"offline navigation to {url}")
    shot(page, "pwa-01-offline")
    assert not [p for p in _cached_paths(page)
                if p != "/offline" and not p.startswith("/static/")]


def test_no_authenticated_page_from_cache_after_logout(own_page: Page, stoppable_server, demo):
    page = own_page
    login(page)
    _browse_logged_in(page)
    record_url = page.url

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    stoppable_server.stop()

    for url in ("/contacts", record_url):
        page.goto(url)
        expect(page.get_by_text(OFFLINE_TEXT)).to_be_visible()
        _assert_nothing_private(page, f"navigation to {url} after logout")
    shot(page, "pwa-02-offline-after-logout")

    # History too: Back through the logged-in pages must not bring them back from any
    # cache (HTTP cache, service worker).
    visited = []
    for _ in range(10):
        if page.go_back() is None and page.url == "about:blank":
            break
        visited.append(page.url)
        _assert_nothing_private(page, f"Back #{len(visited)} after logout")
    assert record_url in visited, visited  # reached the record page's history entry


@pytest.fixture()
def installable_page(browser_type: BrowserType, browser_type_launch_args, playwright,
                     stoppable_server, tmp_path) -> Iterator[Page]:
    """A page in a persistent (not incognito) profile.

    `browser.new_context()` contexts are off the record, and Chromium never offers to
    install from an incognito window: Page.getInstallabilityErrors answers "in-incognito"
    there whatever the app does. A persistent profile is a normal window.
    """
    context = browser_type.launch_persistent_context(
        str(tmp_path / "profile"), **browser_type_launch_args, base_url=stoppable_server.url,
        **context_options(playwright, "desktop"))
    context.set_default_timeout(10_000)
    page = context.pages[0] if context.pages else context.new_page()
    yield page
    context.close()


def test_installable(installable_page: Page, stoppable_server, demo):
    page = installable_page
    login(page)
    _wait_for_service_worker(page)
    cdp = page.context.new_cdp_session(page)
    try:
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == f"{stoppable_server.url}/manifest.webmanifest"
        assert manifest["errors"] == [], manifest["errors"]
        parsed = manifest["manifest"]
        assert parsed["name"] == "Parley" and parsed["display"] == "kStandalone"
        assert parsed["startUrl"] == f"{stoppable_server.url}/?source=pwa"
        assert {(i["sizes"], i["type"]) for i in parsed["icons"]} == {
            ("192x192", "image/png"), ("512x512", "image/png")}
        assert any(i["url"].endswith("/icon-maskable-512.png") for i in parsed["icons"])
        assert parsed["themeColor"] == "rgba(63,81,181,1)"  # #3f51b5, as <meta theme-color>
        assert parsed["backgroundColor"] == "rgba(255,255,255,1)"
        assert parsed["scope"] == f"{stoppable_server.url}/"
        installability = cdp.send("Page.getInstallabilityErrors")
        assert installability["installabilityErrors"] == [], installability
    finally:
        cdp.detach()
