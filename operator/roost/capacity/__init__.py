"""Capacity planning: Little's law and Erlang C sized replicas, written out as HPA specs.

Pure code: no I/O, clock or Kubernetes client. ``docs/capacity.md`` explains the model.
"""

from roost.capacity.erlang import (
    erlang_b,
    erlang_c,
    mean_wait,
    wait_exceedance,
    wait_quantile,
)
from roost.capacity.hpa import (
    DEFAULT_INFLIGHT_METRIC,
    DEFAULT_RECOMMENDED_REPLICAS_METRIC,
    HpaMetric,
    ScalingBehavior,
    build_hpa_spec,
    carried_rate_per_pod,
    demand_rate_target,
    inflight_per_pod_target,
)
from roost.capacity.planner import (
    CapacityPlan,
    Carried,
    PlanInputs,
    PlanLimit,
    carried_load,
    plan_capacity,
    plan_for_share,
)
from roost.capacity.traffic_split import SplitPlan, plan_traffic_split

__all__ = [
    "DEFAULT_INFLIGHT_METRIC",
    "DEFAULT_RECOMMENDED_REPLICAS_METRIC",
    "CapacityPlan",
    "Carried",
    "HpaMetric",
    "PlanInputs",
    "PlanLimit",
    "ScalingBehavior",
    "SplitPlan",
    "build_hpa_spec",
    "carried_load",
    "carried_rate_per_pod",
    "demand_rate_target",
    "erlang_b",
    "erlang_c",
    "inflight_per_pod_target",
    "mean_wait",
    "plan_capacity",
    "plan_for_share",
    "plan_traffic_split",
    "wait_exceedance",
    "wait_quantile",
]
