"""Run every (scenario, traffic level, arm) over seeded runs, in parallel, to JSON.

python -m bench.canary.replay [--healthy-runs N] [--bad-runs N] [--out PATH]
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


def tasks(healthy_runs: int, bad_runs: int) -> list[Task]:
    out: list[Task] = []
    kinds = (ROOST_PAIR, *(arm for arm in arms.ARMS if arm not in arms.ON_PROGRESS_DEADLINE))
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
    return sorted(out, key=lambda t: (t[0] != ROOST_PAIR, t[2]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--healthy-runs", type=int, default=1000)
    parser.add_argument("--bad-runs", type=int, default=100)
    common.add_run_options(parser, out="bench/results/canary.json")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    cpu: dict[str, float] = {}
    counts: dict[str, int] = {}
    todo = tasks(args.healthy_runs, args.bad_runs)
    for task, chunk, seconds in common.parallel(_run_chunk, todo, args.workers):
        rows.extend(chunk)
        cpu[task[0]] = cpu.get(task[0], 0.0) + seconds
        counts[task[0]] = counts.get(task[0], 0) + task[4] - task[3]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        **common.provenance(),
        "healthy_runs": args.healthy_runs,
        "bad_runs": args.bad_runs,
        "workers": args.workers,
        "wall_seconds": time.monotonic() - started,
        "cpu_seconds_per_run": {arm: cpu[arm] / counts[arm] for arm in cpu},
        "runs": counts,
    }
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}))
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
