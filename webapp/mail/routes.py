"""Dev mailbox: every message Parley would have sent, when SMTP_URL is unset."""

from __future__ import annotations

from email import message_from_bytes, policy

import sqlalchemy as sa
from flask import Response, abort, current_app, render_template
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.mail import bp
from webapp.mail.models import CapturedMail


@bp.before_request
def _dev_only():
    if not current_app.config.get("DEV_MAILBOX"):
        abort(404)


@bp.get("/dev/mail")
@login_required
def mailbox():
    mails = db.session.scalars(
        sa.select(CapturedMail).where(CapturedMail.account_id == current_user.account_id)
        .order_by(CapturedMail.id.desc()).limit(200)
    ).all()
    return render_template("dev/mailbox.html", mails=mails)


def _load(mail_id: int):
    """The captured mail of the viewer's account (another account's is a 404)."""
    mail = db.session.scalar(sa.select(CapturedMail).where(
        CapturedMail.id == mail_id, CapturedMail.account_id == current_user.account_id)) \
        or abort(404)
    return mail, message_from_bytes(mail.raw, policy=policy.default)


@bp.get("/dev/mail/<int:mail_id>")
@login_required
def mail_detail(mail_id: int):
    mail, msg = _load(mail_id)
    parts = []
    for index, part in enumerate(msg.walk()):
        body = None
        if not part.is_multipart() and part.get_content_maintype() == "text":
            body = part.get_content()
        parts.append({"index": index, "type": part.get_content_type(),
                      "params": dict(part.get_params() or [])
                      if part.get_content_maintype() == "text" else {},
                      "filename": part.get_filename(), "disposition": part.get_content_disposition(),
                      "multipart": part.is_multipart(), "body": body})
    return render_template("dev/mail.html", mail=mail, headers=list(msg.items()), parts=parts)


@bp.get("/dev/mail/<int:mail_id>/raw")
@login_required
def mail_raw(mail_id: int):
    mail, _ = _load(mail_id)
    return Response(mail.raw, mimetype="message/rfc822",
                    headers={"Content-Disposition": f"attachment; filename=mail-{mail.id}.eml"})


@bp.get("/dev/mail/<int:mail_id>/part/<int:index>")
@login_required
def mail_part(mail_id: int, index: int):
    _, msg = _load(mail_id)
    parts = list(msg.walk())
    if index >= len(parts) or parts[index].is_multipart():
        abort(404)
    part = parts[index]
    payload = part.get_payload(decode=True) or b""
    # Served as an attachment with its declared type, never rendered inline here.
    name = part.get_filename() or f"part-{index}"
    return Response(payload, mimetype=part.get_content_type(),
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
