"""The values kept by account version (webapp/pagecache.py): the `cache_on` fixture that the
scheduling pages' tests use. Whole pages are no longer kept (#24 removed the page cache):
tests/test_fresh_pages.py checks that every view is rendered."""

from __future__ import annotations

import fakeredis
import pytest

FAKE_URL = "redis://127.0.0.1:1/15"  # never dialled: the client below stands in for it


@pytest.fixture()
def cache_on(app):
    """Kept values on, with versions in a fake Redis; emptied before and after."""
    saved = {k: app.config[k] for k in ("REDIS_URL", "PAGE_CACHE_SECONDS", "JOBS_MODE")}
    app.config.update(REDIS_URL=FAKE_URL, PAGE_CACHE_SECONDS=60)
    fake = fakeredis.FakeRedis()
    app.extensions.setdefault("parley_redis", {})[FAKE_URL] = fake
    app.extensions.pop("parley_valuecache", None)
    app.extensions.pop("parley_redis_breaker", None)  # a test with Redis away trips it
    yield fake
    app.config.update(saved)
    app.extensions["parley_redis"].pop(FAKE_URL, None)
    app.extensions.pop("parley_valuecache", None)
    app.extensions.pop("parley_redis_breaker", None)
