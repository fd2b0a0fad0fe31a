"""Indico's event page as a peer row of the web benchmark (#24).

Indico (https://getindico.io, CERN's event manager) is a Flask + SQLAlchemy + PostgreSQL
application of Parley's kind; its event page with a timetable of 20 items is measured in
the same rounds as Parley's record page (20 timeline items), under the same gunicorn
configuration, by the same wrk. Indico is not a dependency of Parley: it is installed in
a virtualenv of its own, and the peer row is measured only when that exists:

    python3.11 -m venv /opt/indico-venv
    /opt/indico-venv/bin/pip install 'indico==3.2.9' gunicorn
    INDICO_VENV=/opt/indico-venv make bench

(Indico 3.3 needs Python 3.12.2 or newer; 3.2.9 is the last release for Python 3.11, the
Python of this machine.) `prepare()` writes a configuration under /tmp, creates the
database `parley_bench_indico` (emptied first) with `indico db prepare`, and adds a public
meeting with 20 contributions in its timetable.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.harness import PG, Gunicorn

VENV = os.environ.get("INDICO_VENV", "")
DB_NAME = "parley_bench_indico"
HOME = Path("/tmp/parley-bench-indico")

CONFIG = """\
SQLALCHEMY_DATABASE_URI = '{db}'
SECRET_KEY = 'bench-only-secret-key-not-for-real-use-0123456789'
BASE_URL = '{base}'
CELERY_BROKER = 'redis://127.0.0.1:6379/12'
REDIS_CACHE_URL = 'redis://127.0.0.1:6379/13'
DEFAULT_TIMEZONE = 'Europe/Berlin'
DEFAULT_LOCALE = 'en_GB'
ENABLE_ROOMBOOKING = False
CACHE_DIR = '{home}/cache'
TEMP_DIR = '{home}/tmp'
LOG_DIR = '{home}/log'
STORAGE_BACKENDS = {{'default': 'fs:{home}/archive'}}
ATTACHMENT_STORAGE = 'default'
SMTP_SERVER = ('127.0.0.1', 2525)
SUPPORT_EMAIL = 'root@localhost'
PUBLIC_SUPPORT_EMAIL = 'root@localhost'
NO_REPLY_EMAIL = 'noreply@localhost'
DEBUG = False
DISABLE_CELERY_CHECK = True
"""

#: Run by Indico's own Python: a public meeting with 20 timetable items; prints its id.
MAKE_EVENT = """
from datetime import datetime, timedelta
import pytz
from indico.web.flask.app import make_app
app = make_app()
with app.app_context():
    from indico.core.db import db
    from indico.core.db.sqlalchemy.protection import ProtectionMode
    from indico.modules.categories import Category
    from indico.modules.events.contributions.models.contributions import Contribution
    from indico.modules.events.models.events import Event, EventType
    from indico.modules.events.timetable.operations import schedule_contribution
    from indico.modules.users import User
    start = pytz.timezone('Europe/Berlin').localize(datetime(2026, 12, 10, 9, 0))
    event = Event(category=Category.get_root(), title='Sales kickoff', type_=EventType.meeting,
                  start_dt=start, end_dt=start + timedelta(hours=10), timezone='Europe/Berlin',
                  creator=User.get_system_user(), description='Twenty agenda items.')
    event._last_friendly_contribution_id = 0
    event._last_friendly_session_id = 0
    event.protection_mode = ProtectionMode.public
    db.session.add(event)
    db.session.commit()
    for i in range(20):
        item = Contribution(event=event, title=f'Item {i}: pricing, timeline, next steps',
                            duration=timedelta(minutes=25), description='Agenda item')
        db.session.add(item)
        db.session.flush()
        schedule_contribution(item, start + timedelta(minutes=30 * i))
    db.session.commit()
    print('EVENT', event.id)
"""


def available() -> bool:
    return bool(VENV) and (Path(VENV) / "bin" / "indico").exists()


def _env(base: str) -> dict:
    return {"INDICO_CONFIG": str(HOME / "indico.conf"), "PYTHONWARNINGS": "ignore"}


def prepare(base: str) -> int:
    """A fresh Indico database with one event; returns the event's id."""
    for sub in ("cache", "tmp", "log", "archive"):
        (HOME / sub).mkdir(parents=True, exist_ok=True)
    db = f"{PG}/{DB_NAME}"
    (HOME / "indico.conf").write_text(CONFIG.format(db=db, base=base, home=HOME))
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION unaccent")
        conn.execute("CREATE EXTENSION pg_trgm")
    env = dict(os.environ, **_env(base))
    subprocess.run([f"{VENV}/bin/indico", "db", "prepare"], env=env, check=True,
                   capture_output=True, cwd=HOME, timeout=600)
    out = subprocess.run([f"{VENV}/bin/python", "-c", MAKE_EVENT], env=env, check=True,
                         capture_output=True, text=True, cwd=HOME, timeout=300).stdout
    return int(next(line.split()[1] for line in out.splitlines() if line.startswith("EVENT")))


@contextmanager
def server(workers: int | None = None, enabled: bool = True):
    """Indico under bench/gunicorn_conf.py, its event page ready: yields (server, path),
    or (None, None) when it is not installed (or not enabled)."""
    if not (enabled and available()):
        yield None, None
        return
    probe = Gunicorn("", workers=workers)  # only for its free port and URL
    event = prepare(probe.url)
    (HOME / "indico_wsgi.py").write_text(
        "from indico.web.flask.app import make_app\napplication = make_app()\n")
    path = f"/event/{event}/"
    g = Gunicorn(f"{PG}/{DB_NAME}", workers=workers, app="indico_wsgi:application",
                 python=f"{VENV}/bin/python", health=path,
                 env={**_env(probe.url), "PYTHONPATH": str(HOME)})
    g.port, g.url = probe.port, probe.url
    g.extra["BENCH_BIND"] = f"127.0.0.1:{probe.port}"
    with g:
        yield g, path
