"""The autoscaling policies compared in B2, all acting through :class:`Simulation`.

- Roost: ``roost.capacity.plan_capacity`` re-planned every 60 s from the scraped
  ``rate[2m]``, written as ``build_hpa_spec`` (minReplicas = plan, a Pods
  in-flight target L_max(N*)/N*, Roost's behavior) and run by the restated HPA;
  with the default ``serviceTimeCv`` 1 (M/M/c) or the model's CV declared.
- CPU HPA at a utilisation target (default behavior).
- KEDA-style: External ``AverageValue`` on ``rate[2m]`` with a per-pod rps threshold.
- KPA-like concurrency: 60 s stable / 6 s panic windows, target K × TU.
- Static: a fixed count (the plan at the trace's peak).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from roost.replay import hpa
from roost.replay.demand import DemandRule
from roost.replay.sim import Model, Policy, Simulation

__all__ = ["CpuHpa", "KedaRps", "Kpa", "Policy", "Roost", "Static", "roost_plan"]
from roost.api.modeldeployment import (
    DEMAND_METRIC,
    Autoscaling,
    AutoscalingBehavior,
    ScaleDown,
    ScalingMetric,
)
from roost.capacity.hpa import HpaMetric, ScalingBehavior, build_hpa_spec
from roost.capacity.planner import PlanInputs, plan_capacity
from roost.capacity.sizing import scaling_behavior
from roost.slo.demand import hpa_selector, lead_seconds

SYNC = hpa.SYNC_SECONDS


def _milli(value: float) -> int:
    return max(1, math.floor(value * 1000))


def _groups(sim: Simulation, now: float, attr: str) -> tuple[list[int], int, int]:
    """(ready samples, missing, unready) over the live pods, as the HPA groups them."""
    ready: list[int] = []
    missing = unready = 0
    for pod in sim.live():
        if not pod.ready(now):
            unready += 1
        elif getattr(pod, attr) is None:
            missing += 1
        else:
            ready.append(getattr(pod, attr))
    return ready, missing, unready


@dataclass
class CpuHpa:
    target_percent: int
    min_replicas: int = 1
    max_replicas: int = 60
    period: float = SYNC
    controller: hpa.Controller = field(init=False)

    def __post_init__(self) -> None:
        self.controller = hpa.Controller(self.min_replicas, self.max_replicas)

    @property
    def name(self) -> str:
        return f"CPU HPA {self.target_percent} %"

    def decide(self, now: float, sim: Simulation) -> int | None:
        ready, missing, unready = _groups(sim, now, "cpu_sample")
        proposal = hpa.cpu_utilization_replicas(
            sim.spec_replicas, ready, 1000, self.target_percent, missing=missing, unready=unready
        )
        return self.controller.reconcile(now, sim.spec_replicas, proposal)


@dataclass
class KedaRps:
    rps_per_pod: float
    min_replicas: int = 1
    max_replicas: int = 60
    period: float = SYNC
    controller: hpa.Controller = field(init=False)

    def __post_init__(self) -> None:
        self.controller = hpa.Controller(self.min_replicas, self.max_replicas)

    @property
    def name(self) -> str:
        return f"KEDA rps {self.rps_per_pod:g}/pod"

    def decide(self, now: float, sim: Simulation) -> int | None:
        usage = _milli(sim.rate(now)) if sim.rate(now) > 0 else 0
        status = max(1, len(sim.live()))
        proposal = hpa.external_average_value_replicas(usage, _milli(self.rps_per_pod), status)
        return self.controller.reconcile(now, sim.spec_replicas, proposal)


@dataclass
class Kpa:
    """Knative-style: desired = ceil(concurrency / (K × TU)); panic at 2x for 60 s."""

    target_utilisation: float
    slots: int
    max_replicas: int = 60
    period: float = 2.0
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    panic_until: float = -math.inf

    @property
    def name(self) -> str:
        return f"KPA concurrency TU {self.target_utilisation:g}"

    def decide(self, now: float, sim: Simulation) -> int | None:
        self.samples.append((now, sum(p.inflight() for p in sim.live() if p.ready(now))))
        while self.samples and self.samples[0][0] < now - 60.0:
            self.samples.popleft()
        target = self.slots * self.target_utilisation
        stable = sum(c for _, c in self.samples) / len(self.samples)
        recent = [c for t, c in self.samples if t >= now - 6.0]
        panic = sum(recent) / len(recent)
        ready = max(1, sum(1 for p in sim.live() if p.ready(now)))
        want_stable = math.ceil(stable / target)
        want_panic = math.ceil(panic / target)
        if want_panic >= 2 * ready:
            self.panic_until = now + 60.0
        current = sim.spec_replicas
        if now < self.panic_until:
            desired = max(want_panic, want_stable, current)
        else:
            desired = max(want_stable, math.ceil(current / 2))  # max-scale-down-rate 2
        return max(1, min(desired, self.max_replicas))


@dataclass
class Static:
    replicas: int
    period: float = 60.0

    @property
    def name(self) -> str:
        return f"static {self.replicas}"

    def decide(self, now: float, sim: Simulation) -> int | None:
        return self.replicas


def _behavior(spec: dict[str, Any]) -> hpa.Behavior:
    def rules(block: dict[str, Any]) -> hpa.Rules:
        return hpa.Rules(
            float(block["stabilizationWindowSeconds"]),
            tuple(
                hpa.Policy(hpa.PolicyType(p["type"]), int(p["value"]), float(p["periodSeconds"]))
                for p in block["policies"]
            ),
            hpa.Select(block["selectPolicy"]),
        )

    return hpa.Behavior(rules(spec["scaleUp"]), rules(spec["scaleDown"]))


def roost_plan(
    model: Model,
    arrival_rate: float,
    *,
    service_cv: float = 1.0,
    burst_factor: float = 1.0,
    wait_budget: float | None = None,
    service_time: float | None = None,
    min_replicas: int = 1,
) -> Any:
    """The plan as the operator makes it; ``service_cv`` is ``autoscaling.serviceTimeCv``,
    ``burst_factor`` ``autoscaling.burstFactor``, ``wait_budget`` ``waitBudget`` (default
    what the SLO leaves after twice the service time), ``service_time`` ``serviceTime``
    (default the model's, as learned)."""
    if wait_budget is None:
        wait_budget = model.slo_seconds - 2 * model.service_mean  # what the service p99 leaves
    return plan_capacity(
        PlanInputs(
            arrival_rate=arrival_rate,
            service_time=service_time if service_time is not None else model.service_mean,
            slots_per_replica=model.slots,
            wait_budget=wait_budget,
            wait_percentile=0.99,
            min_replicas=min_replicas,
            max_replicas=model.max_replicas,
            service_cv=service_cv,
            headroom=burst_factor - 1.0,
        )
    )


@dataclass
class Roost:
    """The operator's capacity plan, re-planned every ``replan`` s, held by an HPA."""

    model: Model
    replan: float = 60.0
    period: float = SYNC
    controller: hpa.Controller | None = None
    spec: dict[str, Any] | None = None
    planned_at: float = -math.inf
    metric: HpaMetric = HpaMetric.INFLIGHT_PER_POD
    replicas: int = 1
    service_cv: float = 1.0
    """``autoscaling.serviceTimeCv``: 1 (the default) or the model's measured CV."""
    burst_factor: float = 1.0
    """``autoscaling.burstFactor``: 1 (the default), or a reserve for surges."""
    wait_budget: float | None = None  # autoscaling.waitBudget; None: from the SLO
    service_time: float | None = None  # autoscaling.serviceTime; None: the model's
    min_replicas: int = 1
    arrival_rate: float | None = None
    """``autoscaling.arrivalRate``: plan for this rate instead of the measured one."""
    pod_startup: float = 60.0
    """``autoscaling.podStartup``: with metric Demand the scale-down window and the
    demand's lead (the simulated pods' start-up is the model's)."""
    scale_down_window: float | None = None
    """``behavior.scaleDown.stabilizationWindowSeconds``; None: what the operator writes."""
    demand: DemandRule | None = None  # metric: Demand, the recording rules' state

    def plan(self, arrival_rate: float) -> Any:
        """The plan of ``arrival_rate`` with this policy's settings."""
        return roost_plan(
            self.model,
            arrival_rate,
            service_cv=self.service_cv,
            burst_factor=self.burst_factor,
            wait_budget=self.wait_budget,
            service_time=self.service_time,
            min_replicas=self.min_replicas,
        )

    @property
    def name(self) -> str:
        cv = "" if self.service_cv == 1.0 else f", serviceTimeCv {self.service_cv:g}"
        if self.burst_factor != 1.0:
            cv += f", burstFactor {self.burst_factor:g}"
        if self.service_time is not None:
            cv += f", serviceTime {1000 * self.service_time:g}ms"
        if self.arrival_rate is not None:
            cv += f", arrivalRate {self.arrival_rate:.4g}"
        if self.metric is HpaMetric.INFLIGHT_PER_POD:
            return f"Roost plan, in-flight HPA{cv}"
        if self.metric is HpaMetric.DEMAND:
            return f"Roost plan, demand HPA{cv}"
        return f"Roost plan, recommended-replicas HPA{cv}"

    def behavior(self) -> ScalingBehavior:
        """What the operator writes for this metric (capacity.sizing), or the window set."""
        behavior = None
        if self.scale_down_window is not None:
            window = int(self.scale_down_window)
            behavior = AutoscalingBehavior(
                scale_down=ScaleDown(stabilization_window_seconds=window)
            )
        return scaling_behavior(self.autoscaling(behavior))

    def autoscaling(self, behavior: AutoscalingBehavior | None = None) -> Autoscaling:
        """The ``autoscaling`` block whose metric, podStartup and behavior this policy has."""
        demand = self.metric is HpaMetric.DEMAND
        return Autoscaling(
            metric=ScalingMetric.DEMAND if demand else ScalingMetric.INFLIGHT_PER_POD,
            pod_startup=f"{self.pod_startup:g}s",
            behavior=behavior,
        )

    def decide(self, now: float, sim: Simulation) -> int | None:
        if self.spec is None or now - self.planned_at >= self.replan:
            declared = self.arrival_rate
            plan = self.plan(declared if declared is not None else sim.rate(now))
            demand = self.metric is HpaMetric.DEMAND
            self.spec = build_hpa_spec(
                plan,
                scale_target_ref={"apiVersion": "apps/v1", "kind": "Deployment", "name": "model"},
                metric=self.metric,
                # What the operator writes for metric: Demand (capacity.sizing).
                metric_name=DEMAND_METRIC if demand else None,
                metric_selector=hpa_selector("model") if demand else None,
                behavior=self.behavior(),
                reserve=self.burst_factor,
            )
            self.replicas = plan.replicas
            self.planned_at = now
            behavior = _behavior(self.spec["behavior"])
            if self.controller is None:
                self.controller = hpa.Controller(1, self.model.max_replicas, behavior)
            self.controller.min_replicas = int(self.spec["minReplicas"])
            self.controller.max_replicas = int(self.spec["maxReplicas"])
        assert self.controller is not None
        if self.metric is HpaMetric.RECOMMENDED_REPLICAS:
            # External AverageValue 1: the published metric is the planned count.
            status = max(1, len(sim.live()))
            planned = hpa.external_average_value_replicas(1000 * self.replicas, 1000, status)
            return self.controller.reconcile(now, sim.spec_replicas, planned)
        if self.metric is HpaMetric.DEMAND:
            if self.demand is None:
                lead = lead_seconds(self.autoscaling())
                self.demand = DemandRule(self.model.slots, self.service_time, lead)
            value = self.demand.value(now, sim)
            target = self.spec["metrics"][0]["external"]["target"]["averageValue"]
            status = max(1, len(sim.live()))
            demanded = hpa.external_average_value_replicas(
                math.floor(1000 * value), int(target.removesuffix("m")), status
            )
            return self.controller.reconcile(now, sim.spec_replicas, demanded)
        target = self.spec["metrics"][0]["pods"]["target"]["averageValue"]
        ready, missing, unready = _groups(sim, now, "inflight_sample")
        proposal = hpa.pods_metric_replicas(
            sim.spec_replicas,
            [1000 * v for v in ready],
            int(target.removesuffix("m")),
            missing=missing,
            unready=unready,
        )
        return self.controller.reconcile(now, sim.spec_replicas, proposal)
