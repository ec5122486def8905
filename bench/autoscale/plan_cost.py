"""B2b: what one re-plan costs the operator's CPU, from 1 to 1,500 pods.

Every 60 s the operator plans each ModelDeployment's stable at its measured rate and
compares the HPA it would write with the one it has (``Reconciler._replan``). The
CPU of that is the pure path timed here, as the operator runs it: the capacity plan
of the spec at the rate (``capacity.sizing.size``: Erlang C or Allen-Cunneen, the
in-flight target by bisection), the HPA spec (``capacity.hpa.build_hpa_spec``) and
the floor and target compared (``floor_and_target``). No I/O: an unchanged plan
sends no request, a changed one one server-side apply, which is not timed.

Per case: the rate that needs about N pods (S = 100 ms, one slot per pod), the
planned replicas, and the time per re-plan: the median and the minimum over
``--repeats`` batches, each batch's mean over enough calls to last ~0.2 s. Goal
(issue 22): under 1 ms at 150 pods.

    python -m bench.autoscale.plan_cost [--repeats 7] [--out bench/results/plancost.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench import common
from roost.api.modeldeployment import ModelDeploymentSpec
from roost.capacity.hpa import build_hpa_spec, floor_and_target
from roost.capacity.sizing import scaling_behavior, size

GOAL_MS = 1.0
GOAL_PODS = 150
# (label, requests per second, serviceTimeCv, burstFactor): about 1, 15, 150, 1,500 pods
CASES: list[tuple[str, float, float, float]] = [
    ("~1 pod", 4.0, 1.0, 1.0),
    ("~15 pods", 120.0, 1.0, 1.0),
    ("~150 pods", 1400.0, 1.0, 1.0),
    ("~150 pods, CV 0.5", 1400.0, 0.5, 1.0),
    ("~150 pods, burstFactor 2", 700.0, 1.0, 2.0),
    ("~1,500 pods", 14500.0, 1.0, 1.0),
]


def spec(cv: float, burst: float) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"name": "m", "version": "v1"},
            "sloPolicyRef": {"name": "p"},
            "template": {"spec": {"containers": [{"name": "c", "image": "m:v1"}]}},
            "autoscaling": {
                "minReplicas": 1,
                "maxReplicas": 10000,
                "serviceTime": "100ms",
                "serviceTimeCv": cv,
                "burstFactor": burst,
            },
        }
    )


def replan(model: ModelDeploymentSpec, rate: float) -> tuple[Any, ...]:
    """One re-plan's CPU: the plan, the HPA spec, what it would move."""
    autoscaling = model.autoscaling
    assert autoscaling is not None
    sizing = size(model, canary_weight=0, observed_rate=rate)
    assert sizing.split is not None
    desired = build_hpa_spec(
        sizing.split.stable,
        scale_target_ref={"apiVersion": "apps/v1", "kind": "Deployment", "name": "m-abc"},
        metric_name=autoscaling.inflight_metric,
        max_replicas=autoscaling.max_replicas,
        behavior=scaling_behavior(autoscaling),
    )
    return floor_and_target(desired)


def time_case(rate: float, cv: float, burst: float, repeats: int) -> dict[str, Any]:
    model = spec(cv, burst)
    floor, target = replan(model, rate)
    calls = 1
    while True:  # calls per batch: enough for ~0.2 s
        started = time.perf_counter()
        for _ in range(calls):
            replan(model, rate)
        if time.perf_counter() - started > 0.2 or calls >= 1 << 20:
            break
        calls *= 2
    batches = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            replan(model, rate)
        batches.append((time.perf_counter() - started) / calls * 1e3)
    return {
        "rate": rate,
        "cv": cv,
        "burst_factor": burst,
        "replicas": floor,
        "target": target,
        "calls_per_batch": calls,
        "median_ms": statistics.median(batches),
        "min_ms": min(batches),
        "max_ms": max(batches),
    }


def run(repeats: int) -> dict[str, Any]:
    meta = {"repeats": repeats, **common.provenance()}
    rows = [
        {"case": label, **time_case(rate, cv, burst, repeats)} for label, rate, cv, burst in CASES
    ]
    return {"meta": meta, "rows": rows}


def section(data: dict[str, Any], _img: Path) -> list[str]:
    """Markdown for docs/benchmarks.md."""
    meta, rows = data["meta"], data["rows"]
    at_goal = [r for r in rows if r["case"] == "~150 pods"]
    verdict = (
        f"median {at_goal[0]['median_ms']:.3f} ms at {at_goal[0]['replicas']} pods: "
        + ("meets" if at_goal[0]["median_ms"] < GOAL_MS else "misses")
        + f" the goal of {GOAL_MS:g} ms at {GOAL_PODS} pods"
        if at_goal
        else "no row at the goal's size"
    )
    lines = [
        "## B2b the cost of a re-plan",
        "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "),
        "",
        f"Runs: {meta['repeats']} batches per case, one process; "
        + common.provenance_text(meta)
        + f". Goal: {verdict}.",
        "",
        "| case | req/s | CV | burstFactor | replicas | in-flight target | ms per re-plan, "
        "median (min-max) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['rate']:g} | {r['cv']:g} | {r['burst_factor']:g} | "
            f"{r['replicas']} | {r['target']} | {r['median_ms']:.3f} "
            f"({r['min_ms']:.3f}-{r['max_ms']:.3f}) |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=common.ROOT / "bench/results/plancost.json")
    args = parser.parse_args(argv)
    data = run(args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print("\n".join(section(data, Path())))


if __name__ == "__main__":
    main()
