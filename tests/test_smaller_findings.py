"""The audit's smaller findings: dev mailbox per account, hashed feed tokens (old addresses
keep working), production needs its encryption keys, and tokens kept out of access logs."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from webapp.logredact import RedactingFilter, redact
from webapp.mail.models import CapturedMail


def test_the_dev_mailbox_shows_only_the_viewers_accounts_mail(client, make, login, db):
    a, b = make.account(), make.account()
    for account, subject in ((a, "Ours"), (b, "Theirs")):
        db.session.add(CapturedMail(account_id=account.id, recipients="x@example.org",
                                    subject=subject, raw=f"Subject: {subject}\r\n\r\n".encode()))
    db.session.commit()
    theirs = db.session.scalar(sa.select(CapturedMail.id).where(CapturedMail.account_id == b.id))
    login(make.user(a))
    page = client.get("/dev/mail").get_data(as_text=True)
    assert "Ours" in page and "Theirs" not in page
    assert client.get(f"/dev/mail/{theirs}").status_code == 404
    assert client.get(f"/dev/mail/{theirs}/raw").status_code == 404


def test_sent_mail_is_captured_for_its_account(client, make, login, db):
    from tests.meeting_helpers import schedule
    account = make.account()
    login(make.user(account))
    contact = make.contact(account)
    schedule(client, contact, attendees=[f"contact:{contact.id}"])
    accounts = db.session.scalars(sa.select(CapturedMail.account_id)).all()
    assert accounts and set(accounts) == {account.id}


def test_feed_tokens_from_before_the_migration_keep_working(tmp_path):
    """Upgrade a database holding a plain feed token: the same address still opens."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.extensions import db as _db
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "JOBS_MODE": "eager",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                      "UPLOAD_DIR": str(tmp_path)})
    with app.app_context():
        upgrade(revision="0012")
        with _db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO accounts (id, name, timezone, is_sandbox, "
                                 "custom_meeting_types_enabled, reminders_default_on, "
                                 "default_reminders, created_at) VALUES (1, 'A', 'UTC', 0, 0, "
                                 "0, '[]', '2026-01-01 00:00:00')"))
            conn.execute(sa.text("INSERT INTO users (id, account_id, email, name, "
                                 "password_hash, role, feed_token, created_at) VALUES (1, 1, "
                                 "'u@example.com', 'U', 'x', 'member', 'old-plain-token', "
                                 "'2026-01-01 00:00:00')"))
        upgrade()
        stored = _db.session.scalar(sa.text("SELECT feed_token FROM users WHERE id = 1"))
        _db.session.remove()
    assert stored != "old-plain-token" and len(stored) == 64
    client = app.test_client()
    assert client.get("/calendar/old-plain-token.ics").status_code == 200
    assert client.get(f"/calendar/{stored}.ics").status_code == 404  # the hash opens nothing


def test_production_requires_calendar_encryption_keys(monkeypatch, tmp_path):
    from webapp.config import load_config
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("CALENDAR_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(RuntimeError, match="CALENDAR_ENCRYPTION_KEYS"):
        load_config(tmp_path)
    monkeypatch.setenv("CALENDAR_ENCRYPTION_KEYS", "key")
    assert load_config(tmp_path)["CALENDAR_ENCRYPTION_KEYS"] == "key"


LINES = ['GET /calendar/Abc-123_x.ics HTTP/1.1', 'POST /rsvp/eyJhIjoxfQ.sig?x=1 HTTP/1.1']


def test_feed_and_rsvp_tokens_are_redacted():
    assert [redact(line) for line in LINES] == [
        "GET /calendar/[redacted].ics HTTP/1.1", "POST /rsvp/[redacted]?x=1 HTTP/1.1"]
    assert redact("GET /contacts/3 HTTP/1.1") == "GET /contacts/3 HTTP/1.1"


def test_werkzeug_access_log_is_redacted(app):
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s %s',
                               ("127.0.0.1", LINES[0], "200", "-"), None)
    assert any(isinstance(f, RedactingFilter) for f in logging.getLogger("werkzeug").filters)
    RedactingFilter().filter(record)
    assert "Abc-123" not in record.getMessage()


def test_gunicorn_access_log_is_redacted():
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from webapp.logredact import RedactingLogger
    config = Config()
    config.set("logger_class", "webapp.logredact.RedactingLogger")
    logger = RedactingLogger(config)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/calendar/Abc-123_x.ics",
               "SERVER_PROTOCOL": "HTTP/1.1", "PATH_INFO": "/calendar/Abc-123_x.ics",
               "HTTP_REFERER": "http://x/rsvp/secret-token"}
    atoms = logger.atoms(SimpleNamespace(status="200 OK", sent=10, headers=[]),
                         SimpleNamespace(headers=[]), environ, timedelta(seconds=0.1))
    assert "Abc-123" not in atoms["r"] and "Abc-123" not in atoms["U"]
    assert "secret-token" not in atoms["f"]
    from pathlib import Path
    conf = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
    assert "webapp.logredact.RedactingLogger" in conf.read_text()
