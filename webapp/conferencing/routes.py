"""Video settings: each user connects Zoom; admins register extension apps."""

from __future__ import annotations

from authlib.integrations.base_client.errors import OAuthError
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp import jobs
from webapp.conferencing import bp, zoom
from webapp.conferencing import operations as ops
from webapp.conferencing.models import VideoApp
from webapp.extensions import db
from webapp.meetings import queries, views

APP_FIELDS = ("name", "create_url", "update_url", "delete_url", "user_verify_url")


@bp.get("/settings/video")
@login_required
def settings():
    return render_template("conferencing/settings.html", conn=zoom.connection_for(current_user.id),
                           zoom_configured=zoom.configured(),
                           options=ops.options_for(current_user),
                           jitsi_base=current_app.config["JITSI_BASE_URL"])


@bp.get("/settings/video/zoom/connect")
@login_required
def zoom_connect():
    if not zoom.configured():
        abort(404)
    redirect_uri = current_app.config["BASE_URL"] + url_for("conferencing.zoom_callback")
    return zoom.client().authorize_redirect(redirect_uri)


@bp.get("/settings/video/zoom/callback")
@login_required
def zoom_callback():
    if not zoom.configured():
        abort(404)
    if request.args.get("error"):
        return _failure(_("You declined access, so Zoom was not connected.")
                        if request.args["error"] == "access_denied" else
                        _("Zoom refused the connection (%(error)s).",
                          error=request.args["error"][:80]))
    try:
        token = zoom.client().authorize_access_token()
        email = zoom.fetch_email(token["access_token"])
    except OAuthError:
        return _failure(_("This sign-in link is invalid, expired or was already used. Start "
                          "the connection again."))
    except Exception:  # Zoom unreachable or answering nonsense
        return _failure(_("Zoom could not be reached. Nothing was saved; try again in a "
                          "moment."), 502)
    zoom.connect(current_user, token, email)
    db.session.commit()
    if email and email.lower() != current_user.email.lower():
        flash(_("Zoom is connected, but its account (%(zoom)s) is not your Parley email "
                "(%(email)s): Zoom meetings need the same address.", zoom=email,
                email=current_user.email), "error")
    else:
        flash(_("Zoom is connected. Choose it under Location, Video conference."), "success")
    return redirect(url_for("conferencing.settings"))


def _failure(message: str, status: int = 400):
    return render_template("conferencing/settings.html",
                           conn=zoom.connection_for(current_user.id),
                           zoom_configured=zoom.configured(),
                           options=ops.options_for(current_user),
                           jitsi_base=current_app.config["JITSI_BASE_URL"],
                           oauth_error=message), status


@bp.post("/settings/video/zoom/disconnect")
@login_required
def zoom_disconnect():
    if zoom.disconnect(current_user):
        db.session.commit()
        flash(_("Zoom was disconnected."), "success")
    return redirect(url_for("conferencing.settings"))


# --- Extension apps (account admins) -------------------------------------------------------

def _admin() -> None:
    if not current_user.is_admin:
        abort(403)


def _app_or_404(app_id: int) -> VideoApp:
    app = db.session.scalar(db.select(VideoApp).where(
        VideoApp.id == app_id, VideoApp.account_id == current_user.account_id))
    if app is None:
        abort(404)
    return app


def _render_apps(form=None, errors=None, editing=None, secret=None, status=200):
    apps = db.session.scalars(db.select(VideoApp).where(
        VideoApp.account_id == current_user.account_id).order_by(VideoApp.name))
    return render_template("conferencing/apps.html", apps=list(apps), form=form or {},
                           errors=errors or {}, editing=editing, secret=secret), status


@bp.get("/settings/video-apps")
@login_required
def apps():
    _admin()
    return _render_apps()


@bp.post("/settings/video-apps")
@login_required
def create_app():
    _admin()
    form = {f: request.form.get(f, "").strip() for f in APP_FIELDS}
    errors = ops.validate_app(form)
    if errors:
        return _render_apps(form, errors, status=422)
    app, secret = ops.save_app(current_user.account_id, form)
    db.session.commit()
    # The secret is shown once, on this response, and never again.
    return _render_apps(secret=(app, secret), status=201)


@bp.route("/settings/video-apps/<int:app_id>", methods=["GET", "POST"])
@login_required
def edit_app(app_id: int):
    app = _app_or_404(app_id)  # another account's id: 404, before the role check
    _admin()
    if request.method == "GET":
        return _render_apps({f: getattr(app, f) for f in APP_FIELDS}, editing=app)
    form = {f: request.form.get(f, "").strip() for f in APP_FIELDS}
    errors = ops.validate_app(form)
    if errors:
        return _render_apps(form, errors, editing=app, status=422)
    ops.save_app(current_user.account_id, form, app)
    db.session.commit()
    flash(_("%(name)s was saved.", name=app.name), "success")
    return redirect(url_for("conferencing.apps"))


@bp.post("/settings/video-apps/<int:app_id>/active")
@login_required
def toggle_app(app_id: int):
    app = _app_or_404(app_id)  # another account's id: 404, before the role check
    _admin()
    app.active = request.form.get("active") == "1"
    db.session.commit()
    flash(_("%(name)s is offered again.", name=app.name) if app.active else
          _("%(name)s is retired: it is no longer offered; existing meetings keep their link.",
            name=app.name), "success")
    return redirect(url_for("conferencing.apps"))


@bp.post("/meetings/<int:meeting_id>/video/retry")
@login_required
def retry(meeting_id: int):
    meeting = views.meeting_or_404(meeting_id)
    if ops.retry(meeting):
        db.session.commit()
        jobs.request_relay()
        flash(_("Parley will try to create the video link again."), "success")
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


@bp.get("/conferencing/options")
@login_required
def options():
    """The video provider select for another host (the scheduler's host changed)."""
    from webapp.auth.models import Account
    account = db.session.get(Account, current_user.account_id)
    host_id = request.args.get("host_id", type=int)
    host = next((h for h in queries.hosts_for(account, current_user) if h.id == host_id),
                None)
    if host is None:
        abort(404)
    return render_template("conferencing/_video_options.html",
                           video_options=ops.options_for(host),
                           selected=request.args.get("selected", ""), error=None,
                           show=request.args.get("kind") == "video")
