"""Rendered pages kept until anything in their account changes (docs/PERFORMANCE.md).

A rep goes back and forth between a record and its scheduler; both pages take 10-20 ms
of Python to render, and serving them again unchanged takes well under 1 ms.

- A page's key holds the viewer, the viewer's locale and zone, the URL, the current minute
  (so nothing that depends on the clock, or on a connected calendar's busy time, is older
  than a minute), the account's data version and a global version.
- Every commit that wrote a row of an account raises that account's version, after the
  commit (Redis INCR). A write whose account cannot be told (an ORM bulk UPDATE or DELETE,
  a row with no account and no loaded meeting) raises the global version instead, which
  invalidates every page. Rows that no cached page shows (mail delivery bookkeeping) raise
  nothing.
- Versions live in Redis, so every web and worker process sees a change at once; bodies
  stay in each web process (a small LRU), so a deploy starts empty. Without Redis (the
  embedded default) nothing is cached; when Redis cannot be reached, pages render as usual.
- The session's CSRF token is cut out of the stored body and the current session's token
  is put back in on every hit, so a cached page posts from any of the viewer's sessions.

Only the views decorated with `cached_page` are cached, only for logged-in GETs of full
pages (never htmx partials, never a page with flashed messages waiting). A hit is served
by a before_request hook from the signed session alone, before the user is loaded.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from functools import wraps

import sqlalchemy as sa
from flask import Flask, current_app, g, request, session
from flask_login import current_user, user_logged_in

log = logging.getLogger(__name__)

PREFIX = "parley:pagever:"
GLOBAL = "global"
#: Stands for the CSRF token in a stored body. Random per process, so no user text can
#: contain it (a fixed mark in a contact's name was replaced by the viewer's token).
CSRF_MARK = f"__parley_csrf_{secrets.token_hex(16)}__"
#: Tables whose rows no cached page shows (the record page and the new-meeting scheduler):
#: writing them must not throw pages away, or a burst of sends or reminders would
#: re-render every page of the account once per email. A cached page that starts showing
#: one of these must take it off this list.
UNSHOWN_TABLES = frozenset({"outbox_messages", "captured_mails", "login_throttles", "reminders",
                            "calendar_syncs", "conference_tasks", "api_tokens",
                            "user_sessions"})
_PENDING = "parley_pagecache_accounts"
_listening = False


class _Bodies:
    """A thread-safe LRU of rendered bodies for this process."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: tuple, value: tuple[str, str]) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def init_app(app: Flask) -> None:
    """Set up the body store, and the session hooks that raise versions on commit."""
    app.extensions["parley_pagecache"] = _Bodies(app.config.get("PAGE_CACHE_ENTRIES", 200))
    app.before_request_funcs.setdefault(None, []).insert(0, _serve_hit)
    user_logged_in.connect(_remember_account, app)
    from webapp.extensions import db

    global _listening
    if not _listening:  # db.session is shared by every app of the process
        sa.event.listen(db.session, "after_flush", _after_flush)
        sa.event.listen(db.session, "do_orm_execute", _orm_execute)
        sa.event.listen(db.session, "after_commit", _after_commit)
        _listening = True


def enabled(app: Flask | None = None) -> bool:
    app = app or current_app
    return bool(app.config.get("REDIS_URL")) and app.config.get("PAGE_CACHE_SECONDS", 0) > 0


def _redis(app: Flask, action):
    """action(client) through the breaker of webapp.jobs.call_redis."""
    from webapp.jobs import call_redis
    return call_redis(action, app)


# --- raising versions ---------------------------------------------------------------------

def _account_of(obj) -> int | str | None:
    """The account a changed row belongs to; GLOBAL when it cannot be told; None when no
    cached page shows the row."""
    table = getattr(obj, "__tablename__", None)
    if table in UNSHOWN_TABLES:
        return None
    if table == "accounts":
        return obj.id
    account_id = getattr(obj, "account_id", None)
    if account_id is not None:
        return account_id
    # Attendees, reminders, attachments: their meeting, when it is loaded (as it is when
    # they were added through it). Never load it here, inside a flush.
    meeting = obj.__dict__.get("meeting")
    if meeting is not None and getattr(meeting, "account_id", None) is not None:
        return meeting.account_id
    return GLOBAL


def _after_flush(session, _flush_context) -> None:
    pending = session.info.setdefault(_PENDING, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        found = _account_of(obj)
        if found is not None:
            pending.add(found)


def account_changed(account_id: int) -> None:
    """Throw away the account's pages at the next commit, for a change no row of theirs
    shows: a session that ended must not be served a page kept for it."""
    from webapp.extensions import db
    db.session.info.setdefault(_PENDING, set()).add(account_id)


def _orm_execute(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    table = getattr(getattr(mapper, "local_table", None), "name", None)
    if table in UNSHOWN_TABLES:
        return
    state.session.info.setdefault(_PENDING, set()).add(GLOBAL)


def _after_commit(session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        app = current_app._get_current_object()
    except RuntimeError:
        return  # no app: nothing can have cached a page
    if not enabled(app):
        return
    try:
        def incr(conn):
            pipe = conn.pipeline(transaction=False)
            for account in pending:
                pipe.incr(PREFIX + str(account))
            pipe.execute()
        _redis(app, incr)
    except Exception as exc:  # pages then live at most a minute (the key's minute)
        log.warning("could not raise page versions %s: %s", sorted(map(str, pending)), exc)


# --- serving ------------------------------------------------------------------------------
#
# A hit is answered before anything else runs, from the signed session alone: no user is
# loaded and no query is made. That is safe because everything a page depends on, the
# user's own row included (name, zone, language), is in their account, whose version is in
# the key; a user who was deleted changes the version, so their next view misses, loads
# the user as usual, and is sent to the login page.

SESSION_ACCOUNT = "_parley_account"
ENV_KEY, ENV_HIT = "parley.page_cache_key", "parley.page_cache_hit"


def served_from_cache() -> bool:
    """Whether this request's response came from the cache (no user was loaded)."""
    return bool(request.environ.get(ENV_HIT))


def _remember_account(_app, user, **_kw) -> None:
    session[SESSION_ACCOUNT] = user.account_id


def _cached_view() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "_parley_cached_page", False)


def _key(app: Flask) -> tuple | None:
    """The page's key for this request, or None when it must not come from the cache."""
    if request.method != "GET" or "HX-Request" in request.headers \
            or len(request.full_path) > 600 or not _cached_view():
        return None
    user_id, account_id = session.get("_user_id"), session.get(SESSION_ACCOUNT)
    if user_id is None or account_id is None or session.get("_flashes"):
        return None
    from webapp.auth.sessions import cookie_alive
    if not cookie_alive():
        return None  # the user loader ends it
    try:
        versions = _redis(app, lambda conn: conn.mget(PREFIX + GLOBAL,
                                                     PREFIX + str(account_id)))
    except Exception as exc:
        log.warning("page versions unreadable: %s", exc)
        return None
    period = int(time.time() // app.config["PAGE_CACHE_SECONDS"])
    # The language: the user's setting (in the account), else these two (select_locale).
    return (account_id, user_id, *(v or b"0" for v in versions), session.get("lang"),
            request.headers.get("Accept-Language", ""), request.full_path, period)


def _serve_hit():
    """before_request, ahead of every other: answer from the cache when the page is there."""
    app = current_app._get_current_object()
    if not enabled(app):
        return None
    key = _key(app)
    if key is None:
        return None
    request.environ[ENV_KEY] = key
    hit = app.extensions["parley_pagecache"].get(key)
    if hit is None:
        return None
    from flask_wtf.csrf import generate_csrf
    body, mimetype = hit
    request.environ[ENV_HIT] = True
    response = app.response_class(body.replace(CSRF_MARK, generate_csrf()), mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"  # as every logged-in page
    response.headers["X-Parley-Page-Cache"] = "hit"
    return response


def cached_page(view):
    """Keep view's full page for logged-in GETs while nothing in the account changes."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        rv = view(*args, **kwargs)
        app = current_app._get_current_object()
        if not enabled(app) or request.method != "GET" or not current_user.is_authenticated:
            return rv
        if session.get(SESSION_ACCOUNT) != current_user.account_id:
            session[SESSION_ACCOUNT] = current_user.account_id  # keys start with the next view
        key = request.environ.get(ENV_KEY)
        response = app.make_response(rv)
        if key is None or key[1] != session.get("_user_id"):
            return response
        if response.status_code == 200 and response.mimetype == "text/html" \
                and not response.direct_passthrough and not session.get("_flashes"):
            body = response.get_data(as_text=True)
            token = g.get("csrf_token")
            if token:
                body = body.replace(token, CSRF_MARK)
            app.extensions["parley_pagecache"].put(key, (body, response.mimetype))
            response.headers["X-Parley-Page-Cache"] = "miss"
        return response
    wrapper._parley_cached_page = True
    return wrapper


# --- values kept the same way (#22: a scheduling page's free slots) -----------------------

def kept(account_id: int, key: tuple, compute):
    """compute()'s value, kept in this process under key while nothing in the account
    changes, for at most PAGE_CACHE_SECONDS (busy time read from a connected calendar is
    never older than that). Without Redis, or when it cannot be read: computed each time."""
    app = current_app._get_current_object()
    if not enabled(app):
        return compute()
    try:
        versions = _redis(app, lambda conn: conn.mget(PREFIX + GLOBAL,
                                                     PREFIX + str(account_id)))
    except Exception as exc:
        log.warning("page versions unreadable: %s", exc)
        return compute()
    store = app.extensions.setdefault("parley_valuecache", _Bodies(
        app.config.get("PAGE_CACHE_ENTRIES", 200)))
    full = (account_id, *(v or b"0" for v in versions),
            int(time.time() // app.config["PAGE_CACHE_SECONDS"]), *key)
    hit = store.get(full)
    if hit is not None:
        return hit[0]
    value = compute()
    store.put(full, (value, ""))
    return value
