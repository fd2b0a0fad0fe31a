"""The free slots a public page shows for a month, kept while nothing in the page's
account changes (request side, read only).

A month of a round-robin page's free time costs tens of milliseconds of CPU (every
member's hours, meetings and buffers over ~22 working days, cut into starts), and a
visitor moving between days and months asks for the same month again and again. The key
follows the page cache's rules (webapp/pagecache.py): the account's data version and the
global version from Redis (raised by every commit that writes a row of the account: a
booking, a meeting, a change of hours or of the page), the page's own row, the visitor's
zone, duration and days, and the current period of PAGE_CACHE_SECONDS, so nothing that
depends on the clock or on a connected calendar's busy time is older than that. Without
Redis, or with the page cache off, every request computes its slots.

A slot shown from here can have been taken meanwhile only by what the version cannot
see (a connected calendar's new event, within the period); booking it checks again
under the host lock and answers "this time was just taken" with fresh slots.

This wraps webapp.booking.slots.free_slots and changes nothing of its rules; the JSON slots
endpoint could use it too.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import date, datetime

from flask import current_app

from webapp import pagecache
from webapp.booking import slots as booking_slots

ENTRIES = 500


class _Store:
    """A thread-safe LRU of computed months for this process."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[tuple, list[datetime]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> list[datetime] | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: tuple, value: list[datetime]) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_store = _Store(ENTRIES)


def clear() -> None:
    _store.clear()


def _key(page, first: date, last: date, zone: str, duration: int) -> tuple | None:
    app = current_app._get_current_object()
    if not pagecache.enabled(app):
        return None
    try:
        versions = pagecache._redis(app, lambda conn: conn.mget(
            pagecache.PREFIX + pagecache.GLOBAL, pagecache.PREFIX + str(page.account_id)))
    except Exception:  # Redis away: compute, as the pages render
        return None
    period = int(time.time() // app.config["PAGE_CACHE_SECONDS"])
    return (page.id, page.updated_at, *(v or b"0" for v in versions), zone, duration,
            first, last, period)


def month_slots(page, first: date, last: date, zone: str, duration: int, now: datetime,
                hosts: list) -> list[datetime]:
    """booking.slots.free_slots(page, first, last, zone, duration), from the store when
    nothing in the account changed within the period."""
    key = _key(page, first, last, zone, duration)
    found = _store.get(key) if key is not None else None
    if found is None:
        found = booking_slots.free_slots(page, first, last, zone, duration, now=now,
                                         hosts=hosts)
        if key is not None:
            _store.put(key, found)
    return found
