"""The HPA of ``autoscaling.metric: Demand``: an External metric of the model's demand
against the rate the plan carries per replica (docs/capacity.md, "From plan to HPA")."""

from __future__ import annotations

import math
from typing import Any

import pytest

from roost.adapters.actuator import Actuator
from roost.api.modeldeployment import DEMAND_METRIC, ModelDeploymentSpec
from roost.capacity.hpa import (
    HPA_TOLERANCE,
    HpaMetric,
    build_hpa_spec,
    carried_rate_per_pod,
    demand_rate_target,
    inflight_per_pod_target,
    milli_quantity,
)
from roost.capacity.planner import CapacityPlan, PlanInputs, carried_load, plan_capacity
from roost.capacity.sizing import scaling_behavior, size
from roost.workloads import Owner

TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "resnet-v2"}


def case_a() -> CapacityPlan:
    # Capacity case A: 5 replicas for p99 wait <= 10 ms at 200 req/s.
    return plan_capacity(
        PlanInputs(
            arrival_rate=200.0,
            service_time=0.050,
            slots_per_replica=4,
            wait_budget=0.010,
            max_replicas=20,
        )
    )


def test_the_carried_rate_is_the_carried_in_flight_over_the_time_in_system() -> None:
    plan = case_a()
    carried = carried_load(
        servers=plan.replicas * 4, service_time=0.05, wait_budget=0.01, wait_percentile=0.99
    )
    rate = carried_rate_per_pod(plan)
    assert rate == pytest.approx(carried.arrival_rate / plan.replicas)
    # Little's law: in flight = rate x (S + E[Wq]); the planned 200 req/s fit under it.
    assert inflight_per_pod_target(plan) / rate > 0.05
    assert 200 / plan.replicas <= rate < 4 / 0.05


def test_the_target_is_the_carried_rate_over_tolerance_reserve_and_share() -> None:
    plan = case_a()
    base = carried_rate_per_pod(plan) / (1 + HPA_TOLERANCE)
    assert demand_rate_target(plan) == pytest.approx(base)
    assert demand_rate_target(plan, reserve=1.5) == pytest.approx(base / 1.5)
    assert demand_rate_target(plan, share=0.25) == pytest.approx(base * 4)
    for bad in ({"share": 0.0}, {"share": 1.5}, {"reserve": 0.5}, {"reserve": math.inf}):
        with pytest.raises(ValueError, match="must be"):
            demand_rate_target(plan, **bad)


def test_at_the_plans_rate_the_hpa_proposes_the_plan_and_holds_it() -> None:
    # 200 req/s through the HPA's External AverageValue: ceil(200 / target) replicas,
    # and at the plan's 5 the ratio is inside the tolerance (no rescale).
    plan = case_a()
    target = demand_rate_target(plan)
    assert math.ceil(200 / target) <= plan.replicas + 1
    assert 200 / (target * plan.replicas) <= 1 + HPA_TOLERANCE


def test_build_hpa_spec_writes_an_external_metric_of_the_demand() -> None:
    plan = case_a()
    spec = build_hpa_spec(
        plan,
        scale_target_ref=TARGET,
        metric=HpaMetric.DEMAND,
        metric_name=DEMAND_METRIC,
        metric_selector={"model_deployment": "resnet"},
        share=0.5,
        reserve=2.0,
    )
    assert spec["minReplicas"] == plan.replicas
    assert spec["metrics"] == [
        {
            "type": "External",
            "external": {
                "metric": {
                    "name": "roost:demand_rate",
                    "selector": {"matchLabels": {"model_deployment": "resnet"}},
                },
                "target": {
                    "type": "AverageValue",
                    "averageValue": milli_quantity(demand_rate_target(plan, share=0.5, reserve=2)),
                },
            },
        }
    ]
    with pytest.raises(ValueError, match="needs a metric_name and a metric_selector"):
        build_hpa_spec(plan, scale_target_ref=TARGET, metric=HpaMetric.DEMAND)


def _spec(**autoscaling: Any) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"name": "m", "version": "v1"},
            "sloPolicyRef": {"name": "p"},
            "template": {"spec": {"containers": [{"name": "c", "image": "m:v1"}]}},
            "autoscaling": {
                "serviceTime": "50ms",
                "slotsPerReplica": 4,
                "waitBudget": "10ms",
                "maxReplicas": 20,
                "arrivalRate": 200,
                **autoscaling,
            },
        }
    )


def test_demand_scales_down_after_twice_pod_startup_unless_the_spec_says_otherwise() -> None:
    def window(**autoscaling: Any) -> int:
        found = _spec(**autoscaling).autoscaling
        assert found is not None
        return scaling_behavior(found).scale_down_window_seconds

    assert window(metric="Demand") == 120  # podStartup's default, 60s
    assert window(metric="Demand", podStartup="2m30s") == 300
    assert window(metric="Demand", podStartup="1250ms") == 3  # whole seconds, up
    assert window(metric="Demand", podStartup="45m") == 3600  # the API's largest window
    other = _spec(metric="Demand", podStartup="90s", behavior={"scaleDown": {"percent": 50}})
    assert other.autoscaling is not None
    assert scaling_behavior(other.autoscaling).scale_down_window_seconds == 180
    assert scaling_behavior(other.autoscaling).scale_down_percent == 50
    kept = {"scaleDown": {"stabilizationWindowSeconds": 300}}
    assert window(metric="Demand", podStartup="90s", behavior=kept) == 300
    assert window(podStartup="90s") == 300  # InflightPerPod keeps its window


def _actuator(spec: ModelDeploymentSpec, mirror: int = 0) -> Actuator:
    async def event(_: Any) -> None:
        return None

    return Actuator(
        None,  # type: ignore[arg-type]  # hpa_spec does no I/O
        None,  # type: ignore[arg-type]
        owner=Owner(namespace="models", name="resnet", uid="u"),
        spec=spec,
        sizing=lambda w: size(spec, canary_weight=w, observed_rate=None, mirror=mirror),
        events=event,
    )


def _target(hpa_spec: dict[str, Any] | None) -> str:
    assert hpa_spec is not None
    metric = hpa_spec["metrics"][0]["external"]
    assert metric["metric"]["selector"] == {"matchLabels": {"model_deployment": "resnet"}}
    return str(metric["target"]["averageValue"])


def test_each_roles_hpa_divides_the_models_demand_by_its_share() -> None:
    spec = _spec(metric="Demand", burstFactor=1.5)
    actuator = _actuator(spec)
    stable = size(spec, canary_weight=0, observed_rate=None).split
    canary = size(spec, canary_weight=25, observed_rate=None).split
    assert stable is not None
    assert canary is not None
    # The stable's HPA is planned for all of the traffic (weight 0), as with InflightPerPod.
    assert _target(actuator.hpa_spec("stable", "r1", 0)) == milli_quantity(
        demand_rate_target(stable.stable, reserve=1.5)
    )
    # The canary answers a quarter of the demand at weight 25.
    assert _target(actuator.hpa_spec("canary", "r2", 25)) == milli_quantity(
        demand_rate_target(canary.canary, share=0.25, reserve=1.5)
    )
    # In a shadow step the canary answers copies of the mirrored share.
    shadow = size(spec, canary_weight=0, observed_rate=None, mirror=10).split
    assert shadow is not None
    assert _target(_actuator(spec, mirror=10).hpa_spec("canary", "r2", 0)) == milli_quantity(
        demand_rate_target(shadow.canary, share=0.1, reserve=1.5)
    )
    # InflightPerPod still writes the Pods metric.
    pods = _actuator(_spec()).hpa_spec("stable", "r1", 0)
    assert pods is not None
    assert pods["metrics"][0]["type"] == "Pods"
