"""Run every (trace, routing, policy, seed) of B2 in parallel and write JSON.

python -m bench.autoscale.replay [--seeds N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from bench import common
from bench.autoscale import traces
from roost.capacity.hpa import HpaMetric
from roost.replay import policies
from roost.replay.run import run
from roost.replay.sim import Model

CPU_TARGETS = (50, 60, 70, 80, 90)
RHO = (0.5, 0.7, 0.9)  # KEDA threshold = rho * K / S per pod
KPA_TU = (0.5, 0.7, 0.9)
BURST_FACTORS = (2.0, 4.0)  # autoscaling.burstFactor: a reserve for surges
ROUTINGS = ("least-request", "random")

Task = tuple[str, str, str, int]  # trace, routing, policy key, seed


def policy_keys() -> list[str]:
    return (
        ["roost", "roost-cv", "roost-rec"]
        + [f"roost-burst:{f:g}" for f in BURST_FACTORS]
        + ["roost-cv-burst:2"]
        + [f"cpu:{t}" for t in CPU_TARGETS]
        + [f"keda:{r}" for r in RHO]
        + [f"kpa:{u}" for u in KPA_TU]
        + ["static"]
    )


def make_policy(key: str, model: Model, peak_rate: float) -> policies.Policy:
    kind, _, arg = key.partition(":")
    if kind == "roost":
        return policies.Roost(model)
    if kind == "roost-cv":
        # What a user who measured the model's service times declares.
        return policies.Roost(model, service_cv=model.service_cv)
    if kind == "roost-rec":
        return policies.Roost(model, metric=HpaMetric.RECOMMENDED_REPLICAS)
    if kind == "roost-cv-burst":
        # What the operator does with the CV it learns and a reserve of 2.
        return policies.Roost(model, service_cv=model.service_cv, burst_factor=float(arg))
    if kind == "roost-burst":
        return policies.Roost(model, burst_factor=float(arg))
    if kind == "cpu":
        return policies.CpuHpa(int(arg), max_replicas=model.max_replicas)
    if kind == "keda":
        rps = float(arg) * model.slots / model.service_mean
        return policies.KedaRps(rps, max_replicas=model.max_replicas)
    if kind == "kpa":
        return policies.Kpa(float(arg), model.slots, max_replicas=model.max_replicas)
    if kind == "static":
        # The bound: the fewest replicas that hold the peak, planned at the model's
        # true CV (at CV 1 it held one replica more than the peak needs).
        peak_plan = policies.roost_plan(model, peak_rate, service_cv=model.service_cv)
        return policies.Static(peak_plan.replicas)
    raise ValueError(key)


def family(key: str) -> str:
    return key.partition(":")[0]


def run_one(task: Task) -> dict[str, Any]:
    trace, routing, key, seed = task
    model = Model(routing=routing)
    rng = np.random.default_rng([seed, 7])
    rate = traces.TRACES[trace](rng)
    arrivals = traces.arrivals(rng, rate)
    initial = policies.roost_plan(model, float(rate[:60].mean())).replicas
    policy = make_policy(key, model, float(rate.max()))
    started = time.process_time()
    outcome = run(model, arrivals, policy, initial, seed)
    return {
        "trace": trace,
        "routing": routing,
        "policy": key,
        "name": policy.name,
        "seed": seed,
        "requests": outcome.requests,
        "replica_hours": outcome.replica_hours,
        "violation_minutes": outcome.violation_minutes,
        "attainment": outcome.attainment,
        "p99": outcome.p99,
        "cpu_seconds": time.process_time() - started,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    common.add_run_options(parser, out="bench/results/autoscale.json")
    args = parser.parse_args(argv)
    started = time.monotonic()
    todo: list[Task] = [
        (trace, routing, key, seed)
        for trace in traces.TRACES
        for routing in ROUTINGS
        for key in policy_keys()
        for seed in range(args.seeds)
    ]
    rows = list(common.parallel(run_one, todo, args.workers, chunksize=4, ordered=True))
    meta = {
        **common.provenance(),
        "seeds": args.seeds,
        "runs": len(rows),
        "workers": args.workers,
        "wall_seconds": time.monotonic() - started,
        "cpu_seconds_per_run": sum(r["cpu_seconds"] for r in rows) / len(rows),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}))
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
