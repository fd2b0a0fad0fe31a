"""Issue #20: a time in the autumn overlap is named at the field ("1:30 AM happens twice on
Sun, Nov 7 (EDT, then EST)"; as it is typed the first is marked and said to be used,
the rep can choose the second); a time in the spring gap is refused at the field, on the
desktop form, the phone form and the API (422) alike, and in Traditional Chinese.
Fixed dates (New York, 2027), whatever the day the tests run."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.test_ical import fixed_now, golden_form, rep  # noqa: F401 (fixtures)
from webapp.meetings.models import Meeting

NNBSP = "\u202f"  # CLDR puts a narrow no-break space before AM/PM


def _check(client, **args) -> str:
    query = {"timezone": "America/New_York", **args}
    r = client.get("/meetings/when-check", query_string=query)
    assert r.status_code == 200
    return r.get_data(as_text=True)


def test_typing_a_repeated_time_names_it_and_marks_the_first(client, rep):  # noqa: F811
    html = _check(client, start_date="2027-11-07", start_time="01:30", end_time="01:50")
    assert 'id="when-check"' not in html  # its contents: the block stays, for the next check
    assert (f"The start, 1:30{NNBSP}AM on Sun, Nov 7, happens twice in America/New_York "
            "(EDT, then EST: the clocks go back). Which one?") in html
    assert re.search(r'name="start_fold" value="0" checked', html)
    assert not re.search(r'name="start_fold" value="1" checked', html)
    assert "The first (EDT) is used unless you choose the second." in html
    assert 'id="end-occurrence"' in html  # 01:50 happens twice too
    # Checked again (the end moved): still only offered, and said so; ...
    html = _check(client, start_date="2027-11-07", start_time="01:30", end_time="02:30",
                  start_fold="0", start_offered="1")
    assert re.search(r'name="start_fold" value="0" checked', html)
    assert "The first (EDT) is used unless you choose the second." in html
    # ... the rep's choice is kept as the other fields change.
    html = _check(client, start_date="2027-11-07", start_time="01:30", end_time="03:00",
                  start_fold="1")
    assert re.search(r'name="start_fold" value="1" checked', html)
    assert "is used unless" not in html and 'id="end-occurrence"' not in html
    # An ordinary time: nothing to say.
    html = _check(client, start_date="2027-11-08", start_time="01:30", end_time="02:00")
    assert "occurrence" not in html and "skipped" not in html


def test_typing_a_skipped_time_is_refused_at_the_field(client, rep):  # noqa: F811
    html = _check(client, start_date="2027-03-14", start_time="02:30", end_time="03:30")
    assert re.search(
        rf'id="start-skipped">2:30{NNBSP}AM does not exist on Sun, Mar 14 in America/New_York: '
        r"the clocks skip it, going from EST to EDT. Choose another time.<", html)


def test_the_desktop_and_phone_forms_refuse_a_skipped_time(client, rep, db, smtp):  # noqa: F811
    _account, _user, contact = rep
    data = golden_form(contact, "America/New_York", "2027-03-14", "02:30", "", "03:30", "", "")
    for url in ("/meetings/new", f"/m/meetings/new?record_type=contact&record_id={contact.id}"):
        r = client.post(url, data={**data, "end_date": "2027-03-14"})
        html = r.get_data(as_text=True)
        assert r.status_code == 422, url
        assert re.search(r'<p class="field-error" id="start-error" role="alert">2:30.AM does '
                         r"not exist on Sun, Mar 14 in America/New_York", html), url
        assert 'aria-invalid="true" aria-describedby="start-error"' in html
        assert 'id="start-skipped"' not in html  # said once, at the field
    assert db.session.scalar(sa.select(sa.func.count(Meeting.id))) == 0 and not smtp.messages


def test_the_phone_form_names_a_repeated_time_as_the_desktop_does(client, rep, db):  # noqa: F811
    _account, _user, contact = rep
    data = golden_form(contact, "America/New_York", "2027-11-07", "01:30", "", "01:50", "", "")
    r = client.post(f"/m/meetings/new?record_type=contact&record_id={contact.id}",
                    data={**data, "end_date": "2027-11-07"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert (f"1:30{NNBSP}AM happens twice on Sun, Nov 7 in America/New_York (EDT, then EST: "
            "the clocks go back). Choose which one.") in html
    assert 'id="start-occurrence"' in html and 'hx-get="/meetings/when-check"' in html


def test_in_traditional_chinese(client, rep):  # noqa: F811
    client.post("/language/zh_Hant", data={"next": "/"})
    html = _check(client, start_date="2027-03-14", start_time="02:30", end_time="03:30")
    assert "在 America/New_York 中不存在" in html and "從 EST 改為 EDT" in html
    html = _check(client, start_date="2027-11-07", start_time="01:30", end_time="01:50")
    assert "會出現兩次（先是 EDT，後是 EST" in html and "會使用第一個（EDT）" in html
