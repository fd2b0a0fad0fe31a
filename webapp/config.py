"""Configuration read from the environment, with embedded defaults for a newcomer's machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _instance_secret(instance_path: Path) -> str:
    """Return a SECRET_KEY kept under instance/, generating it on first use (dev only)."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(instance_path: Path) -> dict:
    """Build the Flask config mapping from the environment.

    Unset variables fall back to the embedded defaults: SQLite under instance/,
    in-process jobs, captured mail. Production (PARLEY_ENV=production) requires
    SECRET_KEY and refuses the generated one.
    """
    env = os.environ.get("PARLEY_ENV", "development")
    production = env == "production"
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        if production:
            raise RuntimeError("SECRET_KEY must be set when PARLEY_ENV=production")
        secret = _instance_secret(instance_path)
    if production and not os.environ.get("CALENDAR_ENCRYPTION_KEYS", "").strip():
        # Without it, calendar and video tokens would be encrypted with a key derived from
        # SECRET_KEY: rotating one would lose the other, and one leak would give both.
        raise RuntimeError("CALENDAR_ENCRYPTION_KEYS must be set when PARLEY_ENV=production "
                           "(comma-separated Fernet keys, newest first)")

    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'parley.db'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://"):]
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]

    redis_url = os.environ.get("REDIS_URL") or None
    # A process started by the tests (browser tests' server, worker): testing, and on the
    # tests' clock (webapp/testclock.py). Never in production.
    testing = os.environ.get("PARLEY_TESTING") == "1"
    if testing and production:
        raise RuntimeError("PARLEY_TESTING is for test runs; unset it when PARLEY_ENV=production")
    clock_offset = os.environ.get("PARLEY_TEST_CLOCK_OFFSET") or None
    testing_config = {
        "TESTING": True,
        # Errors still render the app's error pages, as in production.
        "PROPAGATE_EXCEPTIONS": False,
        "TEST_CLOCK_OFFSET": float(clock_offset) if clock_offset else None,
    } if testing else {}
    return {
        **testing_config,
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "REDIS_URL": redis_url,
        # A pooled database connection idle this long is pinged before use (webapp/pool.py);
        # one used more recently is handed out as it is (a dead one fails its statement
        # and the pool is renewed).
        "DATABASE_PING_IDLE_SECONDS": float(os.environ.get("DATABASE_PING_IDLE_SECONDS",
                                                           "2")),
        # Seconds a page or a save waits on Redis at most, and how long Redis is then left
        # alone (webapp/jobs.py call_redis): a hung Redis must not hang pages.
        "REDIS_SOCKET_TIMEOUT": float(os.environ.get("REDIS_SOCKET_TIMEOUT", "0.05")),
        "REDIS_BREAKER_SECONDS": float(os.environ.get("REDIS_BREAKER_SECONDS", "30")),
        # "rq" with Redis; "thread" runs the same jobs in a worker thread of this process;
        # "eager" (tests) runs them right after the enqueuing commit.
        "JOBS_MODE": os.environ.get("JOBS_MODE") or ("rq" if redis_url else "thread"),
        "SMTP_URL": os.environ.get("SMTP_URL") or None,
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Parley <meetings@parley.localhost>"),
        # From: the meeting's organizer, Sender: MAIL_FROM (1); or From: MAIL_FROM with the
        # organizer's name and Reply-To the organizer (0), for domains whose DMARC policy
        # refuses their users' mail sent by another server (README, Configuration).
        "MAIL_FROM_ORGANIZER": os.environ.get("MAIL_FROM_ORGANIZER", "1") not in ("0", "false", "no"),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "DEV_MAILBOX": os.environ.get("SMTP_URL") is None and not production,
        # Compile every template when the app is built: with gunicorn's preload the
        # workers inherit them, instead of each paying 0.2-0.3 s on its first pages.
        "PRECOMPILE_TEMPLATES": production,
        "SESSION_COOKIE_NAME": os.environ.get("SESSION_COOKIE_NAME", "parley_session"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        # Strict-Transport-Security max-age; production serves HTTPS only (docs/SECURITY.md).
        "HSTS_SECONDS": int(os.environ.get("HSTS_SECONDS", "31536000" if production else "0")),
        "WTF_CSRF_TIME_LIMIT": None,
        # A session ends after this long without a request, and this long after login
        # whatever happens (webapp/auth/sessions.py).
        "SESSION_IDLE_SECONDS": int(os.environ.get("SESSION_IDLE_SECONDS", str(8 * 3600))),
        "SESSION_MAX_SECONDS": int(os.environ.get("SESSION_MAX_SECONDS", str(72 * 3600))),
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_MAX_SECONDS",
                                                         str(72 * 3600))),
        # The cookie is written only when the session changes: a response that rewrote an
        # unchanged cookie (an htmx fragment in flight while a form posts) could land after
        # the post's and drop what it set (its flash message). The lifetimes above are kept
        # on the server, so nothing needs the cookie refreshed.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ["en", "zh_Hant"],
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or str(instance_path / "uploads"),
        "SWEEP_INTERVAL_SECONDS": float(os.environ.get("SWEEP_INTERVAL_SECONDS", "15")),
        # Rendered week grids kept per process by all they show (calendar_view.week_html);
        # 0: every view draws its grid.
        "WEEK_GRIDS_KEPT": int(os.environ.get("WEEK_GRIDS_KEPT", "256")),
        "SEND_LEASE_SECONDS": int(os.environ.get("SEND_LEASE_SECONDS", "300")),
        # An enqueued row not sent after this long is enqueued again (the queue lost it).
        "RELAY_GRACE_SECONDS": float(os.environ.get("RELAY_GRACE_SECONDS", "60")),
        "SEND_MAX_ATTEMPTS": int(os.environ.get("SEND_MAX_ATTEMPTS", "6")),
        # Outbox messages per send job, sent over one mail-server connection.
        "SEND_BATCH": int(os.environ.get("SEND_BATCH", "20")),
        # Password checks per account before each further one waits a doubling delay
        # (1 s, 2 s ... LOGIN_MAX_DELAY_SECONDS); per client address, a higher budget.
        "LOGIN_RATE_LIMIT": int(os.environ.get("LOGIN_RATE_LIMIT", "10")),
        "LOGIN_ADDRESS_RATE_LIMIT": int(os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "100")),
        "LOGIN_MAX_DELAY_SECONDS": int(os.environ.get("LOGIN_MAX_DELAY_SECONDS", "900")),
        # Reverse proxies in front of Parley that set X-Forwarded-For/-Proto/-Host: their
        # number (Werkzeug ProxyFix). 0 (default): the connecting address is the client's.
        # Set it only behind a proxy that overwrites these headers (docs/SECURITY.md).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "PAGE_SIZE": 25,
        # Calendars. Every external address comes from here so tests use local stand-ins.
        "CALENDAR_ENCRYPTION_KEYS": os.environ.get("CALENDAR_ENCRYPTION_KEYS", ""),
        # #21: busy time read from connected calendars is kept this many seconds per
        # (user, range) (in Redis when REDIS_URL is set, else in the process); 0: only
        # within one transaction (a rotation booking reads it before taking its lock).
        "BUSY_CACHE_SECONDS": int(os.environ.get("BUSY_CACHE_SECONDS", "60")),
        # Issue 23: how often each connection's calendar is asked what changed there, and
        # after how many failed syncs in a row the user is notified.
        "CALENDAR_SYNC_INTERVAL_SECONDS": int(os.environ.get("CALENDAR_SYNC_INTERVAL_SECONDS",
                                                             "120")),
        "CALENDAR_SYNC_NOTIFY_AFTER": int(os.environ.get("CALENDAR_SYNC_NOTIFY_AFTER", "3")),
        # Issue 23, push: the public https address Google posts change notifications to
        # (PUBLIC_BASE_URL + /calendars/google/notifications). Unset: no channels are made,
        # calendars are polled every CALENDAR_SYNC_INTERVAL_SECONDS only.
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/"),
        # How long a channel is asked to live (Google's default and cap is a week), and how
        # long before its expiration it is replaced by a new one.
        "CALENDAR_CHANNEL_TTL_SECONDS": int(os.environ.get("CALENDAR_CHANNEL_TTL_SECONDS",
                                                           "604800")),
        "CALENDAR_CHANNEL_RENEW_BEFORE_SECONDS": int(os.environ.get(
            "CALENDAR_CHANNEL_RENEW_BEFORE_SECONDS", "86400")),
        "GOOGLE_CLIENT_ID": os.environ.get("GOOGLE_CLIENT_ID", ""),
        "GOOGLE_CLIENT_SECRET": os.environ.get("GOOGLE_CLIENT_SECRET", ""),
        "GOOGLE_AUTHORIZE_URL": os.environ.get(
            "GOOGLE_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth"),
        "GOOGLE_TOKEN_URL": os.environ.get("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
        "GOOGLE_USERINFO_URL": os.environ.get(
            "GOOGLE_USERINFO_URL", "https://openidconnect.googleapis.com/v1/userinfo"),
        "GOOGLE_API_BASE": os.environ.get("GOOGLE_API_BASE",
                                          "https://www.googleapis.com/calendar/v3"),
        "MICROSOFT_CLIENT_ID": os.environ.get("MICROSOFT_CLIENT_ID", ""),
        "MICROSOFT_CLIENT_SECRET": os.environ.get("MICROSOFT_CLIENT_SECRET", ""),
        "MICROSOFT_AUTHORIZE_URL": os.environ.get(
            "MICROSOFT_AUTHORIZE_URL",
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"),
        "MICROSOFT_TOKEN_URL": os.environ.get(
            "MICROSOFT_TOKEN_URL", "https://login.microsoftonline.com/common/oauth2/v2.0/token"),
        "MICROSOFT_USERINFO_URL": os.environ.get("MICROSOFT_USERINFO_URL",
                                                 "https://graph.microsoft.com/oidc/userinfo"),
        "MICROSOFT_GRAPH_BASE": os.environ.get("MICROSOFT_GRAPH_BASE",
                                               "https://graph.microsoft.com/v1.0"),
        # Video conferencing (webapp.conferencing).
        "JITSI_BASE_URL": os.environ.get("JITSI_BASE_URL", "https://meet.jit.si"),
        "ZOOM_CLIENT_ID": os.environ.get("ZOOM_CLIENT_ID", ""),
        "ZOOM_CLIENT_SECRET": os.environ.get("ZOOM_CLIENT_SECRET", ""),
        "ZOOM_AUTHORIZE_URL": os.environ.get("ZOOM_AUTHORIZE_URL",
                                             "https://zoom.us/oauth/authorize"),
        "ZOOM_TOKEN_URL": os.environ.get("ZOOM_TOKEN_URL", "https://zoom.us/oauth/token"),
        # How each provider's token endpoint authenticates Parley (webapp.grants):
        # client_secret_post or client_secret_basic, as the provider documents.
        "GOOGLE_TOKEN_AUTH_METHOD": os.environ.get("GOOGLE_TOKEN_AUTH_METHOD",
                                                   "client_secret_post"),
        "MICROSOFT_TOKEN_AUTH_METHOD": os.environ.get("MICROSOFT_TOKEN_AUTH_METHOD",
                                                      "client_secret_post"),
        "ZOOM_TOKEN_AUTH_METHOD": os.environ.get("ZOOM_TOKEN_AUTH_METHOD",
                                                 "client_secret_basic"),
        "ZOOM_API_BASE": os.environ.get("ZOOM_API_BASE", "https://api.zoom.us/v2"),
        # Seconds a provider gets while the user waits on save; slower means a retried job.
        "CONFERENCE_INLINE_TIMEOUT": float(os.environ.get("CONFERENCE_INLINE_TIMEOUT", "3")),
        # Networks a user-typed URL (CalDAV, video-app webhooks) may reach although private,
        # comma separated CIDRs, e.g. a self-hosted CalDAV server "10.0.5.0/24". Empty:
        # loopback, private, link-local and reserved addresses are refused (webapp/outbound.py).
        "OUTBOUND_ALLOWED_NETWORKS": os.environ.get("OUTBOUND_ALLOWED_NETWORKS", ""),
        "API_RATE_LIMIT": int(os.environ.get("API_RATE_LIMIT", "300")),
        #: Requests a minute one address may make to the public scheduling-page endpoints
        #: (the JSON API and /book pages, #22).
        "BOOKING_RATE_LIMIT": int(os.environ.get("BOOKING_RATE_LIMIT", "60")),
        # Shared secret for POST /itip/reply (an inbound-mail hook posts iTIP REPLYs).
        "ITIP_INBOUND_TOKEN": os.environ.get("ITIP_INBOUND_TOKEN") or None,
    }


def engine_options(db_url: str) -> dict:
    """SQLAlchemy engine options for the database the app ends up with (create_app, after
    any overrides: a test may point the app at another database than DATABASE_URL's).
    On PostgreSQL every connection's session time zone is
    UTC, whatever the server's default: psycopg hands timestamptz values back in the
    session's zone, and only for exactly "UTC" does it skip a per-value zone conversion
    ("Etc/UTC", a common server default, is the same time but the slow path): about 40%
    of the client's time reading a week grid's 600 meetings (#21, #24)."""
    # Not pool_pre_ping (a round trip at every checkout): a connection is pinged when it
    # has been idle (webapp/pool.py, DATABASE_PING_IDLE_SECONDS).
    options: dict = {}
    if db_url.startswith("postgresql"):
        options["connect_args"] = {"options": "-c TimeZone=UTC"}
    return options
