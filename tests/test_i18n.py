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
