"""gunicorn hooks every deployment of the web app shares (gunicorn.conf.py, and the
benchmarks' bench/gunicorn_conf.py, so that what is measured is what is deployed).

The preloaded app (modules, compiled templates, SQLAlchemy's mappers and statement
caches: some 200,000 objects) is moved out of the garbage collector's reach before the
workers fork (`gc.freeze()`). Otherwise every full collection in a worker walks all of
it again (about 0.3 ms a request on the scheduler form, #24) and, by touching each
object's header, copies the pages the workers would have shared with the master.

The youngest generation is then collected after 10,000 new container objects rather
than Python's 700: a drawn week grid with its overlay keeps a few thousand tuples alive
while it is drawn, so at 700 the collector ran about twice a view, walking them each
time, and every tenth run went on to the older generation (0.48 ms a view of the
overlay in collections, 0.07 ms at 10,000; docs/PERFORMANCE.md). Nearly everything a
request makes is freed by its reference count; what the collector is for (cycles) it
still finds, a few requests later.
"""

from __future__ import annotations

import gc


def when_ready(server) -> None:
    """Called in the master once the app is loaded (preload_app) and before any worker
    forks: what exists now lives as long as the process, so no collection need look at
    it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNGEST_THRESHOLD, *gc.get_threshold()[1:])


#: New container objects between collections of the youngest generation (Python: 700).
YOUNGEST_THRESHOLD = 10_000
