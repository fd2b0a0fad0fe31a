"""CRM records: list, search, pagination, create/edit validation, record page, associations."""

import re

import sqlalchemy as sa

from webapp.records.models import Contact, RecordLink


def test_contact_list_search_and_pagination(client, make, login):
    account = make.account()
    user = login(make.user(account))
    for i in range(30):
        make.contact(account, first_name=f"Person{i:02d}", last_name="Zed")
    make.contact(account, first_name="Mei-Ling", last_name="Chen", email="mei@example.org")
    other = make.account()
    make.contact(other, first_name="Mei-Ling", last_name="Hidden")

    page1 = client.get("/contacts").get_data(as_text=True)
    assert "31 records" in page1 and "Page 1 of 2" in page1
    assert "Hidden" not in page1
    page2 = client.get("/contacts?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in page2

    found = client.get("/contacts?q=mei").get_data(as_text=True)
    assert "Mei-Ling Chen" in found and "1 record" in found and "Hidden" not in found
    found = client.get("/contacts?q=mei-ling chen").get_data(as_text=True)
    assert "Mei-Ling Chen" in found
    # A literal % is searched for, not used as a wildcard.
    assert "No records match" in client.get("/contacts?q=%25").get_data(as_text=True)
    assert user


def test_search_partial_when_htmx_targets_the_list(client, make, login):
    account = make.account()
    login(make.user(account))
    make.contact(account, first_name="Alma")
    response = client.get("/contacts?q=alm", headers={"HX-Request": "true",
                                                       "HX-Target": "record-list"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="record-list">') and "<html" not in body
    assert "HX-Request" in response.headers.get("Vary", "")
    full = client.get("/contacts?q=alm", headers={"HX-Request": "true", "HX-Boosted": "true",
                                                   "HX-Target": "record-list"})
    assert "<html" in full.get_data(as_text=True)


def test_create_contact_normalizes_email_and_phone(client, make, login, db):
    account = make.account()
    login(make.user(account))
    company = make.company(account, name="Initech")
    response = client.post("/contacts/new", data={
        "first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.ORG",
        "phone": "+44 20 7946 0018", "timezone": "Europe/London", "company_id": str(company.id)})
    assert response.status_code == 302
    contact = db.session.scalar(sa.select(Contact).where(Contact.first_name == "Ada"))
    assert contact.email == "Ada@example.org"
    assert contact.phone == "+442079460018"
    assert contact.company_id == company.id
    # Setting the company also associates the two records, both ways.
    links = db.session.scalars(sa.select(RecordLink)).all()
    assert {(lnk.from_type, lnk.to_type) for lnk in links} == {("contact", "company"),
                                                              ("company", "contact")}


def test_invalid_contact_input_is_refused_next_to_the_field(client, make, login, db):
    account = make.account()
    login(make.user(account))
    response = client.post("/contacts/new", data={
        "first_name": "", "email": "not-an-email", "phone": "12345",
        "timezone": "Mars/Olympus", "last_name": "x" * 101})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="first_name-error"' in html
    assert 'id="email-error"' in html and "valid email" in html
    assert 'id="phone-error"' in html
    assert 'id="timezone-error"' in html
    assert 'id="last_name-error"' in html
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_company_of_another_account_cannot_be_chosen(client, make, login, db):
    account = make.account()
    login(make.user(account))
    foreign = make.company(make.account())
    response = client.post("/contacts/new", data={"first_name": "Eve",
                                                  "company_id": str(foreign.id)})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 0


def test_edit_and_delete_each_record_type(client, make, login, db):
    account = make.account()
    login(make.user(account))
    deal = make.deal(account, name="Big deal")
    ticket = make.ticket(account, subject="Broken login")
    company = make.company(account)
    r = client.post(f"/deals/{deal.id}/edit", data={"name": "Bigger deal", "amount": "1200.50",
                                                   "stage": "won", "close_date": "2026-12-31"})
    assert r.status_code == 302
    assert "Bigger deal" in client.get(f"/deals/{deal.id}").get_data(as_text=True)
    r = client.post(f"/tickets/{ticket.id}/edit", data={"subject": "", "status": "new",
                                                       "priority": "high"})
    assert r.status_code == 422
    r = client.post(f"/deals/{deal.id}/edit", data={"name": "x", "amount": "-5", "stage": "won"})
    assert r.status_code == 422
    r = client.post(f"/companies/{company.id}/edit", data={"name": "Renamed", "phone": "nope"})
    assert r.status_code == 422
    assert client.post(f"/tickets/{ticket.id}/delete").status_code == 302
    assert client.get(f"/tickets/{ticket.id}").status_code == 404


def test_record_page_has_panels_and_empty_timeline(client, make, login):
    account = make.account()
    login(make.user(account))
    contact = make.contact(account, first_name="Grace", last_name="Hopper")
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Grace Hopper" in html
    assert 'class="record-left"' in html and 'id="timeline"' in html
    assert 'id="associations"' in html
    assert "No activities yet" in html


def test_add_and_remove_association_with_htmx(client, make, login, db):
    account = make.account()
    login(make.user(account))
    contact = make.contact(account)
    deal = make.deal(account, name="Renewal 2027")
    results = client.get(f"/contacts/{contact.id}/associations/search?to_type=deal&q=renew",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Renewal 2027" in results
    r = client.post(f"/contacts/{contact.id}/associations",
                    data={"to_type": "deal", "to_id": deal.id}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Renewal 2027" in r.get_data(as_text=True)
    # Seen from the other side too.
    assert f"/contacts/{contact.id}" in client.get(f"/deals/{deal.id}").get_data(as_text=True)
    # Adding twice keeps one link.
    client.post(f"/contacts/{contact.id}/associations", data={"to_type": "deal", "to_id": deal.id},
                headers={"HX-Request": "true"})
    assert db.session.scalar(sa.select(sa.func.count(RecordLink.id))) == 2
    r = client.post(f"/contacts/{contact.id}/associations/deal/{deal.id}/delete",
                    headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(RecordLink.id))) == 0


def test_association_with_unknown_record_is_refused(client, make, login, db):
    account = make.account()
    login(make.user(account))
    contact = make.contact(account)
    foreign = make.deal(make.account())
    r = client.post(f"/contacts/{contact.id}/associations",
                    data={"to_type": "deal", "to_id": foreign.id}, headers={"HX-Request": "true"})
    assert r.status_code == 422 and "Choose a record" in r.get_data(as_text=True)
    r = client.post(f"/contacts/{contact.id}/associations",
                    data={"to_type": "contact", "to_id": contact.id})
    assert r.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(RecordLink.id))) == 0


def test_record_page_query_count_is_small(client, make, login, count_queries):
    account = make.account()
    login(make.user(account))
    contact = make.contact(account)
    deals = [make.deal(account, name=f"Linked deal {n}") for n in range(3)]
    with count_queries() as few:
        r = client.get(f"/contacts/{contact.id}")
    assert r.status_code == 200
    from webapp.records import operations as ops
    for deal in deals:
        ops.link(account.id, contact, deal)
        ops.link(account.id, contact, make.company(account, name=f"Linked company {deal.id}"))
    from webapp.extensions import db
    db.session.commit()
    with count_queries() as many:
        r = client.get(f"/contacts/{contact.id}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    linked = set(re.findall(r"Linked (?:deal|company) \d+", html))
    assert linked == {d.name for d in deals} | {f"Linked company {d.id}" for d in deals}
    assert many.count <= few.count + 2, many.statements
