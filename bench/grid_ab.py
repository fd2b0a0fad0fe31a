"""The scheduler's week grid drawn at every view (nothing kept), with and without two
attendee colleagues overlaid (#21), under gunicorn and wrk as `make bench` serves it,
for several checkouts interleaved round by round (before/after on the same machine noise):

    python -m bench.grid_ab --rounds 3 --seconds 10 /path/to/before /path/to/after

Each checkout is served through BENCH_APP_ROOT (an empty string: this one). Prints each
round's p95, p50, requests a second and CPU per request (app, PostgreSQL), then medians.
The database is bench/datagen.py's (the overlay's meetings added by bench.web).
"""

from __future__ import annotations

import argparse
import os
import statistics

from bench import datagen, web
from bench.harness import SMALL_DB, Gunicorn, login, request, wrk


def run(roots: list[str], db_url: str, rounds: int, seconds: float,
        scenarios: tuple[str, ...] = ("overlay", "week"), log=print) -> dict:
    datagen.align_busy_week(db_url)
    datagen.vacuum(db_url)
    dbname = db_url.rsplit("/", 1)[-1]
    results: dict = {(root, name): [] for root in roots for name in scenarios}
    overlay_added = False
    try:
        for i in range(rounds):
            for root in roots:
                os.environ["BENCH_APP_ROOT"] = root
                with Gunicorn(db_url, env=web.NOTHING_KEPT) as g:
                    cookie, _ = login(g.url, datagen.BENCH_EMAIL, datagen.BENCH_PASSWORD)
                    week = web.week_path(request(g.url, "GET", web.SCHEDULER_PATH,
                                                 cookie=cookie)[2])
                    if not overlay_added:
                        overlay = web.overlay_path(db_url, week)
                        overlay_added = True
                    paths = {"week": week, "overlay": overlay}
                    for name in scenarios:
                        wrk("warm-up", g.url + paths[name], 3, cookie=cookie)
                        r = wrk(name, g.url + paths[name], seconds, cookie=cookie, server=g,
                                database=dbname)
                        results[(root, name)].append(r)
                        log(f"round {i + 1} {root or '.'} {name}: p95 {r.p95_ms:.1f} ms, "
                            f"p50 {r.p50_ms:.1f} ms, {r.rps:.1f}/s, app "
                            f"{r.cpu_ms['app']:.2f} ms, db {r.cpu_ms['db']:.2f} ms")
    finally:
        os.environ.pop("BENCH_APP_ROOT", None)
    out = {}
    for (root, name), rs in results.items():
        out[f"{root or '.'} {name}"] = {
            "p95_ms": statistics.median(r.p95_ms for r in rs),
            "rps": statistics.median(r.rps for r in rs),
            "app_ms": statistics.median(r.cpu_ms["app"] for r in rs),
            "db_ms": statistics.median(r.cpu_ms["db"] for r in rs)}
        log(f"median {root or '.'} {name}: " + ", ".join(
            f"{k} {v:.2f}" for k, v in out[f"{root or '.'} {name}"].items()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grid_ab")
    parser.add_argument("roots", nargs="+", help="checkouts of the product ('' for this one)")
    parser.add_argument("--db", default=SMALL_DB)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args(argv)
    run(args.roots, args.db, args.rounds, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
