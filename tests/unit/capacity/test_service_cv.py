"""Service-time spread in the plan: the Allen–Cunneen correction (Allen 1990).

Vectors: the M/D/c column of capacity case A (CV = 0, tail C·exp(−2θt);
docs/references.md), and a hand computation for CV = 0.3; CV = 1 must leave the M/M/c
plan as it was.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from roost.api.modeldeployment import ModelDeploymentSpec
from roost.capacity import erlang, hpa, planner, sizing, traffic_split
from roost.capacity.planner import PlanInputs, carried_load, plan_capacity

MS = 0.001


def case_a(**overrides: Any) -> planner.CapacityPlan:
    """Capacity case A: 200 req/s, 50 ms, 4 slots per replica, p99 wait ≤ 10 ms."""
    arguments: dict[str, Any] = {
        "arrival_rate": 200.0,
        "service_time": 50 * MS,
        "slots_per_replica": 4,
        "wait_budget": 10 * MS,
    }
    arguments.update(overrides)
    return plan_capacity(PlanInputs(**arguments))


def at_slots(slots: int, service_cv: float) -> planner.CapacityPlan:
    """Case A's load on exactly ``slots`` slots (one slot per replica, floor = ceiling)."""
    return case_a(
        slots_per_replica=1, min_replicas=slots, max_replicas=slots, service_cv=service_cv
    )


@pytest.mark.parametrize(
    ("service_cv", "arrival_cv", "factor"),
    [(1.0, 1.0, 1.0), (0.0, 1.0, 0.5), (0.3, 1.0, 0.545), (2.0, 1.0, 2.5), (0.0, 0.0, 0.0)],
)
def test_allen_cunneen_factor_vectors(service_cv: float, arrival_cv: float, factor: float) -> None:
    assert erlang.allen_cunneen_factor(service_cv, arrival_cv) == pytest.approx(factor, abs=1e-12)


@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf])
def test_allen_cunneen_factor_refuses_impossible_spreads(value: float) -> None:
    with pytest.raises(ValueError, match="service_cv"):
        erlang.allen_cunneen_factor(value)
    with pytest.raises(ValueError, match="arrival_cv"):
        erlang.allen_cunneen_factor(0.3, value)


def test_exponential_service_leaves_the_mmc_plan_unchanged() -> None:
    default, explicit = case_a(), case_a(service_cv=1.0)
    assert default == explicit
    assert (default.slots, default.replicas) == (17, 5)
    # Case A, c = 17: p99 Wq of M/M/c is 8.053 ms.
    assert at_slots(17, service_cv=1.0).wait_quantile_seconds / MS == pytest.approx(8.053, abs=1e-3)
    assert default.service_cv == 1.0
    assert default.to_dict()["service_cv"] == 1.0


@pytest.mark.parametrize(
    ("slots", "p99_ms"),
    [(11, 105.565), (12, 47.566), (13, 27.924), (14, 17.858), (15, 11.614), (16, 7.277),
     (17, 4.026), (18, 1.455), (19, 0.0)],
)  # fmt: skip
def test_deterministic_service_matches_the_md_c_column(slots: int, p99_ms: float) -> None:
    plan = at_slots(slots, service_cv=0.0)
    assert plan.provisioned_slots == slots
    assert plan.wait_quantile_seconds / MS == pytest.approx(p99_ms, abs=1e-3)
    # P(wait) is Erlang C whatever the spread; only the waits shrink.
    assert plan.p_wait == pytest.approx(at_slots(slots, service_cv=1.0).p_wait, rel=1e-12)


def test_cv_03_plan_against_a_hand_computation() -> None:
    # By hand, from case A's M/M/c p99 column and (1 + 0.3²)/2 = 0.545:
    # c = 15: 23.228 ms × 0.545 = 12.659 ms > 10 ms; c = 16: 14.553 ms × 0.545 = 7.931 ms.
    plan = case_a(service_cv=0.3)
    assert (plan.slots, plan.replicas) == (16, 4)
    assert plan.limited_by is planner.PlanLimit.WAIT_BUDGET
    assert plan.wait_quantile_seconds / MS == pytest.approx(7.931, abs=1e-3)
    # c = 16: C = 0.05734, θ = (16 − 10)/50 ms = 120/s; E[Wq] = 0.545 · C/θ = 0.2604 ms.
    assert plan.mean_wait_seconds / MS == pytest.approx(0.545 * 0.05734 / 120 / MS, rel=1e-3)
    assert at_slots(15, service_cv=0.3).wait_quantile_seconds / MS == pytest.approx(
        12.659, abs=1e-3
    )


def test_every_wait_scales_by_the_factor_at_the_same_slots() -> None:
    exponential, low = at_slots(14, service_cv=1.0), at_slots(14, service_cv=0.3)
    for name in ("wait_quantile_seconds", "p99_wait_seconds", "mean_wait_seconds"):
        assert getattr(low, name) == pytest.approx(0.545 * getattr(exponential, name), rel=1e-12)


def test_less_spread_carries_more_and_raises_the_inflight_target() -> None:
    exponential = carried_load(servers=8, service_time=0.1, wait_budget=0.1)
    low = carried_load(servers=8, service_time=0.1, wait_budget=0.1, service_cv=0.3)
    assert low.arrival_rate > exponential.arrival_rate
    # The plan built with the CV hands it on to the HPA target.
    plan = plan_capacity(
        PlanInputs(
            arrival_rate=40.0,
            service_time=0.1,
            slots_per_replica=4,
            wait_budget=0.1,
            service_cv=0.3,
        )
    )
    replicas = plan.replicas
    expected = carried_load(
        servers=4 * replicas, service_time=0.1, wait_budget=0.1, service_cv=0.3
    ).in_flight
    assert hpa.inflight_per_pod_target(plan) == pytest.approx(expected / replicas)


@pytest.mark.parametrize("value", [-0.1, math.nan, math.inf, 4.5])
def test_an_impossible_service_cv_is_refused_naming_it(value: float) -> None:
    with pytest.raises(ValueError, match="service_cv"):
        case_a(service_cv=value)
    with pytest.raises(ValueError, match="service_cv"):
        carried_load(servers=4, service_time=0.1, wait_budget=0.1, service_cv=value)


def test_traffic_split_plans_both_sides_with_the_cv() -> None:
    split = traffic_split.plan_traffic_split(
        PlanInputs(
            arrival_rate=400.0,
            service_time=50 * MS,
            slots_per_replica=4,
            wait_budget=10 * MS,
            service_cv=0.3,
        ),
        canary_weight=50,
    )
    assert split.canary == planner.plan_for_share(
        PlanInputs(
            arrival_rate=400.0,
            service_time=50 * MS,
            slots_per_replica=4,
            wait_budget=10 * MS,
            service_cv=0.3,
        ),
        share=0.5,
    )
    assert split.stable.service_cv == 0.3


def _spec(**autoscaling: Any) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"name": "m", "version": "v1"},
            "sloPolicyRef": {"name": "p"},
            "template": {"spec": {"containers": [{"name": "c", "image": "m:v1"}]}},
            "autoscaling": {
                "slotsPerReplica": 4,
                "serviceTime": "50ms",
                "waitBudget": "10ms",
                "arrivalRate": 200,
                **autoscaling,
            },
        }
    )


def test_unlearned_the_plan_uses_cv_1_and_a_declared_cv_reaches_the_planner() -> None:
    default = _spec().autoscaling
    assert default is not None
    assert default.service_time_cv is None  # learned, else 1
    unlearned = sizing.size(_spec(), canary_weight=0, observed_rate=None)
    assert unlearned.stable_replicas == 5
    assert unlearned.service is not None
    assert (unlearned.service.cv, unlearned.service.cv_from) == (1.0, "default")
    declared = sizing.size(_spec(serviceTimeCv=0.3), canary_weight=0, observed_rate=None)
    assert declared.stable_replicas == 4
    assert declared.split is not None
    assert declared.split.stable.service_cv == 0.3


def test_the_status_says_the_rate_planned_for_once_not_once_per_version() -> None:
    """Both versions' plans are of the whole rate, each for its share: the status's
    arrivalRate is that rate (it was their sum: twice the rate)."""
    for weight in (0, 10):
        status = sizing.size(_spec(), canary_weight=weight, observed_rate=None).status()
        assert status is not None
        assert status.arrival_rate == 200
