"""GET /api/v1/availability (#21): free intervals and the reasons the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.meeting_helpers import future_day, local
from tests.test_rotations import api_body, api_headers, team  # noqa: F401
from webapp.api import operations as token_ops
from webapp.availability import settings as availability
from webapp.meetings.models import Meeting


@pytest.fixture()
def people(make, db):
    account = make.account(timezone="America/New_York")
    seat = make.seat(account, paid=True)
    ana = make.user(account, name="Ana", seat_kind_id=seat.id, timezone="America/New_York")
    ben = make.user(account, name="Ben", seat_kind_id=seat.id, timezone="Europe/London")
    outsider = make.user(make.account(), name="Olga")
    availability.save_profile(ana, {"use_hours": "1", "day_0": "09:00-17:00",
                                    "day_1": "09:00-17:00", "day_2": "09:00-17:00",
                                    "day_3": "09:00-17:00", "day_4": "09:00-17:00",
                                    "buffer_after": "15"})
    tokens = {}
    for who in (ana, ben):
        _row, tokens[who.name] = token_ops.create_token(who, "tests")
    db.session.commit()
    return ana, ben, outsider, tokens


def weekday(days: int = 10):
    day = future_day(days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def get(client, token, **params):
    return client.get("/api/v1/availability", query_string=params,
                      headers={"Authorization": f"Bearer {token}"})


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def test_free_intervals_and_reasons(client, people, db):
    ana, ben, _outsider, tokens = people
    day = weekday()
    db.session.add(Meeting(account_id=ana.account_id, title="Pipeline review", host_id=ana.id,
                           organizer_id=ana.id, start_at=local(day, "11:00"),
                           end_at=local(day, "12:00"), timezone="America/New_York",
                           sequence=0, outcome="scheduled"))
    db.session.commit()
    start, end = local(day, "00:00"), local(day, "23:59")
    own = get(client, tokens["Ana"], user_id=ana.id, start=iso(start), end=iso(end))
    assert own.status_code == 200, own.json
    body = own.json
    assert body["complete"] is True and body["unreadable_calendars"] == []
    free = [(datetime.fromisoformat(f["start"]), datetime.fromisoformat(f["end"]))
            for f in body["free"]]
    assert free == [(local(day, "09:00"), local(day, "11:00")),
                    (local(day, "12:15"), local(day, "17:00"))]
    kinds = {(u["reason"], u.get("title")) for u in body["unavailable"]}
    assert ("busy", "Pipeline review") in kinds and ("buffer", None) in kinds
    assert ("outside_hours", None) in kinds
    busy = next(u for u in body["unavailable"] if u["reason"] == "busy")
    assert busy["calendar"] == "Parley" and busy["label"] == "Busy"
    # A colleague sees the busy time and its calendar, never the title.
    other = get(client, tokens["Ben"], user_id=ana.id, start=iso(start), end=iso(end)).json
    assert other["free"] == body["free"]
    busy = next(u for u in other["unavailable"] if u["reason"] == "busy")
    assert busy["title"] is None and busy["calendar"] == "Parley"
    assert "Pipeline review" not in str(other)


def test_same_tenant_only_and_bad_parameters(client, people):
    ana, _ben, outsider, tokens = people
    start = datetime(2027, 1, 4, tzinfo=UTC)
    r = get(client, tokens["Ana"], user_id=outsider.id, start=iso(start),
            end=iso(start + timedelta(days=1)))
    assert r.status_code == 404
    assert get(client, tokens["Ana"], user_id="x", start="soon", end="").status_code == 422
    r = get(client, tokens["Ana"], user_id=ana.id, start=iso(start), end=iso(start))
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "end"
    r = get(client, tokens["Ana"], user_id=ana.id, start=iso(start),
            end=iso(start + timedelta(days=90)))
    assert r.status_code == 422
    r = get(client, tokens["Ana"], user_id=ana.id, start="0001-01-01T00:00:00Z",
            end=iso(start))
    assert r.status_code == 422
    assert client.get("/api/v1/availability").status_code == 401


def test_a_user_without_hours_is_free_any_hour_and_the_document_lists_the_endpoint(
        client, people):
    _ana, ben, _outsider, tokens = people
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    body = get(client, tokens["Ben"], user_id=ben.id, start=iso(start),
               end=iso(start + timedelta(hours=5))).json
    assert len(body["free"]) == 1 and body["unavailable"] == []
    doc = client.get("/api/v1/openapi.json").json
    op = doc["paths"]["/availability"]["get"]
    assert op["operationId"] == "get_availability"
    assert "Availability" in doc["components"]["schemas"]
    from webapp.api import spec
    assert "rotation_pick" in spec.MEETING_OUT["properties"]


def test_an_unreadable_calendar_is_reported_not_taken_as_free(client, people, db,
                                                              monkeypatch):
    ana, _ben, _outsider, tokens = people
    from webapp.calendars import connections
    from webapp.calendars.models import CalendarConnection
    from webapp.calendars.providers import ProviderError
    db.session.add(CalendarConnection(account_id=ana.account_id, user_id=ana.id,
                                      provider="google", status="active"))
    db.session.commit()
    def unreachable(*a, **k):
        raise ProviderError("Google is down")

    monkeypatch.setattr(connections, "provider_for", unreachable)
    day = weekday()
    body = get(client, tokens["Ana"], user_id=ana.id, start=iso(local(day, "00:00")),
               end=iso(local(day, "23:00"))).json
    assert body["complete"] is False
    assert body["unreadable_calendars"] == ["Google calendar"]


def test_a_rotation_booking_reports_why_this_host(client, team, api_headers, db):  # noqa: F811
    day = future_day(8)
    db.session.add(Meeting(account_id=team.account.id, title="Ana busy", host_id=team.ana.id,
                           organizer_id=team.ana.id, start_at=local(day, "09:30"),
                           end_at=local(day, "10:15"), timezone="America/New_York",
                           sequence=0, outcome="scheduled"))
    db.session.commit()
    r = client.post("/api/v1/meetings", headers=api_headers,
                    json=api_body(team, rotation_id=team.rotation.id))
    assert r.status_code == 201, r.json
    pick = r.json["rotation_pick"]
    assert pick["kind"] == "pick" and pick["host_user_id"] == team.ben.id
    assert {m["name"]: m["skipped"] for m in pick["members"]} == {"Ana Able": ["busy"],
                                                                  "Ben Baker": None}
