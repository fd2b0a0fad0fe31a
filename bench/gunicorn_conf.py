"""gunicorn configuration for every web benchmark (the product's and the constant route).

Sync workers, one per core plus one: the pages are CPU-bound and PostgreSQL shares the
cores, so more processes only add context switches (see docs/PERFORMANCE.md for the
comparison that chose this). No access log, as behind a proxy that logs.
"""

import multiprocessing
import os

bind = os.environ.get("BENCH_BIND", "127.0.0.1:8011")
workers = int(os.environ.get("BENCH_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = os.environ.get("BENCH_WORKER_CLASS", "sync")
threads = int(os.environ.get("BENCH_THREADS", "1"))
preload_app = True
accesslog = None
errorlog = "-"
loglevel = "warning"
graceful_timeout = 5
timeout = 60

# The product's hook (webapp/serving.py): the preloaded heap frozen before the workers fork.
# BENCH_GC_FREEZE=0 leaves it out (to measure what it gains).
# BENCH_APP_ROOT may be a checkout from before the hook (bench/compare.py).
if os.environ.get("BENCH_GC_FREEZE", "1") != "0":
    try:
        from webapp.serving import when_ready  # noqa: F401  (a gunicorn hook, by its name)
    except ImportError:
        pass
