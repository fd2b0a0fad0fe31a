"""`make bench`: every benchmark, results in bench/results/ and a summary in
bench/results/summary.md. `make bench-smoke`: the same code paths on tiny data, in
well under a minute, checking correctness (pages answer, every email arrives once), not
speed.

    python -m bench.run                      # small database: web, delivery, front end
    python -m bench.run --parts scale        # 1,000,000 meetings: generate once, compare
    python -m bench.run --smoke
"""

from __future__ import annotations

import argparse
import json
import time

import psycopg

from bench import datagen
from bench.harness import BIG_DB, PG, RESULTS, SMALL_DB, Report, machine

PARTS = ("web", "booking", "delivery", "frontend", "scale")


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def big_is_ready(url: str) -> bool:
    try:
        with psycopg.connect(datagen.plain_url(url)) as conn:
            meetings = conn.execute("SELECT count(*) FROM meetings").fetchone()[0]
            contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
            head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except psycopg.Error:
        return False
    return meetings >= 1_000_000 and contacts >= 100_000 and head == _migrations_head()


def _migrations_head() -> str:
    from pathlib import Path
    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    return max(p.name.split("_", 1)[0] for p in versions.glob("[0-9]*_*.py"))


def generate(url: str, scale: str) -> dict:
    ensure_database(url)
    datagen.migrate(url)
    return datagen.generate(url, scale)


def smoke() -> int:
    """Tiny data, every part once; fails on wrong behaviour, never on speed."""
    from bench import delivery, explain, frontend, web

    started = time.monotonic()
    generate(SMALL_DB, "tiny")
    problems = []
    w = web.run(SMALL_DB, rounds=1, seconds=2, service_rounds=0, label="smoke")
    for name, s in w["scenarios"].items():
        errors = [{k: v for k, v in e.items() if k != "state" and v} for e in s["errors"]]
        if any(errors) or s["rps"]["median"] <= 0:
            problems.append(f"web {name}: {errors}")
    for conns, figures in w.get("save_by_connections", {}).items():
        errors = [{k: v for k, v in e.items() if k != "state" and v} for e in figures["errors"]]
        states = [e["state"] for e in figures["errors"] if "state" in e]
        if any(errors) or any(st["captured_mails"] or set(st["outbox"]) - {"pending"}
                              for st in states):
            problems.append(f"save at {conns} connections: {errors} {states}")
    save = w["scenarios"]["save"]["errors"][0]["state"]
    if save["captured_mails"] or set(save["outbox"]) - {"pending"}:
        problems.append(f"the save request sent something: {save}")
    inv = delivery.invitation_run(SMALL_DB, 10, 1)
    if inv["sent"] != inv["emails_expected"] or inv["sink_received"] != inv["sent"] \
            or inv["duplicates"]:
        problems.append(f"invitations: {inv}")
    burst = delivery.burst_run(SMALL_DB, 300, 2, lead=4, sweep_interval="1",
                               align_minute=False)
    if burst["sink_received"] != 300 or burst["duplicates"] or burst["outbox_rows"] != 300:
        problems.append(f"burst: { {k: v for k, v in burst.items() if k != 'progress'} }")
    fe = frontend.run(SMALL_DB, samples=1, cpu_rates=(1,))
    if fe["weight"]["first_load"]["count"] < 3:
        problems.append("front end: the record page loaded no assets")
    ex = explain.run(SMALL_DB)
    if not ex["explains"]["scheduler"]:
        problems.append("explain captured nothing")
    seconds = round(time.monotonic() - started, 1)
    Report("smoke", {"seconds": seconds, "problems": problems}).save()
    print(f"bench smoke: {seconds} s, {'OK' if not problems else 'FAILED'}")
    for p in problems:
        print("  -", p)
    return 1 if problems else 0


def full(parts: list[str], rounds: int, seconds: float) -> int:
    from bench import delivery, explain, frontend, web

    summary: dict = {"machine": machine(), "parts": {}}
    if {"web", "delivery", "frontend"} & set(parts):
        ensure_database(SMALL_DB)
        summary["small_data"] = generate(SMALL_DB, "small")
    if "web" in parts:
        # Every page is rendered for each view (#24 removed the page cache).
        summary["parts"]["web"] = web.run(SMALL_DB, rounds, seconds, label="small")
        Report("web-small", summary["parts"]["web"]).save()
        summary["parts"]["explain_small"] = explain.run(SMALL_DB)["total_sql_ms"]
    if "booking" in parts:
        # The public scheduling page and its slots endpoint (#22): a database of its own.
        from bench import booking_page
        summary["parts"]["booking"] = booking_page.main(seconds, rounds)
    if "delivery" in parts:
        delivery.main([])
        summary["parts"]["delivery"] = json.loads((RESULTS / "delivery.json").read_text())
    if "frontend" in parts:
        summary["parts"]["frontend"] = frontend.run(SMALL_DB)
        Report("frontend", summary["parts"]["frontend"]).save()
    if "scale" in parts:
        if not big_is_ready(BIG_DB):
            summary["big_data"] = generate(BIG_DB, "big")
        big = web.run(BIG_DB, rounds, seconds, label="big", save=False, peer=False)
        Report("web-big", big).save()
        small = summary["parts"].get("web") or _load("web-small")
        summary["parts"]["scale"] = scale_verdict(small, big)
        ex = explain.run(BIG_DB)
        explain.write_text(ex, RESULTS / "explain-big.txt")
        Report("explain-big", ex).save()
        summary["parts"]["scale"]["seq_scans"] = ex["seq_scans"]
        summary["parts"]["scale"]["sql_ms"] = ex["total_sql_ms"]
    Report("summary", summary).save()
    (RESULTS / "summary.md").write_text(markdown(summary))
    print((RESULTS / "summary.md").read_text())
    return 0


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def scale_verdict(small: dict | None, big: dict) -> dict:
    """Big-database figures over small-database figures (p95 and throughput)."""
    out = {"big": {k: {"p95_ms": v["p95_ms"]["median"], "rps": v["rps"]["median"]}
                   for k, v in big["scenarios"].items()}}
    if small:
        out["small"] = {k: {"p95_ms": v["p95_ms"]["median"], "rps": v["rps"]["median"]}
                        for k, v in small["scenarios"].items() if k in big["scenarios"]}
        out["p95_ratio"] = {k: round(out["big"][k]["p95_ms"] / out["small"][k]["p95_ms"], 2)
                            for k in ("record", "scheduler") if k in out["small"]}
        out["within_1_5x"] = all(r <= 1.5 for r in out["p95_ratio"].values())
    return out


def markdown(summary: dict) -> str:
    m = summary["machine"]
    lines = ["# Benchmark summary", "",
             f"Machine: {m['nproc']} cores, {m['cpu_model']}; load average at start "
             f"{' '.join(m['loadavg_start'])}; PostgreSQL {m['postgres']}, Redis {m['redis']}, "
             f"{m['wrk']}.", ""]
    lines += _web_lines(summary["parts"].get("web"), "Web (small database, 8 connections)")
    b = summary["parts"].get("booking")
    if b:
        lines += ["## Scheduling page (5-member round robin, a month, 8 connections)", "",
                  f"- public page p95 (median of rounds) {b['page_p95_ms']} ms, rounds "
                  f"{b['page_p95_runs_ms']}, CPU ms/request {b['page_cpu_ms']}",
                  f"- slots endpoint p95 {b['slots_p95_ms']} ms, rounds "
                  f"{b['slots_p95_runs_ms']}, CPU ms/request {b['slots_cpu_ms']}",
                  f"- within 50 ms: page {b['page_within_budget']}, slots "
                  f"{b['slots_within_budget']}", ""]
    d = summary["parts"].get("delivery")
    if d:
        lines += ["## Delivery", ""]
        for key, v in d.get("invitations", {}).items():
            if isinstance(v, dict):
                lines.append(f"- invitations, {key}: {v['emails_per_second_per_worker']['runs']}"
                             f" emails/s per worker (median "
                             f"{v['emails_per_second_per_worker']['median']})")
        for b in d.get("burst", []):
            lines.append(f"- burst: {b['sink_received']}/{b['reminders']} delivered, all after "
                         f"{b['all_delivered_after_due_s']} s, duplicates {b['duplicates']}")
        lines.append("")
    fe = summary["parts"].get("frontend")
    if fe:
        fl = fe["weight"]["first_load"]
        lines += ["## Front end (record page, phone profile)", "",
                  f"- first load: {fl['count']} responses, {fl['bytes']} B raw, "
                  f"{fl['gzip6']} B gzip-6, JS {fl['js_gzip6']} B gzip-6"]
        for t in fe["timings"]:
            lines.append(f"- CPU x{t['cpu_throttling']}: DOMContentLoaded cold median "
                         f"{t['cold']['dcl']['median']} ms, p95 {t['cold']['dcl']['p95']} ms; "
                         f"warm median {t['warm']['dcl']['median']} ms")
        lines += [f"- budgets: {fe['budgets']}", ""]
    sc = summary["parts"].get("scale")
    if sc:
        lines += ["## Scale (1,000,000 meetings, 100,000 contacts)", "",
                  f"- big: {sc['big']}", f"- small: {sc.get('small')}",
                  f"- p95 big/small: {sc.get('p95_ratio')}; within 1.5x: "
                  f"{sc.get('within_1_5x')}",
                  f"- sequential scans on big tables: {sc.get('seq_scans')}", ""]
    return "\n".join(lines)


def _table_row(label, figures: dict) -> str:
    """One markdown row: req/s, p50, p95 (median and runs), CPU per request."""
    cpu = figures.get("cpu_ms_per_request", {})
    cpu_text = " + ".join(str(cpu[k]["median"]) for k in ("app", "db") if k in cpu)
    return (f"| {label} | {figures['rps']['median']} | {figures['p50_ms']['median']} | "
            f"{figures['p95_ms']['median']} | {figures['p95_ms']['runs']} | {cpu_text} |")


def _web_lines(web: dict | None, title: str) -> list[str]:
    if not web:
        return []
    lines = [f"## {title}", "",
             "| scenario | req/s (median) | p50 ms | p95 ms (median of runs) | p95 runs "
             "| CPU ms/request app + db |",
             "|---|---|---|---|---|---|"]
    lines += [_table_row(name, s) for name, s in web["scenarios"].items()]
    if "save_by_connections" in web:
        lines += ["", "Saving at each number of concurrent savers (median over rounds):", "",
                  "| connections | req/s | p50 ms | p95 ms | the p95s | CPU ms/request app + db |",
                  "|---|---|---|---|---|---|"]
        lines += [_table_row(c, f) for c, f in web["save_by_connections"].items()]
    for name, s in web["scenarios"].items():
        if "over_bare" in s:
            lines.append(f"- {name}: throughput over bare Flask per round {s['over_bare']['runs']}"
                         f" (median {s['over_bare']['median']}), over the constant route "
                         f"{s['over_constant']['runs']} (median {s['over_constant']['median']})")
    if "record_over_constant" in web:
        lines += ["", f"Record/constant throughput, per round: "
                      f"{web['record_over_constant']['runs']} (median "
                      f"{web['record_over_constant']['median']})."]
    lines += ["", f"Budgets: {web['budgets']}", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated, from {', '.join(PARTS)}")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    if args.smoke:
        return smoke()
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {unknown}")
    return full(parts, args.rounds, args.seconds)


if __name__ == "__main__":
    raise SystemExit(main())
