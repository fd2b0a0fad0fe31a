"""Smaller actions on a saved meeting: its outcome, its internal attachments, and the
user's calendar feed address (request side: flush only).

Saving a meeting is webapp.meetings.pipeline; reading meetings, webapp.meetings.queries.
"""

from __future__ import annotations

import secrets

from webapp.auth.models import User
from webapp.extensions import db
from webapp.meetings.models import Meeting
from webapp.meetings.outcomes import catalog


def outcome_choices(account_id: int) -> list[tuple[str, str]]:
    """(key, label) of the outcomes a meeting can be given, in the account's order."""
    return catalog(account_id).items()


def set_outcome(meeting: Meeting, outcome: str) -> bool:
    """Set the outcome; False when it is not one the account offers. Keeping a retired
    outcome the meeting already has is allowed (nothing changes)."""
    if outcome != meeting.outcome and not catalog(meeting.account_id).is_offered(outcome):
        return False
    meeting.outcome = outcome
    db.session.flush()
    return True


def reset_feed_token(user: User) -> None:
    user.feed_token = secrets.token_urlsafe(32)
    db.session.flush()


def add_attachments(meeting: Meeting, user: User, uploads) -> None:
    """Store internal-only files for the meeting (never sent to attendees)."""
    import os
    import uuid

    from flask import current_app

    from webapp.meetings.models import Attachment

    folder = current_app.config["UPLOAD_DIR"]
    os.makedirs(folder, exist_ok=True)
    for upload in uploads:
        key = uuid.uuid4().hex
        with open(os.path.join(folder, key), "wb") as fh:
            fh.write(upload.data)
        meeting.attachments.append(Attachment(
            account_id=meeting.account_id, filename=upload.filename,
            content_type=upload.content_type, size=len(upload.data), storage_key=key,
            uploaded_by_id=user.id))
    db.session.flush()
