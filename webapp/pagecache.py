"""Account versions, and values kept by them (#22: a scheduling page's free slots).

- Every commit that wrote a row of an account raises that account's version, after the
  commit (Redis INCR). A write whose account cannot be told (an ORM bulk UPDATE or DELETE,
  a row with no account and no loaded meeting) raises the global version instead. Rows
  that no kept value depends on (mail delivery bookkeeping, sessions) raise nothing.
- `kept()` keeps a value in this process while the account's version is unchanged, a
  minute at most (PAGE_CACHE_SECONDS). Without Redis (the embedded default), or when it
  cannot be read, the value is computed each time.

Whole pages are no longer kept: the page cache that served the record page and the
scheduler was removed in #24 (docs/PERFORMANCE.md: in an account where reps save every
second it served nothing). The settings keep their names (PAGE_CACHE_SECONDS,
PAGE_CACHE_ENTRIES) for the values kept here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

import sqlalchemy as sa
from flask import Flask, current_app

log = logging.getLogger(__name__)

PREFIX = "parley:pagever:"
GLOBAL = "global"
#: Tables whose rows no kept value depends on: writing them must not throw values away, or
#: a burst of sends or reminders would recompute them once per email. A kept value that
#: starts depending on one of these must take it off this list.
UNSHOWN_TABLES = frozenset({"outbox_messages", "captured_mails", "login_throttles", "reminders",
                            "calendar_syncs", "conference_tasks", "api_tokens",
                            "user_sessions"})
_PENDING = "parley_pagecache_accounts"
_listening = False


class _Bodies:
    """A thread-safe LRU of kept values for this process."""

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
    """The session hooks that raise versions on commit."""
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
    kept value depends on the row."""
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
        return  # no app: nothing can have kept a value
    if not enabled(app):
        return
    try:
        def incr(conn):
            pipe = conn.pipeline(transaction=False)
            for account in pending:
                pipe.incr(PREFIX + str(account))
            pipe.execute()
        _redis(app, incr)
    except Exception as exc:  # values then live at most a minute (the key's minute)
        log.warning("could not raise page versions %s: %s", sorted(map(str, pending)), exc)


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
