"""The autoscaling/v2 HPA spec written from a capacity plan (docs/capacity.md)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from roost.capacity import hpa
from roost.capacity.hpa import HpaMetric, ScalingBehavior, build_hpa_spec
from roost.capacity.planner import CapacityPlan, PlanInputs, carried_load, plan_capacity

TARGET = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "resnet-v2"}


def case_a(**overrides: Any) -> CapacityPlan:
    # Capacity case A: 5 replicas for p99 wait ≤ 10 ms.
    arguments: dict[str, Any] = {
        "arrival_rate": 200.0,
        "service_time": 0.050,
        "slots_per_replica": 4,
        "wait_budget": 0.010,
        "max_replicas": 20,
    }
    arguments.update(overrides)
    return plan_capacity(PlanInputs(**arguments))


def test_spec_holds_the_planned_replicas_as_its_floor() -> None:
    spec = build_hpa_spec(case_a(), scale_target_ref=TARGET)
    assert spec["scaleTargetRef"] == TARGET
    assert spec["minReplicas"] == 5
    assert spec["maxReplicas"] == 20


def test_default_metric_is_inflight_per_pod_at_the_plans_capacity() -> None:
    plan = case_a()
    spec = build_hpa_spec(plan, scale_target_ref=TARGET)
    # 5 replicas = 20 slots hold p99 wait <= 10 ms up to λ_max ≈ 255.25 req/s
    # (a = 12.76); L_max = λ_max·(S + E[Wq]) ≈ 12.837, so 2.567 per replica.
    assert hpa.inflight_per_pod_target(plan) == pytest.approx(12.837457 / 5, rel=1e-6)
    assert spec["metrics"] == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "model_inflight_requests"},
                "target": {"type": "AverageValue", "averageValue": "2567m"},
            },
        }
    ]


def test_target_is_above_the_planned_load_so_the_hpa_holds_the_plan() -> None:
    # At the planned rate the pods read L*/N* (Little's law), a ratio below the
    # tolerance band, so the HPA proposes at most the plan: no scaling on the
    # plan's own spare capacity.
    for rate in (5.0, 20.0, 60.0, 200.0, 2000.0):
        plan = case_a(arrival_rate=rate, max_replicas=None)
        ratio = (plan.mean_in_flight / plan.replicas) / hpa.inflight_per_pod_target(plan)
        assert ratio < 1.0
        assert math.ceil(ratio * plan.replicas) <= plan.replicas


def test_the_hpa_adds_a_replica_once_the_load_exceeds_what_the_plan_carries() -> None:
    plan = case_a()
    target = hpa.inflight_per_pod_target(plan)
    carried = carried_load(servers=20, service_time=0.050, wait_budget=0.010)
    # 15 % above λ_max the pods read more than the tolerance allows.
    over = plan_capacity(
        PlanInputs(
            arrival_rate=1.15 * carried.arrival_rate,
            service_time=0.050,
            slots_per_replica=4,
            wait_budget=0.010,
            min_replicas=5,
            max_replicas=5,
        )
    )
    ratio = (over.mean_in_flight / 5) / target
    assert ratio > 1.1
    assert math.ceil(ratio * 5) == 6


def test_metric_name_is_configurable() -> None:
    spec = build_hpa_spec(case_a(), scale_target_ref=TARGET, metric_name="vllm_num_requests")
    assert spec["metrics"][0]["pods"]["metric"]["name"] == "vllm_num_requests"


def test_recommended_replicas_metric_targets_an_average_of_one() -> None:
    spec = build_hpa_spec(
        case_a(),
        scale_target_ref=TARGET,
        metric=HpaMetric.RECOMMENDED_REPLICAS,
        metric_selector={"roost.dev/model-deployment": "resnet"},
    )
    assert spec["metrics"] == [
        {
            "type": "External",
            "external": {
                "metric": {
                    "name": "model_recommended_replicas",
                    "selector": {"matchLabels": {"roost.dev/model-deployment": "resnet"}},
                },
                "target": {"type": "AverageValue", "averageValue": "1"},
            },
        }
    ]


def test_selector_is_refused_for_the_pods_metric() -> None:
    with pytest.raises(ValueError, match="metric_selector"):
        build_hpa_spec(case_a(), scale_target_ref=TARGET, metric_selector={"a": "b"})


def test_behavior_is_always_explicit() -> None:
    behavior = build_hpa_spec(case_a(), scale_target_ref=TARGET)["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert {"type": "Percent", "value": 100, "periodSeconds": 60} in behavior["scaleUp"]["policies"]
    assert {"type": "Pods", "value": 4, "periodSeconds": 60} in behavior["scaleUp"]["policies"]
    assert behavior["scaleDown"]["policies"] == [
        {"type": "Percent", "value": 10, "periodSeconds": 60}
    ]
    assert behavior["scaleUp"]["selectPolicy"] == "Max"


def test_behavior_can_be_tuned() -> None:
    tuned = ScalingBehavior(scale_down_window_seconds=120, scale_down_percent=20, scale_up_pods=8)
    behavior = build_hpa_spec(case_a(), scale_target_ref=TARGET, behavior=tuned)["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 120
    assert behavior["scaleDown"]["policies"][0]["value"] == 20
    assert {"type": "Pods", "value": 8, "periodSeconds": 60} in behavior["scaleUp"]["policies"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scale_up_window_seconds": -1}, "scale_up_window_seconds"),
        ({"scale_down_window_seconds": 3601}, "scale_down_window_seconds"),
        ({"scale_up_period_seconds": 0}, "scale_up_period_seconds"),
        ({"scale_down_period_seconds": 1801}, "scale_down_period_seconds"),
        ({"scale_down_percent": 0}, "scale_down_percent"),
        ({"scale_up_pods": 0}, "scale_up_pods"),
    ],
)
def test_behavior_outside_api_limits_is_refused(overrides: dict[str, int], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ScalingBehavior(**overrides)


def test_max_replicas_argument_overrides_the_plan() -> None:
    spec = build_hpa_spec(case_a(), scale_target_ref=TARGET, max_replicas=12)
    assert spec["maxReplicas"] == 12


def test_a_ceiling_is_required() -> None:
    with pytest.raises(ValueError, match="max_replicas"):
        build_hpa_spec(case_a(max_replicas=None), scale_target_ref=TARGET)


def test_a_ceiling_below_the_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="max_replicas"):
        build_hpa_spec(case_a(), scale_target_ref=TARGET, max_replicas=4)


def test_scale_target_ref_must_name_its_target() -> None:
    with pytest.raises(ValueError, match="scale_target_ref"):
        build_hpa_spec(case_a(), scale_target_ref={"kind": "Deployment", "name": "x"})


def test_a_plan_without_traffic_still_yields_a_valid_hpa() -> None:
    plan = case_a(arrival_rate=0.0, min_replicas=0)
    spec = build_hpa_spec(plan, scale_target_ref=TARGET)
    assert spec["minReplicas"] == 1
    # No traffic: the target is what the floor of one replica carries within budget.
    one = carried_load(servers=4, service_time=0.050, wait_budget=0.010)
    assert spec["metrics"][0]["pods"]["target"]["averageValue"] == hpa.milli_quantity(one.in_flight)


def test_spec_is_plain_json() -> None:
    spec = build_hpa_spec(case_a(), scale_target_ref=TARGET)
    assert json.loads(json.dumps(spec, allow_nan=False)) == spec


@pytest.mark.parametrize(
    ("value", "quantity"), [(2.0007, "2000m"), (0.0004, "1m"), (12.5, "12500m"), (1.0, "1000m")]
)
def test_milli_quantity_rounds_down_to_whole_milli_units(value: float, quantity: str) -> None:
    assert hpa.milli_quantity(value) == quantity


@pytest.mark.parametrize("value", [0.0, -1.0, float("inf")])
def test_milli_quantity_refuses_non_positive_targets(value: float) -> None:
    with pytest.raises(ValueError, match="target"):
        hpa.milli_quantity(value)


def test_the_api_behavior_defaults_are_the_capacity_defaults() -> None:
    """`autoscaling.behavior` left out, empty or partly written keeps Roost's defaults."""
    from roost.api.modeldeployment import Autoscaling
    from roost.capacity.sizing import scaling_behavior

    assert scaling_behavior(Autoscaling()) == ScalingBehavior()
    assert scaling_behavior(Autoscaling.model_validate({"behavior": {}})) == ScalingBehavior()
    shortened = Autoscaling.model_validate(
        {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 10, "percent": 100}}}
    )
    assert scaling_behavior(shortened) == ScalingBehavior(
        scale_down_window_seconds=10, scale_down_percent=100
    )


def test_the_api_behavior_is_written_into_the_hpa() -> None:
    from roost.api.modeldeployment import Autoscaling
    from roost.capacity.sizing import scaling_behavior

    autoscaling = Autoscaling.model_validate(
        {
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 20, "periodSeconds": 15, "pods": 2},
                "scaleDown": {"periodSeconds": 30},
            }
        }
    )
    spec = build_hpa_spec(case_a(), scale_target_ref=TARGET, behavior=scaling_behavior(autoscaling))
    up, down = spec["behavior"]["scaleUp"], spec["behavior"]["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 20
    assert [p["periodSeconds"] for p in up["policies"]] == [15, 15]
    assert up["policies"][1] == {"type": "Pods", "value": 2, "periodSeconds": 15}
    assert down["stabilizationWindowSeconds"] == 300
    assert down["policies"] == [{"type": "Percent", "value": 10, "periodSeconds": 30}]


@pytest.mark.parametrize(
    "behavior",
    [
        {"scaleUp": {"stabilizationWindowSeconds": 3601}},
        {"scaleDown": {"periodSeconds": 0}},
        {"scaleDown": {"percent": 101}},
        {"scaleUp": {"pods": 0}},
        {"scaleUp": {"window": 5}},
    ],
)
def test_the_api_refuses_a_behavior_the_hpa_api_would(behavior: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from roost.api.modeldeployment import Autoscaling

    with pytest.raises(ValidationError):
        Autoscaling.model_validate({"behavior": behavior})
