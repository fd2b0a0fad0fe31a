"""Before/after: the web benchmark against another checkout of the product (e.g. the
commit before a fix) and this one, alternating, so both see the same machine noise.

    git archive <commit> | tar -x -C /tmp/before && .venv/bin/pybabel compile -d /tmp/before/webapp/translations
    python -m bench.compare --before /tmp/before [--db ...] [--pairs 3]

With --downgrade-to REV, the database is migrated down to REV for each "before" run and
back up for each "after" run (a fix that adds indexes is measured without them).
"""

from __future__ import annotations

import argparse
import os

from bench import datagen, web
from bench.harness import SMALL_DB, Report, summary


def migrate_to(db_url: str, revision: str | None) -> None:
    from flask_migrate import downgrade, upgrade

    from webapp import create_app
    os.environ.setdefault("SECRET_KEY", "bench-compare")
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url.replace(
        "postgresql://", "postgresql+psycopg://"), "JOBS_MODE": "eager"})
    with app.app_context():
        if revision:
            downgrade(revision=revision)
        else:
            upgrade()


def run(before: str, db_url: str, pairs: int, rounds: int, seconds: float,
        downgrade_to: str | None, save: bool, label: str) -> dict:
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    try:
        for i in range(pairs):
            for side, root in (("before", before), ("after", "")):
                os.environ["BENCH_APP_ROOT"] = root
                if downgrade_to:
                    migrate_to(db_url, downgrade_to if side == "before" else None)
                runs[side].append(web.run(db_url, rounds, seconds, service_rounds=0,
                                          label=f"{label} {side} {i + 1}", save=save))
    finally:
        os.environ.pop("BENCH_APP_ROOT", None)
        if downgrade_to:
            migrate_to(db_url, None)
    out: dict = {"db": db_url.rsplit("/", 1)[-1], "before_code": before, "pairs": pairs,
                 "rounds_per_run": rounds, "seconds": seconds, "scenarios": {}}
    for name in runs["after"][0]["scenarios"]:
        out["scenarios"][name] = {}
        for side in ("before", "after"):
            rps = [x for r in runs[side] for x in r["scenarios"][name]["rps"]["runs"]]
            p95 = [x for r in runs[side] for x in r["scenarios"][name]["p95_ms"]["runs"]]
            p50 = [x for r in runs[side] for x in r["scenarios"][name]["p50_ms"]["runs"]]
            cpu = {k: summary([x for r in runs[side]
                               for x in r["scenarios"][name]["cpu_ms_per_request"][k]["runs"]])
                   for k in runs[side][0]["scenarios"][name].get("cpu_ms_per_request", {})}
            out["scenarios"][name][side] = {"rps": summary(rps), "p50_ms": summary(p50),
                                            "p95_ms": summary(p95), "cpu_ms_per_request": cpu}
    out["codes"] = {side: sorted({r["pages"]["code"] for r in runs[side]}) for side in runs}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare")
    parser.add_argument("--before", required=True, help="checkout of the product to compare")
    parser.add_argument("--db", default=SMALL_DB)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--downgrade-to", default=None)
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    label = args.db.rsplit("/", 1)[-1]
    out = run(args.before, args.db, args.pairs, args.rounds, args.seconds, args.downgrade_to,
              not args.no_save, label)
    datagen.align_busy_week(args.db)
    print(Report(args.out or f"compare-{label}", out).save())
    for name, sides in out["scenarios"].items():
        b, a = sides["before"], sides["after"]
        cpu = " ".join(f"{k} {b['cpu_ms_per_request'][k]['median']} -> "
                       f"{a['cpu_ms_per_request'][k]['median']}"
                       for k in a.get("cpu_ms_per_request", {}))
        print(f"{name:9s} req/s {b['rps']['median']:7.1f} -> {a['rps']['median']:7.1f}   "
              f"p95 ms {b['p95_ms']['median']:7.1f} -> {a['p95_ms']['median']:7.1f}   "
              f"CPU ms/request {cpu}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
