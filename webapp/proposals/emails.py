"""The email that carries a proposal's links to the contact (job side: owns its
transactions). Claimed through the task runner before sending (webapp.tasks), so a job
that runs twice sends once; a failure that may pass is tried again after backoff."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import Message
from email.utils import parseaddr
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from webapp import tasks
from webapp.delivery.messages import address, compose, when_text
from webapp.filters import join_date_time
from webapp.mail.sending import send_owed
from webapp.proposals.models import EMAIL_TASKS, Proposal
from webapp.proposals.operations import location_text, slot_token

log = logging.getLogger(__name__)

#: The job that sends one proposal's email.
JOB = "worker.jobs.send_proposal_email"


def contact_zone_and_locale(proposal: Proposal) -> tuple[str, str]:
    """The contact's zone (else the zone the rep proposed in) and language."""
    contact = proposal.contact
    return contact.timezone or proposal.timezone, contact.language or "en"


def _expiry_text(proposal: Proposal, zone: str, locale: str) -> str:
    """When the links stop working, in the contact's zone: "June 17, 2026, 10:30 AM (zone)"."""
    local = proposal.expires_at.astimezone(ZoneInfo(zone))
    return "{} ({})".format(join_date_time("long", format_date(local, "long", locale=locale),
                                           format_time(local, "short", locale=locale), locale),
                            zone)


def build_email(proposal: Proposal) -> Message:
    """One email, one link per proposed time, in the contact's language and zone."""
    zone, locale = contact_zone_and_locale(proposal)
    base = current_app.config["BASE_URL"]
    length = timedelta(minutes=proposal.duration_minutes)
    host, contact = proposal.host, proposal.contact
    with force_locale(locale):
        times = [{"when": when_text(SimpleNamespace(start_at=s.start_at,
                                                    end_at=s.start_at + length), zone, locale),
                  "url": f"{base}/proposed/{slot_token(s, proposal)}"}
                 for s in proposal.slots]
        context = {"proposal": proposal, "host": host, "contact": contact, "times": times,
                   "expires": _expiry_text(proposal, zone, locale),
                   "location": location_text(proposal)}
        subject = _("%(name)s proposes times to meet: %(title)s", name=host.name,
                    title=proposal.title)
        text = render_template("emails/proposal.txt", **context)
        html = render_template("emails/proposal.html", **context)
    msg = compose(text, html, to=(contact.display_name, contact.email),
                  subject=" ".join(subject.split()),
                  message_id=f"<proposal-{proposal.id}-{proposal.nonce[:8]}@parley>")
    parley_name, parley_addr = parseaddr(current_app.config["MAIL_FROM"])
    msg["From"] = address(f"{host.name} (Parley)", parley_addr)
    msg["Reply-To"] = address(host.name, host.email)
    return msg


def send_email(proposal_id: int) -> str:
    """Send one proposal's email if it can be claimed (webapp.mail.sending)."""
    return send_owed(EMAIL_TASKS, proposal_id, build_email, lambda row: (
        "Withdrawn before it went out." if row.status == "withdrawn" else None))


def relay(limit: int = 200) -> int:
    """Hand due proposal emails to the queue (after a commit, and in the sweep)."""
    return tasks.enqueue_due(EMAIL_TASKS, JOB, limit)


def sweep(_interval: float) -> None:
    """The sweep's proposal-email step. Returns nothing: a count is not a wait."""
    relay()


tasks.register_relay(25, "proposal emails", relay)
tasks.register_sweep(55, "proposal emails", sweep)
