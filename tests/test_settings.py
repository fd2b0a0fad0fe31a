"""Account settings (S4, S7, S9, time zone) and outcomes (O1-O3): the rules, the pages,
admins only."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.meeting_helpers import schedule
from webapp.auth.models import Account
from webapp.meetings import inputs, saving, validation
from webapp.meetings import operations as meeting_ops
from webapp.meetings.models import Meeting, MeetingOutcome, MeetingType, Snippet
from webapp.meetings.outcomes import catalog
from webapp.settings import operations as ops
from webapp.settings.operations import SettingError
from webapp.types import utcnow


@pytest.fixture()
def admin(make, login):
    account = make.account(timezone="America/New_York")
    user = login(make.user(account, role="admin", timezone="America/New_York"))
    return account, user


def outcome_names(account_id: int) -> list[str]:
    return [o.label for o in catalog(account_id).all]


def a_meeting(account, user, **kw):
    start = utcnow() + timedelta(days=5)
    data = inputs.MeetingInput(title=kw.pop("title", "Check-in"), start=start,
                                    end=start + timedelta(minutes=30), timezone="UTC", **kw)
    assert not validation.validate(account, user, data)
    return saving.schedule_meeting(account, user, data)


# --- outcomes: rules -----------------------------------------------------------------------

def test_every_account_starts_with_the_default_outcomes(make, db):
    account = make.account()
    assert outcome_names(account.id) == ["Scheduled", "Completed", "Rescheduled", "No show",
                                         "Canceled"]
    assert [k for k, _label in meeting_ops.outcome_choices(account.id)] == [
        "scheduled", "completed", "rescheduled", "no_show", "canceled"]
    other = make.account()
    assert db.session.scalar(sa.select(sa.func.count(MeetingOutcome.id)).where(
        MeetingOutcome.account_id == other.id)) == 5


def test_custom_outcome_is_added_last_with_a_stable_key(make, db):
    account = make.account()
    row = ops.add_outcome(account.id, "  Follow-up   booked ")
    assert row.name == "Follow-up booked" and row.key == "follow_up_booked"
    assert outcome_names(account.id)[-1] == "Follow-up booked"
    chinese = ops.add_outcome(account.id, "已成交")
    assert chinese.key == "outcome"
    assert ops.add_outcome(account.id, "成交了").key == "outcome_2"
    ops.rename_outcome(row, "Second meeting booked")
    assert row.key == "follow_up_booked"  # meetings keep pointing at it


@pytest.mark.parametrize("name", ["completed", " COMPLETED ", "No  show", "Scheduled"])
def test_duplicate_outcome_names_are_refused(make, db, name):
    account = make.account()
    with pytest.raises(SettingError, match="already an outcome") as exc:
        ops.add_outcome(account.id, name)
    assert exc.value.field == "name"
    assert len(catalog(account.id).all) == 5


def test_duplicate_of_a_retired_or_renamed_outcome_is_refused(make, db):
    account = make.account()
    won = ops.add_outcome(account.id, "Won")
    ops.set_outcome_active(won, False)
    with pytest.raises(SettingError, match=r"“Won” \(retired\)"):
        ops.add_outcome(account.id, "won")
    completed = ops.get_outcome(account.id, catalog(account.id).all[1].id)
    ops.rename_outcome(completed, "Held")
    with pytest.raises(SettingError, match="already"):
        ops.add_outcome(account.id, "held")
    # The old English name is free again once the default was renamed.
    ops.add_outcome(account.id, "Completed")


@pytest.mark.parametrize(("name", "message"), [("", "Enter a name"), ("   ", "Enter a name"),
                                               ("x" * 81, "under 80")])
def test_empty_or_long_outcome_names_are_refused(make, db, name, message):
    account = make.account()
    with pytest.raises(SettingError, match=message):
        ops.add_outcome(account.id, name)
    row = ops.get_outcome(account.id, catalog(account.id).all[0].id)
    with pytest.raises(SettingError, match=message):
        ops.rename_outcome(row, name)
    assert outcome_names(account.id)[0] == "Scheduled"


def test_renaming_a_default_relabels_old_meetings(make, db):
    account = make.account()
    user = make.user(account)
    meeting = a_meeting(account, user)
    assert meeting_ops.set_outcome(meeting, "completed")
    row = next(o for o in catalog(account.id).all if o.key == "completed")
    ops.rename_outcome(ops.get_outcome(account.id, row.id), "Held")
    assert catalog(account.id).label(meeting.outcome) == "Held"


def test_reorder_moves_one_place_and_stops_at_the_ends(make, db):
    account = make.account()
    rows = catalog(account.id).all
    canceled = ops.get_outcome(account.id, rows[-1].id)
    ops.move_outcome(canceled, -1)
    assert outcome_names(account.id) == ["Scheduled", "Completed", "Rescheduled", "Canceled",
                                         "No show"]
    ops.move_outcome(ops.get_outcome(account.id, rows[0].id), -1)  # already first
    ops.move_outcome(ops.get_outcome(account.id, rows[3].id), +1)  # "No show", now last
    assert outcome_names(account.id)[0] == "Scheduled"
    assert outcome_names(account.id)[-1] == "No show"
    assert [k for k, _ in meeting_ops.outcome_choices(account.id)][3] == "canceled"


def test_retired_outcome_stays_readable_but_is_not_offered(make, db):
    account = make.account()
    user = make.user(account)
    lost = ops.add_outcome(account.id, "Lost")
    old = a_meeting(account, user, title="Old")
    assert meeting_ops.set_outcome(old, "lost")
    ops.set_outcome_active(lost, False)
    new = a_meeting(account, user, title="New")
    outcomes = catalog(account.id)
    assert "lost" not in dict(meeting_ops.outcome_choices(account.id))
    assert not meeting_ops.set_outcome(new, "lost")
    assert new.outcome == "scheduled"
    assert outcomes.label(old.outcome) == "Lost"
    assert [o.key for o in outcomes.options_for(old.outcome)][-1] == "lost"
    assert "lost" not in [o.key for o in outcomes.options_for(new.outcome)]
    assert meeting_ops.set_outcome(old, "lost")  # keeping it is not a change
    ops.set_outcome_active(lost, True)
    assert meeting_ops.set_outcome(new, "lost")


def test_the_initial_outcome_cannot_be_retired(make, db):
    account = make.account()
    scheduled = ops.get_outcome(account.id, catalog(account.id).all[0].id)
    with pytest.raises(SettingError, match="every new meeting starts with"):
        ops.set_outcome_active(scheduled, False)
    assert catalog(account.id).is_offered("scheduled")


# --- meeting types (S4) --------------------------------------------------------------------

def test_meeting_type_names_are_checked(make, db):
    account = make.account()
    demo = ops.add_meeting_type(account.id, "Demo")
    for bad, message in [("", "Enter a name"), ("demo", "already a meeting type"),
                         (" DEMO ", "already a meeting type"), ("y" * 81, "under 80")]:
        with pytest.raises(SettingError, match=message):
            ops.add_meeting_type(account.id, bad)
    ops.set_meeting_type_active(demo, False)
    with pytest.raises(SettingError, match=r"\(retired\)"):
        ops.add_meeting_type(account.id, "Demo")
    call = ops.add_meeting_type(account.id, "Call")
    with pytest.raises(SettingError, match="already"):
        ops.rename_meeting_type(call, "demo")
    ops.rename_meeting_type(call, "Intro call")
    assert [t.name for t in ops.meeting_types(account.id)] == ["Intro call", "Demo"]


def test_retired_type_is_not_offered_but_stays_on_its_meetings(make, db):
    account = make.account(custom_meeting_types_enabled=True)
    user = make.user(account)
    demo = ops.add_meeting_type(account.id, "Demo")
    meeting = a_meeting(account, user, meeting_type_id=demo.id)
    ops.set_meeting_type_active(demo, False)
    assert demo not in validation.active_meeting_types(account.id)
    assert meeting.meeting_type.name == "Demo"
    start = utcnow() + timedelta(days=6)
    data = inputs.MeetingInput(title="New", start=start, end=start + timedelta(hours=1),
                                    timezone="UTC", meeting_type_id=demo.id)
    assert "meeting_type_id" in validation.validate(account, user, data)


def test_deleting_a_type_in_use_is_refused(make, db):
    account = make.account(custom_meeting_types_enabled=True)
    user = make.user(account)
    used = ops.add_meeting_type(account.id, "Used")
    unused = ops.add_meeting_type(account.id, "Unused")
    meeting = a_meeting(account, user, meeting_type_id=used.id)
    saving.delete_meeting(meeting, user)  # a deleted meeting still points at it
    with pytest.raises(SettingError, match="used by 1 meeting"):
        ops.delete_meeting_type(used)
    ops.delete_meeting_type(unused)
    assert [t.name for t in ops.meeting_types(account.id)] == ["Used"]


# --- default reminders (S7) ------------------------------------------------------------------

@pytest.mark.parametrize(("enabled", "offsets", "message"), [
    (True, [(1, "hours"), (2, "hours"), (3, "hours"), (4, "hours")], "at most three"),
    (True, [(0, "hours")], "above zero"),
    (True, [(-1, "days")], "above zero"),
    (True, [(1, "fortnights")], "minutes, hours"),
    (True, [(53, "weeks")], "at most a year"),
    (True, [(60, "minutes"), (1, "hours")], "same time"),
    (True, [(7, "days"), (1, "weeks")], "same time"),
    (True, [], "at least one"),
])
def test_bad_default_reminders_are_refused(make, db, enabled, offsets, message):
    account = make.account(reminders_default_on=False, default_reminders=[[1, "days"]])
    with pytest.raises(SettingError, match=message):
        ops.set_reminder_defaults(account, enabled, offsets)
    db.session.expire_all()
    account = db.session.get(Account, account.id)
    assert not account.reminders_default_on and account.default_reminders == [[1, "days"]]


def test_default_reminders_reach_new_meetings(client, admin, make, db):
    account, _user = admin
    r = client.post("/settings/reminders", data={
        "enabled": "1", "amount": ["15", "", "2"], "unit": ["minutes", "hours", "days"]})
    assert r.status_code == 302
    db.session.expire_all()
    account = db.session.get(Account, account.id)
    assert account.reminders_default_on
    assert account.default_reminders == [[15, "minutes"], [2, "days"]]
    contact = make.contact(account)
    html = client.get(f"/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert 'name="reminder_amount" value="15"' in html.replace("  ", " ") or 'value="15"' in html
    assert 'value="2"' in html
    # Turning them off: new meetings start without reminders; the offsets are kept.
    client.post("/settings/reminders", data={"amount": ["15", "", "2"],
                                             "unit": ["minutes", "hours", "days"]})
    html = client.get(f"/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert html.count('name="reminder_amount"') == 1  # only the add-row template


def test_default_reminders_form_errors_at_the_field(client, admin, db):
    account, _user = admin
    r = client.post("/settings/reminders", data={"enabled": "1", "amount": ["soon"],
                                                 "unit": ["hours"]})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="reminders-error"' in html and "whole number" in html
    assert 'value="soon"' in html  # the input is shown again
    db.session.expire_all()
    assert not db.session.get(Account, account.id).reminders_default_on


# --- snippets (S9) -------------------------------------------------------------------------

def test_snippets_are_sanitized_named_once_and_offered_in_the_scheduler(client, admin, make,
                                                                        db):
    account, _user = admin
    r = client.post("/settings/snippets", data={
        "name": "Agenda", "body_html": '<p><b>Agenda</b></p><script>alert(1)</script>'
                                       '<a href="javascript:alert(1)">x</a>'})
    assert r.status_code == 302
    snippet = db.session.scalar(sa.select(Snippet))
    assert "<b>Agenda</b>" in snippet.body_html
    assert "script" not in snippet.body_html and "javascript" not in snippet.body_html
    contact = make.contact(account)
    html = client.get(f"/meetings/new?record_type=contact&record_id={contact.id}").get_data(
        as_text=True)
    assert '"name": "Agenda"' in html
    for data, field, message in [({"name": "agenda", "body_html": "<p>x</p>"}, "name",
                                  "already a snippet"),
                                 ({"name": "", "body_html": "<p>x</p>"}, "name", "Enter a name"),
                                 ({"name": "Empty", "body_html": "<p> </p><script>x</script>"},
                                  "body_html", "Enter the text"),
                                 ({"name": "Huge", "body_html": "x" * 20_001}, "body_html",
                                  "too long")]:
        r = client.post("/settings/snippets", data=data)
        assert r.status_code == 422, data
        html = r.get_data(as_text=True)
        assert f'id="snippet-{field.replace("_html", "")}-error"' in html and message in html
    assert db.session.scalar(sa.select(sa.func.count(Snippet.id))) == 1


def test_snippet_edit_and_delete(client, admin, db):
    account, _user = admin
    keep = ops.add_snippet(account.id, "Dial-in", "<p>Call +1 212 555 0100</p>")
    other = ops.add_snippet(account.id, "Agenda", "<p>Intro</p>")
    db.session.commit()
    assert "Dial-in" in client.get(f"/settings/snippets/{keep.id}/edit").get_data(as_text=True)
    r = client.post(f"/settings/snippets/{keep.id}/edit",
                    data={"name": "agenda", "body_html": "<p>x</p>"})
    assert r.status_code == 422 and "already a snippet" in r.get_data(as_text=True)
    r = client.post(f"/settings/snippets/{keep.id}/edit",
                    data={"name": "Dial-in help", "body_html": "<p><i>Call us</i></p>"})
    assert r.status_code == 302
    assert client.post(f"/settings/snippets/{other.id}/delete").status_code == 302
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Snippet)).all()
    assert [(s.name, s.body_html) for s in rows] == [("Dial-in help", "<p><i>Call us</i></p>")]


# --- time zone -----------------------------------------------------------------------------

def test_account_time_zone(client, make, login, db):
    account = make.account(timezone="UTC")
    admin_user = make.user(account, role="admin", timezone=None)
    login(admin_user)
    r = client.post("/settings/time-zone", data={"timezone": "Mars/Olympus"})
    assert r.status_code == 422 and 'id="timezone-error"' in r.get_data(as_text=True)
    assert client.post("/settings/time-zone", data={"timezone": "Asia/Taipei"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Account, account.id).timezone == "Asia/Taipei"
    # A user without a zone of their own now sees Taipei time.
    html = client.get("/settings/time-zone").get_data(as_text=True)
    assert '<option value="Asia/Taipei" selected>' in html


# --- the pages: admins only ------------------------------------------------------------------

def _settings_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("settings.")]


def test_members_get_a_clear_403_and_change_nothing(app, client, make, login, db):
    account = make.account()
    demo = ops.add_meeting_type(account.id, "Demo")
    snippet = ops.add_snippet(account.id, "Agenda", "<p>x</p>")
    outcome = ops.add_outcome(account.id, "Won")
    db.session.commit()
    login(make.user(account, role="member"))
    ids = {"type_id": demo.id, "snippet_id": snippet.id, "outcome_id": outcome.id}
    before = (db.session.execute(sa.select(MeetingType.name, MeetingType.active)).all(),
              db.session.execute(sa.select(Snippet.name)).all(),
              db.session.execute(sa.select(MeetingOutcome.key, MeetingOutcome.name,
                                           MeetingOutcome.position,
                                           MeetingOutcome.active)).all())
    checked = 0
    for rule in _settings_rules(app):
        path = app.url_map.bind("localhost").build(rule.endpoint, {
            k: ids[k] for k in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(path, method=method, data={"name": "Hacked", "timezone": "UTC",
                                                       "enabled": "1", "body_html": "x",
                                                       "amount": ["1"], "unit": ["hours"]})
            assert r.status_code == 403, (method, path)
            assert "Only account admins can change account settings" in r.get_data(as_text=True)
            checked += 1
    assert checked >= 20
    db.session.expire_all()
    after = (db.session.execute(sa.select(MeetingType.name, MeetingType.active)).all(),
             db.session.execute(sa.select(Snippet.name)).all(),
             db.session.execute(sa.select(MeetingOutcome.key, MeetingOutcome.name,
                                          MeetingOutcome.position,
                                          MeetingOutcome.active)).all())
    assert after == before
    assert not db.session.get(Account, account.id).custom_meeting_types_enabled
    # The top bar offers reports to everyone and settings only to admins.
    nav = client.get("/reports").get_data(as_text=True)
    assert 'href="/reports"' in nav and 'href="/settings"' not in nav


def test_visitors_are_sent_to_log_in(client, db):
    r = client.get("/settings/outcomes")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_admin_settings_menu_lists_every_section(client, admin):
    html = client.get("/contacts").get_data(as_text=True)
    assert 'href="/settings"' in html
    html = client.get("/settings").get_data(as_text=True)
    for path in ("/settings/time-zone", "/settings/meeting-types", "/settings/reminders",
                 "/settings/snippets", "/settings/outcomes"):
        assert f'href="{path}"' in html


def test_meeting_types_pages(client, admin, db):
    account, user = admin
    assert client.post("/settings/meeting-types/switch", data={"enabled": "1"}).status_code == 302
    r = client.post("/settings/meeting-types", data={"name": "Demo"})
    assert r.status_code == 302
    r = client.post("/settings/meeting-types", data={"name": " demo"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="add-error"' in html and "already a meeting type named “Demo”" in html
    assert "Nothing was saved" in html
    demo = db.session.scalar(sa.select(MeetingType))
    db.session.expire_all()
    a_meeting(db.session.get(Account, account.id), user, meeting_type_id=demo.id)
    db.session.commit()
    r = client.post(f"/settings/meeting-types/{demo.id}/delete")
    assert r.status_code == 422
    assert "cannot be deleted. Retire it instead" in r.get_data(as_text=True)
    assert client.post(f"/settings/meeting-types/{demo.id}/retire").status_code == 302
    html = client.get("/meetings/new").get_data(as_text=True)
    assert 'id="meeting_type_id"' in html and ">Demo<" not in html
    assert client.post(f"/settings/meeting-types/{demo.id}/restore").status_code == 302
    assert ">Demo<" in client.get("/meetings/new").get_data(as_text=True)
    assert client.post("/settings/meeting-types/switch", data={}).status_code == 302
    assert 'id="meeting_type_id"' not in client.get("/meetings/new").get_data(as_text=True)


def test_outcome_pages_and_timeline(client, admin, make, db):
    account, _user = admin
    contact = make.contact(account)
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    meeting = db.session.scalar(sa.select(Meeting))
    assert client.post("/settings/outcomes", data={"name": "Demo booked"}).status_code == 302
    r = client.post("/settings/outcomes", data={"name": "no show"})
    assert r.status_code == 422 and "already an outcome named “No show”" in r.get_data(
        as_text=True)
    # The timeline item's actions menu is loaded when it is opened (#24).
    menu_url = f"/meetings/{meeting.id}/actions?return_to=/contacts/{contact.id}"
    assert menu_url in client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    html = client.get(menu_url).get_data(as_text=True)
    assert '<option value="demo_booked" >Demo booked</option>' in html
    r = client.post(f"/meetings/{meeting.id}/outcome", data={"outcome": "demo_booked"},
                    headers={"HX-Request": "true", "HX-Target": f"meeting-{meeting.id}"})
    assert r.status_code == 200
    assert '<span class="badge badge-gray outcome">Demo booked</span>' in r.get_data(
        as_text=True)
    row = db.session.scalar(sa.select(MeetingOutcome).where(MeetingOutcome.key == "demo_booked"))
    assert client.post(f"/settings/outcomes/{row.id}/rename",
                       data={"name": "Second meeting"}).status_code == 302
    assert client.post(f"/settings/outcomes/{row.id}/move",
                       data={"direction": "up"}).status_code == 302
    assert client.post(f"/settings/outcomes/{row.id}/retire").status_code == 302
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert '<span class="badge badge-gray outcome">Second meeting</span>' in html
    html = client.get(menu_url).get_data(as_text=True)
    assert '<option value="demo_booked" selected>Second meeting</option>' in html
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "<dd>Second meeting</dd>" in html
    # A retired outcome cannot be given to a meeting that does not have it.
    meeting.outcome = "completed"
    db.session.commit()
    r = client.post(f"/meetings/{meeting.id}/outcome", data={"outcome": "demo_booked"},
                    headers={"HX-Request": "true", "HX-Target": f"meeting-{meeting.id}"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li class="timeline-item" id="meeting-{meeting.id}"')
    assert 'class="field-error"' in html and "Choose an outcome from the list" in html
    r = client.post(f"/meetings/{meeting.id}/outcome", data={"outcome": "demo_booked"})
    assert r.status_code == 422 and 'id="outcome-error"' in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).outcome == "completed"
    scheduled = db.session.scalar(sa.select(MeetingOutcome).where(
        MeetingOutcome.account_id == account.id, MeetingOutcome.key == "scheduled"))
    r = client.post(f"/settings/outcomes/{scheduled.id}/retire")
    assert r.status_code == 422 and "cannot be retired" in r.get_data(as_text=True)


def test_api_sets_custom_outcomes_and_refuses_retired_ones(client, make, db):
    from webapp.api import operations as token_ops
    account = make.account()
    user = make.user(account)
    _row, token = token_ops.create_token(user, "tests")
    won = ops.add_outcome(account.id, "Won")
    meeting = a_meeting(account, user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    r = client.put(f"/api/v1/meetings/{meeting.id}/outcome", headers=headers,
                   json={"outcome": "won"})
    assert r.status_code == 200 and r.json["outcome"] == "won"
    ops.set_outcome_active(won, False)
    meeting.outcome = "scheduled"
    db.session.commit()
    r = client.put(f"/api/v1/meetings/{meeting.id}/outcome", headers=headers,
                   json={"outcome": "won"})
    assert r.status_code == 422 and "won" not in r.json["errors"][0]["message"]


def test_outcome_settings_page_in_chinese_shows_translated_defaults(client, admin, db):
    client.post("/language/zh_Hant", data={"next": "/settings/outcomes"})
    html = client.get("/settings/outcomes").get_data(as_text=True)
    for label in ("已排程", "已完成", "重新排程", "未出席", "已取消"):
        assert f'value="{label}"' in html
    assert "會議結果" in html
