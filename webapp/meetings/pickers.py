"""The scheduler's attendee and record pickers: chips for chosen values, type-ahead."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm.util import identity_key

from webapp.auth.models import User
from webapp.extensions import db
from webapp.records import operations as record_ops
from webapp.records.models import RECORD_MODELS, Contact
from webapp.validation import is_valid_email


def _rows(model, account_id: int, ids) -> dict:
    """{id: row} of the account's rows of model with these ids. Rows the session holds
    already (the record the scheduler was opened from, read a moment before) cost no query
    (#24: the scheduler read its record three times); the others are read in one."""
    found, missing = {}, []
    for ident in ids:
        row = db.session.identity_map.get(identity_key(model, ident))
        # Only a row whose columns are loaded and not expired since: reading an expired
        # one is a query each (an expired relationship, never read here, does not count).
        if row is not None and sa.inspect(row).unloaded.isdisjoint(
                sa.inspect(model).column_attrs.keys()) and row.account_id == account_id:
            found[ident] = row
        else:
            missing.append(ident)
    if missing:
        found.update((row.id, row) for row in db.session.scalars(sa.select(model).where(
            model.account_id == account_id, model.id.in_(missing))))
    return found


def people_labels(account_id: int, pairs: list[tuple[str, int]]) -> list[dict]:
    """Chips for selected attendees: value, label, and whether they can be invited."""
    contact_ids = [i for k, i in pairs if k == "contact"]
    user_ids = [i for k, i in pairs if k == "user"]
    contacts = _rows(Contact, account_id, contact_ids)
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(
        User.account_id == account_id, User.id.in_(user_ids)))} if user_ids else {}
    chips = []
    for kind, ident in pairs:
        if kind == "contact" and ident in contacts:
            c = contacts[ident]
            chips.append({"value": f"contact:{c.id}", "label": c.display_name,
                          "detail": c.email or "", "invitable": is_valid_email(c.email),
                          "zone": c.timezone})
        elif kind == "user" and ident in users:
            u = users[ident]
            chips.append({"value": f"user:{u.id}", "label": u.name, "detail": u.email,
                          "invitable": True, "zone": u.zone})
    return chips


def record_labels(account_id: int, pairs: list[tuple[str, int]],
                  known: dict[tuple[str, int], str] | None = None) -> list[dict]:
    """Chips for selected associations: one query per record type, not per record.
    known: names already read in this request ((type, id) -> name, as
    default_associations() gives them), which cost no query."""
    found = dict(known or {})
    for record_type, ids in record_ops.ids_by_type(
            [ref for ref in pairs if ref not in found]).items():
        for record in _rows(RECORD_MODELS[record_type], account_id, ids).values():
            found[(record_type, record.id)] = record.display_name
    return [{"value": f"{t}:{i}", "label": found[(t, i)], "type": t}
            for t, i in pairs if (t, i) in found]


def default_associations(account_id: int, record) -> tuple[list[tuple[str, int]],
                                                           dict[tuple[str, int], str]]:
    """S11 defaults: the record itself and (up to three of) the companies it is associated
    with, and the companies' names for their chips: one statement (#24: the links, then
    each linked type, then the companies again for the chips)."""
    companies = record_ops.linked_names(account_id, record)["company"][:3]
    pairs = [record.ref, *((c.record_type, c.id) for c in companies)]
    return pairs, {(c.record_type, c.id): c.display_name for c in companies}


def search_people(account_id: int, q: str, limit: int = 10) -> list[dict]:
    """Contacts and users of the account matching q, for the attendee type-ahead."""
    contacts, _total = record_ops.search_records(account_id, "contact", q, 1, limit)
    needle = q.strip().lower()
    users = db.session.scalars(sa.select(User).where(
        User.account_id == account_id,
        sa.or_(sa.func.lower(User.name).contains(needle, autoescape=True),
               sa.func.lower(User.email).contains(needle, autoescape=True)))
        .order_by(User.name).limit(limit))
    chips = people_labels(account_id, [c.ref for c in contacts])
    chips += [{"value": f"user:{u.id}", "label": u.name, "detail": u.email, "invitable": True,
               "zone": u.zone, "is_user": True} for u in users]
    return chips
