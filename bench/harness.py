"""Shared pieces: the production environment, gunicorn in its own process, logging in over
HTTP, wrk runs, and statistics. Every connection goes to 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PY = sys.executable
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
SMALL_DB = os.environ.get("BENCH_DB", f"{PG}/parley_bench")
BIG_DB = os.environ.get("BENCH_BIG_DB", f"{PG}/parley_bench_big")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
SECRET = "bench-secret-key-not-for-real-use-0123456789"


def app_root() -> Path:
    """The checkout whose product code runs (BENCH_APP_ROOT, else this one). Processes
    start there: `python -m` puts the working directory first on sys.path."""
    return Path(os.environ.get("BENCH_APP_ROOT") or ROOT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(db_url: str, base_url: str, **extra: str) -> dict:
    """The environment of a production deployment, pointed at loopback services."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("JOBS_MODE", "SMTP_URL", "FLASK_APP", "DATABASE_URL", "REDIS_URL")}
    env.update({
        "PARLEY_ENV": "production", "SECRET_KEY": SECRET, "DATABASE_URL": db_url,
        # A fixed test key (production requires one): 32 url-safe base64 bytes.
        "CALENDAR_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktbm90LWZvci1wcm9kdWN0aW8=",
        "REDIS_URL": REDIS_URL, "BASE_URL": base_url,
        # BENCH_APP_ROOT: serve another checkout of the product (before/after comparisons);
        # bench/ itself always comes from this one.
        "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("BENCH_APP_ROOT"), str(ROOT))
                                      if p),
        "UPLOAD_DIR": "/tmp/parley-bench-uploads", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def machine() -> dict:
    """nproc, memory, CPU model, versions: recorded with every result."""
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {
        "nproc": out(["nproc"]), "cpu_model": cpu, "free_h": out(["free", "-h"]),
        "kernel": platform.release(), "python": platform.python_version(),
        "postgres": out(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                         "SHOW server_version"]),
        "redis": out(["redis-server", "--version"]).split(" v=")[-1].split(" ")[0],
        "wrk": out(["wrk", "-v"]).splitlines()[0] if out(["wrk", "-v"]) else "",
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


class Gunicorn:
    """`gunicorn -c bench/gunicorn_conf.py bench.wsgi:app` on a free loopback port."""

    def __init__(self, db_url: str, workers: int | None = None, worker_class: str = "sync",
                 threads: int = 1, app: str = "bench.wsgi:app", env: dict | None = None,
                 python: str = PY, health: str = "/healthz"):
        self.port = free_port()
        self.python, self.health = python, health
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = db_url
        self.app = app
        self.extra = {"BENCH_BIND": f"127.0.0.1:{self.port}", "BENCH_WORKER_CLASS": worker_class,
                      "BENCH_THREADS": str(threads)}
        if workers:
            self.extra["BENCH_WORKERS"] = str(workers)
        self.extra.update(env or {})
        self.proc: subprocess.Popen | None = None
        self.log = RESULTS / "gunicorn.log"

    def __enter__(self) -> Gunicorn:
        RESULTS.mkdir(exist_ok=True)
        env = production_env(self.db_url, self.url, **self.extra)
        self.proc = subprocess.Popen(
            [self.python, "-m", "gunicorn", "-c", str(BENCH / "gunicorn_conf.py"), self.app],
            cwd=app_root(), env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.log.read_text()[-3000:])
            try:
                if request(self.url, "GET", self.health)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer {self.health} in 30 s")

    def pids(self) -> list[int]:
        """The master and its workers (for py-spy)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True).stdout.split()
        return [self.proc.pid, *map(int, out)]

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def request(base: str, method: str, path: str, body: dict | str | None = None,
            cookie: str | None = None) -> tuple[int, dict, bytes]:
    """One HTTP request to loopback, no redirects followed, no cookie jar."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = cookie
    data = None
    if body is not None:
        data = body if isinstance(body, str) else urllib.parse.urlencode(body, doseq=True)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()} | {
            "set-cookie-all": resp.headers.get_all("Set-Cookie") or []}, resp.read()
    finally:
        conn.close()


def _session_cookie(headers: dict) -> str | None:
    for raw in headers.get("set-cookie-all", []):
        pair = raw.split(";", 1)[0]
        if pair.startswith("parley_session="):
            return pair
    return None


def csrf_from(html: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no csrf_token in the page")
    return match.group(1).decode()


def login(base: str, email: str, password: str) -> tuple[str, str]:
    """Log in through the form (GET /login for the CSRF token, then POST).

    The production cookie is Secure, so no client would send it over http://127.0.0.1:
    the value is carried by hand. Returns (Cookie header, CSRF token of the new session)."""
    status, headers, html = request(base, "GET", "/login")
    cookie = _session_cookie(headers)
    token = csrf_from(html)
    status, headers, _ = request(base, "POST", "/login", {
        "csrf_token": token, "email": email, "password": password}, cookie)
    if status != 302:
        raise RuntimeError(f"login failed with HTTP {status}")
    cookie = _session_cookie(headers) or cookie
    # Login starts a fresh session with a fresh CSRF token (docs/SECURITY.md): read it from
    # a page of the new session.
    status, headers, html = request(base, "GET", "/meetings/new", cookie=cookie)
    if status != 200:
        raise RuntimeError(f"the scheduler answered HTTP {status} after login")
    return _session_cookie(headers) or cookie, csrf_from(html)


def cpu_seconds(pids: list[int], database: str | None = None) -> float:
    """User + system CPU seconds used so far by pids and by the PostgreSQL backends
    serving `database` (their process title names it)."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if pid not in pids:
                if database is None:
                    continue
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                if not (title.startswith(b"postgres:") and f" {database} ".encode() in title):
                    continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / hz


@dataclass
class WrkResult:
    name: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict
    bytes_per_request: float
    connections: int = 8
    #: CPU milliseconds per request: app (gunicorn), database backends, load generator.
    cpu_ms: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.requests > 0 and not any(self.errors.values())


def wrk(name: str, url: str, seconds: float, connections: int = 8, threads: int = 2,
        cookie: str | None = None, body: str | None = None, server: Gunicorn | None = None,
        database: str | None = None, cookies: list[str] | None = None) -> WrkResult:
    """Run wrk (a separate process) against url; parse the Lua summary line. With server
    (and database), also count the CPU time the app, PostgreSQL and wrk spent."""
    import resource

    env = dict(os.environ, BENCH_COOKIE=cookie or "", BENCH_BODY=body or "",
               BENCH_COOKIES="|".join(cookies or ()))
    cmd = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections),
           "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
           "-s", str(BENCH / "lua" / "bench.lua"), url]
    pids = server.pids() if server else []
    app_before = cpu_seconds(pids) if server else 0.0
    db_before = cpu_seconds([], database) if database else 0.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {"app": cpu_seconds(pids) - app_before if server else None,
           "db": cpu_seconds([], database) - db_before if database else None,
           "wrk": (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)}
    line = next((x for x in proc.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {proc.stdout}\n{proc.stderr}")
    d = json.loads(line[len("BENCH_JSON "):])
    lat = d["latency_us"]
    secs = d["duration_us"] / 1e6
    n = max(1, d["requests"])
    return WrkResult(name, d["requests"], round(secs, 2), round(d["requests"] / secs, 1),
                     lat["p50"] / 1000, lat["p90"] / 1000, lat["p95"] / 1000, lat["p99"] / 1000,
                     round(lat["mean"] / 1000, 2), lat["max"] / 1000, d["errors"],
                     round(d["bytes"] / n), connections,
                     {k: round(v * 1000 / n, 2) for k, v in cpu.items() if v is not None})


def summary(values: list[float]) -> dict:
    """Median, min, max and spread of repeated measurements."""
    values = sorted(values)
    return {"median": round(statistics.median(values), 2), "min": round(values[0], 2),
            "max": round(values[-1], 2), "n": len(values),
            "runs": [round(v, 2) for v in values]}


@dataclass
class Report:
    """Results of one benchmark part, saved as bench/results/<part>.json."""

    part: str
    data: dict = field(default_factory=dict)

    def save(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.part}.json"
        payload = {"part": self.part, "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                   "machine": machine(), **self.data}
        path.write_text(json.dumps(payload, indent=2, default=str))
        return path
