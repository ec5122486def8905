"""Replica counts for a ModelDeployment's stable and canary at a canary weight.

Without ``autoscaling`` the stable keeps ``spec.replicas`` and a canary behind a
weighted route gets its share of that (at least one replica). With
``autoscaling`` both are sized by the queueing plan for their traffic shares,
from the declared ``arrivalRate`` or the rate observed in Prometheus, and the
declared service time and CV or those learned from the latency histogram
(:mod:`roost.capacity.learn`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from roost import durations
from roost.api.modeldeployment import (
    Autoscaling,
    CapacityStatus,
    ModelDeploymentSpec,
    ScalingMetric,
    ServiceTimeStatus,
)
from roost.capacity.hpa import ScalingBehavior
from roost.capacity.learn import Learned, rounded
from roost.capacity.planner import CapacityPlan, PlanInputs
from roost.capacity.traffic_split import SplitPlan, plan_traffic_split

MAX_WINDOW_SECONDS = 3600  # autoscaling/v2's stabilizationWindowSeconds limit
DEMAND_WINDOW_STARTUPS = 2.0  # metric Demand's scale-down window, in podStartups

# Planned with until the spec declares or Roost learns better (autoscaling.serviceTime).
DEFAULT_SERVICE_SECONDS = 0.1
DEFAULT_SERVICE_CV = 1.0


@dataclass(frozen=True)
class Sizing:
    stable_replicas: int
    canary_replicas: int
    split: SplitPlan | None = None  # set when autoscaling planned it
    service: ServiceTimeStatus | None = None  # the service time it was planned with

    def status(self) -> CapacityStatus | None:
        if self.split is None:
            return None
        stable, canary = self.split.stable, self.split.canary
        return CapacityStatus(
            arrival_rate=stable.arrival_rate,  # both plans are of the whole rate, by share
            offered_load=stable.offered_load + canary.offered_load,
            slots=stable.slots + canary.slots,
            replicas=self.split.total_replicas,
            canary_replicas=canary.replicas,
            stable_replicas=stable.replicas,
            p_wait=max(stable.p_wait, canary.p_wait),
            p99_wait_seconds=max(_finite(stable), _finite(canary)),
            limited_by=stable.limited_by.value if stable.limited_by else None,
            service_time=self.service,
        )


def _finite(plan: CapacityPlan) -> float:
    value = plan.p99_wait_seconds
    return value if value == value and value != float("inf") else -1.0


def scaling_behavior(autoscaling: Autoscaling) -> ScalingBehavior:
    """The HPA's ``behavior`` from ``autoscaling.behavior``; Roost's defaults without it.

    With ``metric: Demand`` the scale-down window is twice ``podStartup`` (at most the
    API's 3600 s) unless the spec sets one: a replica the demand no longer needs is kept
    for as long as needing it again would cost. Removed and then needed, it costs a new
    replica's start-up and, for as long, a replica's capacity missing while requests
    queue: 2 x podStartup replica-seconds when a missing replica-second is priced as a
    running one. Keeping an idle replica for its replacement cost is ski rental's
    break-even (Karlin et al., 1988): on each idle spell it spends at most twice what a
    policy that knew when the replica would be needed again would spend. B2d in
    docs/benchmarks.md measures 1, 2 and 4 x podStartup."""
    window = None
    if autoscaling.metric is ScalingMetric.DEMAND:
        window = demand_scale_down_window(autoscaling)
    if autoscaling.behavior is None:
        if window is None:
            return ScalingBehavior()
        return ScalingBehavior(scale_down_window_seconds=window)
    up, down = autoscaling.behavior.scale_up, autoscaling.behavior.scale_down
    if window is None or "stabilization_window_seconds" in down.model_fields_set:
        window = down.stabilization_window_seconds
    return ScalingBehavior(
        scale_up_window_seconds=up.stabilization_window_seconds,
        scale_up_percent=up.percent,
        scale_up_pods=up.pods,
        scale_up_period_seconds=up.period_seconds,
        scale_down_window_seconds=window,
        scale_down_percent=down.percent,
        scale_down_period_seconds=down.period_seconds,
    )


def demand_scale_down_window(autoscaling: Autoscaling) -> int:
    """Twice ``podStartup`` in whole seconds, at most the HPA's 3600 s window."""
    startup = durations.parse_seconds(autoscaling.pod_startup)
    return min(MAX_WINDOW_SECONDS, math.ceil(DEMAND_WINDOW_STARTUPS * startup))


def service_time(autoscaling: Autoscaling, learned: Learned | None = None) -> ServiceTimeStatus:
    """The service time and CV to plan with: each as declared, else as learned (the
    mean, and the upper end of the CV's 95 % interval), else the default; rounded to
    two significant digits so that the plan moves only when they do."""
    found = learned.estimate if learned is not None else None
    seconds: float
    if autoscaling.service_time is not None:
        seconds, seconds_from = durations.parse_seconds(autoscaling.service_time), "declared"
    elif found is not None:
        seconds, seconds_from = rounded(found.mean_seconds), "learned"
    else:
        seconds, seconds_from = DEFAULT_SERVICE_SECONDS, "default"
    cv: float
    if autoscaling.service_time_cv is not None:
        cv, cv_from = autoscaling.service_time_cv, "declared"
    elif found is not None and found.cv_high is not None:
        cv, cv_from = rounded(found.cv_high), "learned"
    else:
        cv, cv_from = DEFAULT_SERVICE_CV, "default"
    interval = None
    if found is not None and found.cv_low is not None and found.cv_high is not None:
        interval = [round(found.cv_low, 3), round(found.cv_high, 3)]
    return ServiceTimeStatus(
        seconds=seconds,
        seconds_from=seconds_from,
        cv=cv,
        cv_from=cv_from,
        requests=None if found is None else round(found.requests),
        window=None if learned is None else learned.window,
        learned_cv=None if found is None or found.cv is None else round(found.cv, 3),
        learned_cv_interval=interval,
        family=None if found is None else found.family,
        note=_note(learned),
    )


def _note(learned: Learned | None) -> str | None:
    if learned is None:
        return None
    if learned.note is not None:
        return learned.note
    return None if learned.estimate is None else learned.estimate.misfit


def plan_split(
    autoscaling: Autoscaling,
    *,
    arrival_rate: float,
    canary_weight: int,
    learned: Learned | None = None,
    mirror: int = 0,
) -> SplitPlan:
    service = service_time(autoscaling, learned)
    inputs = PlanInputs(
        arrival_rate=arrival_rate,
        service_time=service.seconds,
        slots_per_replica=autoscaling.slots_per_replica,
        wait_budget=durations.parse_seconds(autoscaling.wait_budget),
        min_replicas=autoscaling.min_replicas,
        max_replicas=autoscaling.max_replicas,
        service_cv=service.cv,
        headroom=autoscaling.burst_factor - 1.0,
    )
    return plan_traffic_split(inputs, canary_weight=canary_weight, mirror=mirror)


def size(
    spec: ModelDeploymentSpec,
    *,
    canary_weight: int,
    observed_rate: float | None,
    learned: Learned | None = None,
    mirror: int = 0,
) -> Sizing:
    """Replicas for stable and canary when the canary takes ``canary_weight`` percent
    (or, in a shadow step, answers copies of ``mirror`` percent); ``learned``, the
    service time learned from the latency histogram, where the spec declares none."""
    autoscaling = spec.autoscaling
    share = canary_weight or mirror
    if autoscaling is None:
        canary = 0 if share <= 0 else max(1, -(-spec.replicas * share // 100))
        return Sizing(stable_replicas=spec.replicas, canary_replicas=canary)
    rate = autoscaling.arrival_rate if autoscaling.arrival_rate is not None else observed_rate
    split = plan_split(
        autoscaling,
        arrival_rate=rate or 0.0,
        canary_weight=canary_weight,
        learned=learned,
        mirror=mirror,
    )
    canary = split.canary.replicas if share > 0 else 0
    return Sizing(
        stable_replicas=split.stable.replicas,
        canary_replicas=canary,
        split=split,
        service=service_time(autoscaling, learned),
    )


def learned_values(service: ServiceTimeStatus | None) -> dict[str, float]:
    """The planned service time and CV that were learned, by field name: a change of
    them re-applies the stable's HPA as a change of the spec's autoscaling would."""
    if service is None:
        return {}
    values = {
        "serviceTime": (service.seconds, service.seconds_from),
        "serviceTimeCv": (service.cv, service.cv_from),
    }
    return {name: value for name, (value, source) in values.items() if source == "learned"}
