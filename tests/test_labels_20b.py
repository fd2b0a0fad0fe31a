"""Issue #20: finding things as the article says: meeting rotations under Settings, the
outcome in the Edit form, the Chinese labels in the article's words, the reports' "To"."""

import sqlalchemy as sa

from tests.meeting_helpers import form, future_day, schedule
from webapp.meetings.models import Meeting


def test_rotations_are_in_the_settings_menu_for_admins(client, make, login):
    account = make.account()
    login(make.user(account, role="admin"))
    html = client.get("/settings").get_data(as_text=True)
    assert 'href="/settings/rotations"' in html and "Meeting rotations" in html
    page = client.get("/settings/rotations").get_data(as_text=True)
    assert 'href="/settings"' in page  # back to the account's settings


def test_the_outcome_is_in_the_edit_form(client, make, login, db):
    account = make.account(timezone="America/New_York")
    login(make.user(account, timezone="America/New_York"))
    assert 'id="outcome"' not in client.get("/meetings/new").get_data(as_text=True)
    assert schedule(client, None, title="Demo").status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    html = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert '<select id="outcome" name="outcome"' in html
    assert '<option value="scheduled" selected>' in html
    r = client.post(f"/meetings/{meeting.id}/edit", data=form(title="Demo", outcome="completed"))
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    db.session.refresh(meeting)
    assert meeting.outcome == "completed"
    r = client.post(f"/meetings/{meeting.id}/edit", data=form(title="Renamed", outcome="bogus"))
    assert r.status_code == 422 and 'id="outcome-error"' in r.get_data(as_text=True)
    db.session.refresh(meeting)
    assert (meeting.title, meeting.outcome) == ("Demo", "completed")  # nothing saved
    # Without the field (the API, the phone form) the outcome is left as it is.
    r = client.post(f"/meetings/{meeting.id}/edit", data=form(title="Demo again",
                                                             start_date=future_day(10)))
    assert r.status_code == 302
    db.session.refresh(meeting)
    assert meeting.outcome == "completed"


def test_chinese_labels_use_the_articles_words(client, make, login):
    account = make.account(timezone="Asia/Taipei")
    login(make.user(account, locale="zh_Hant", role="admin"))
    contact = make.contact(account)
    desktop = client.get("/meetings/new").get_data(as_text=True)
    assert "團隊備註" in desktop and "排程提醒電子郵件" in desktop and "面談" in desktop
    phone = client.get(f"/m/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert "檢查可用性" in phone and ">地址<" in phone
    reports = client.get("/reports").get_data(as_text=True)
    assert "結束日期" in reports and "收件者" not in reports
