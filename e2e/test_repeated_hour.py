"""The repeated hour on a phone (issue 19): a time that happens twice when the clocks go
back is named at the field as it is typed (issue 20: the first marked), the choice is
kept, and editing the title keeps it.
Fixed dates (2027-11-07, New York), whatever the day the test runs."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from playwright.sync_api import expect

from e2e.conftest import login
from e2e.test_phone_scheduling import (  # noqa: F401 (the phone fixture)
    check_page,
    in_db,
    open_phone_scheduler_by_keyboard,
    open_record,
    phone,
    set_times,
)


def saved(app, title: str):
    from webapp.meetings.models import Meeting
    return in_db(app, lambda db: db.session.execute(
        sa.select(Meeting.id, Meeting.start_at, Meeting.end_at)
        .where(Meeting.title == title)).first())


def test_phone_asks_which_repeated_hour_and_keeps_it(phone, app, demo):  # noqa: F811
    profile, page = phone
    title = f"Fall back {profile}"
    login(page)
    open_record(page)
    open_phone_scheduler_by_keyboard(page)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Time zone").select_option("America/New_York")
    set_times(page, "2027-11-07", "01:30", "01:50")
    # Named at the field as it is typed (issue 20): the first is marked, and said to be used.
    start = page.locator("#start-occurrence")
    expect(start).to_contain_text("The start, 1:30\u202fAM on Sun, Nov 7, happens twice")
    expect(start.get_by_label("First time, GMT-04:00 (EDT)")).to_be_checked()
    expect(start).to_contain_text("The first (EDT) is used unless you choose the second.")
    check_page(page, f"repeated-hour-{profile}-01-choice")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    start.get_by_label("Second time, GMT-05:00 (EST)").check()
    page.locator("#end-occurrence").get_by_label("Second time, GMT-05:00 (EST)").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
    page.locator("#confirm-send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Giulia Rossi")  # back to the record
    meeting_id, start_at, end_at = saved(app, title)
    assert (start_at, end_at) == (datetime(2027, 11, 7, 6, 30, tzinfo=UTC),
                                  datetime(2027, 11, 7, 6, 50, tzinfo=UTC))
    # Editing only the title keeps the second time, and the form says which it is.
    page.goto(f"/m/meetings/{meeting_id}/edit")
    expect(page.locator("#start-occurrence").get_by_label(
        "Second time, GMT-05:00 (EST)")).to_be_checked()
    page.get_by_label("Title").fill(f"{title}, renamed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Continue and send?")
    page.locator("#confirm-send").click()
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Continue and send?")
    assert saved(app, f"{title}, renamed")[1:] == (start_at, end_at)
