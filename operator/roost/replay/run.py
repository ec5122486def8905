"""One simulated run, scored as B2 scores it: replica-hours, SLO-violation minutes,
attainment and p99 latency."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from roost.replay.sim import Model, Policy, Simulation


@dataclass(frozen=True)
class Outcome:
    requests: int
    replica_hours: float
    violation_minutes: int
    attainment: float  # the fraction of requests answered within the SLO
    p99: float
    trajectory: list[tuple[float, int]]  # (seconds, replicas asked for) at each change


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of a Student-t 95 % interval over seeds (NaN below two)."""
    from scipy import stats

    if len(values) < 2:
        return (values[0] if values else math.nan), math.nan
    half = float(stats.t.ppf(0.975, len(values) - 1)) * statistics.stdev(values)
    return statistics.fmean(values), half / math.sqrt(len(values))


def violation_minutes(arrivals: np.ndarray, latency: np.ndarray, slo: float) -> int:
    """1-minute windows (by arrival) whose p99 latency exceeds the SLO."""
    minutes = (arrivals // 60).astype(int)
    count = 0
    for m in np.unique(minutes):
        window = latency[minutes == m]
        # No interpolation: a window with unfinished requests (inf) must not read as NaN.
        if len(window) and float(np.percentile(window, 99, method="higher")) > slo:
            count += 1
    return count


def run(
    model: Model, arrivals: np.ndarray, policy: Policy, initial_replicas: int, seed: int
) -> Outcome:
    """``policy`` on ``arrivals`` from ``initial_replicas``; ``seed`` draws the service
    times, start-up delays, routing and sync phases."""
    rng = np.random.default_rng([seed, 11])
    result = Simulation(model, arrivals, initial_replicas, policy, rng).run()
    latency = np.where(np.isnan(result.latencies), np.inf, result.latencies)
    if len(latency) == 0:
        return Outcome(0, result.replica_seconds / 3600.0, 0, 1.0, 0.0, result.replicas)
    return Outcome(
        requests=len(arrivals),
        replica_hours=result.replica_seconds / 3600.0,
        violation_minutes=violation_minutes(arrivals, latency, model.slo_seconds),
        attainment=float(np.mean(latency <= model.slo_seconds)),
        p99=float(np.percentile(latency, 99, method="higher")),
        trajectory=result.replicas,
    )
