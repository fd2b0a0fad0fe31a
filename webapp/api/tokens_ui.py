"""Settings page for personal API tokens, and `flask api-token create`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.api import bp
from webapp.api import operations as ops
from webapp.auth.models import User
from webapp.extensions import db


@bp.route("/settings/api-tokens", methods=["GET", "POST"])
@login_required
def tokens():
    new_token = None
    error = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        if not name or len(name) > 80:
            error = _("Give the token a name of at most 80 characters.")
        else:
            _row, new_token = ops.create_token(current_user, name)
            db.session.commit()
    return render_template("api/tokens.html", tokens=ops.user_tokens(current_user),
                           new_token=new_token, error=error), 422 if error else 200


@bp.post("/settings/api-tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    if not ops.revoke(current_user, token_id):
        abort(404)
    db.session.commit()
    flash(_("The token was revoked; scripts using it stop working now."), "success")
    return redirect(url_for("api.tokens"))


@bp.cli.command("create", help="Create a personal API token for a user; prints it once.")
@click.option("--email", required=True)
@click.option("--name", default="CLI")
def create_command(email: str, name: str) -> None:
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}")
    _row, plain = ops.create_token(user, name)
    db.session.commit()
    click.echo(plain)
