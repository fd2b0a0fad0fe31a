"""Issue #20: the phone's Edit form sets the outcome, as the desktop's does, through the one
save pipeline; for a meeting that has ended and is still Scheduled it says so there."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.meeting_helpers import future_day
from tests.test_mobile import phone_form, schedule_on_phone, team  # noqa: F401 (fixture)
from webapp.delivery.models import OutboxMessage
from webapp.meetings.models import Meeting

HINT = "This meeting has ended: how did it go? Set its outcome."


def _edit_form(contact, meeting, **overrides) -> dict:
    start = meeting.start_at.astimezone(ZoneInfo("America/New_York"))
    end = meeting.end_at.astimezone(ZoneInfo("America/New_York"))
    return phone_form(contact, start_date=start.date().isoformat(),
                      start_time=start.strftime("%H:%M"), end_date=end.date().isoformat(),
                      end_time=end.strftime("%H:%M"),
                      description_text="Agenda:\nintro\n\nnext steps", **overrides)


def _sent(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)))


def test_the_phone_edit_form_offers_the_outcome(client, team, db):  # noqa: F811
    _account, _rep, _alex, contact = team
    meeting = schedule_on_phone(client, contact)
    html = client.get(f"/m/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert '<select id="outcome" name="outcome"' in html
    assert 'value="scheduled" selected' in html and 'value="no_show"' in html
    assert HINT not in html  # not over yet: nothing to ask
    before = _sent(db)
    r = client.post(f"/m/meetings/{meeting.id}/edit",
                    data=_edit_form(contact, meeting, outcome="canceled"))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).outcome == "canceled"
    assert _sent(db) == before  # an outcome is the team's business: nothing is sent
    r = client.post(f"/m/meetings/{meeting.id}/edit",
                    data=_edit_form(contact, meeting, outcome="bogus"))
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="outcome-error"' in page
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).outcome == "canceled"


def test_a_past_meeting_asks_for_its_outcome_on_the_phone_and_desktop(client, team, db,  # noqa: F811
                                                                   clock):
    _account, _rep, _alex, contact = team
    day = future_day(1).isoformat()
    meeting = schedule_on_phone(client, contact, start_date=day, end_date=day)
    clock.shift(timedelta(days=3))  # it is over, still Scheduled
    for url in (f"/m/meetings/{meeting.id}/edit", f"/meetings/{meeting.id}/edit"):
        html = client.get(url).get_data(as_text=True)
        assert '<select id="outcome" name="outcome" aria-describedby="outcome-hint"' in html
        assert f'<p class="help" id="outcome-hint">{HINT}</p>' in html
    r = client.post(f"/m/meetings/{meeting.id}/edit",
                    data=_edit_form(contact, meeting, outcome="no_show"))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    db.session.expire_all()
    assert db.session.get(Meeting, meeting.id).outcome == "no_show"
    assert HINT not in client.get(f"/m/meetings/{meeting.id}/edit").get_data(as_text=True)
