"""Schedule a video meeting (Jitsi) in the browser, at desktop and phone sizes: the same
join link is on the meeting page and in the invitation in the dev mailbox."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from e2e.conftest import login, shot
from e2e.meeting_helpers import open_scheduler


def test_schedule_video_meeting_link_in_page_and_invitation(ui, ui_name, demo):
    page = ui
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page)
    page.goto("/contacts/1")
    open_scheduler(page)
    title = f"Video call {ui_name}"
    page.locator("#title").fill(title)
    # The demo account's default reminders include "1 day before": book three days ahead.
    page.locator("#start_date").fill((datetime.now(UTC) + timedelta(days=3)).date().isoformat())
    expect(page.locator("#video-options")).to_be_hidden()
    page.locator("#location_kind").select_option("video")
    expect(page.locator("#video-options")).to_be_visible()
    expect(page.locator("#location_value")).to_be_hidden()
    expect(page.locator("#video_provider option")).to_contain_text(["Jitsi Meet"])
    page.locator("#video_provider").select_option("jitsi")
    shot(page, f"video-scheduler-{ui_name}")
    page.locator("#save-meeting").click()
    expect(page.locator(".flash-success").first).to_contain_text("Meeting scheduled")
    # Back on the contact: the timeline shows the meeting with its join link.
    link = page.locator(".join-link").first
    expect(link).to_be_visible()
    url = link.get_attribute("href")
    assert re.fullmatch(r"https://meet\.jit\.si/Parley-[\w]{20,}", url), url
    page.locator(f"a.timeline-title:has-text('{title}')").first.click()
    expect(page.locator("#join-link")).to_have_attribute("href", url)
    expect(page.locator("#video-conference")).to_contain_text("Jitsi Meet")
    shot(page, f"video-meeting-page-{ui_name}")
    # The invitation in the dev mailbox carries the same link (sent by the job thread).
    deadline = time.monotonic() + 15
    while True:
        page.goto("/dev/mail")
        invitation = page.locator(f"a:has-text('Invitation: {title}')")
        if invitation.count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    invitation.first.click()
    body = page.locator("body")
    expect(body).to_contain_text(f"Join the video conference: {url}")
    expect(body).to_contain_text(f"LOCATION:{url[:60]}")
    shot(page, f"video-invitation-{ui_name}")
    assert errors == []
