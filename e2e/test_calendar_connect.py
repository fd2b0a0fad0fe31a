"""Connect the Google stand-in through the real OAuth redirects, see its busy time in the
scheduler's calendar panel, schedule a meeting and find the event created in the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from e2e.a11y import assert_accessible
from e2e.conftest import AppServer, login, shot, wait_for
from tests.meeting_helpers import future_day
from tests.standins import Provider, Server, configure, google_app


class CalendarServer(AppServer):
    def __init__(self, *args, extra: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra = extra

    def env(self) -> dict:
        return {**super().env(), **self.extra}


@pytest.fixture()
def google_standin():
    provider = Provider("google", "dana@gmail.example")
    server = Server(google_app(provider)).start()
    yield provider, server.url
    server.stop()


@pytest.fixture()
def calendar_server(app, db_url, tmp_path, google_standin, clock_offset):
    provider, url = google_standin
    ms = Provider("microsoft", "x@example.org")
    config = configure({}, provider, url, ms, "http://127.0.0.1:9")
    extra = {k: v for k, v in config.items() if k.startswith("GOOGLE_")}
    server = CalendarServer(db_url, tmp_path, name="calendar-server", extra=extra,
                            clock_offset=clock_offset).start()
    yield server
    server.stop()


def test_connect_google_and_schedule(browser, playwright, calendar_server, google_standin, demo):
    provider, _url = google_standin
    context = browser.new_context(base_url=calendar_server.url,
                                  viewport={"width": 1280, "height": 900}, locale="en-US",
                                  timezone_id="America/New_York")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page)
    page.goto("/contacts/1")
    page.locator("#schedule-meeting").click()
    expect(page.locator("#connect-calendar-prompt")).to_be_visible()  # S14
    # Busy time already on the Google calendar shows in the panel as "Busy" once connected.
    # (Added before connecting: busy time read once is kept for BUSY_CACHE_SECONDS, and
    # whether the connection's calendar list lands before or after the first read, which
    # changes what the cache is keyed by, is a race the test must not depend on.)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    provider.busy.append({"start": start.isoformat().replace("+00:00", "Z"),
                          "end": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z")})
    page.locator("#connect-calendar-prompt a").click()
    page.locator("#connect-google").click()  # -> stand-in /authorize -> /calendars/callback
    expect(page.locator(".flash-success")).to_contain_text("Google Calendar is connected")
    assert page.url.startswith(f"{calendar_server.url}/meetings/new")
    page.reload()
    expect(page.locator("#connect-calendar-prompt")).to_have_count(0)
    expect(page.locator("#week-calendar .event.busy").first).to_be_visible()
    shot(page, "calendar-google-busy")
    page.locator("#title").fill("Synced from the browser")
    # The demo account's default reminders include "1 day before": book three days ahead.
    page.locator("#start_date").fill(future_day(3).isoformat())
    page.locator("#save-meeting").click()
    expect(page.locator(".flash-success").first).to_contain_text("Meeting scheduled")
    wait_for(lambda: provider.events, "the event at Google", timeout=15)
    assert [e["summary"] for e in provider.events.values()] == ["Synced from the browser"]
    # Issue 23: moved in Google Calendar, taken in by "Sync now" (on a phone).
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto("/settings/profile/calendar")
    page.locator("#sync-now").click()  # the first sync: versions recorded

    def first_sync_done():
        if "Not yet" not in page.locator("#sync-health").inner_text():
            return True
        page.goto("/settings/profile/calendar")
        return False
    wait_for(first_sync_done, "the first sync", timeout=15)
    (eid, event), = provider.events.items()
    sequence = event["sequence"]
    moved = datetime.fromisoformat(event["start"]["dateTime"]) + timedelta(hours=2)
    provider.edit(eid, start={"dateTime": moved.isoformat()},
                  end={"dateTime": (moved + timedelta(minutes=30)).isoformat()})
    page.locator("#sync-now").click()
    # Parley takes the move in, then writes it back with its SEQUENCE.
    wait_for(lambda: provider.events[eid]["sequence"] > sequence, "the move written back",
             timeout=15)
    page.goto("/contacts/1")
    page.get_by_role("link", name="Synced from the browser").first.click()
    expect(page.locator("#calendar-changes")).to_contain_text(
        "Moved in Google Calendar by the host")
    page.goto("/settings/profile/calendar")
    expect(page.locator("#sync-health")).to_contain_text("Changes taken in")
    assert_accessible(page, "calendar settings with sync health")
    shot(page, "calendar-sync-health-phone")
    assert errors == []
    context.close()
