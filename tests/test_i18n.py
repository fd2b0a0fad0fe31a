"""Language: user setting, else Accept-Language; Chinese labels follow the seed's terms."""


def test_accept_language_picks_traditional_chinese(client):
    html = client.get("/login", headers={"Accept-Language": "zh-TW,zh;q=0.9"}).get_data(
        as_text=True)
    assert 'lang="zh-Hant"' in html and "登入" in html


def test_english_by_default(client):
    html = client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="en"' in html and "Log in" in html


def test_switch_language_before_login(client):
    client.post("/language/zh_Hant", data={"next": "/login"})
    assert "登入" in client.get("/login").get_data(as_text=True)


def test_seed_terms_in_record_page(client, make, login):
    account = make.account()
    login(make.user(account, locale="zh_Hant"))
    contact = make.contact(account)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    for term in ("聯絡人", "公司", "交易", "票據"):
        assert term in html, term


# --- X5: the zh-Hant catalog is complete and current -----------------------------------

def _catalog(locale: str):
    from pathlib import Path

    from babel.messages.pofile import read_po

    path = Path(__file__).resolve().parent.parent / "webapp" / "translations" / locale / \
        "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def test_zh_hant_catalog_has_no_untranslated_or_fuzzy_entry():
    catalog = _catalog("zh_Hant")
    bad = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(s and s.strip() for s in strings):
            bad.append(message.id)
    assert not bad, f"untranslated or fuzzy in zh_Hant: {bad}"
    assert len(list(catalog)) > 300


def test_catalog_is_up_to_date_with_the_sources(tmp_path):
    """Extract the strings from the code now: every one must be in the catalog, and the
    catalog must hold no string the code no longer has (run `make messages`)."""
    import subprocess
    import sys
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-k",
                    "lazy_gettext", "--no-location", "-o", str(pot), "."], cwd=root,
                   check=True, capture_output=True)
    with pot.open("rb") as f:
        extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    translated = {m.id if isinstance(m.id, str) else m.id[0]
                  for m in _catalog("zh_Hant") if m.id}
    assert not extracted - translated, f"not in the catalog: {sorted(extracted - translated)}"
    assert not translated - extracted, f"no longer in the code: {sorted(translated - extracted)}"


def test_dates_follow_the_viewers_locale_and_zone(client, make, login, db):
    from datetime import UTC, datetime

    from webapp.meetings.models import Meeting

    account = make.account()
    user = login(make.user(account, locale="zh_Hant", timezone="Asia/Taipei"))
    start = datetime(2030, 1, 15, 2, 0, tzinfo=UTC)  # 10:00 in Taipei
    meeting = Meeting(account_id=account.id, title="Q1", start_at=start,
                      end_at=start.replace(hour=3), timezone="UTC", host_id=user.id,
                      organizer_id=user.id)
    db.session.add(meeting)
    db.session.commit()
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "2030年1月15日" in html and "上午10:00" in html
    user.locale, user.timezone = "en", "America/New_York"
    db.session.commit()
    from flask_babel import refresh
    refresh()  # the test's app context outlives the request, and Babel caches per context
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "January 14, 2030" in html and "9:00" in html  # 21:00 the day before in New York


def test_dates_formatted_once_a_process_read_as_babel_writes_them():
    """webapp.filters keeps a date's and a short time's text per locale (#24): the texts
    must be Babel's own, in both languages, around noon and midnight and the clocks'
    changes."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from babel import dates as babel_dates

    from webapp.filters import date_text, time_text

    start = datetime(2026, 3, 28, 22, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    for locale in ("en", "zh_Hant"):
        for step in range(0, 60 * 60, 37):
            value = (start + timedelta(minutes=step)).astimezone(ZoneInfo("Europe/Berlin"))
            for fmt in ("short", "medium", "long", "full"):
                assert date_text(value, fmt, locale) == babel_dates.format_date(
                    value, fmt, locale=locale)
            for fmt in ("short", "medium"):
                assert time_text(value, fmt, locale) == babel_dates.format_time(
                    value, fmt, locale=locale)


def test_the_schedulers_fixed_texts_follow_each_viewers_language(client, make, login, db):
    """The scheduler draws its fixed parts (duration buttons, reminder units, location
    types, the video help, the editor's labels) once a process and language (#24): a rep in
    Chinese after one in English sees them in Chinese, and the default reminders keep their
    units."""
    from flask_babel import refresh

    account = make.account(reminders_default_on=True,
                           default_reminders=[[15, "minutes"], [2, "days"]])
    user = login(make.user(account, locale="en"))
    html = client.get("/meetings/new").get_data(as_text=True)
    assert ">30 min</button>" in html and '"bold": "Bold"' in html
    assert '<option value="minutes" selected>minutes before</option>' in html
    assert '<option value="days" selected>days before</option>' in html
    assert '<option value="none" selected>No location</option>' in html
    assert ">Connect Zoom</a>" in html and '"show": "Show calendar"' in html

    user.locale = "zh_Hant"
    db.session.commit()
    refresh()  # the test's app context outlives the request, and Babel caches per context
    html = client.get("/meetings/new").get_data(as_text=True)
    assert ">30 分鐘</button>" in html and "min</button>" not in html
    assert '<option value="minutes" selected>分鐘前</option>' in html
    assert '<option value="days" selected>天前</option>' in html
    assert '<option value="none" selected>無地點</option>' in html and "No location" not in html
    assert ">連接 Zoom</a>" in html and "minutes before" not in html
    assert '"bold": "粗體"' in html or '"bold": "\\u7c97\\u9ad4"' in html
