"""What the re-implementations predict for the live benchmark's settings and rates.

Flagger: ``bench.canary.arms.run_flagger`` (the re-implementation of its documented
analysis, bench/canary/flagger.py) with the live Canary's settings. Roost:
``roost.simulation.simulate`` (the real decision core on simulated traffic) with
B1's document for the case and the live ModelDeployment's rollout. Both are fed
B1's traffic model (bench/canary/cases.py), which is also how the live simulators
behave (same error rates, median and p99 latency), and are capped like the live
runs: a run still undecided at the cap is ``undecided``.

Times are from the new version: for Flagger the re-implementation's tick 0 is the
tick that notices the new revision, and its decision is the last check (a
promotion completes ``promotion_ticks`` intervals later); Roost's simulation starts
at the first canary tick. Bad requests are the canary's requests times the
probability that one is bad on the regressed objective (B1's estimator).
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from typing import Any

from bench.canary import arms, flagger
from bench.canary.cases import Case
from bench.live import manifests, runs
from roost import simulation


def flagger_settings(settings: manifests.Settings) -> flagger.FlaggerSettings:
    return flagger.FlaggerSettings(
        interval_seconds=float(settings.interval_seconds),
        threshold=settings.threshold,
        step_weight=settings.step_weight,
        max_weight=settings.max_weight,
        min_success_rate_percent=settings.min_success_percent,
        max_p99_seconds=settings.max_p99_ms / 1000.0,
    )


def roost_document(
    case: Case, seed: int, settings: manifests.Settings, cap_seconds: float
) -> dict[str, Any]:
    """B1's document for the case with the live rollout, simulated up to the cap."""
    document = arms.roost_document(case, seed, on_deadline="pause")
    document["duration"] = f"{int(cap_seconds)}s"
    document["modelDeployment"]["rollout"] = manifests.roost_rollout(settings)
    return document


@dataclass(frozen=True)
class Task:
    arm: str
    case: str  # a key of runs.CASES
    rps: float
    seed: int
    cap_seconds: float


def run(task: Task, settings: manifests.Settings | None = None) -> dict[str, Any]:
    """One predicted rollout as a row shaped like a live one."""
    settings = settings or manifests.Settings()
    case = runs.RunSpec(task.arm, task.case, task.rps, 0).scenario
    row: dict[str, Any] = {
        "arm": task.arm,
        "case": runs.CASES[task.case],
        "rps": task.rps,
        "seed": task.seed,
    }
    if task.arm == "flagger":
        fs = flagger_settings(settings)
        result = arms.run_flagger(case, task.seed, fs)
        decided = result.seconds
        if result.outcome == "promoted":
            decided -= fs.promotion_ticks * fs.interval_seconds
            row["complete_seconds"] = result.seconds
        outcome = result.outcome
        canary_requests = result.canary_requests
    else:
        document = roost_document(case, task.seed, settings, task.cap_seconds)
        simulated = simulation.simulate(simulation.load(document))
        decided = simulated.duration_seconds
        outcome = simulated.outcome
        canary_requests = simulated.canary_requests
    if outcome == "timed_out" or decided > task.cap_seconds:
        outcome = runs.UNDECIDED
    row.update(
        outcome=outcome,
        decision_seconds=min(decided, task.cap_seconds),
        canary_requests=canary_requests,
        bad_requests=canary_requests * case.harm_probability,
    )
    return row


def tasks(
    arms_: tuple[str, ...],
    case_keys: tuple[str, ...],
    rates: tuple[float, ...],
    seeds: int,
    cap_seconds: float,
) -> list[Task]:
    return [
        Task(arm, case, rps, seed, cap_seconds)
        for arm in arms_
        for case in case_keys
        for rps in rates
        for seed in range(seeds)
    ]


def predict(all_tasks: list[Task], workers: int = 2) -> list[dict[str, Any]]:
    """Every task's row, on ``workers`` processes (Roost's simulations dominate)."""
    with multiprocessing.Pool(workers) as pool:
        return list(pool.imap(run, all_tasks, chunksize=20))
