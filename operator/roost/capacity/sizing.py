"""Replica counts for a ModelDeployment's stable and canary at a canary weight.

Without ``autoscaling`` the stable keeps ``spec.replicas`` and a canary behind a
weighted route gets its share of that (at least one replica). With
``autoscaling`` both are sized by the queueing plan for their traffic shares,
from the declared ``arrivalRate`` or the rate observed in Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost import durations
from roost.api.modeldeployment import Autoscaling, CapacityStatus, ModelDeploymentSpec
from roost.capacity.hpa import ScalingBehavior
from roost.capacity.planner import CapacityPlan, PlanInputs
from roost.capacity.traffic_split import SplitPlan, plan_traffic_split


@dataclass(frozen=True)
class Sizing:
    stable_replicas: int
    canary_replicas: int
    split: SplitPlan | None = None  # set when autoscaling planned it

    def status(self) -> CapacityStatus | None:
        if self.split is None:
            return None
        stable, canary = self.split.stable, self.split.canary
        return CapacityStatus(
            arrival_rate=stable.arrival_rate + canary.arrival_rate,
            offered_load=stable.offered_load + canary.offered_load,
            slots=stable.slots + canary.slots,
            replicas=self.split.total_replicas,
            canary_replicas=canary.replicas,
            stable_replicas=stable.replicas,
            p_wait=max(stable.p_wait, canary.p_wait),
            p99_wait_seconds=max(_finite(stable), _finite(canary)),
            limited_by=stable.limited_by.value if stable.limited_by else None,
        )


def _finite(plan: CapacityPlan) -> float:
    value = plan.p99_wait_seconds
    return value if value == value and value != float("inf") else -1.0


def scaling_behavior(autoscaling: Autoscaling) -> ScalingBehavior:
    """The HPA's ``behavior`` from ``autoscaling.behavior``; Roost's defaults without it."""
    if autoscaling.behavior is None:
        return ScalingBehavior()
    up, down = autoscaling.behavior.scale_up, autoscaling.behavior.scale_down
    return ScalingBehavior(
        scale_up_window_seconds=up.stabilization_window_seconds,
        scale_up_percent=up.percent,
        scale_up_pods=up.pods,
        scale_up_period_seconds=up.period_seconds,
        scale_down_window_seconds=down.stabilization_window_seconds,
        scale_down_percent=down.percent,
        scale_down_period_seconds=down.period_seconds,
    )


def plan_split(autoscaling: Autoscaling, *, arrival_rate: float, canary_weight: int) -> SplitPlan:
    inputs = PlanInputs(
        arrival_rate=arrival_rate,
        service_time=durations.parse_seconds(autoscaling.service_time),
        slots_per_replica=autoscaling.slots_per_replica,
        wait_budget=durations.parse_seconds(autoscaling.wait_budget),
        min_replicas=autoscaling.min_replicas,
        max_replicas=autoscaling.max_replicas,
        service_cv=autoscaling.service_time_cv,
    )
    return plan_traffic_split(inputs, canary_weight=canary_weight)


def size(spec: ModelDeploymentSpec, *, canary_weight: int, observed_rate: float | None) -> Sizing:
    """Replicas for stable and canary when the canary takes ``canary_weight`` percent."""
    autoscaling = spec.autoscaling
    if autoscaling is None:
        canary = 0 if canary_weight <= 0 else max(1, -(-spec.replicas * canary_weight // 100))
        return Sizing(stable_replicas=spec.replicas, canary_replicas=canary)
    rate = autoscaling.arrival_rate if autoscaling.arrival_rate is not None else observed_rate
    split = plan_split(autoscaling, arrival_rate=rate or 0.0, canary_weight=canary_weight)
    canary = split.canary.replicas if canary_weight > 0 else 0
    return Sizing(stable_replicas=split.stable.replicas, canary_replicas=canary, split=split)
