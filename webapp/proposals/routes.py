"""Propose times from a record (login, CSRF on the POST) and the contact's link (public:
GET shows the time and a confirm button and changes nothing, since mail scanners open
links; the POST books). Thin: webapp.proposals.operations holds the rules."""

from __future__ import annotations

from datetime import date, time, timedelta

from flask import abort, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp import jobs
from webapp.auth.models import Account
from webapp.conferencing import operations as conferencing
from webapp.extensions import db
from webapp.meetings import views
from webapp.meetings.timemath import NonexistentLocalTime, local_to_utc, to_zone
from webapp.proposals import bp
from webapp.proposals import operations as ops
from webapp.proposals.models import MAX_SLOTS
from webapp.records import operations as record_ops
from webapp.types import utcnow
from webapp.validation import timezone_names

#: Slot rows shown on the form.
ROWS = MAX_SLOTS


def _record_or_404():
    record = record_ops.get_record(g.account_id, request.values.get("record_type", ""),
                                   request.values.get("record_id", type=int) or 0)
    if record is None:
        abort(404)
    return record


def _values(record, contacts) -> dict:
    form = request.form
    if request.method != "POST":
        return {"title": "", "duration": "30", "timezone": current_user.zone,
                "contact_id": str(contacts[0].id) if contacts else "",
                "location_kind": "none", "location_value": "", "video_provider": "jitsi",
                "slot_date": [""] * ROWS, "slot_time": [""] * ROWS}
    values = {k: form.get(k, "") for k in ("title", "duration", "timezone", "contact_id",
                                           "location_kind", "location_value",
                                           "video_provider")}
    for name in ("slot_date", "slot_time"):
        rows = form.getlist(name)[:ROWS]
        values[name] = rows + [""] * (ROWS - len(rows))
    return values


def _parse(values: dict, errors: dict) -> ops.ProposalInput:
    zone = values["timezone"] if values["timezone"] in timezone_names() else current_user.zone
    starts = []
    for day_text, time_text in zip(values["slot_date"], values["slot_time"], strict=True):
        if not day_text and not time_text:
            continue
        try:
            starts.append(local_to_utc(date.fromisoformat(day_text),
                                       time.fromisoformat(time_text), zone))
        except NonexistentLocalTime:
            errors.setdefault("slots", []).append(_(
                "%(day)s %(time)s does not exist in %(zone)s (the clocks go forward).",
                day=day_text, time=time_text, zone=zone))
        except ValueError:
            errors.setdefault("slots", []).append(_("Enter each time as a date and a time."))
    duration = values["duration"]
    return ops.ProposalInput(
        title=values["title"], duration_minutes=int(duration) if duration.isdigit() else None,
        timezone=values["timezone"],
        contact_id=int(values["contact_id"]) if values["contact_id"].isdigit() else None,
        starts=starts, location_kind=values["location_kind"],
        location_value=values["location_value"], video_provider=values["video_provider"])


def _fill_next_free(values: dict) -> None:
    duration = int(values["duration"]) if values["duration"].isdigit() else 30
    zone = values["timezone"] if values["timezone"] in timezone_names() else current_user.zone
    starts = ops.next_free(current_user, timedelta(minutes=min(duration, 480)), utcnow())
    local = [to_zone(s, zone) for s in starts]
    values["slot_date"] = [s.date().isoformat() for s in local] + [""] * (ROWS - len(local))
    values["slot_time"] = [s.strftime("%H:%M") for s in local] + [""] * (ROWS - len(local))
    values["timezone"] = zone
    values["filled"] = len(local)


@bp.route("/proposals/new", methods=["GET", "POST"])
@login_required
def new():
    record = _record_or_404()
    contacts = ops.contacts_for(g.account_id, record)
    values = _values(record, contacts)
    errors: dict = {}
    status = 200
    if request.method == "POST" and request.form.get("action") == "next_free":
        _fill_next_free(values)  # fills the form; nothing is saved or sent
    elif request.method == "POST":
        data = _parse(values, errors)
        account = db.session.get(Account, g.account_id)
        errors = {**ops.validate(account, current_user, record, data, utcnow()), **errors}
        if not errors:
            proposal = ops.propose(account, current_user, record, data)
            count, name = len(proposal.slots), proposal.contact.display_name
            db.session.commit()
            jobs.request_relay()
            flash(_("%(num)d times proposed. The email with a link for each is on its way "
                    "to %(name)s.", num=count, name=name), "success")
            return redirect(views.record_url(*record.ref))
        status = 422
    return render_template("proposals/new.html", record=record, contacts=contacts,
                           values=values, errors=errors, durations=ops.DURATIONS,
                           location_kinds=ops.LOCATION_KINDS, rows=ROWS,
                           video_options=conferencing.options_for(current_user),
                           record_url=views.record_url(*record.ref),
                           week_args={"host_id": current_user.id,
                                      "week": to_zone(utcnow(), current_user.zone).date()
                                      .isoformat(), "timezone": current_user.zone}), status


@bp.post("/proposals/<int:proposal_id>/withdraw")
@login_required
def withdraw(proposal_id: int):
    proposal = ops.get_proposal(g.account_id, proposal_id)
    if proposal is None:
        abort(404)
    url = views.record_url(proposal.record_type, proposal.record_id)
    if ops.withdraw(proposal):
        db.session.commit()
        flash(_("The proposed times were withdrawn: their links book nothing now."), "success")
    return redirect(url)


def _slot_or_404(token: str):
    slot = ops.slot_from_token(token)
    if slot is None:
        abort(404)
    return slot


def _zone(proposal) -> str:
    return proposal.contact.timezone or proposal.timezone


@bp.route("/proposed/<token>", methods=["GET", "POST"])
def pick(token: str):
    """The contact's link: a GET shows the time and a button; the POST books it."""
    slot = _slot_or_404(token)
    proposal = slot.proposal
    now = utcnow()
    context = {"proposal": proposal, "slot": slot, "zone": _zone(proposal), "token": token,
               "location": ops.location_text(proposal),
               "length": timedelta(minutes=proposal.duration_minutes), "host": proposal.host}
    if request.method == "GET":
        state = ops.shown_status(proposal, now)
        booked_at = next((s.start_at for s in proposal.slots
                          if s.id == proposal.booked_slot_id), None)
        remaining = []
        if state == "open" and not ops.still_free(proposal, [slot], now):
            # Said before the contact presses the button (reading only: a GET books nothing).
            state = "taken"
            remaining = [(s, ops.slot_token(s, proposal)) for s in ops.still_free(
                proposal, [s for s in proposal.slots if s.id != slot.id], now)]
        return render_template("proposals/pick.html", state=state, booked_at=booked_at,
                               remaining=remaining, **context)
    outcome = ops.book(slot, now)
    if outcome.kind == ops.BOOKED:
        db.session.commit()
        outcome.result.after_commit()
        return render_template("proposals/pick.html", state="done",
                               booked_at=outcome.booked_at, remaining=[], **context)
    if outcome.kind == ops.EXPIRED:
        db.session.commit()  # marked expired
    remaining = [(s, ops.slot_token(s, proposal)) for s in outcome.remaining]
    state = {ops.ALREADY: "booked", ops.EXPIRED: "expired", ops.WITHDRAWN: "withdrawn",
             ops.TAKEN: "taken", ops.REFUSED: "refused"}[outcome.kind]
    return render_template("proposals/pick.html", state=state, booked_at=outcome.booked_at,
                           remaining=remaining, **context), 409 if state != "expired" else 410


#: The statuses' labels, translated when shown: this context processor runs for every
#: template rendered, and four gettext calls each time cost more than the page uses (#24).
PROPOSAL_LABELS = {"open": _l("Waiting for the contact"), "booked": _l("Booked"),
                   "expired": _l("Expired"), "withdrawn": _l("Withdrawn")}


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


@bp.app_context_processor
def _record_page():
    """What the record page's "Proposed times" section reads (proposals/_on_record.html)."""
    now = utcnow()
    return {
        "record_proposals": lambda record: ops.for_record(g.account_id, record),
        "proposal_status": lambda proposal: ops.shown_status(proposal, now),
        "proposal_labels": PROPOSAL_LABELS,
        "minutes": _minutes,
    }
