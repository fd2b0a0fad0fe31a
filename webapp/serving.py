"""gunicorn hooks every deployment of the web app shares (gunicorn.conf.py, and the
benchmarks' bench/gunicorn_conf.py, so that what is measured is what is deployed).

The preloaded app (modules, compiled templates, SQLAlchemy's mappers and statement
caches: some 200,000 objects) is moved out of the garbage collector's reach before the
workers fork (`gc.freeze()`). Otherwise every full collection in a worker walks all of
it again (about 0.3 ms a request on the scheduler form, #24) and, by touching each
object's header, copies the pages the workers would have shared with the master.
"""

from __future__ import annotations

import gc


def when_ready(server) -> None:
    """Called in the master once the app is loaded (preload_app) and before any worker
    forks: what exists now lives as long as the process, so no collection need look at
    it."""
    gc.collect()
    gc.freeze()
