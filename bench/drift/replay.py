"""Seeded replays of the prediction-distribution checks through Roost's real core, to JSON.

Two parts, both at 1, 10, 100 and 1,000 requests per second, each request one
prediction score drawn from a Beta distribution and counted in ten decile buckets
(``model_prediction_score``), 30 s analysis windows:

* **gate** (``compareTo: stable``, during a rollout): the canary takes 25 % of the
  traffic for up to 60 windows (30 min). Every window goes through
  ``roost.analysis.verdict.analyze`` with the default policy (PSI threshold 0.25,
  minSamples 1,000, confidence 0.99) and zero errors, exactly as the operator
  calls it. A run ends at the first ``PredictionDistributionShift`` fail.
* **watch** (``compareTo: reference``, after promotion): the stable version takes all
  traffic; ``roost.analysis.watch.observe`` collects the reference (minSamples 1,000)
  and then watches for up to 2,000 windows (about 17 h), ``meanWindowsToFalseAlarm``
  10,000. The shift starts right after the reference is frozen.

Shifts: none (the false-alarm rate), small, medium and large (their PSI against the
stable's Beta(2, 5) is in the results). Reported per (part, shift, rps): share of runs
that flagged, median and 90th-percentile windows to the flag, and, for the gate, the
share in which the test alone crossed its threshold (before the effect-size floor).

python -m bench.drift.replay [--null-runs N] [--shift-runs N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy import stats

from bench import common
from roost.analysis import distribution, watch
from roost.analysis.verdict import analyze
from roost.api.slopolicy import DistributionCheck, SLOPolicySpec
from roost.slo.readings import Counts, HistogramReading, Measurements, SLIReading

BOUNDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, math.inf)
STABLE = (2.0, 5.0)
SHIFTS: dict[str, tuple[float, float]] = {
    "none": STABLE,
    "small": (2.4, 5.0),
    "medium": (3.0, 5.0),
    "large": (3.0, 4.0),
}
TRAFFIC = (1.0, 10.0, 100.0, 1000.0)
WINDOW_S = 30.0
CANARY_SHARE = 0.25
GATE_WINDOWS = 60
WATCH_WINDOWS = 2000
CHUNK = 25
NOW = datetime(2026, 11, 25, tzinfo=UTC)

POLICY = SLOPolicySpec.model_validate(
    {
        "objectives": [
            {"name": "availability", "target": 0.999, "ratio": {"errors": "e", "total": "t"}}
        ],
        "distributions": [{"name": "score", "histogram": "model_prediction_score"}],
    }
)
WATCH_CHECK = DistributionCheck.model_validate(
    {"name": "watch", "histogram": "model_prediction_score", "compareTo": "reference"}
)


def shares(beta: tuple[float, float]) -> np.ndarray:
    cdf = stats.beta.cdf([b if math.isfinite(b) else 1.0 for b in BOUNDS], *beta)
    return np.diff(np.concatenate([[0.0], cdf]))


def shift_psi(name: str) -> float:
    value = distribution.psi(shares(SHIFTS[name]) * 1e6, shares(STABLE) * 1e6)
    return float(value or 0.0)


def _cumulative(counts: np.ndarray) -> dict[float, float]:
    return {b: float(c) for b, c in zip(BOUNDS, np.cumsum(counts), strict=True)}


def run_gate(shift: str, rps: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng([seed, int(rps), 1])
    p_stable, p_canary = shares(STABLE), shares(SHIFTS[shift])
    previous: tuple[Any, ...] = ()
    crossed = None
    for window in range(1, GATE_WINDOWS + 1):
        n = rng.poisson(rps * WINDOW_S)
        n_canary = rng.binomial(n, CANARY_SHARE)
        canary = rng.multinomial(n_canary, p_canary)
        stable = rng.multinomial(n - n_canary, p_stable)
        measured = Measurements(
            at=NOW,
            readings=(
                SLIReading(
                    objective="availability",
                    canary=Counts(float(n_canary), 0.0),
                    stable=Counts(float(n - n_canary), 0.0),
                ),
            ),
            histograms=(
                HistogramReading(
                    name="score",
                    canary=_cumulative(canary) if n_canary else None,
                    stable=_cumulative(stable) if n - n_canary else None,
                ),
            ),
        )
        verdict = analyze(POLICY, measured, previous)
        previous = verdict.comparison
        gate = next(g for g in verdict.gates if g.gate == "distribution")
        if crossed is None and gate.ln_e_fail >= gate.fail_threshold:
            crossed = window
        if verdict.reason == "PredictionDistributionShift":
            return {"flagged": window, "test_crossed": crossed}
    return {"flagged": None, "test_crossed": crossed}


def run_watch(shift: str, rps: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng([seed, int(rps), 2])
    p_stable, p_after = shares(STABLE), shares(SHIFTS[shift])
    state = watch.WatchState()
    ln_alarm = math.log(WATCH_CHECK.alarm_windows)
    watched = 0
    for _ in range(WATCH_WINDOWS * 4):
        p = p_after if state.complete else p_stable
        counts = rng.multinomial(rng.poisson(rps * WINDOW_S), p)
        state = watch.observe(
            state,
            _cumulative(counts),
            min_samples=WATCH_CHECK.min_samples,
            ln_alarm=ln_alarm,
            statistic=WATCH_CHECK.statistic.value,
            threshold=WATCH_CHECK.fail_threshold,
        )
        if state.complete:
            watched = state.windows
            if state.drifted:
                return {"flagged": watched, "reference_windows": state.reference_windows}
            if watched >= WATCH_WINDOWS:
                break
    return {"flagged": None, "reference_windows": state.reference_windows}


Task = tuple[str, str, float, int, int]


def _chunk(task: Task) -> tuple[Task, list[dict[str, Any]], float]:
    part, shift, rps, first, last = task
    started = time.process_time()
    runner = run_gate if part == "gate" else run_watch
    rows = [
        {"part": part, "shift": shift, "rps": rps, "seed": s, **runner(shift, rps, s)}
        for s in range(first, last)
    ]
    return task, rows, time.process_time() - started


def tasks(null_runs: int, shift_runs: int, watch_runs: int) -> list[Task]:
    out: list[Task] = []
    for part in ("gate", "watch"):
        for shift in SHIFTS:
            runs = null_runs if shift == "none" else shift_runs
            if part == "watch":
                runs = min(runs, watch_runs)
            for rps in TRAFFIC:
                for first in range(0, runs, CHUNK):
                    out.append((part, shift, rps, first, min(first + CHUNK, runs)))
    # Long tasks (the watch without a shift runs to its cap) first.
    return sorted(out, key=lambda t: (t[0] != "watch", t[1] != "none"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--null-runs", type=int, default=2000)
    parser.add_argument("--shift-runs", type=int, default=500)
    parser.add_argument("--watch-runs", type=int, default=200)
    common.add_run_options(parser, out="bench/results/drift.json")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    cpu = 0.0
    todo = tasks(args.null_runs, args.shift_runs, args.watch_runs)
    for _task, chunk, seconds in common.parallel(_chunk, todo, args.workers):
        rows.extend(chunk)
        cpu += seconds
    meta = {
        **common.provenance(),
        "null_runs": args.null_runs,
        "shift_runs": args.shift_runs,
        "watch_runs": args.watch_runs,
        "workers": args.workers,
        "wall_seconds": time.monotonic() - started,
        "cpu_seconds": cpu,
        "psi": {name: shift_psi(name) for name in SHIFTS},
        "alpha_gate": 1 - POLICY.canary.confidence,
        "mean_windows_to_false_alarm": WATCH_CHECK.alarm_windows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}))
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
