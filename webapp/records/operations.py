"""Domain actions on CRM records. Every query is scoped to an account; nothing commits."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.extensions import db, read_columns
from webapp.records.models import RECORD_MODELS, Company, Contact, Deal, RecordLink, Ticket

SEARCH_COLUMNS = {
    "contact": (Contact.first_name, Contact.last_name, Contact.email),
    "company": (Company.name, Company.domain),
    "deal": (Deal.name,),
    "ticket": (Ticket.subject,),
}
ORDER = {
    "contact": (Contact.last_name, Contact.first_name, Contact.id),
    "company": (Company.name, Company.id),
    "deal": (Deal.name, Deal.id),
    "ticket": (Ticket.subject, Ticket.id),
}


def _search_filter(record_type: str, q: str):
    needle = q.strip().lower()
    terms = [sa.func.lower(col).contains(needle, autoescape=True)
             for col in SEARCH_COLUMNS[record_type]]
    if record_type == "contact":
        terms.append(sa.func.lower(Contact.first_name + " " + Contact.last_name)
                     .contains(needle, autoescape=True))
    return sa.or_(*terms)


def search_records(account_id: int, record_type: str, q: str = "", page: int = 1,
                   per_page: int = 25) -> tuple[list, int]:
    """One page of an account's records of a type, filtered by q; and the total count."""
    model = RECORD_MODELS[record_type]
    stmt = sa.select(model).where(model.account_id == account_id)
    if q.strip():
        stmt = stmt.where(_search_filter(record_type, q))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    if record_type == "contact":
        stmt = stmt.options(sa.orm.selectinload(Contact.company))
    items = db.session.scalars(stmt.order_by(*ORDER[record_type])
                               .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return list(items), total


def get_record(account_id: int, record_type: str, record_id: int):
    """The record if it exists in this account, else None."""
    model = RECORD_MODELS.get(record_type)
    if model is None:
        return None
    return db.session.scalar(_record_statement(record_type),
                             {"record_id": record_id, "account_id": account_id})


@cache
def _record_statement(record_type: str):
    """get_record()'s SELECT for one type, built once a process (#24)."""
    model = RECORD_MODELS[record_type]
    stmt = sa.select(model).where(model.id == sa.bindparam("record_id"),
                                  model.account_id == sa.bindparam("account_id"))
    if model is Contact:
        # The record page shows the contact's company: read with it, not after it.
        stmt = stmt.options(so.joinedload(Contact.company))
    return stmt


@cache
def _links_statement():
    """associations()' links SELECT, built once a process (#24)."""
    return sa.select(RecordLink.to_type, RecordLink.to_id).where(
        RecordLink.account_id == sa.bindparam("account_id"),
        RecordLink.from_type == sa.bindparam("from_type"),
        RecordLink.from_id == sa.bindparam("from_id"))


def ids_by_type(refs: list[tuple[str, int]]) -> dict[str, set[int]]:
    """(record_type, id) pairs grouped by type; unknown types and ids out of range dropped."""
    wanted: dict[str, set[int]] = {}
    for record_type, record_id in refs:
        if record_type in RECORD_MODELS and 1 <= record_id <= 2**31 - 1:
            wanted.setdefault(record_type, set()).add(record_id)
    return wanted


def existing_refs(account_id: int, refs: list[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of (record_type, id) exist in this account: one query for every type."""
    wanted = ids_by_type(refs)
    if not wanted:
        return set()
    selects = [sa.select(sa.literal(t).label("t"), RECORD_MODELS[t].id.label("id")).where(
        RECORD_MODELS[t].account_id == account_id, RECORD_MODELS[t].id.in_(ids))
        for t, ids in wanted.items()]
    stmt = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return {(t, i) for t, i in db.session.execute(stmt)}


def create_record(account_id: int, record_type: str, data: dict):
    """Create a record from validated form data."""
    record = RECORD_MODELS[record_type](account_id=account_id)
    db.session.add(record)
    update_record(record, data)
    return record


def update_record(record, data: dict) -> None:
    """Apply validated form data; a contact's company is also kept as an association."""
    previous_company = getattr(record, "company_id", None)
    for key, value in data.items():
        if isinstance(value, str):
            value = value.strip() or None
        setattr(record, key, value)
    if getattr(record, "last_name", "") is None:
        record.last_name = ""
    db.session.flush()
    if record.record_type == "contact" and record.company_id != previous_company:
        if record.company_id:
            company = get_record(record.account_id, "company", record.company_id)
            if company is None:
                raise ValueError("company not in account")
            link(record.account_id, record, company)


def delete_record(record) -> None:
    """Delete a record and its links."""
    db.session.execute(sa.delete(RecordLink).where(
        RecordLink.account_id == record.account_id,
        sa.or_(sa.and_(RecordLink.from_type == record.record_type, RecordLink.from_id == record.id),
               sa.and_(RecordLink.to_type == record.record_type, RecordLink.to_id == record.id))))
    if record.record_type == "company":
        db.session.execute(sa.update(Contact).where(Contact.company_id == record.id,
                                                    Contact.account_id == record.account_id)
                           .values(company_id=None))
    db.session.delete(record)
    db.session.flush()


def link(account_id: int, a, b) -> bool:
    """Associate two records of the account (both directions). False if already linked."""
    if a.account_id != account_id or b.account_id != account_id or a.ref == b.ref:
        raise ValueError("cannot link these records")
    exists = db.session.scalar(sa.select(RecordLink.id).where(
        RecordLink.account_id == account_id, RecordLink.from_type == a.record_type,
        RecordLink.from_id == a.id, RecordLink.to_type == b.record_type, RecordLink.to_id == b.id))
    if exists:
        return False
    db.session.add_all([
        RecordLink(account_id=account_id, from_type=a.record_type, from_id=a.id,
                   to_type=b.record_type, to_id=b.id),
        RecordLink(account_id=account_id, from_type=b.record_type, from_id=b.id,
                   to_type=a.record_type, to_id=a.id),
    ])
    db.session.flush()
    return True


def unlink(account_id: int, a, b) -> None:
    """Remove the association between two records, in both directions."""
    db.session.execute(sa.delete(RecordLink).where(
        RecordLink.account_id == account_id,
        sa.or_(sa.and_(RecordLink.from_type == a.record_type, RecordLink.from_id == a.id,
                       RecordLink.to_type == b.record_type, RecordLink.to_id == b.id),
               sa.and_(RecordLink.from_type == b.record_type, RecordLink.from_id == b.id,
                       RecordLink.to_type == a.record_type, RecordLink.to_id == a.id))))
    if a.record_type == "contact" and b.record_type == "company" and a.company_id == b.id:
        a.company_id = None
    if b.record_type == "contact" and a.record_type == "company" and b.company_id == a.id:
        b.company_id = None
    db.session.flush()


def associations(account_id: int, record) -> dict[str, list]:
    """Records linked to record, grouped by type: one query for links, one per linked type."""
    rows = db.session.execute(_links_statement(), {
        "account_id": account_id, "from_type": record.record_type,
        "from_id": record.id}).all()
    ids: dict[str, list[int]] = defaultdict(list)
    for to_type, to_id in rows:
        ids[to_type].append(to_id)
    result: dict[str, list] = {t: [] for t in RECORD_MODELS}
    for record_type, id_list in ids.items():
        model = RECORD_MODELS[record_type]
        result[record_type] = list(db.session.scalars(
            sa.select(model).where(model.account_id == account_id, model.id.in_(id_list))
            .order_by(*ORDER[record_type])))
    return result


class Linked(NamedTuple):
    """A linked record as the record page's associations panel shows it."""
    record_type: str
    id: int
    display_name: str


@cache
def _linked_names_statement():
    """linked_names()' SELECT, built once a process: for each type, the record's links to
    it joined with the linked records (by primary key, in the account: a link to a record
    that is gone matches none and is dropped, as in associations()), with the names and
    sort keys (ORDER; a contact's display name is "first last")."""
    account_id = sa.bindparam("account_id")
    keys = {"contact": (Contact.last_name, Contact.first_name), "company": (Company.name,),
            "deal": (Deal.name,), "ticket": (Ticket.subject,)}
    selects = []
    for t, model in RECORD_MODELS.items():
        first, *second = keys[t]
        selects.append(
            sa.select(sa.literal(t).label("to_type"), model.id.label("to_id"),
                      first.label("name"),
                      (second[0] if second else sa.null().cast(sa.String)).label("first_name"))
            .join(RecordLink, sa.and_(RecordLink.to_id == model.id, RecordLink.to_type == t))
            .where(RecordLink.account_id == account_id,
                   RecordLink.from_type == sa.bindparam("from_type"),
                   RecordLink.from_id == sa.bindparam("from_id"),
                   model.account_id == account_id))
    union = sa.union_all(*selects).subquery()
    return sa.select(union).order_by(union.c.to_type, union.c.name, union.c.first_name,
                                     union.c.to_id)


def linked_names(account_id: int, record) -> dict[str, list[Linked]]:
    """What associations() returns for the record page, as (type, id, name) rows in one
    statement instead of one for the links and one per linked type (#24)."""
    result: dict[str, list[Linked]] = {t: [] for t in RECORD_MODELS}
    for to_type, to_id, name, first_name in read_columns(_linked_names_statement(), {
            "account_id": account_id, "from_type": record.record_type,
            "from_id": record.id}):
        if to_type == "contact":
            name = f"{first_name} {name}".strip()
        result[to_type].append(Linked(to_type, to_id, name))
    return result


def companies_for_select(account_id: int) -> list[Company]:
    return list(db.session.scalars(sa.select(Company).where(Company.account_id == account_id)
                                   .order_by(Company.name)))


def normalize_phone_safe(value: str) -> str | None:
    """E.164 for a valid number, else None (used for generated data)."""
    from webapp.validation import normalize_phone
    try:
        return normalize_phone(value)
    except ValueError:
        return None
