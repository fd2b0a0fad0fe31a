"""Browser tests: Playwright with Debian's Chromium against the real app in its own process.

The app runs under gunicorn in a separate process on a free loopback port, on the same
database as the tests (DATABASE_URL, else a SQLite file), and on the tests' clock (a
test-only setting: PARLEY_TESTING=1 with PARLEY_TEST_CLOCK_OFFSET). The schema comes from
the `app` fixture of the root conftest.py (Alembic upgrade); demo rows are written by the
test process and removed after each test (browser tests are `committing`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.support import free_port, wipe

ROOT = Path(__file__).resolve().parent.parent
E2E_DIR = Path(__file__).resolve().parent
ARTIFACTS = E2E_DIR / "artifacts"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"
HEALTH_TIMEOUT = 20.0
VIEWPORTS = ["desktop", "phone"]

expect.set_options(timeout=5_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("Browser tests need Chromium: install it (Debian: apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_ARGS}


# --- the app in its own process -------------------------------------------------------

class AppServer:
    """`gunicorn wsgi:app` on a free loopback port, with the e2e environment."""

    def __init__(self, database_url: str, workdir: Path, name: str = "server",
                 workers: int = 2, *, clock_offset: float):
        self.db_url = database_url
        self.clock_offset = clock_offset
        self.workdir = workdir
        self.name = name
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        self.log_path = ARTIFACTS / (f"{name}-{worker}.log" if worker else f"{name}.log")
        self._log = None

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("SMTP_URL", "REDIS_URL", "PARLEY_ENV")}
        env.update({
            "DATABASE_URL": self.db_url,
            "JOBS_MODE": "thread",
            "SECRET_KEY": "e2e-secret",
            "BASE_URL": self.url,
            "SESSION_COOKIE_NAME": "parley_e2e",
            "UPLOAD_DIR": str(self.workdir / "uploads"),
            "PYTHONUNBUFFERED": "1",
            # Radicale and the stand-ins listen on loopback (production allows none).
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
            # The tests' clock (tests/clock.py), honoured only because PARLEY_TESTING is on.
            "PARLEY_TESTING": "1",
            "PARLEY_TEST_CLOCK_OFFSET": repr(self.clock_offset),
        })
        return env

    def start(self) -> AppServer:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(self.workers),
             "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "3",
             "--access-logfile", "-", "wsgi:app"],
            cwd=ROOT, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   + self.log_path.read_text(errors="replace")[-4000:])
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: GET /healthz did not answer 200 within "
                                   f"{HEALTH_TIMEOUT:.0f} s:\n"
                                   + self.log_path.read_text(errors="replace")[-4000:])
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Terminate gunicorn (it stops its workers) and wait until the port is closed."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, 9)
                    self.proc.wait(timeout=5)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


@pytest.fixture(scope="session")
def live_server(app, db_url, tmp_path_factory, clock_offset) -> Iterator[str]:
    """Base URL of the shared app server (started once, after the schema exists)."""
    server = AppServer(db_url, tmp_path_factory.mktemp("live"), name="live-server",
                       clock_offset=clock_offset).start()
    yield server.url
    server.stop()


@pytest.fixture()
def stoppable_server(request, app, db_url, tmp_path, clock_offset) -> Iterator[AppServer]:
    """A server of the test's own: the test may call .stop() on it (offline tests)."""
    name = "server-" + re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
    server = AppServer(db_url, tmp_path, name=name, clock_offset=clock_offset).start()
    yield server
    server.stop()


# --- data --------------------------------------------------------------------------------

@pytest.fixture()
def demo(app):
    """The demo accounts (webapp.cli.seed_demo, 12 contacts); the database is wiped after.

    Log in as demo@example.com / demo (account Acme).
    """
    from webapp.cli import seed_demo
    from webapp.extensions import db as _db

    wipe(app)
    with app.app_context():
        assert seed_demo(contacts=12)
        _db.session.commit()
        _db.session.remove()
    yield {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "account": "Acme"}
    wipe(app)


# --- browser helpers ---------------------------------------------------------------------

def wait_for(check: Callable[[], object], what: str, timeout: float = 20.0):
    """check()'s first truthy value, polled every 0.2 s (work done by another process: a
    live server's relay, a stand-in provider); fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as e2e/artifacts/<name>.png (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def context_options(playwright: Playwright, variant: str) -> dict:
    """Browser context options for a viewport setup: "desktop" or "phone" (Pixel 7)."""
    if variant == "desktop":
        options = {"viewport": {"width": 1280, "height": 800}}
    elif variant == "phone":
        options = dict(playwright.devices["Pixel 7"])
        options.pop("default_browser_type", None)
    else:
        raise ValueError(variant)
    # English unless a test switches: Accept-Language decides before login.
    return {**options, "locale": "en-US", "timezone_id": "America/New_York"}


def login(page: Page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form; the app lands on the contacts list."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/contacts")


def open_menu(page: Page) -> None:
    """On a phone, open the app bar's menu (its links fold behind the menu button)."""
    button = page.locator("#menu-toggle")
    if button.is_visible() and button.get_attribute("aria-expanded") != "true":
        button.click()


@pytest.fixture(params=VIEWPORTS)
def ui(request, browser: Browser, playwright: Playwright, live_server: str) -> Iterator[Page]:
    """A page in a fresh context on the shared server, for each viewport setup."""
    context = browser.new_context(base_url=live_server,
                                  **context_options(playwright, request.param))
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture()
def ui_name(request) -> str:
    """"desktop" or "phone": the `ui` parameter of the running test."""
    return request.node.callspec.params["ui"]
