"""Meeting rotations in account settings (admins), and the scheduler's suggested host."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.auth.models import Account
from webapp.extensions import db
from webapp.rotations import bp
from webapp.rotations import operations as ops
from webapp.rotations.models import Rotation, RotationMember
from webapp.rotations.scheduler import host_field
from webapp.settings.sections import add_section

# In Settings, with the account's other meeting settings (admins; issue #20).
add_section("rotations.index", _l("Meeting rotations"),
            _l("Share meetings among a team: the host is picked for each booking."), 60)

def _account() -> Account:
    return db.session.get(Account, g.account_id)


def _require_admin() -> None:
    if not current_user.is_admin:
        abort(403)


def _rotation_or_404(rotation_id: int) -> Rotation:
    # Another account's id is "not found" even for a non-admin, so 404 comes before 403.
    rotation = ops.get_rotation(g.account_id, rotation_id)
    if rotation is None:
        abort(404)
    _require_admin()
    return rotation


def _member_or_404(rotation: Rotation, member_id: int) -> RotationMember:
    member = ops.get_member(rotation, member_id)
    if member is None:
        abort(404)
    return member


def _ids(values: list[str]) -> list[int]:
    out = []
    for value in values:
        try:
            out.append(int(value))
        except ValueError:
            out.append(-1)  # not a user id: reported as a bad member
    return out


@bp.route("/settings/rotations", methods=["GET", "POST"])
@login_required
def index():
    _require_admin()
    account = _account()
    errors: dict = {}
    form = {"name": "", "members": []}
    if request.method == "POST":
        form = {"name": request.form.get("name", ""),
                "members": _ids(request.form.getlist("members"))}
        rotation, errors = ops.create_rotation(account, form["name"], form["members"])
        if rotation is not None:
            db.session.commit()
            flash(_("Meeting rotation “%(name)s” created.", name=rotation.name), "success")
            return redirect(url_for("rotations.show", rotation_id=rotation.id))
    return render_template("rotations/index.html", rotations=ops.rotations(account.id),
                           seated=ops.seated_users(account.id), form=form,
                           errors=errors), 422 if errors else 200


def _render_show(rotation: Rotation, errors: dict | None = None, name: str | None = None,
                 status: int = 200):
    member_ids = {m.user_id for m in rotation.members}
    candidates = [u for u in ops.seated_users(rotation.account_id) if u.id not in member_ids]
    from webapp.availability.labels import reason_label
    return render_template("rotations/show.html", rotation=rotation, errors=errors or {},
                           name=rotation.name if name is None else name,
                           candidates=candidates, picks=ops.picks(rotation.account_id,
                                                                  rotation.id),
                           reason_label=reason_label), status


@bp.route("/settings/rotations/<int:rotation_id>", methods=["GET", "POST"])
@login_required
def show(rotation_id: int):
    rotation = _rotation_or_404(rotation_id)
    if request.method == "POST":
        name = request.form.get("name", "")
        errors = ops.rename_rotation(rotation, name)
        if errors:
            return _render_show(rotation, errors, name, 422)
        db.session.commit()
        flash(_("Rotation renamed."), "success")
        return redirect(url_for("rotations.show", rotation_id=rotation.id))
    return _render_show(rotation)


@bp.post("/settings/rotations/<int:rotation_id>/members")
@login_required
def add_member(rotation_id: int):
    rotation = _rotation_or_404(rotation_id)
    user_id = _ids([request.form.get("user_id", "")])[0] if request.form.get("user_id") else None
    errors = ops.add_member(rotation, user_id)
    if errors:
        return _render_show(rotation, errors, status=422)
    db.session.commit()
    flash(_("Member added."), "success")
    return redirect(url_for("rotations.show", rotation_id=rotation.id))


@bp.post("/settings/rotations/<int:rotation_id>/members/<int:member_id>/availability")
@login_required
def availability(rotation_id: int, member_id: int):
    rotation = _rotation_or_404(rotation_id)
    member = _member_or_404(rotation, member_id)
    choice = request.form.get("available")
    if choice not in ("0", "1"):
        abort(422)
    ops.set_available(member, choice == "1")
    db.session.commit()
    if request.htmx and request.htmx.target == f"member-{member.id}":
        return render_template("rotations/_member_row.html", rotation=rotation, m=member)
    return redirect(url_for("rotations.show", rotation_id=rotation.id))


@bp.post("/settings/rotations/<int:rotation_id>/members/<int:member_id>/weight")
@login_required
def weight(rotation_id: int, member_id: int):
    rotation = _rotation_or_404(rotation_id)
    member = _member_or_404(rotation, member_id)
    value = _ids([request.form.get("weight", "")])
    errors = ops.set_weight(member, value[0] if value else None)
    if errors:
        return _render_show(rotation, errors, status=422)
    db.session.commit()
    flash(_("Weight saved."), "success")
    return redirect(url_for("rotations.show", rotation_id=rotation.id))


@bp.post("/settings/rotations/<int:rotation_id>/members/<int:member_id>/remove")
@login_required
def remove_member(rotation_id: int, member_id: int):
    rotation = _rotation_or_404(rotation_id)
    member = _member_or_404(rotation, member_id)
    name = member.user.name
    ops.remove_member(member)
    db.session.commit()
    flash(_("%(name)s left the rotation.", name=name), "success")
    return redirect(url_for("rotations.show", rotation_id=rotation.id))


@bp.post("/settings/rotations/<int:rotation_id>/delete")
@login_required
def delete(rotation_id: int):
    rotation = _rotation_or_404(rotation_id)
    ops.delete_rotation(rotation)
    db.session.commit()
    flash(_("Meeting rotation “%(name)s” deleted. Meetings booked through it keep their "
            "hosts.", name=rotation.name), "success")
    return redirect(url_for("rotations.index"))


def _slot():
    """The scheduler's chosen start and end (its date and time fields, when sent), so the
    suggestion is a member free then (#21); (None, None) when they are not all valid."""
    if not request.args.get("start_date"):
        return None, None
    from webapp.meetings import forms
    data, errors = forms.parse(request.args, current_user.zone)
    if errors or data.start is None or data.end is None or data.end <= data.start:
        return None, None
    return data.start, data.end


@bp.get("/meetings/rotation-host")
@login_required
def suggest_host():
    """The scheduler's host field for the chosen rotation, its pick selected (htmx)."""
    account = _account()
    values = {"host_id": current_user.id, "rotation_id": "", "suggested_host_id": ""}
    errors: dict = {}
    raw = request.args.get("rotation_id", "").strip()
    if raw:
        rotation_id = request.args.get("rotation_id", type=int)
        rotation = (ops.get_rotation(account.id, rotation_id, include_deleted=True)
                    if rotation_id else None)
        if rotation is None:
            abort(404)
        if not current_user.has_paid_seat:
            abort(403)
        start, end = _slot()
        member = None if rotation.is_deleted else ops.suggest(account, rotation, start, end)
        if rotation.is_deleted:
            errors = {"host_id": [str(ops.DELETED)]}
        elif member is None:
            errors = {"host_id": [str(ops.NO_ONE_AVAILABLE if ops.suggest(account, rotation)
                                      is None else ops.NO_ONE_FREE)]}
        else:
            values.update(rotation_id=rotation.id, host_id=member.user_id,
                          suggested_host_id=member.user_id)
    context = host_field(account, current_user, values, editing=False)
    context["reload_calendar"] = True
    return render_template("meetings/_host_field.html", values=values, errors=errors,
                           **context), 422 if errors else 200
