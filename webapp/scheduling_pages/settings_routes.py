"""Settings, Scheduling pages (排程頁面): a user lists, creates, edits, pauses and deletes
their pages; an account admin sees every page of the account and makes team pages (round
robin through a meeting rotation, group with several hosts). Settings, Embedding (admins):
the origins allowed to frame the account's public pages.

Thin: webapp.scheduling_pages.pageform reads the form, webapp.booking.operations changes
the pages. A refused form re-renders with the message at its field (422) and keeps nothing.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.auth.models import Account, User
from webapp.booking import operations as booking_ops
from webapp.extensions import db
from webapp.meetings.models import REMINDER_UNITS
from webapp.rotations import operations as rotation_ops
from webapp.scheduling_pages import bp, pageform
from webapp.scheduling_pages import embedding as embed
from webapp.settings import operations as settings_ops
from webapp.settings.sections import add_section, admin_required

add_section("scheduling_pages.index", _l("Scheduling pages"),
            _l("Pages where contacts book a time with you or your team."), 60)
add_section("scheduling_pages.embedding", _l("Embedding"),
            _l("The websites that may show your scheduling pages in a frame."), 70)


def _account() -> Account:
    return db.session.get(Account, g.account_id)


def _own_page_or_404(page_id: int):
    """The account's page; a member only their own."""
    page = booking_ops.get_page(g.account_id, page_id)
    if page is None or (not current_user.is_admin and page.owner_id != current_user.id):
        abort(404)
    return page


def public_url(page) -> str:
    from flask import current_app
    return f"{current_app.config['BASE_URL']}/book/{page.slug}"


def embed_snippet(page) -> str:
    """The documented <iframe> (docs/SCHEDULING_PAGES.md)."""
    return (f'<iframe src="{public_url(page)}" title="{page.title}" '
            'style="width:100%;min-height:720px;border:0" loading="lazy"></iframe>')


@bp.get("/settings/scheduling-pages")
@login_required
def index():
    owner = None if current_user.is_admin else current_user.id
    pages = booking_ops.pages(g.account_id, owner)
    owners = {u.id: u for u in db.session.scalars(db.select(User).where(
        User.account_id == g.account_id, User.id.in_({p.owner_id for p in pages})))} \
        if pages else {}
    return render_template("scheduling_pages/index.html", pages=pages, owners=owners,
                           public_url=public_url)


def _form_page(page, values: dict, errors: dict, status: int = 200):
    account = _account()
    admin = current_user.is_admin
    return render_template(
        "scheduling_pages/edit.html", page=page, values=values, errors=errors,
        account=account, units=REMINDER_UNITS,
        meeting_types=[t for t in settings_ops.meeting_types(account.id)
                       if t.active or t.id == values.get("meeting_type_id")]
        if account.custom_meeting_types_enabled else [],
        rotations=rotation_ops.rotations(account.id) if admin else [],
        users=list(db.session.scalars(db.select(User).where(
            User.account_id == account.id).order_by(User.name))) if admin else [],
        custom_rows=pageform.CUSTOM_ROWS, public_url=public_url(page) if page else None,
        snippet=embed_snippet(page) if page else None,
        origins=embed.origins_of(account.id) if page else []), status


@bp.route("/settings/scheduling-pages/new", methods=["GET", "POST"])
@login_required
def new():
    if request.method == "GET":
        return _form_page(None, pageform.form_values(None), {})
    values, errors = pageform.parse(request.form)
    page = None
    if not errors:
        page, errors = booking_ops.create_page(_account(), current_user, values)
    if errors:
        db.session.rollback()
        return _form_page(None, pageform.posted_values(request.form), errors, 422)
    db.session.commit()
    flash(_("Scheduling page “%(title)s” created. Share its link or embed it.",
            title=page.title), "success")
    return redirect(url_for("scheduling_pages.edit", page_id=page.id))


@bp.route("/settings/scheduling-pages/<int:page_id>", methods=["GET", "POST"])
@login_required
def edit(page_id: int):
    page = _own_page_or_404(page_id)
    if request.method == "GET":
        return _form_page(page, pageform.form_values(page), {})
    values, errors = pageform.parse(request.form, page.custom_questions)
    if page.kind in pageform.TEAM_KINDS and not current_user.is_admin:
        errors.setdefault("kind", []).append(str(_l(
            "Only account admins can change team pages.")))
    if not errors:
        errors = booking_ops.update_page(_account(), current_user, page, values)
    if errors:
        db.session.rollback()
        page = _own_page_or_404(page_id)
        return _form_page(page, pageform.posted_values(request.form), errors, 422)
    db.session.commit()
    flash(_("Scheduling page “%(title)s” saved.", title=page.title), "success")
    return redirect(url_for("scheduling_pages.edit", page_id=page.id))


@bp.post("/settings/scheduling-pages/<int:page_id>/pause")
@login_required
def pause(page_id: int):
    page = _own_page_or_404(page_id)
    paused = request.form.get("paused") == "1"
    if booking_ops.update_page(_account(), current_user, page, {"paused": paused}):
        db.session.rollback()
        flash(_("Open the page's settings: a field needs correcting before it can change."),
              "error")
        return redirect(url_for("scheduling_pages.edit", page_id=page_id))
    db.session.commit()
    flash(_("“%(title)s” is paused: its link shows “not found” until you turn it back on.",
            title=page.title) if paused else
          _("“%(title)s” takes bookings again.", title=page.title), "success")
    return redirect(request.form.get("next") == "edit" and
                    url_for("scheduling_pages.edit", page_id=page.id) or
                    url_for("scheduling_pages.index"))


@bp.post("/settings/scheduling-pages/<int:page_id>/delete")
@login_required
def delete(page_id: int):
    page = _own_page_or_404(page_id)
    title = page.title
    booking_ops.delete_page(page)
    db.session.commit()
    flash(_("Scheduling page “%(title)s” deleted. Meetings booked through it stay.",
            title=title), "success")
    return redirect(url_for("scheduling_pages.index"))


# --- embedding (admins) -------------------------------------------------------------------

@bp.route("/settings/embedding", methods=["GET", "POST"])
@admin_required
def embedding():
    text = None
    error = None
    if request.method == "POST":
        text = request.form.get("origins", "")
        try:
            embed.save_origins(g.account_id, text)
        except embed.OriginError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            db.session.commit()
            flash(_("Embedding origins saved."), "success")
            return redirect(url_for("scheduling_pages.embedding"))
    if text is None:
        text = "\n".join(embed.origins_of(g.account_id))
    from webapp.settings.sections import sections
    return render_template("scheduling_pages/embedding.html", text=text,
                           errors={"origins": error} if error else {},
                           sections=sections(), error=error), 422 if error else 200

