"""Issue 20 in the browser, at desktop size and on iPhone 13 and Pixel 7 profiles, in
English and Traditional Chinese: log a meeting from a record (the left panel's "Log
meeting", the phone's More menu), a past start offered as a log instead of an invitation,
and My meetings (the top bar's Calendar): the week on the desktop, the day list on the
phone, the needs-an-outcome filter, a colleague's meetings as Busy. Nothing is sent for a
logged meeting (checked after draining); axe-core on every new page.
Screenshots under e2e/artifacts/issue20-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, Playwright, expect

from e2e.a11y import assert_accessible
from e2e.conftest import login, shot
from e2e.test_phone_scheduling import in_db
from tests.meeting_helpers import future_day
from tests.support import drain

PROFILES = {"desktop": None, "iphone": "iPhone 13", "pixel": "Pixel 7"}
CONTACT = "Giulia Rossi"  # demo contact #6, giulia.6@example.org
#: (English, Traditional Chinese) texts the tests look for.
TEXT = {"log": ("Log a meeting", "記錄會議"), "logged": ("Meeting logged", "會議已記錄"),
        "mine": ("My meetings", "我的會議"), "needs": ("Needs an outcome", "需要結果"),
        "busy": ("Busy", "忙碌"), "completed": ("Completed", "已完成")}


@pytest.fixture(params=[(p, lang) for p in PROFILES for lang in ("en", "zh")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def view(request, browser: Browser, playwright: Playwright, live_server: str,
         demo) -> Iterator[tuple[str, str, Page]]:
    profile, lang = request.param
    if PROFILES[profile]:
        options = dict(playwright.devices[PROFILES[profile]])
        options.pop("default_browser_type", None)  # the iPhone profile runs in Chromium too
    else:
        options = {"viewport": {"width": 1280, "height": 800}}
    context = browser.new_context(base_url=live_server, **options, locale="en-US",
                                  timezone_id="America/New_York")
    context.set_default_timeout(10_000)
    page = context.new_page()
    login(page)
    if lang == "zh":
        page.get_by_role("button", name="繁體中文").click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant")
    yield profile, lang, page
    context.close()


def t(key: str, lang: str) -> str:
    return TEXT[key][lang == "zh"]


def meeting_row(app, title: str):
    from webapp.meetings.models import Meeting
    return in_db(app, lambda db: db.session.execute(
        sa.select(Meeting.id, Meeting.log_only, Meeting.outcome, Meeting.sequence)
        .where(Meeting.title == title)).one_or_none())


def owed_about(app, meeting_id: int) -> int:
    """Outbox rows (sent or not) and captured mails about the meeting."""
    from webapp.delivery.models import OutboxMessage
    return in_db(app, lambda db: db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))
                                                  .where(OutboxMessage.meeting_id == meeting_id)))


def open_record(page: Page) -> None:
    page.goto("/contacts?q=giulia")
    page.get_by_role("link", name=CONTACT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CONTACT)


def test_log_a_meeting_and_past_start_offer(view, app):
    profile, lang, page = view
    name = f"issue20-log-{profile}-{lang}"
    open_record(page)
    if profile == "desktop":
        page.locator("#log-meeting").click()
        form = "#meeting-form"
    else:
        expect(page.locator("#log-meeting")).to_be_hidden()
        page.locator("#more-actions > summary").click()
        page.locator("#more-log-meeting").click()
        form = "#m-meeting-form"
    expect(page.get_by_role("heading", level=1)).to_have_text(t("log", lang))
    expect(page.locator("#log-note")).to_be_visible()
    expect(page.locator("#reminders")).to_have_count(0)
    expect(page.locator("#outcome")).to_have_value("completed")
    assert_accessible(page, f"{name} form")
    shot(page, f"{name}-01-form")
    title = f"Held call {profile} {lang}"
    page.locator("#title").fill(title)
    page.locator(f"{form} #save-meeting").click()
    expect(page.locator("#flash-area")).to_contain_text(t("logged", lang))
    expect(page.locator("#timeline")).to_contain_text(title)
    expect(page.locator("#timeline")).to_contain_text(t("completed", lang))
    shot(page, f"{name}-02-timeline")
    logged = meeting_row(app, title)
    assert logged is not None and logged.log_only and logged.outcome == "completed"

    # A new meeting scheduled in the past: a choice at the start field, nothing saved.
    record_url = page.url
    contact_id = re.search(r"/contacts/(\d+)", record_url).group(1)
    scheduler = "/meetings/new" if profile == "desktop" else "/m/meetings/new"
    page.goto(f"{scheduler}?record_type=contact&record_id={contact_id}")
    past_title = f"Yesterday {profile} {lang}"
    page.locator("#title").fill(past_title)
    yesterday = future_day(-1).isoformat()
    page.locator("#start_date").fill(yesterday)
    if profile != "desktop":
        page.locator("#end_date").fill(yesterday)
    page.locator(f"{form} #save-meeting").click()
    offer = page.locator("#log-instead")
    expect(offer).to_be_visible()
    expect(page.locator("#start-error")).to_be_visible()
    assert meeting_row(app, past_title) is None
    assert_accessible(page, f"{name} past start")
    shot(page, f"{name}-03-past-start")
    page.locator("#log-instead-button").click()
    expect(page.locator("#flash-area")).to_contain_text(t("logged", lang))
    past = meeting_row(app, past_title)
    assert past is not None and past.log_only

    drain(app)
    assert owed_about(app, logged.id) == 0 and owed_about(app, past.id) == 0
    page.goto(f"/meetings/{past.id}")
    expect(page.locator("#logged-badge")).to_be_visible()
    assert_accessible(page, f"{name} meeting page")


def _seed_week(app) -> dict:
    """This week: Dana's own meeting today, a past one still Scheduled, and Alex's
    private one Dana is not part of."""
    from webapp.auth.models import User
    from webapp.meetings.models import Meeting

    def seed(db):
        dana = db.session.scalar(sa.select(User).where(User.email == "demo@example.com"))
        alex = db.session.scalar(sa.select(User).where(User.email == "alex@example.com"))
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        rows = {"today": (dana, now + timedelta(minutes=30)),
                "past": (dana, now - timedelta(hours=2)),
                "private": (alex, now + timedelta(minutes=90))}
        ids = {}
        for key, (host, start) in rows.items():
            m = Meeting(account_id=dana.account_id, title=f"Agenda {key}", start_at=start,
                        end_at=start + timedelta(minutes=30), timezone="America/New_York",
                        host_id=host.id, organizer_id=host.id)
            db.session.add(m)
            db.session.flush()
            ids[key] = m.id
        db.session.commit()
        return {"alex": alex.id, **ids}

    return in_db(app, seed)


def test_my_agenda(view, app):
    profile, lang, page = view
    name = f"issue20-agenda-{profile}-{lang}"
    ids = _seed_week(app)
    link = page.locator("#my-meetings")
    if link.is_visible():
        link.click()
    else:
        page.goto("/calendar")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("mine", lang))
    shown = page.locator("#agenda-week" if profile == "desktop" else "#agenda-day")
    hidden = page.locator("#agenda-day" if profile == "desktop" else "#agenda-week")
    expect(hidden).to_be_hidden()
    expect(shown).to_contain_text("Agenda today")
    expect(shown).not_to_contain_text("Agenda private")
    assert_accessible(page, f"{name} week")
    shot(page, f"{name}-01")

    page.locator("#agenda-needs-outcome").check()
    page.locator("#agenda-apply").click()
    expect(page).to_have_url(re.compile(r"needs_outcome=1"))
    expect(shown).to_contain_text(t("needs", lang))
    if profile == "desktop" or _same_local_day(ids, app):
        expect(shown).to_contain_text("Agenda past")
    expect(shown).not_to_contain_text("Agenda today")

    # Alex's agenda: his private meeting is only Busy.
    page.locator("#agenda-needs-outcome").uncheck()
    page.locator("#agenda-user").select_option(str(ids["alex"]))
    page.locator("#agenda-apply").click()
    expect(shown).to_contain_text(t("busy", lang))
    expect(page.locator("main")).not_to_contain_text("Agenda private")
    expect(page.locator(f'main a[href="/meetings/{ids["private"]}"]')).to_have_count(0)
    assert_accessible(page, f"{name} colleague")
    shot(page, f"{name}-02-colleague")

    # Back to mine: each meeting links to its page.
    page.locator("#agenda-user").select_option(index=0 if _dana_first(page) else 1)
    page.locator("#agenda-apply").click()
    shown.get_by_role("link", name="Agenda today").click()
    expect(page).to_have_url(re.compile(rf"/meetings/{ids['today']}$"))


def _dana_first(page: Page) -> bool:
    return "Dana" in page.locator("#agenda-user option").first.inner_text()


def _same_local_day(ids, app) -> bool:
    """The phone shows one day: the past meeting is in it unless it was yesterday."""
    from zoneinfo import ZoneInfo
    now = datetime.now(ZoneInfo("America/New_York"))
    return (now - timedelta(hours=2)).date() == now.date()
