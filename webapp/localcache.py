"""A small per-process LRU with an expiry per entry: what results computed from the
database are kept in when they are keyed by everything they depend on (nothing to
invalidate; a change makes another key)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class LocalCache:
    """Entries of this process, each with its expiry (a small LRU)."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: str):
        with self.lock:
            found = self.items.get(key)
            if found is None or found[0] < time.monotonic():
                self.items.pop(key, None)
                return None
            self.items.move_to_end(key)
            return found[1]

    def put(self, key: str, value: str, ttl: float) -> None:
        with self.lock:
            self.items[key] = (time.monotonic() + ttl, value)
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
