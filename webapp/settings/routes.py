"""Account settings pages, for account admins only. Thin: operations hold the rules.

A rejected change re-renders its page with the message next to the field (HTTP 422) and
saves nothing; a saved one redirects back with a confirmation (POST, redirect, GET).
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.auth.models import Account
from webapp.extensions import db
from webapp.meetings.models import REMINDER_UNITS, MeetingType
from webapp.meetings.outcomes import INITIAL_OUTCOME, catalog
from webapp.reminders.rules import UNIT_WORDS
from webapp.richtext import to_text
from webapp.settings import bp
from webapp.settings import operations as ops
from webapp.settings.sections import add_section, admin_check, sections
from webapp.validation import timezone_names

add_section("settings.time_zone", _l("Time zone"),
            _l("The zone used for people and contacts without one of their own."), 10)
add_section("settings.meeting_types", _l("Meeting types"),
            _l("Turn the meeting type menu on and choose its types."), 20)
add_section("settings.reminders", _l("Meeting reminders"),
            _l("Reminder emails new meetings start with."), 30)
add_section("settings.snippets", _l("Snippets"),
            _l("Saved text to insert into meeting descriptions and notes."), 40)
add_section("settings.outcomes", _l("Meeting outcomes"),
            _l("The outcomes a meeting can be given, in your order."), 50)


@bp.before_request
def _admins_only():
    return admin_check()


def _account() -> Account:
    return db.session.get(Account, g.account_id)


def _page(template: str, error: ops.SettingError | None = None, target: str = "",
          **context):
    """Render a settings page; with an error, 422 and the message beside `target`'s field."""
    return render_template(f"settings/{template}", sections=sections(), error=error,
                           error_target=target, form=request.form, **context), \
        422 if error else 200


def _saved(message: str, endpoint: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(endpoint))


def _change(change, done, endpoint: str, page, *page_args):
    """One change of a settings list (meeting types, outcomes, snippets): change(), then
    commit and flash done(its result); a refused change (SettingError) keeps nothing and
    shows page(error, *page_args), the error at its field."""
    try:
        result = change()
    except ops.SettingError as exc:
        db.session.rollback()
        return page(exc, *page_args)
    return _saved(done(result), endpoint)


@bp.get("/settings")
def index():
    return render_template("settings/index.html", sections=sections(), account=_account())


# --- time zone ---------------------------------------------------------------------------

@bp.route("/settings/time-zone", methods=["GET", "POST"])
def time_zone():
    account = _account()
    if request.method == "POST":
        try:
            ops.set_timezone(account, request.form.get("timezone"))
        except ops.SettingError as exc:
            db.session.rollback()
            return _page("time_zone.html", exc, "timezone", account=account,
                         timezones=timezone_names())
        return _saved(_("The account time zone is saved."), "settings.time_zone")
    return _page("time_zone.html", account=account, timezones=timezone_names())


# --- meeting types (S4) ------------------------------------------------------------------

def _types_page(error: ops.SettingError | None = None, target: str = ""):
    account = _account()
    return _page("meeting_types.html", error, target, account=account,
                 types=ops.meeting_types(account.id), usage=ops.type_usage(account.id))


def _type_or_404(type_id: int) -> MeetingType:
    row = ops.get_meeting_type(g.account_id, type_id)
    if row is None:
        abort(404)
    return row


@bp.get("/settings/meeting-types")
def meeting_types():
    return _types_page()


@bp.post("/settings/meeting-types/switch")
def meeting_types_switch():
    on = request.form.get("enabled") == "1"
    ops.set_custom_types(_account(), on)
    return _saved(_("The meeting type menu is now shown when scheduling.") if on
                  else _("The meeting type menu is now hidden."), "settings.meeting_types")


@bp.post("/settings/meeting-types")
def meeting_type_add():
    return _change(lambda: ops.add_meeting_type(g.account_id, request.form.get("name")),
                   lambda row: _("Meeting type “%(name)s” added.", name=row.name),
                   "settings.meeting_types", _types_page, "add")


@bp.post("/settings/meeting-types/<int:type_id>/rename")
def meeting_type_rename(type_id: int):
    row = _type_or_404(type_id)
    return _change(lambda: ops.rename_meeting_type(row, request.form.get("name")),
                   lambda _done: _("Meeting type renamed to “%(name)s”.", name=row.name),
                   "settings.meeting_types", _types_page, f"type-{type_id}")


@bp.post("/settings/meeting-types/<int:type_id>/retire")
def meeting_type_retire(type_id: int):
    row = _type_or_404(type_id)
    ops.set_meeting_type_active(row, False)
    return _saved(_("“%(name)s” is retired: it is no longer offered, and meetings that have "
                    "it keep it.", name=row.name), "settings.meeting_types")


@bp.post("/settings/meeting-types/<int:type_id>/restore")
def meeting_type_restore(type_id: int):
    row = _type_or_404(type_id)
    ops.set_meeting_type_active(row, True)
    return _saved(_("“%(name)s” is offered again.", name=row.name), "settings.meeting_types")


@bp.post("/settings/meeting-types/<int:type_id>/delete")
def meeting_type_delete(type_id: int):
    row = _type_or_404(type_id)
    name = row.name
    return _change(lambda: ops.delete_meeting_type(row),
                   lambda _done: _("Meeting type “%(name)s” deleted.", name=name),
                   "settings.meeting_types", _types_page, f"type-{type_id}")


# --- default reminders (S7) ---------------------------------------------------------------

def _reminder_rows(account: Account) -> list[tuple[str, str]]:
    """Three (amount, unit) rows for the form: the saved offsets, then blanks."""
    rows = [(str(a), u) for a, u in account.default_reminders]
    return (rows + [("", "hours")] * ops.MAX_DEFAULT_REMINDERS)[:ops.MAX_DEFAULT_REMINDERS]


@bp.route("/settings/reminders", methods=["GET", "POST"])
def reminders():
    account = _account()
    units = [(u, UNIT_WORDS[u]) for u in REMINDER_UNITS]
    if request.method == "POST":
        amounts = request.form.getlist("amount")
        unit_values = request.form.getlist("unit")
        enabled = request.form.get("enabled") == "1"
        rows = list(zip(amounts, unit_values + [""] * len(amounts), strict=False))
        try:
            offsets = []
            for raw, unit in rows:
                if not raw.strip():
                    continue
                if not raw.strip().isdigit():
                    raise ops.SettingError("reminders", _l(
                        "A reminder needs a whole number above zero."))
                offsets.append((int(raw.strip()), unit))
            ops.set_reminder_defaults(account, enabled, offsets)
        except ops.SettingError as exc:
            db.session.rollback()
            padded = (rows + [("", "hours")] * 3)[:max(3, len(rows))]
            return _page("reminders.html", exc, "reminders", account=account, units=units,
                         rows=padded, enabled=enabled)
        return _saved(_("Default reminders are saved. They apply to meetings scheduled "
                        "from now on."), "settings.reminders")
    return _page("reminders.html", account=account, units=units, rows=_reminder_rows(account),
                 enabled=account.reminders_default_on)


# --- snippets (S9) ------------------------------------------------------------------------

def _snippets_page(error: ops.SettingError | None = None):
    items = [(s, to_text(s.body_html)) for s in ops.snippets(g.account_id)]
    return _page("snippets.html", error, "add", snippets=items)


def _snippet_or_404(snippet_id: int):
    row = ops.get_snippet(g.account_id, snippet_id)
    if row is None:
        abort(404)
    return row


@bp.get("/settings/snippets")
def snippets():
    return _snippets_page()


@bp.post("/settings/snippets")
def snippet_add():
    return _change(lambda: ops.add_snippet(g.account_id, request.form.get("name"),
                                           request.form.get("body_html")),
                   lambda row: _("Snippet “%(name)s” added.", name=row.name),
                   "settings.snippets", _snippets_page)


@bp.route("/settings/snippets/<int:snippet_id>/edit", methods=["GET", "POST"])
def snippet_edit(snippet_id: int):
    row = _snippet_or_404(snippet_id)
    if request.method == "POST":
        try:
            ops.update_snippet(row, request.form.get("name"), request.form.get("body_html"))
        except ops.SettingError as exc:
            db.session.rollback()
            return _page("snippet_edit.html", exc, "edit", snippet=row)
        return _saved(_("Snippet “%(name)s” saved.", name=row.name), "settings.snippets")
    return _page("snippet_edit.html", snippet=row)


@bp.post("/settings/snippets/<int:snippet_id>/delete")
def snippet_delete(snippet_id: int):
    row = _snippet_or_404(snippet_id)
    name = row.name
    ops.delete_snippet(row)
    return _saved(_("Snippet “%(name)s” deleted.", name=name), "settings.snippets")


# --- outcomes (O1, O2) --------------------------------------------------------------------

def _outcomes_page(error: ops.SettingError | None = None, target: str = ""):
    return _page("outcomes.html", error, target, outcomes=catalog(g.account_id).all,
                 usage=ops.outcome_usage(g.account_id), initial=INITIAL_OUTCOME)


def _outcome_or_404(outcome_id: int):
    row = ops.get_outcome(g.account_id, outcome_id)
    if row is None:
        abort(404)
    return row


@bp.get("/settings/outcomes")
def outcomes():
    return _outcomes_page()


@bp.post("/settings/outcomes")
def outcome_add():
    return _change(lambda: ops.add_outcome(g.account_id, request.form.get("name")),
                   lambda row: _("Outcome “%(name)s” added.", name=row.name),
                   "settings.outcomes", _outcomes_page, "add")


@bp.post("/settings/outcomes/<int:outcome_id>/rename")
def outcome_rename(outcome_id: int):
    row = _outcome_or_404(outcome_id)
    return _change(lambda: ops.rename_outcome(row, request.form.get("name")),
                   lambda _done: _("Outcome renamed."),
                   "settings.outcomes", _outcomes_page, f"outcome-{outcome_id}")


@bp.post("/settings/outcomes/<int:outcome_id>/move")
def outcome_move(outcome_id: int):
    row = _outcome_or_404(outcome_id)
    ops.move_outcome(row, -1 if request.form.get("direction") == "up" else 1)
    return _saved(_("Order saved."), "settings.outcomes")


@bp.post("/settings/outcomes/<int:outcome_id>/retire")
def outcome_retire(outcome_id: int):
    row = _outcome_or_404(outcome_id)
    return _change(lambda: ops.set_outcome_active(row, False),
                   lambda _done: _("Outcome retired: it is no longer offered, and meetings "
                                   "that have it keep it."),
                   "settings.outcomes", _outcomes_page, f"outcome-{outcome_id}")


@bp.post("/settings/outcomes/<int:outcome_id>/restore")
def outcome_restore(outcome_id: int):
    row = _outcome_or_404(outcome_id)
    ops.set_outcome_active(row, True)
    return _saved(_("Outcome offered again."), "settings.outcomes")
