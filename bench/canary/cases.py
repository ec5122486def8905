"""The B1 scenarios and the one traffic model all three arms are fed.

The model is ``roost.simulation``'s, restated so the re-implemented peers can be
fed with it without touching the operator package: Poisson arrivals, a binomial
split by the applied canary weight, each request independently an error with the
version's probability, latency log-normal with a given median and p99. The
latency SLI counts a request as bad when it is slower than the objective's
threshold, so a log-normal gives ``P(slow) = sf((ln thr - ln median) / sigma)``
with ``sigma = ln(p99 / median) / z(0.99)``, as ``simulation._bad_probability``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scipy import stats

STABLE_ERROR_RATE = 0.0004
MEDIAN_SECONDS = 0.060
HEALTHY_P99_SECONDS = 0.200
LATENCY_THRESHOLD_SECONDS = 0.250  # the SLO's latency objective: 99 % under 250 ms
HORIZON_SECONDS = 3 * 3600.0 + 600.0  # simulated time: Roost's progressDeadline (3 h) + 10 min
# Harm is compared within one horizon for every arm: Roost's progressDeadline in this
# spec (bench.canary.arms.PROGRESS_DEADLINE). A bad canary promoted before it harms all
# traffic until the horizon; see bench.canary.report.horizon_harm.
HARM_HORIZON_SECONDS = 3 * 3600.0
TRAFFIC_LEVELS: tuple[float, ...] = (1.0, 10.0, 100.0, 1000.0)


def _gaps() -> tuple[tuple[float, float], ...]:
    """Intermittent no-data: the metrics are absent 2 minutes in every 15, from minute 5."""
    return tuple((300.0 + 900.0 * k, 420.0 + 900.0 * k) for k in range(int(HORIZON_SECONDS // 900)))


@dataclass(frozen=True)
class Case:
    """One scenario at one traffic level."""

    name: str
    bad: bool
    rps: float
    canary_error_rate: float = STABLE_ERROR_RATE
    canary_p99_seconds: float = HEALTHY_P99_SECONDS
    gaps: tuple[tuple[float, float], ...] = field(default=())

    @property
    def sigma(self) -> float:
        return math.log(self.canary_p99_seconds / MEDIAN_SECONDS) / float(stats.norm.ppf(0.99))

    @property
    def slow_probability(self) -> float:
        z = (math.log(LATENCY_THRESHOLD_SECONDS) - math.log(MEDIAN_SECONDS)) / self.sigma
        return float(stats.norm.sf(z))

    @property
    def harm_probability(self) -> float:
        """P(a canary request is bad on the objective this scenario regresses)."""
        if self.canary_p99_seconds != HEALTHY_P99_SECONDS:
            return self.slow_probability
        return self.canary_error_rate

    def in_gap(self, t: float) -> bool:
        return any(start <= t < end for start, end in self.gaps)


SCENARIOS: dict[str, dict[str, object]] = {
    "healthy": {"bad": False},
    "healthy, intermittent no-data": {"bad": False, "gaps": _gaps()},
    "errors 0.5 %": {"bad": True, "canary_error_rate": 0.005},
    "errors 2 %": {"bad": True, "canary_error_rate": 0.02},
    "errors 10 %": {"bad": True, "canary_error_rate": 0.10},
    "latency p99 200→400 ms": {"bad": True, "canary_p99_seconds": 0.400},
}


def case(name: str, rps: float) -> Case:
    spec = SCENARIOS[name]
    return Case(name=name, rps=rps, **spec)  # type: ignore[arg-type]
