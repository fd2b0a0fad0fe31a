"""Issue #20, contacts: saved with "No company", a language of their own (their emails
in it), WTForms' messages in Traditional Chinese, and canonical zone names only."""

import sqlalchemy as sa

from tests.meeting_helpers import future_day, schedule
from webapp import tasks
from webapp.records.models import Contact
from webapp.validation import canonical_timezone, is_valid_timezone, timezone_names


def test_a_contact_can_be_saved_with_no_company(client, make, login, db):
    account = make.account()
    login(make.user(account))
    make.company(account, name="Initech")
    html = client.get("/contacts/new").get_data(as_text=True)
    assert '<option selected value="">No company</option>' in html
    assert 'value="None"' not in html
    r = client.post("/contacts/new", data={"first_name": "Nobody", "company_id": ""})
    assert r.status_code == 302, r.get_data(as_text=True)
    contact = db.session.scalar(sa.select(Contact))
    assert contact.company_id is None
    # Editing it keeps "No company" chosen and saves again.
    html = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert '<option selected value="">No company</option>' in html
    r = client.post(f"/contacts/{contact.id}/edit", data={"first_name": "Nobody", "company_id": ""})
    assert r.status_code == 302
    # A form sent by an older page (value "None") is read as "No company" too.
    r = client.post("/contacts/new", data={"first_name": "Old page", "company_id": "None"})
    assert r.status_code == 302


def test_wtforms_messages_are_in_traditional_chinese(client, make, login, db):
    account = make.account()
    login(make.user(account, locale="zh_Hant"))
    r = client.post("/contacts/new", data={"first_name": "X", "company_id": "abc"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    # WTForms' zh_TW catalogue ("無效的選擇"), never its Simplified one ("无效").
    assert "無效" in html and "无效" not in html and "选择" not in html


def test_wtforms_messages_in_english_stay_english(client, make, login):
    account = make.account()
    login(make.user(account, locale="en"))
    r = client.post("/contacts/new", data={"first_name": "X", "company_id": "abc"})
    assert r.status_code == 422 and "Invalid Choice" in r.get_data(as_text=True)


def test_a_contacts_language_is_saved_and_shown(client, make, login, db):
    account = make.account()
    login(make.user(account))
    r = client.post("/contacts/new", data={"first_name": "Mei", "language": "zh_Hant"})
    assert r.status_code == 302
    contact = db.session.scalar(sa.select(Contact))
    assert contact.language == "zh_Hant"
    assert "繁體中文" in client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    r = client.post(f"/contacts/{contact.id}/edit", data={"first_name": "Mei", "language": "fr"})
    assert r.status_code == 422
    # A contact saved before languages existed (None) is shown and edited as English.
    old = make.contact(account, first_name="Old")
    assert old.language is None
    html = client.get(f"/contacts/{old.id}/edit").get_data(as_text=True)
    assert '<option selected value="en">English</option>' in html


def test_the_api_reads_and_writes_a_contacts_language(client, make, db):
    from webapp.api import operations as token_ops
    account = make.account()
    user = make.user(account)
    _row, token = token_ops.create_token(user, "tests")
    db.session.commit()
    h = {"Authorization": f"Bearer {token}"}
    r = client.post("/api/v1/contacts", headers=h, json={"first_name": "Mei",
                                                         "language": "zh_Hant"})
    assert r.status_code == 201, r.json
    assert r.json["language"] == "zh_Hant"
    r = client.patch(f"/api/v1/contacts/{r.json['id']}", headers=h, json={"last_name": "Lin"})
    assert r.status_code == 200 and r.json["language"] == "zh_Hant"
    r = client.post("/api/v1/contacts", headers=h, json={"first_name": "X", "language": "fr"})
    assert r.status_code == 422
    old = make.contact(account, first_name="Old")
    r = client.patch(f"/api/v1/contacts/{old.id}", headers=h, json={"last_name": "Timer"})
    assert r.status_code == 200, r.json


def _text(msg):
    return msg.get_body(("plain",)).get_content()


def test_a_zh_hant_contact_gets_invitation_and_reminder_in_chinese(client, make, login, db,
                                                                    smtp, clock):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    login(make.user(account, name="Rita Rep", email="rita@acme.example",
                    timezone="America/New_York", seat_kind_id=seat.id))
    mei = make.contact(account, first_name="Mei", email="mei@example.org",
                       timezone="Asia/Taipei", language="zh_Hant")
    ann = make.contact(account, first_name="Ann", email="ann@example.org",
                       timezone="Europe/London")
    r = schedule(client, mei, title="Pricing", start_date=future_day(3),
                 attendees=[f"contact:{mei.id}", f"contact:{ann.id}"],
                 reminder_amount=["1"], reminder_unit=["hours"])
    assert r.status_code == 302
    by_rcpt = {rcpt[0]: msg for rcpt, msg in smtp.messages}
    assert "邀請" in _decoded_subject(by_rcpt["mei@example.org"])
    assert "年" in _text(by_rcpt["mei@example.org"])  # the date in Chinese
    assert _decoded_subject(by_rcpt["ann@example.org"]).startswith("Invitation:")
    smtp.clear()
    from webapp.meetings.models import Meeting
    meeting = db.session.scalar(sa.select(Meeting))
    clock.move_to(meeting.reminders[0].due_at)
    tasks.sweep(60)
    by_rcpt = {rcpt[0]: msg for rcpt, msg in smtp.messages}
    assert _decoded_subject(by_rcpt["mei@example.org"]).startswith("提醒")
    assert _decoded_subject(by_rcpt["ann@example.org"]).startswith("Reminder:")


def _decoded_subject(msg) -> str:
    return str(msg["Subject"])


def test_zone_pickers_offer_canonical_names_only():
    names = timezone_names()
    for alias in ("Asia/Calcutta", "Asia/Saigon", "US/Eastern", "Asia/Rangoon",
                  "America/Buenos_Aires", "Europe/Kiev"):
        assert alias not in names
    for zone in ("Asia/Kolkata", "Asia/Ho_Chi_Minh", "Asia/Taipei", "America/New_York",
                 "Europe/Amsterdam", "Europe/Kyiv", "UTC"):
        assert zone in names
    assert list(names[:-1]) == sorted(names[:-1]) and names[-1] == "UTC"
    # Old names are still understood (stored values, API callers) as the canonical ones.
    assert canonical_timezone("Asia/Calcutta") == "Asia/Kolkata"
    assert canonical_timezone("Asia/Saigon") == "Asia/Ho_Chi_Minh"
    assert canonical_timezone("Etc/UTC") == "UTC"
    assert is_valid_timezone("US/Eastern") and not is_valid_timezone("Mars/Olympus")


def test_a_contact_saved_with_an_alias_is_shown_and_saved_canonical(client, make, login, db):
    account = make.account()
    login(make.user(account))
    contact = make.contact(account, timezone="Asia/Calcutta")
    html = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert '<option selected value="Asia/Kolkata">' in html
    assert "Asia/Calcutta" not in html
    assert 'data-zone-search="Find a city or region"' in html
    r = client.post(f"/contacts/{contact.id}/edit", data={"first_name": "A",
                                                         "timezone": "Asia/Saigon"})
    assert r.status_code == 302
    db.session.refresh(contact)
    assert contact.timezone == "Asia/Ho_Chi_Minh"


def test_every_zone_picker_is_searchable_and_canonical(client, make, login):
    account = make.account(timezone="Asia/Saigon")
    login(make.user(account, role="admin", timezone="Asia/Calcutta"))
    for url in ("/meetings/new", "/settings/profile", "/settings/time-zone", "/contacts/new"):
        r = client.get(url)
        if r.status_code == 404:
            continue
        html = r.get_data(as_text=True)
        assert "data-zone-search" in html, url
        assert 'value="Asia/Calcutta"' not in html and 'value="Asia/Saigon"' not in html, url
