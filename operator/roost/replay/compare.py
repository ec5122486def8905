"""A user's trace through Roost's policy, CPU HPAs and a static deployment, side by side
(``roost capacity replay``), on the simulator B2 uses.

The simulated server is the user's model: service times log-normal with the mean and
CV given, ``slots`` requests at once a pod, pods ready 0.75-1.25 x ``pod_startup``
(45-75 s by default) after they are created.
Roost plans as the operator would with the ModelDeployment's autoscaling: the declared
service time and CV, or (left out) the model's own, which the operator learns from the
latency histogram; its wait budget; its burst factor; its declared arrival rate; its
podStartup; its HPA metric (the in-flight gauge, or with ``metric: Demand`` the
demand its recording rules publish). A request
is good when answered within ``slo`` seconds, by default the wait budget plus twice
the service time (what B2 uses). The static deployment holds the plan of the trace's busiest minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from roost.capacity.hpa import HpaMetric
from roost.replay import policies
from roost.replay.run import Outcome, interval, run
from roost.replay.sim import Model, Policy
from roost.replay.trace import Trace


@dataclass(frozen=True)
class Settings:
    service_time: float  # the model's mean service time, seconds
    service_cv: float  # and its coefficient of variation
    slots: int = 1
    wait_budget: float = 0.05
    slo: float | None = None  # default: wait_budget + 2 x service_time
    burst_factor: float = 1.0
    arrival_rate: float | None = None  # autoscaling.arrivalRate; None: the measured rate
    pod_startup: float = 60.0  # autoscaling.podStartup, seconds
    demand: bool = False  # autoscaling.metric: Demand
    declared_cv: float | None = None  # autoscaling.serviceTimeCv; None: learned (the model's)
    declared_service_time: float | None = None  # autoscaling.serviceTime; None: learned
    min_replicas: int = 1
    max_replicas: int = 60
    routing: str = "least-request"
    cpu_targets: Sequence[int] = (50, 70, 90)

    @property
    def slo_seconds(self) -> float:
        return self.slo if self.slo is not None else self.wait_budget + 2 * self.service_time


@dataclass(frozen=True)
class Row:
    """One policy over the seeds: means, and 95 % Student-t half-widths."""

    policy: str
    replica_hours: tuple[float, float]
    violation_minutes: tuple[float, float]
    attainment: tuple[float, float]
    p99: tuple[float, float]
    trajectory: list[tuple[float, int]] = field(default_factory=list)  # the first seed's


def model_of(settings: Settings) -> Model:
    return Model(
        service_mean=settings.service_time,
        service_cv=settings.service_cv,
        slots=settings.slots,
        slo_seconds=settings.slo_seconds,
        routing=settings.routing,
        max_replicas=settings.max_replicas,
        startup_seconds=(0.75 * settings.pod_startup, 1.25 * settings.pod_startup),
    )


def _roost(settings: Settings, model: Model, *, reserve: bool = True) -> policies.Roost:
    """Roost's policy with the spec's settings; ``reserve=False`` without its burst
    factor (the plans the static deployment and the starting replicas use)."""
    return policies.Roost(
        model,
        metric=HpaMetric.DEMAND if settings.demand else HpaMetric.INFLIGHT_PER_POD,
        service_cv=settings.declared_cv if settings.declared_cv is not None else model.service_cv,
        burst_factor=settings.burst_factor if reserve else 1.0,
        arrival_rate=settings.arrival_rate if reserve else None,
        pod_startup=settings.pod_startup,
        wait_budget=settings.wait_budget,
        service_time=settings.declared_service_time,
        min_replicas=settings.min_replicas,
    )


def compare(trace: Trace, settings: Settings, seeds: int) -> list[Row]:
    """Every policy on ``trace`` over ``seeds`` seeds (the arrivals of a time,rate
    trace are drawn again per seed; timestamps are replayed as they are)."""
    model = model_of(settings)
    per_second = trace.per_second()
    minutes = [float(per_second[i : i + 60].mean()) for i in range(0, len(per_second), 60)]
    peak = max(minutes) if minutes else 0.0
    first = float(per_second[:60].mean()) if len(per_second) else 0.0
    plain = _roost(settings, model, reserve=False)
    initial = plain.plan(first).replicas
    candidates = [("roost", 0), *(("cpu", t) for t in settings.cpu_targets)]
    candidates.append(("static", plain.plan(peak).replicas))
    rows = []
    for kind, arg in candidates:
        outcomes: list[Outcome] = []
        name = ""
        for seed in range(seeds):
            policy: Policy
            if kind == "roost":
                policy = _roost(settings, model)
            elif kind == "static":
                policy = policies.Static(arg)
            else:
                policy = policies.CpuHpa(arg, max_replicas=model.max_replicas)
            name = policy.name
            arrivals = trace.arrivals(np.random.default_rng([seed, 7]))
            outcomes.append(run(model, arrivals, policy, initial, seed))
        rows.append(
            Row(
                policy=name,
                replica_hours=interval([o.replica_hours for o in outcomes]),
                violation_minutes=interval([float(o.violation_minutes) for o in outcomes]),
                attainment=interval([o.attainment for o in outcomes]),
                p99=interval([o.p99 for o in outcomes]),
                trajectory=outcomes[0].trajectory,
            )
        )
    return rows
