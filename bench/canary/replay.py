"""Run every (scenario, traffic level, arm) over seeded runs, in parallel, to JSON.

python -m bench.canary.replay [--healthy-runs N] [--bad-runs N] [--out PATH]
    [--arms ARM,...] [--merge]

``--arms`` runs only those arms (``roost`` and ``roost-pause`` come from one shared
simulation, so naming either runs both). ``--merge`` keeps the other arms' stored rows
and meta in ``--out`` and replaces only the rows of the arms run; what each merged run
measured (its commit, sizes, wall and CPU time) is kept under ``meta["merged"]``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from typing import Any

from bench import common
from bench.canary import arms, cases, report

Task = tuple[str, str, float, int, int]  # arm, scenario, rps, first seed, last seed (excl.)
CHUNK = 50
# The two Roost arms come from one shared simulation where they cannot differ
# (arms.run_roost_pair); their CPU time is reported under this key.
ROOST_PAIR = "roost + roost-pause"


def _run_chunk(task: Task) -> tuple[Task, list[dict[str, Any]], float]:
    arm, name, rps, first, last = task
    started = time.process_time()
    rows = []
    for seed in range(first, last):
        case = cases.case(name, rps)
        outcomes = (
            arms.run_roost_pair(case, seed)
            if arm == ROOST_PAIR
            else {arm: arms.run(arm, case, seed)}
        )
        for key, outcome in outcomes.items():
            rows.append({"arm": key, "scenario": name, "rps": rps, "seed": seed, **asdict(outcome)})
    return task, rows, time.process_time() - started


def kind_of(arm: str) -> str:
    """The task kind that runs ``arm`` (the pair's key for either of its two arms)."""
    if arm not in arms.ARMS:
        raise ValueError(f"unknown arm {arm!r} (one of {', '.join(arms.ARMS)})")
    return ROOST_PAIR if arm in arms.ON_PROGRESS_DEADLINE else arm


def tasks(healthy_runs: int, bad_runs: int, only: tuple[str, ...] | None = None) -> list[Task]:
    """The chunks of seeds to run, for every arm or for the arms in ``only``."""
    out: list[Task] = []
    kinds = tuple(dict.fromkeys(kind_of(arm) for arm in (only or arms.ARMS)))
    for name in cases.SCENARIOS:
        # The canary exactly at the promotion burn rate gets as many seeds as the healthy
        # one: its promotions are the achieved false-promotion rate.
        wide = name in ("healthy", report.AT_PROMOTION_BURN_RATE)
        runs = healthy_runs if wide else bad_runs
        for rps in cases.TRAFFIC_LEVELS:
            for kind in kinds:
                for first in range(0, runs, CHUNK):
                    out.append((kind, name, rps, first, min(first + CHUNK, runs)))
    # The slowest (Roost at low traffic) first, so the pool drains evenly.
    return sorted(out, key=lambda t: (not t[0].startswith("roost"), t[2]))


def merge(
    stored: dict[str, Any], rows: list[dict[str, Any]], meta: dict[str, Any]
) -> dict[str, Any]:
    """``stored`` with the rows of the arms in ``rows`` replaced by those rows; the
    stored meta is kept (it describes the other arms' run) and ``meta`` is recorded
    under ``meta["merged"]`` for each task kind it ran."""
    replaced = {row["arm"] for row in rows}
    kept = [row for row in stored["rows"] if row["arm"] not in replaced]
    merged = dict(stored["meta"].get("merged", {}))
    for kind in meta["runs"]:
        merged[kind] = {
            **meta,
            "cpu_seconds_per_run": {kind: meta["cpu_seconds_per_run"][kind]},
            "runs": {kind: meta["runs"][kind]},
        }
    return {"meta": {**stored["meta"], "merged": merged}, "rows": kept + rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--healthy-runs", type=int, default=1000)
    parser.add_argument("--bad-runs", type=int, default=100)
    parser.add_argument(
        "--arms",
        type=lambda text: tuple(a.strip() for a in text.split(",") if a.strip()),
        default=None,
        help=f"comma-separated arms to run (default: all of {', '.join(arms.ARMS)})",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only these arms' rows in --out, keeping the others (needs --arms)",
    )
    common.add_run_options(parser, out="bench/results/canary.json")
    args = parser.parse_args(argv)
    if args.merge and not args.arms:
        parser.error("--merge needs --arms")
    for arm in args.arms or ():
        if arm not in arms.ARMS:
            parser.error(f"unknown arm {arm!r} (one of {', '.join(arms.ARMS)})")
    # The operator code is imported by now: name it before the run, not after.
    provenance = common.provenance()
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    cpu: dict[str, float] = {}
    counts: dict[str, int] = {}
    todo = tasks(args.healthy_runs, args.bad_runs, args.arms)
    for task, chunk, seconds in common.parallel(_run_chunk, todo, args.workers):
        rows.extend(chunk)
        cpu[task[0]] = cpu.get(task[0], 0.0) + seconds
        counts[task[0]] = counts.get(task[0], 0) + task[4] - task[3]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        **provenance,
        "healthy_runs": args.healthy_runs,
        "bad_runs": args.bad_runs,
        "workers": args.workers,
        "wall_seconds": time.monotonic() - started,
        "cpu_seconds_per_run": {arm: cpu[arm] / counts[arm] for arm in cpu},
        "runs": counts,
    }
    result = {"meta": meta, "rows": rows}
    if args.merge:
        result = merge(json.loads(args.out.read_text()), rows, meta)
    args.out.write_text(json.dumps(result))
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
