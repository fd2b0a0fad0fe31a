"""Busy time from a user's connected calendars, for the pages, the API and rotations. A
calendar that cannot be read is reported by name so the caller can say busy time may be
incomplete, instead of showing the user as free.

Busy time is read per (user, range) and kept BUSY_CACHE_SECONDS (Redis when REDIS_URL is
set, through the short-timeout client behind the breaker, webapp.jobs.call_redis; else
this process), and always for the rest of the transaction. A calendar's failure is kept
as long: a provider that is down is not asked again on every page. The key holds the
connections and the calendars that count, so changing them in Settings reads afresh.

`fetch=False` never calls a provider (a save under a lock: a rotation booking): what is
not cached counts as not readable, never as free.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cache

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from webapp.availability import engine
from webapp.calendars.names import PROVIDER_NAMES, calendar_label, named_calendar  # noqa: F401
from webapp.extensions import db
from webapp.localcache import LocalCache

PREFIX = "parley:busy:"
_MEMO = "parley_busy_read"
_LOCAL_ENTRIES = 2000


LOCAL = LocalCache(_LOCAL_ENTRIES)
#: Entries already decoded in this process: (text, busy periods, unreadable) by key.
#: Making a few thousand Busy periods costs several milliseconds a member; a cached
#: entry read again (from Redis or this process) is only compared, then reused.
DECODED = LocalCache(_LOCAL_ENTRIES)


def _connections(user_ids: list[int]):
    from webapp.calendars.models import CalendarConnection
    return list(db.session.scalars(
        sa.select(CalendarConnection).where(CalendarConnection.user_id.in_(user_ids))
        .options(so.selectinload(CalendarConnection.calendars))
        .order_by(CalendarConnection.id)))


def _signatures(user_ids: list[int]) -> dict[int, list]:
    """What a user's cache key holds, per user with a connection, in one plain query (no
    ORM objects: a cache hit needs nothing else): each connection's id, state and the
    calendars that count."""
    rows = db.session.connection().execute(_signatures_statement(),
                                           {"user_ids": user_ids}).all()
    out: dict[int, dict] = {}
    for user_id, cid, status, version, url, external_id, counts in rows:
        conn = out.setdefault(user_id, {}).setdefault(cid, [cid, status, version, url, []])
        if external_id is not None and counts:
            conn[4].append(external_id)
    return {u: list(conns.values()) for u, conns in out.items()}


@cache
def _signatures_statement():
    """_signatures()'s SELECT, built once a process and run as Core: building it and the
    ORM's handling of a column query cost more than the query (every week grid and
    rotation reads it, #21, #24)."""
    from webapp.calendars.models import CalendarConnection as C
    from webapp.calendars.models import ConnectionCalendar as K
    return (sa.select(C.user_id, C.id, C.status, C.token_version, C.caldav_calendar_url,
                      K.external_id, K.counts_for_busy)
            .outerjoin(K, K.connection_id == C.id)
            .where(C.user_id.in_(sa.bindparam("user_ids", expanding=True)))
            .order_by(C.id, K.external_id))


def _key(user_id: int, start: datetime, end: datetime, parts: list) -> str:
    sig = hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()[:16]
    return f"{PREFIX}{user_id}:{int(start.timestamp())}:{int(end.timestamp())}:{sig}"


def _encode(busy: list[engine.Busy], unreadable: list[str]) -> str:
    return json.dumps({"b": [[b.start.timestamp(), b.end.timestamp(), b.calendar, b.title]
                             for b in busy], "u": unreadable})


def _decode(text: str) -> tuple[list[engine.Busy], list[str]]:
    data = json.loads(text)
    stamp = datetime.fromtimestamp
    return ([engine.Busy(stamp(s, UTC), stamp(e, UTC), c, t) for s, e, c, t in data["b"]],
            list(data["u"]))


def _shared_get(key: str) -> str | None:
    if current_app.config.get("REDIS_URL"):
        from webapp.jobs import call_redis
        try:
            found = call_redis(lambda conn: conn.get(key))
            return found.decode() if isinstance(found, bytes) else found
        except Exception:  # Redis away: this process's entries serve
            pass
    return LOCAL.get(key)


def _shared_put(key: str, value: str, ttl: int) -> None:
    if current_app.config.get("REDIS_URL"):
        from webapp.jobs import call_redis
        try:
            call_redis(lambda conn: conn.set(key, value, ex=ttl))
            return
        except Exception:
            pass
    LOCAL.put(key, value, ttl)


def _read(conns, start: datetime, end: datetime) -> tuple[list[engine.Busy], list[str]]:
    from webapp.calendars import connections
    busy, unreadable = [], []
    for conn in conns:
        periods, failed = connections.busy_periods(conn, start, end)
        busy += [engine.Busy(s, e, name, title) for s, e, name, title in periods]
        unreadable += failed
    return busy, unreadable


def _selected_names(conns) -> list[str]:
    from webapp.calendars import connections
    return [c.name if c.id is None else named_calendar(c.name, conn.provider)
            for conn in conns for c in connections.calendars_of(conn) if c.counts_for_busy]


def external_busy(user, start: datetime, end: datetime, *,
                  fetch: bool = True) -> tuple[list[engine.Busy], list[str]]:
    """(busy periods of the user's connected calendars that count for busy time, each
    named by its calendar and carrying the event's title when the provider gives one;
    names of the calendars not readable). fetch=False: from the cache only."""
    return external_busy_many([user], start, end, fetch=fetch)[user.id]


def external_busy_many(users, start: datetime, end: datetime, *, fetch: bool = True,
                       stamps: dict | None = None
                       ) -> dict[int, tuple[list[engine.Busy], list[str]]]:
    """external_busy() of several users over one range (one query for their
    connections): what a rotation reads for its members. stamps: a dict that receives,
    per user with a connection, what changes when their cached busy time does (the
    entry's key and a digest of its text): what a cached month of slots is keyed by."""
    ids = list(dict.fromkeys(u.id for u in users))
    signatures = _signatures(ids) if ids else {}
    memo = db.session().info.setdefault(_MEMO, {})
    ttl = int(current_app.config.get("BUSY_CACHE_SECONDS", 0))
    out, missing = {}, {}
    for user_id in ids:
        if user_id not in signatures:
            out[user_id] = ([], [])
            continue
        key = _key(user_id, start, end, signatures[user_id])
        text = memo.get(key) or (_shared_get(key) if ttl > 0 else None)
        if text is None:
            missing[user_id] = key
            continue
        memo[key] = text
        out[user_id] = _decoded(key, text)
        if stamps is not None:
            stamps[user_id] = (key, hash(text))
    if missing:
        by_user: dict[int, list] = {u: [] for u in missing}
        for conn in _connections(list(missing)):
            by_user[conn.user_id].append(conn)
        for user_id, key in missing.items():
            if not fetch:
                out[user_id] = ([], _selected_names(by_user[user_id]))
                continue
            text = _encode(*_read(by_user[user_id], start, end))
            if ttl > 0:
                _shared_put(key, text, ttl)
            memo[key] = text
            out[user_id] = _decoded(key, text)
            if stamps is not None:
                stamps[user_id] = (key, hash(text))
    return out


def _decoded(key: str, text: str) -> tuple[list[engine.Busy], list[str]]:
    known = DECODED.get(key)
    if known is None or known[0] != text:
        known = (text, *_decode(text))
        DECODED.put(key, known, 3600)
    return list(known[1]), list(known[2])


def _forget(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_MEMO, None)


sa.event.listen(db.session, "after_transaction_end", _forget)
