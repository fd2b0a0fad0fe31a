from __future__ import annotations

import math

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from webapp import SUPPORTED_LOCALES
from webapp.auth import bp, sessions
from webapp.auth import operations as ops
from webapp.auth.forms import LoginForm, PasswordForm, ProfileForm
from webapp.auth.models import User
from webapp.extensions import db, login_manager
from webapp.urls import safe_local_url


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # With the account: nearly every page reads it (the zone falls back to the account's).
    user = sessions.load(user_id)
    if db.session.info.pop(sessions.SEEN_WRITTEN, False):
        db.session.commit()  # the session's last activity, before the route's own work
    return user


def _safe_next(target: str | None) -> str:
    return safe_local_url(target, url_for("core.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    status = 200
    if form.is_submitted():
        if form.validate():
            email_key = f"email:{form.email.data.strip().lower()}"
            address_key = f"ip:{request.remote_addr}"
            wait = ops.reserve_check([address_key, email_key])
            db.session.commit()  # the reservation is seen by parallel attempts
            if wait:
                return _too_many(wait)
            user = ops.authenticate(form.email.data, form.password.data)
            if user:
                ops.check_succeeded(email_key, address_key)
                sessions.start(user)
                db.session.commit()
                login_user(user)
                return redirect(_safe_next(request.args.get("next")))
            form.password.errors.append(_("Wrong email or password."))
        status = 422
    return render_template("auth/login.html", form=form), status


def _too_many(wait: float):
    """429 with Retry-After: the account or address waits before its next check."""
    seconds = math.ceil(wait)
    body = render_template("core/error.html", title=_("Too many attempts"), status=429,
                           message=_("Too many attempts. Wait %(seconds)d seconds and try "
                                     "again.", seconds=seconds))
    return body, 429, {"Retry-After": str(seconds)}


@bp.post("/logout")
@login_required
def logout():
    sessions.end_this()
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    sessions.end_all(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/settings/password")
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            current_user.set_password(form.new.data)
            ended = sessions.end_others(current_user)
            db.session.commit()
            flash(_("Your password is changed."), "success")
            if ended:
                flash(_("You were logged out on your other devices."), "info")
            return redirect(url_for("auth.profile"))
    return profile_page(password_form=form), 422


@bp.post("/language/<code>")
def choose_language(code: str):
    if code not in SUPPORTED_LOCALES:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/settings/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.timezone.data = form.timezone.data or ""  # canonical (ProfileForm)
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        current_user.name = form.name.data.strip()
        current_user.timezone = form.timezone.data or None
        current_user.locale = form.locale.data or None
        db.session.commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("auth.profile"))
    return profile_page(form), 422 if form.errors else 200


def profile_page(form: ProfileForm | None = None, password_form: PasswordForm | None = None,
                 new_feed_url: str | None = None) -> str:
    """The settings page; new_feed_url is shown when a feed address was just made."""
    return render_template("auth/profile.html", form=form or ProfileForm(obj=current_user),
                           password_form=password_form or PasswordForm(),
                           new_feed_url=new_feed_url)
