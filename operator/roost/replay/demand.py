"""The recording rules of :mod:`roost.slo.demand` restated on the simulator's scrapes.

Read at each HPA sync from the last scrape, term by term as the PromQL computes them:
``rate[1m]`` and ``irate`` of the request counter (the simulator's counts arrivals;
with a declared service time, at least K/S for each pod that exports the gauge),
the in-flight gauge's sum and its excess over the slots per pod, ``deriv`` of the
in-flight sum over 1 m and of ``rate[1m]`` over 2 m (least squares over the values
seen at the syncs of the window). The rule's own evaluation cycle (its group's
interval) is left out: in a cluster it adds up to one interval to the metric's lag.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from roost.slo.demand import (
    DRAIN_SECONDS,
    LEAD_SECONDS,
    RATE_WINDOW_SECONDS,
    SLOPE_WINDOW_SECONDS,
    Z,
)

if TYPE_CHECKING:
    from roost.replay.sim import Simulation

__all__ = ["DemandRule", "deriv"]

INFLIGHT_DERIV_SECONDS = RATE_WINDOW_SECONDS  # deriv(inflight[1m])


def deriv(points: deque[tuple[float, float]]) -> float | None:
    """PromQL's ``deriv``: the least-squares slope; None with fewer than two points."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var


@dataclass
class DemandRule:
    """``roost:demand_rate`` of one model, read once per HPA sync."""

    slots: int
    service_time: float | None = None  # autoscaling.serviceTime when declared
    lead: float = LEAD_SECONDS  # roost.slo.demand.lead_seconds: podStartup + the lag
    rates: deque[tuple[float, float]] = field(default_factory=deque)
    inflight: deque[tuple[float, float]] = field(default_factory=deque)

    def value(self, now: float, sim: Simulation) -> float:
        rate = sim.rate(now, RATE_WINDOW_SECONDS)
        samples = sim.counter_samples
        served = 0.0
        if len(samples) >= 2:
            (t0, c0), (t1, c1) = samples[-2], samples[-1]
            served = (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0
        gauges = [p.inflight_sample for p in sim.live() if p.inflight_sample is not None]
        if self.service_time is not None and gauges:  # at least K/S a pod, when declared
            served = max(served, len(gauges) * self.slots / self.service_time)
        total = float(sum(gauges))
        backlog = float(sum(max(0, g - self.slots) for g in gauges))
        _window(self.rates, now, SLOPE_WINDOW_SECONDS).append((now, rate))
        _window(self.inflight, now, INFLIGHT_DERIV_SECONDS).append((now, total))
        growth = deriv(self.inflight)
        arrivals = rate
        if backlog > 0 and growth is not None:
            arrivals = max(rate, served + max(0.0, growth))
        slope = deriv(self.rates)
        return (
            arrivals
            + Z * math.sqrt(max(arrivals, 0.0) / RATE_WINDOW_SECONDS)
            + (max(0.0, slope) * self.lead if slope is not None else 0.0)
            + backlog / DRAIN_SECONDS
        )


def _window(
    points: deque[tuple[float, float]], now: float, seconds: float
) -> deque[tuple[float, float]]:
    """``points`` without those older than ``seconds`` (PromQL's range ``[seconds]``)."""
    while points and points[0][0] <= now - seconds:
        points.popleft()
    return points
