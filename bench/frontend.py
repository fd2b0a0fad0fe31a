"""Front-end budgets for the record page, in Debian's Chromium through Playwright, with a
phone profile (Pixel 7: 412x915, touch, mobile user agent) on loopback.

- Weight: every response of a cold first visit (no HTTP cache, no service worker yet) is
  recorded with its body. gunicorn sends bodies uncompressed, so the compressed size is
  computed here: gzip level 6 (what nginx or a CDN is configured with, typically) and
  level 1 (nginx's default). The service worker's precache requests, which follow the
  load event, are listed separately (they fill its cache for later visits).
- DOMContentLoaded: Navigation Timing of cold loads (new context each) and warm loads
  (second visit in the same context), without and with 4x CPU throttling.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from bench import datagen
from bench.harness import SMALL_DB, Gunicorn, Report, login, request, summary
from bench.web import RECORD_PATH

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PHONE = "Pixel 7"
BUDGET_TOTAL = 100 * 1024
BUDGET_JS = 30 * 1024
BUDGET_DCL_MS = 300
TIMING_KEYS = ("ttfb", "response_end", "dom_interactive", "dcl_start", "dcl", "load")

NAV_TIMING = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return {dcl: n.domContentLoadedEventEnd - n.startTime, ttfb: n.responseStart - n.startTime,
          response_end: n.responseEnd - n.startTime,
          dom_interactive: n.domInteractive - n.startTime,
          dcl_start: n.domContentLoadedEventStart - n.startTime,
          load: n.loadEventEnd - n.startTime, transfer: n.transferSize,
          body: n.decodedBodySize};
}"""


def _context(browser, playwright, base: str, cookie: str, service_workers: str = "allow"):
    name, value = cookie.split("=", 1)
    ctx = browser.new_context(**playwright.devices[PHONE], service_workers=service_workers)
    # The production cookie is Secure; over http://127.0.0.1 it is handed to the browser.
    ctx.add_cookies([{"name": name, "value": value, "url": base}])
    return ctx


def weight(browser, playwright, base: str, cookie: str) -> dict:
    ctx = _context(browser, playwright, base, cookie)
    page = ctx.new_page()
    phase = {"now": "page"}
    seen: list[dict] = []

    def on_response(response):
        by_worker = response.request.service_worker is not None
        try:
            body = response.body()
        except Exception:  # redirects and the like have no body
            body = b""
        if not body and by_worker and response.status == 200:
            # The service worker's own fetches expose no body here: read the same URL.
            body = request(base, "GET", response.url.replace(base, ""))[2]
        seen.append({"url": response.url.replace(base, ""), "status": response.status,
                     "type": response.request.resource_type,
                     "from_service_worker": response.from_service_worker,
                     "phase": "service_worker" if by_worker else phase["now"],
                     "bytes": len(body),
                     "gzip6": len(gzip.compress(body, 6)) if body else 0,
                     "gzip1": len(gzip.compress(body, 1)) if body else 0,
                     "content_encoding": response.headers.get("content-encoding")})

    # The context sees the page's responses and the service worker's.
    ctx.on("response", on_response)
    page.goto(base + RECORD_PATH, wait_until="load")
    assert page.locator(".timeline-item").count() == 20
    phase["now"] = "after_load"
    page.wait_for_timeout(2000)
    ctx.close()
    first = [r for r in seen if r["phase"] != "service_worker"]
    later = [r for r in seen if r["phase"] == "service_worker"]

    def total(rows, key, types=None):
        return sum(r[key] for r in rows if types is None or r["type"] in types)

    return {
        "resources": seen,
        "first_load": {"count": len(first), "bytes": total(first, "bytes"),
                       "gzip6": total(first, "gzip6"), "gzip1": total(first, "gzip1"),
                       "js_bytes": total(first, "bytes", {"script"}),
                       "js_gzip6": total(first, "gzip6", {"script"}),
                       "js_gzip1": total(first, "gzip1", {"script"}),
                       "html_gzip6": total(first, "gzip6", {"document"})},
        "service_worker_precache": {
            "count": len(later), "bytes": total(later, "bytes"), "gzip6": total(later, "gzip6")},
        "server_compressed_anything": any(r["content_encoding"] for r in seen),
    }


def _ttfb_ms(base: str, cookie: str) -> float:
    """Time to the first byte of the record page, by plain HTTP."""
    started = time.perf_counter()
    status, _headers, _body = request(base, "GET", RECORD_PATH, cookie=cookie)
    assert status == 200, status
    return round((time.perf_counter() - started) * 1000, 1)


def timings(browser, playwright, base: str, cookie: str, samples: int, cpu_rate: int) -> dict:
    cold, warm = [], []
    for _ in range(samples):
        ctx = _context(browser, playwright, base, cookie)
        page = ctx.new_page()
        if cpu_rate > 1:
            cdp = ctx.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_rate})
        page.goto(base + RECORD_PATH, wait_until="load")
        cold.append(page.evaluate(NAV_TIMING))
        page.goto(base + RECORD_PATH, wait_until="load")
        warm.append(page.evaluate(NAV_TIMING))
        ctx.close()

    def stats(rows, key):
        values = [r[key] for r in rows]
        s = summary(values)
        s["p95"] = round(sorted(values)[max(0, int(len(values) * 0.95) - 1)], 1) \
            if len(values) >= 2 else values[0]
        s["mean"] = round(statistics.fmean(values), 1)
        return s

    return {"cpu_throttling": cpu_rate, "samples": samples,
            "cold": {k: stats(cold, k) for k in TIMING_KEYS},
            "warm": {k: stats(warm, k) for k in TIMING_KEYS}}


def run(db_url: str = SMALL_DB, samples: int = 10, cpu_rates=(1, 4), log=print) -> dict:
    from playwright.sync_api import sync_playwright

    datagen.align_busy_week(db_url)
    with Gunicorn(db_url) as g, sync_playwright() as p:
        cookie, _ = login(g.url, datagen.BENCH_EMAIL, datagen.BENCH_PASSWORD)
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=CHROMIUM_ARGS)
        # Each gunicorn worker's first view pays one-off costs (SQLAlchemy and psycopg set
        # up each statement and connection): served before the
        # samples, as a running server would have, and reported apart.
        # Concurrent, so that every worker (not the one that happens to be free) serves one.
        with ThreadPoolExecutor(max_workers=8) as pool:
            first_views = sorted(pool.map(lambda _: _ttfb_ms(g.url, cookie), range(32)),
                                 reverse=True)[:8]
        log(f"[frontend] warm-up, the slowest times to first byte (ms): {first_views}")
        try:
            w = weight(browser, p, g.url, cookie)
            log(f"[frontend] first load: {w['first_load']}")
            runs = [timings(browser, p, g.url, cookie, samples, rate) for rate in cpu_rates]
            for r in runs:
                log(f"[frontend] cpu x{r['cpu_throttling']}: cold DCL median "
                    f"{r['cold']['dcl']['median']} ms (max {r['cold']['dcl']['max']}), warm "
                    f"{r['warm']['dcl']['median']} ms")
        finally:
            browser.close()
    fl = w["first_load"]
    return {"phone_profile": PHONE, "weight": w, "timings": runs,
            "warm_up_ttfb_ms": first_views, "budgets": {
        "first_load_under_100KB_gzip6": fl["gzip6"] < BUDGET_TOTAL,
        "js_under_30KB_gzip6": fl["js_gzip6"] < BUDGET_JS,
        "dcl_cold_p95_under_300ms": runs[0]["cold"]["dcl"]["p95"] < BUDGET_DCL_MS}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.frontend")
    parser.add_argument("--db", default=SMALL_DB)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--out", default="frontend")
    args = parser.parse_args(argv)
    out = run(args.db, args.samples)
    print(Report(args.out, out).save())
    print(out["budgets"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
