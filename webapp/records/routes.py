"""Record list, create, edit, record page and associations. Thin: operations hold the rules."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from webapp.extensions import db
from webapp.records import bp
from webapp.records import operations as ops
from webapp.records.forms import (
    FORMS,
    LANGUAGE_LABELS,
    PRIORITY_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
)
from webapp.records.models import PLURALS, RECORD_MODELS
from webapp.views import page_or_partial

TYPE_LABELS = {"contact": _l("Contacts"), "company": _l("Companies"), "deal": _l("Deals"),
               "ticket": _l("Tickets")}
TYPE_SINGULAR = {"contact": _l("Contact"), "company": _l("Company"), "deal": _l("Deal"),
                 "ticket": _l("Ticket")}
PLURAL_RULE = "<any(contacts,companies,deals,tickets):plural>"


@bp.before_request
@login_required
def _require_login():
    pass


#: What every template can read of the record types: one dict a process, not one a render.
_LABELS = {"TYPE_LABELS": TYPE_LABELS, "TYPE_SINGULAR": TYPE_SINGULAR,
           "PLURAL_OF": {m.record_type: m.plural for m in RECORD_MODELS.values()}}


@bp.app_context_processor
def _labels():
    return _LABELS


def _record_or_404(plural: str, record_id: int):
    record = ops.get_record(g.account_id, PLURALS[plural], record_id)
    if record is None:
        abort(404)
    return record


def properties(record) -> list[tuple[str, str]]:
    """(label, value) pairs shown in the record's left panel."""
    t = record.record_type
    if t == "contact":
        return [(_("Email"), record.email or "—"), (_("Phone number"), record.phone or "—"),
                (_("Time zone"), record.timezone or "—"),
                (_("Language"), LANGUAGE_LABELS.get(record.language or "en", "—")),
                (_("Company"), record.company.name if record.company else "—")]
    if t == "company":
        return [(_("Domain"), record.domain or "—"), (_("Phone number"), record.phone or "—"),
                (_("City"), record.city or "—")]
    if t == "deal":
        return [(_("Amount"), f"{record.amount:,.2f}" if record.amount is not None else "—"),
                (_("Deal stage"), str(STAGE_LABELS.get(record.stage, record.stage))),
                (_("Close date"), record.close_date.isoformat() if record.close_date else "—")]
    return [(_("Ticket status"), str(STATUS_LABELS.get(record.status, record.status))),
            (_("Priority"), str(PRIORITY_LABELS.get(record.priority, record.priority))),
            (_("Ticket description"), record.description or "—")]


@bp.get(f"/{PLURAL_RULE}")
def index(plural: str):
    record_type = PLURALS[plural]
    q = request.args.get("q", "")[:200]
    page = request.args.get("page", 1, type=int) or 1
    per_page = 25
    items, total = ops.search_records(g.account_id, record_type, q, page, per_page)
    pages = max(1, -(-total // per_page))
    return page_or_partial("records/index.html", "records/_list.html", "record-list",
                           plural=plural, record_type=record_type, items=items, total=total,
                           q=q, page=page, pages=pages)


def _form_for(record_type: str, **kwargs):
    companies = ops.companies_for_select(g.account_id) if record_type == "contact" else ()
    return FORMS[record_type](companies=companies, **kwargs)


def _form_data(form) -> dict:
    return {k: v for k, v in form.data.items() if k not in ("csrf_token", "submit")}


@bp.route(f"/{PLURAL_RULE}/new", methods=["GET", "POST"])
def new(plural: str):
    record_type = PLURALS[plural]
    form = _form_for(record_type)
    if form.validate_on_submit():
        record = ops.create_record(g.account_id, record_type, _form_data(form))
        db.session.commit()
        flash(_("%(name)s was created.", name=record.display_name), "success")
        return redirect(url_for("records.show", plural=plural, record_id=record.id))
    return render_template("records/form.html", form=form, plural=plural,
                           record_type=record_type, record=None), 422 if form.errors else 200


@bp.route(f"/{PLURAL_RULE}/<int:record_id>/edit", methods=["GET", "POST"])
def edit(plural: str, record_id: int):
    record = _record_or_404(plural, record_id)
    form = _form_for(record.record_type, obj=record)
    if form.validate_on_submit():
        ops.update_record(record, _form_data(form))
        db.session.commit()
        flash(_("Changes saved."), "success")
        return redirect(url_for("records.show", plural=plural, record_id=record.id))
    return render_template("records/form.html", form=form, plural=plural,
                           record_type=record.record_type, record=record), \
        422 if form.errors else 200


@bp.post(f"/{PLURAL_RULE}/<int:record_id>/delete")
def delete(plural: str, record_id: int):
    record = _record_or_404(plural, record_id)
    name = record.display_name
    ops.delete_record(record)
    db.session.commit()
    flash(_("%(name)s was deleted.", name=name), "success")
    return redirect(url_for("records.index", plural=plural))


def timeline_for(account_id: int, record, before: str | None):
    from webapp.timeline import timeline_for  # webapp.meetings imports this module
    return timeline_for(account_id, record, before)


def _timeline_urls(plural: str, record) -> dict:
    """Where the timeline's "Older activities" leads: the page (without JavaScript) and its
    fragment (htmx appends the next items)."""
    return {"record_url": url_for("records.show", plural=plural, record_id=record.id),
            "more_url": url_for("records.timeline", plural=plural, record_id=record.id)}


@bp.get(f"/{PLURAL_RULE}/<int:record_id>")
def show(plural: str, record_id: int):
    record = _record_or_404(plural, record_id)
    urls = _timeline_urls(plural, record)
    timeline = timeline_for(g.account_id, record, before=request.args.get("before"))
    from webapp.timeline import items_html
    return render_template("records/show.html", record=record, plural=plural,
                           properties=properties(record),
                           associations=ops.linked_names(g.account_id, record),
                           timeline=timeline, timeline_items=items_html(timeline, **urls),
                           **urls)


@bp.get(f"/{PLURAL_RULE}/<int:record_id>/timeline")
def timeline(plural: str, record_id: int):
    """The timeline's items after the cursor `before`, for "Older activities"."""
    record = _record_or_404(plural, record_id)
    urls = _timeline_urls(plural, record)
    from webapp.timeline import render_items
    return render_items(timeline_for(g.account_id, record, before=request.args.get("before")),
                        urls["record_url"], **urls)


def _associations_partial(record, plural: str, status: int = 200, error: str | None = None):
    return render_template("records/_associations.html", record=record, plural=plural,
                           associations=ops.linked_names(g.account_id, record),
                           assoc_error=error), status


@bp.get(f"/{PLURAL_RULE}/<int:record_id>/associations/search")
def association_search(plural: str, record_id: int):
    record = _record_or_404(plural, record_id)
    to_type = request.args.get("to_type", "contact")
    if to_type not in RECORD_MODELS:
        abort(404)
    items, _total = ops.search_records(g.account_id, to_type, request.args.get("q", "")[:200],
                                       1, 10)
    items = [i for i in items if i.ref != record.ref]
    return render_template("records/_association_results.html", record=record, plural=plural,
                           to_type=to_type, items=items)


@bp.post(f"/{PLURAL_RULE}/<int:record_id>/associations")
def association_add(plural: str, record_id: int):
    record = _record_or_404(plural, record_id)
    to_type = request.form.get("to_type", "")
    to_id = request.form.get("to_id", type=int)
    other = ops.get_record(g.account_id, to_type, to_id) if to_id else None
    if other is None or other.ref == record.ref:
        if not request.htmx:
            abort(404)
        return _associations_partial(record, plural, 422, _("Choose a record from the list."))
    ops.link(g.account_id, record, other)
    db.session.commit()
    if not request.htmx:
        return redirect(url_for("records.show", plural=plural, record_id=record.id))
    return _associations_partial(record, plural)


@bp.post(f"/{PLURAL_RULE}/<int:record_id>/associations/<to_type>/<int:to_id>/delete")
def association_remove(plural: str, record_id: int, to_type: str, to_id: int):
    record = _record_or_404(plural, record_id)
    other = ops.get_record(g.account_id, to_type, to_id)
    if other is None:
        abort(404)
    ops.unlink(g.account_id, record, other)
    db.session.commit()
    if not request.htmx:
        return redirect(url_for("records.show", plural=plural, record_id=record.id))
    return _associations_partial(record, plural)
