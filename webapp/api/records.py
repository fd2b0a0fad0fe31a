"""API v1: contacts, companies, deals and tickets, validated by the UI's own forms."""

from __future__ import annotations

from flask import Response, g, request
from werkzeug.datastructures import MultiDict

from webapp.api import spec as S
from webapp.api.auth import _json_body, _page_args, api_view
from webapp.api.problems import ApiError
from webapp.api.serializers import record_json
from webapp.extensions import db
from webapp.records import operations as record_ops
from webapp.records.forms import FORMS
from webapp.records.models import RECORD_MODELS


def _record(record_type: str, record_id: int):
    record = record_ops.get_record(g.account_id, record_type, record_id)
    if record is None:
        raise ApiError(404, f"No {record_type} {record_id} in your account.")
    return record


def _form_errors(form) -> list[dict]:
    return [{"field": name, "message": str(msg)} for name, msgs in form.errors.items()
            for msg in msgs]


def _validated_record_data(record_type: str, data: dict, current: dict | None = None) -> dict:
    """Validate with the UI's own form, so both paths apply the same rules."""
    merged = {**(current or {}), **data}
    formdata = MultiDict({k: ("" if v is None else str(v)) for k, v in merged.items()})
    companies = record_ops.companies_for_select(g.account_id) if record_type == "contact" else ()
    form = FORMS[record_type](formdata=formdata, meta={"csrf": False}, companies=companies)
    if not form.validate():
        raise ApiError(422, "Some fields are invalid.", _form_errors(form))
    return {k: v for k, v in form.data.items() if k in S.RECORD_FIELDS[record_type]}


def _register_record_routes(record_type: str) -> None:
    model = RECORD_MODELS[record_type]
    plural = model.plural
    tag = plural.capitalize()
    item_path = f"/{plural}/{{{record_type}_id}}"
    id_param = S.Param(f"{record_type}_id", "path", S.ID)
    out_name = record_type.capitalize()
    out = S.record_output(record_type)
    S.SCHEMAS[out_name] = out
    ref = {"$ref": f"#/components/schemas/{out_name}"}

    @api_view(S.Operation("GET", f"/{plural}", f"list_{plural}", f"List {plural}", tag,
                          [S.Param("q", "query", {"type": "string", "maxLength": 200}),
                           S.Param("page", "query", {"type": "integer", "minimum": 1,
                                                     "maximum": 100000}),
                           S.Param("per_page", "query", {"type": "integer", "minimum": 1,
                                                         "maximum": 100})],
                          response=S.page_of(ref)))
    def list_view():
        page, per_page = _page_args()
        items, total = record_ops.search_records(g.account_id, record_type,
                                                 request.args.get("q", "")[:200], page, per_page)
        return {"items": [record_json(i) for i in items], "page": page, "per_page": per_page,
                "total": total}

    @api_view(S.Operation("POST", f"/{plural}", f"create_{record_type}",
                          f"Create a {record_type}", tag, body=S.record_input(record_type, False),
                          body_name=f"{out_name}Create", status=201, response=ref))
    def create_view():
        data = _validated_record_data(record_type, _json_body(S.record_input(record_type, False)))
        record = record_ops.create_record(g.account_id, record_type, data)
        db.session.commit()
        return record_json(record), 201

    @api_view(S.Operation("GET", item_path, f"get_{record_type}", f"Get a {record_type}",
                          tag, [id_param], response=ref))
    def get_view(**kw):
        return record_json(_record(record_type, kw[f"{record_type}_id"]))

    @api_view(S.Operation("PATCH", item_path, f"update_{record_type}",
                          f"Update a {record_type}", tag, [id_param],
                          body=S.record_input(record_type, True), body_name=f"{out_name}Update",
                          response=ref))
    def update_view(**kw):
        record = _record(record_type, kw[f"{record_type}_id"])
        data = _json_body(S.record_input(record_type, True))
        current = {k: v for k, v in record_json(record).items() if k in S.RECORD_FIELDS[record_type]}
        record_ops.update_record(record, _validated_record_data(record_type, data, current))
        db.session.commit()
        return record_json(record)

    @api_view(S.Operation("DELETE", item_path, f"delete_{record_type}",
                          f"Delete a {record_type}", tag, [id_param], status=204))
    def delete_view(**kw):
        record_ops.delete_record(_record(record_type, kw[f"{record_type}_id"]))
        db.session.commit()
        return Response(status=204)

    assoc = {"type": "object", "properties": {t: {"type": "array", "items": {
        "type": "object", "properties": {"id": S.ID, "name": {"type": "string"}}}}
        for t in RECORD_MODELS}}

    @api_view(S.Operation("GET", f"{item_path}/associations", f"associations_{record_type}",
                          f"Records associated with a {record_type}", tag, [id_param],
                          response=assoc))
    def associations_view(**kw):
        record = _record(record_type, kw[f"{record_type}_id"])
        linked = record_ops.associations(g.account_id, record)
        return {t: [{"id": r.id, "name": r.display_name} for r in items]
                for t, items in linked.items()}

    link_params = [id_param, S.Param("other_type", "path", {
        "type": "string", "enum": list(RECORD_MODELS)}), S.Param("other_id", "path", S.ID)]

    def _pair(kw):
        other_type = kw["other_type"]
        if other_type not in RECORD_MODELS:
            raise ApiError(404, "Unknown record type.")
        record = _record(record_type, kw[f"{record_type}_id"])
        other = _record(other_type, kw["other_id"])
        if record.ref == other.ref:
            raise ApiError(422, "A record cannot be associated with itself.",
                           [{"field": "other_id", "message": "Choose another record."}])
        return record, other

    @api_view(S.Operation("PUT", f"{item_path}/associations/{{other_type}}/{{other_id}}",
                          f"link_{record_type}", f"Associate a {record_type} with a record",
                          tag, link_params, status=204))
    def link_view(**kw):
        record, other = _pair(kw)
        record_ops.link(g.account_id, record, other)
        db.session.commit()
        return Response(status=204)

    @api_view(S.Operation("DELETE", f"{item_path}/associations/{{other_type}}/{{other_id}}",
                          f"unlink_{record_type}", "Remove an association", tag,
                          link_params, status=204))
    def unlink_view(**kw):
        record, other = _pair(kw)
        record_ops.unlink(g.account_id, record, other)
        db.session.commit()
        return Response(status=204)


for _type in RECORD_MODELS:
    _register_record_routes(_type)


# --- meetings ---------------------------------------------------------------------------
