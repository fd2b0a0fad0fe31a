"""Working hours and booking rules in the user's settings; the account's default hours
for new users (admins). Thin: parse, call webapp.availability.settings, commit, render."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.availability import settings
from webapp.extensions import db

bp = Blueprint("availability", __name__)


def _page(values: dict, errors: dict, account_values: dict | None, account_errors: dict,
          status: int = 200):
    return render_template("availability/settings.html", values=values, errors=errors,
                           account_values=account_values, account_errors=account_errors,
                           weekdays=settings.WEEKDAYS), status


def _account_values() -> dict | None:
    if not current_user.is_admin:
        return None
    hours = settings.account_default(g.account_id)
    values = {f"day_{d}": settings.format_ranges(hours.weekly.get(d, ())) for d in range(7)}
    return values


@bp.route("/settings/availability", methods=["GET", "POST"])
@login_required
def edit():
    if request.method == "POST":
        errors = settings.save_profile(current_user, request.form)
        if errors:
            return _page(request.form.to_dict(), errors, _account_values(), {}, 422)
        db.session.commit()
        flash(_("Your working hours and booking rules are saved."), "success")
        return redirect(url_for("availability.edit"))
    return _page(settings.form_values(current_user), {}, _account_values(), {})


@bp.post("/settings/availability/account")
@login_required
def account_default():
    if not current_user.is_admin:
        abort(403)
    errors = settings.save_account_default(g.account_id, request.form)
    if errors:
        return _page(settings.form_values(current_user), {}, request.form.to_dict(), errors,
                     422)
    db.session.commit()
    flash(_("The default working hours for new users are saved."), "success")
    return redirect(url_for("availability.edit"))
