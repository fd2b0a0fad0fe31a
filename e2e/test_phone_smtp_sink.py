"""M1's "Continue and send?" on a phone, with the app mailing through a real SMTP server
(aiosmtpd on loopback) instead of the dev mailbox: cancelling sends nothing; confirming
delivers exactly one iTIP REQUEST to the contact."""

from __future__ import annotations

import icalendar
import pytest
from playwright.sync_api import expect

from e2e.conftest import AppServer, login, shot, wait_for
from e2e.test_phone_scheduling import (
    CONTACT,
    CONTACT_EMAIL,
    PHONES,
    meetings_titled,
    open_record,
    phone_context,
    set_times,
)
from tests.meeting_helpers import future_day
from tests.support import SMTPSink, drain


class MailingServer(AppServer):
    """The e2e server, with SMTP_URL pointing at the sink (so no dev mailbox)."""

    def __init__(self, *args, smtp_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.smtp_url = smtp_url

    def env(self) -> dict:
        return {**super().env(), "SMTP_URL": self.smtp_url}


@pytest.fixture()
def sink():
    server = SMTPSink().start()
    yield server
    server.stop()


@pytest.fixture()
def mailing_server(app, db_url, tmp_path, sink, clock_offset):
    server = MailingServer(db_url, tmp_path, name="server-smtp-sink", smtp_url=sink.url,
                           clock_offset=clock_offset).start()
    yield server.url
    server.stop()


def test_continue_and_send_reaches_the_smtp_server_only_when_confirmed(
        app, demo, browser, playwright, mailing_server, sink):
    context = phone_context(browser, playwright, mailing_server, PHONES["pixel"])
    page = context.new_page()
    try:
        day = future_day(9).isoformat()
        login(page)
        open_record(page)
        page.locator("#more-actions > summary").click()
        page.get_by_role("link", name="Meeting", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("New meeting")

        # Cancel at the question: nothing saved, nothing reaches the mail server.
        page.get_by_label("Title").fill("Sink: never sent")
        set_times(page, day, "11:00", "11:30")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
        expect(page.locator("#recipients")).to_contain_text(CONTACT_EMAIL)
        page.locator("#confirm-cancel").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
        drain(app, sink.url)  # whatever is queued or due is sent now, before we look
        assert sink.messages == []
        assert meetings_titled(app, "Sink: never sent") == 0

        # Confirm: one invitation, to the contact, an iTIP REQUEST for this meeting.
        page.locator("#more-actions > summary").click()
        page.get_by_role("link", name="Meeting", exact=True).click()
        page.get_by_label("Title").fill("Sink: sent once")
        set_times(page, day, "11:00", "11:30")
        page.get_by_role("button", name="Save").click()
        page.get_by_role("button", name="Continue and send").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)
        shot(page, "phone-smtp-sink-saved")
        wait_for(lambda: sink.messages, "the invitation at the SMTP server")
        drain(app, sink.url)  # nothing else follows
        assert [rcpts for rcpts, _msg in sink.messages] == [[CONTACT_EMAIL]]
        msg = sink.messages[0][1]
        assert msg["Subject"] == "Invitation: Sink: sent once"
        part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
        assert part.get_param("method") == "REQUEST"
        event = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
        assert str(event["SUMMARY"]) == "Sink: sent once"
        assert str(event["ATTENDEE"]).lower() == f"mailto:{CONTACT_EMAIL}"
        assert meetings_titled(app, "Sink: sent once") == 1
        expect(page.locator(".timeline-item", has_text="Sink: sent once")).to_be_visible()
        assert CONTACT in page.locator("h1").inner_text()
    finally:
        context.close()
