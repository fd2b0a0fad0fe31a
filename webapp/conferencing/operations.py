"""A meeting's video conference: provider options per host, S16 checks, creation at save
time with a short timeout, and retried tasks for what could not be done at once.

When a provider is down or slow at save time the meeting is saved anyway with the location
"video link pending"; a ConferenceTask creates the link later (backoff, Retry-After) and,
once it exists, raises the meeting's SEQUENCE and queues one update invitation. The task
is claimed with one conditional UPDATE, so a job that runs twice sends that update once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp import crypto, grants
from webapp.calendars import connections as calendar_connections
from webapp.conferencing.models import ConferenceTask, VideoApp, ZoomConnection
from webapp.conferencing.providers import (
    ConferenceError,
    ConferenceRefused,
    EmailMismatch,
    ExtensionApp,
    GoogleMeet,
    Jitsi,
    Zoom,
)
from webapp.extensions import db
from webapp.types import utcnow

log = logging.getLogger(__name__)
NAMES = {"jitsi": "Jitsi Meet", "zoom": "Zoom", "google_meet": "Google Meet"}


def pending_text() -> str:
    return _("video link pending")


# --- Options and providers ----------------------------------------------------------------

def active_apps(account_id: int) -> list[VideoApp]:
    return list(db.session.scalars(sa.select(VideoApp).where(
        VideoApp.account_id == account_id, VideoApp.active).order_by(VideoApp.name)))


def options_for(host) -> list[tuple[str, str]]:
    """(key, label) of the video providers the host can use: Jitsi always; Zoom when the host
    connected it; Google Meet with an active Google calendar; the account's active apps.
    The Zoom connection and the apps are read in one statement (#24)."""
    options = [("jitsi", NAMES["jitsi"])]
    rows = db.session.execute(_options_statement(), {
        "user_id": host.id, "account_id": host.account_id}).all()
    if any(kind == "zoom" and label == "active" for kind, _id, label in rows):
        options.append(("zoom", NAMES["zoom"]))
    cal = calendar_connections.connection_for(host.id)
    if cal is not None and cal.provider == "google" and cal.status == "active":
        options.append(("google_meet", NAMES["google_meet"]))
    options += [(f"app:{app_id}", label) for kind, app_id, label in rows if kind == "app"]
    return options


@cache
def _options_statement():
    """options_for()'s SELECT, built once a process: the host's Zoom connection status
    ("zoom", NULL, status) and the account's active apps ("app", id, name), by name."""
    union = sa.union_all(
        sa.select(sa.literal("zoom").label("kind"), sa.null().cast(sa.Integer).label("id"),
                  ZoomConnection.status.label("label"))
        .where(ZoomConnection.user_id == sa.bindparam("user_id")),
        sa.select(sa.literal("app").label("kind"), VideoApp.id.label("id"),
                  VideoApp.name.label("label"))
        .where(VideoApp.account_id == sa.bindparam("account_id"), VideoApp.active),
    ).subquery()
    return sa.select(union).order_by(union.c.kind, union.c.label, union.c.id)


def provider_name(meeting) -> str:
    key = meeting.conference_provider or ""
    if key.startswith("app:"):
        app = _app(meeting.account_id, key)
        return app.name if app is not None else key
    return NAMES.get(key, key)


def _app(account_id: int, key: str) -> VideoApp | None:
    try:
        app_id = int(key.split(":", 1)[1])
    except (IndexError, ValueError):
        return None
    return db.session.scalar(sa.select(VideoApp).where(VideoApp.id == app_id,
                                                       VideoApp.account_id == account_id))


def provider_for(account_id: int, key: str):
    """The adapter for a provider key within the account; ConferenceError when unknown."""
    if key == "jitsi":
        return Jitsi()
    if key == "zoom":
        return Zoom()
    if key == "google_meet":
        return GoogleMeet()
    if key.startswith("app:"):
        app = _app(account_id, key)
        if app is not None:
            return ExtensionApp(app, crypto.decrypt(app.secret_enc))
    raise ConferenceError(_l("This video provider is no longer available."), retryable=False)


def check_choice(host, key: str | None, current: str | None = None) -> str | None:
    """Validate the host's choice; an error message for the field, or None when fine.

    S16: the provider account's email must be the host's Parley email. A provider that
    cannot be reached now does not block saving: the link is then created by a task.
    """
    allowed = {k for k, _label in options_for(host)}
    if current:
        allowed.add(current)  # a retired app stays on the meeting that already uses it
    if not key:
        return str(_l("Choose a video provider."))
    if key not in allowed:
        return str(_l("Choose a video provider from the list."))
    if key == current:
        return None
    try:
        provider_for(host.account_id, key).verify_user(host, timeout=_inline_timeout())
    except EmailMismatch as exc:
        return str(exc)
    except ConferenceError as exc:
        if not exc.retryable:
            return str(exc)
        log.info("video provider %s unverified at save (%s); the task will create the link",
                 key, exc)
    return None


def _inline_timeout() -> float:
    return float(current_app.config.get("CONFERENCE_INLINE_TIMEOUT", 3))


# --- Meeting lifecycle (called by webapp.meetings.saving; flush only) ---------------------

def set_ready(meeting, conference) -> None:
    meeting.conference_id = conference.conference_id
    meeting.conference_url = conference.url
    meeting.conference_details = conference.details or None
    meeting.conference_status, meeting.conference_error = "ready", None
    meeting.location_value = conference.url


def _task(meeting, action: str, provider: str, conference_id: str | None = None,
          delay: float | None = None) -> ConferenceTask:
    task = ConferenceTask(account_id=meeting.account_id, meeting_id=meeting.id, action=action,
                          provider=provider, conference_id=conference_id,
                          next_attempt_at=utcnow() + timedelta(seconds=delay or 0))
    db.session.add(task)
    return task


def _supersede(meeting, actions: tuple[str, ...]) -> None:
    """Open create/update tasks of the meeting are replaced by what is queued next."""
    db.session.execute(sa.update(ConferenceTask).where(
        ConferenceTask.meeting_id == meeting.id, ConferenceTask.action.in_(actions),
        ConferenceTask.status.in_(("pending", "failed")))
        .values(status="superseded").execution_options(synchronize_session=False))


def start(meeting, provider: str, dry_run: bool = False) -> None:
    """Give the meeting a conference at `provider`: at once if the provider answers within
    the inline timeout, else "video link pending" and a retried create task.

    dry_run: the caller rolls the transaction back (the phone flow's "Continue and send?").
    The provider is not called, since a rollback cannot take back a conference it made;
    the meeting reads as with a slow provider: "video link pending" and a create task.
    """
    meeting.location_kind = "video"
    meeting.conference_provider = provider
    meeting.conference_id = meeting.conference_url = meeting.conference_details = None
    _supersede(meeting, ("create", "update"))
    if dry_run:
        meeting.conference_status, meeting.conference_error = "pending", None
        meeting.location_value = pending_text()
        _task(meeting, "create", provider)
        db.session.flush()
        return
    try:
        # Within the save's transaction: a token that needs renewing is left to the task.
        with grants.deferred():
            conference = provider_for(meeting.account_id, provider).create(
                meeting, meeting.host, timeout=_inline_timeout())
    except ConferenceError as exc:
        if not exc.retryable:
            # Malformed JSON, a non-https link, a refused signature: say so, save nothing.
            raise ConferenceRefused(str(exc)) from exc
        meeting.conference_status, meeting.conference_error = "pending", str(exc)[:1000]
        meeting.location_value = pending_text()
        _task(meeting, "create", provider, delay=exc.retry_after)
    else:
        set_ready(meeting, conference)
    db.session.flush()


def _drop(meeting) -> None:
    """The meeting leaves its conference: delete it at the provider (task)."""
    if meeting.conference_provider and meeting.conference_id:
        _task(meeting, "delete", meeting.conference_provider, meeting.conference_id)
    _supersede(meeting, ("create", "update"))
    meeting.conference_provider = meeting.conference_id = meeting.conference_url = None
    meeting.conference_details = meeting.conference_status = meeting.conference_error = None


def on_schedule(meeting, provider: str | None, dry_run: bool = False) -> None:
    """A new meeting's conference (see start() for dry_run)."""
    if meeting.location_kind == "video" and provider:
        start(meeting, provider, dry_run)


def on_edit(meeting, provider: str | None, timing_changed: bool, dry_run: bool = False) -> None:
    """After an edit: keep, move (update task), replace or drop the conference.

    Only a new conference is made inline (start(), skipped on a dry run); moving and
    deleting one are tasks, run by a job after the commit."""
    if meeting.location_kind != "video":
        if meeting.conference_provider:
            _drop(meeting)
            db.session.flush()
        return
    if provider and provider != meeting.conference_provider:
        _drop(meeting)
        start(meeting, provider, dry_run)
        return
    if meeting.conference_status == "ready":
        meeting.location_value = meeting.conference_url
        if timing_changed:
            _supersede(meeting, ("update",))
            _task(meeting, "update", meeting.conference_provider, meeting.conference_id)
    elif meeting.conference_status in ("pending", "failed"):
        meeting.location_value = pending_text()
    db.session.flush()


def on_delete(meeting) -> None:
    if meeting.conference_provider:
        if meeting.conference_id:
            _task(meeting, "delete", meeting.conference_provider, meeting.conference_id)
        _supersede(meeting, ("create", "update"))
        db.session.flush()


def retry(meeting) -> bool:
    """The user asks for another try at a failed link."""
    if meeting.conference_status != "failed" or not meeting.conference_provider:
        return False
    _supersede(meeting, ("create",))
    meeting.conference_status, meeting.conference_error = "pending", None
    _task(meeting, "create", meeting.conference_provider)
    db.session.flush()
    return True



def new_secret() -> str:
    import secrets
    return "pvs_" + secrets.token_urlsafe(32)


def save_app(account_id: int, values: dict, app: VideoApp | None = None) -> tuple[VideoApp, str | None]:
    """Create (with a fresh signing secret, returned once) or edit an extension app."""
    secret = None
    if app is None:
        secret = new_secret()
        app = VideoApp(account_id=account_id, secret_enc=crypto.encrypt(secret))
        db.session.add(app)
    app.name = values["name"]
    for field in ("create_url", "update_url", "delete_url", "user_verify_url"):
        setattr(app, field, values[field])
    db.session.flush()
    return app, secret


def validate_app(form: dict) -> dict[str, str]:
    """Field errors for the extension app form."""
    from urllib.parse import urlparse
    errors = {}
    if not form.get("name") or len(form["name"]) > 80:
        errors["name"] = str(_l("Enter a name (at most 80 characters)."))
    for field in ("create_url", "update_url", "delete_url", "user_verify_url"):
        value = form.get(field, "")
        parsed = urlparse(value)
        local = parsed.hostname in ("127.0.0.1", "localhost") and \
            current_app.config.get("ENV_NAME") != "production"
        if len(value) > 500 or not parsed.netloc or not (
                parsed.scheme == "https" or (parsed.scheme == "http" and local)):
            errors[field] = str(_l("Enter an https:// address."))
    return errors
