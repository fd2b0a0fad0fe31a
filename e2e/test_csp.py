"""The Content-Security-Policy in a real browser: a walk over the app's pages (every
same-site link from the contacts list, two levels deep) with a console listener fails on
any CSP violation Chromium reports, and on any script error. Once per viewport setup."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Page

from e2e.conftest import login

#: Links that download a file or change state when followed.
SKIP = re.compile(r"(\.ics|\.csv|/raw|/part/|/attachments/|/export|/logout|/feed|/connect/)")
MAX_PAGES = 45


def test_pages_run_under_the_policy(ui: Page, ui_name: str, demo, live_server):
    page = ui
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
            if m.type == "error" and "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
    login(page)
    seen: set[str] = set()
    queue = ["/contacts", "/meetings/new", "/m/meetings/new", "/offline", "/calendar",
             "/settings/scheduling-pages", "/book/dana-intro"]
    for _depth in range(2):
        following: list[str] = []
        for path in queue:
            if path in seen or len(seen) >= MAX_PAGES:
                continue
            seen.add(path)
            response = page.goto(path)
            assert response is not None and response.status < 500, path
            assert "script-src 'self'" in response.headers.get("content-security-policy", "")
            page.wait_for_load_state("load")
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                parts = urlsplit(href)
                if href.startswith(live_server) and not SKIP.search(parts.path):
                    following.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        queue = following
    assert len(seen) >= 15, seen
    # The scripts of the scheduler still work under the policy: its calendar toggle.
    page.goto("/meetings/new")
    toggle = page.locator("#toggle-calendar")
    if toggle.is_visible():
        toggle.click()
    assert not problems, "\n".join(problems)


def test_a_violation_is_seen(ui: Page, live_server):
    """The listener above can fail: an inline script on a page of the app is reported."""
    page = ui
    page.goto("/login")
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate("""() => { const s = document.createElement('div');
            s.innerHTML = '<img src=x onerror="window.ran = 1">'; document.body.append(s); }""")
    assert not page.evaluate("window.ran === 1")
