"""Per-token rate limit: a fixed one-minute window, in Redis when there is one."""

from __future__ import annotations

import threading
import time

from flask import current_app

from webapp.jobs import call_redis

_local: dict[tuple[str, int], int] = {}
_lock = threading.Lock()


def hit(token_key: str, limit: int | None = None) -> tuple[bool, int]:
    """Count a request; returns (allowed, seconds until the window resets). limit: the
    requests allowed a minute (default API_RATE_LIMIT)."""
    limit = current_app.config["API_RATE_LIMIT"] if limit is None else limit
    now = time.time()
    window = int(now // 60)
    retry_after = 60 - int(now % 60)
    url = current_app.config.get("REDIS_URL")
    if url and current_app.config["JOBS_MODE"] == "rq":
        key = f"parley:rl:{token_key}:{window}"

        def count(conn) -> int:
            pipe = conn.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 120)  # the key names its minute: a later expiry is harmless
            return pipe.execute()[0]
        try:
            # The process's one client (short timeouts, behind the breaker): a new
            # connection per request cost a TCP handshake each and hung with Redis.
            return call_redis(count) <= limit, retry_after
        except Exception:  # Redis away: fall back to this process's count
            pass
    with _lock:
        for key in [k for k in _local if k[1] < window]:
            del _local[key]
        _local[(token_key, window)] = _local.get((token_key, window), 0) + 1
        return _local[(token_key, window)] <= limit, retry_after
