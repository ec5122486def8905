"""Capacity before traffic: sizing canary and stable for the weight about to be set."""

from __future__ import annotations

from typing import Any

import pytest

from roost.capacity import planner
from roost.capacity.planner import PlanInputs, PlanLimit, plan_capacity, plan_for_share
from roost.capacity.traffic_split import plan_traffic_split

# Capacity case A (docs/references.md): 200 req/s, 50 ms, 4 slots, p99 wait ≤ 10 ms.
CASE_A: dict[str, Any] = {
    "arrival_rate": 200.0,
    "service_time": 0.050,
    "slots_per_replica": 4,
    "wait_budget": 0.010,
}


def test_canary_at_10_percent_is_sized_for_a_tenth_of_the_traffic() -> None:
    split = plan_traffic_split(PlanInputs(**CASE_A), canary_weight=10)
    assert split.canary.traffic_share == pytest.approx(0.1)
    assert split.canary.planned_arrival_rate == pytest.approx(20.0)
    assert split.canary.offered_load == pytest.approx(1.0)
    assert (split.canary.slots, split.canary.replicas) == (5, 2)
    assert split.stable.planned_arrival_rate == pytest.approx(180.0)
    assert (split.stable.slots, split.stable.replicas) == (16, 4)
    assert split.canary.meets_wait_budget
    assert split.stable.meets_wait_budget


def test_splitting_one_queue_in_two_costs_replicas() -> None:
    # Two queues lose the economy of scale of one (square-root staffing, Halfin & Whitt 1981).
    split = plan_traffic_split(PlanInputs(**CASE_A), canary_weight=10)
    assert split.total_replicas == 6
    assert split.total_replicas >= plan_capacity(PlanInputs(**CASE_A)).replicas


def test_weight_zero_keeps_the_canary_at_min_replicas() -> None:
    split = plan_traffic_split(PlanInputs(min_replicas=1, **CASE_A), canary_weight=0)
    assert split.canary.replicas == 1
    assert split.canary.limited_by is PlanLimit.MIN_REPLICAS
    assert split.stable.replicas == plan_capacity(PlanInputs(**CASE_A)).replicas


def test_full_weight_gives_the_canary_the_whole_plan() -> None:
    split = plan_traffic_split(PlanInputs(min_replicas=1, **CASE_A), canary_weight=100)
    assert split.canary.replicas == plan_capacity(PlanInputs(**CASE_A)).replicas
    assert split.stable.replicas == 1


def test_each_side_gets_at_least_min_replicas() -> None:
    split = plan_traffic_split(PlanInputs(min_replicas=3, **CASE_A), canary_weight=5)
    assert split.canary.replicas >= 3
    assert split.stable.replicas >= 3


def test_a_slower_canary_gets_more_replicas_for_the_same_share() -> None:
    same = plan_traffic_split(PlanInputs(**CASE_A), canary_weight=50)
    slower = plan_traffic_split(PlanInputs(**CASE_A), canary_weight=50, canary_service_time=0.100)
    assert slower.canary.service_time == 0.100
    assert slower.canary.replicas > same.canary.replicas
    assert slower.stable == same.stable


def test_plan_for_share_is_plan_capacity_on_the_shared_rate() -> None:
    shared = plan_for_share(PlanInputs(**CASE_A), share=0.25)
    direct = plan_capacity(PlanInputs(**{**CASE_A, "arrival_rate": 50.0}))
    assert (shared.slots, shared.replicas, shared.p_wait) == (
        direct.slots,
        direct.replicas,
        direct.p_wait,
    )
    assert shared.arrival_rate == 200.0
    assert shared.traffic_share == 0.25


def test_split_to_dict_nests_both_plans() -> None:
    as_dict = plan_traffic_split(PlanInputs(**CASE_A), canary_weight=10).to_dict()
    assert as_dict["canary_weight"] == 10
    assert as_dict["total_replicas"] == 6
    assert isinstance(as_dict["canary"], dict)
    assert as_dict["canary"]["replicas"] == 2
    assert isinstance(as_dict["stable"], dict)
    assert as_dict["stable"]["replicas"] == 4


@pytest.mark.parametrize("weight", [-1.0, 100.5, float("nan")])
def test_weights_outside_0_to_100_are_refused(weight: float) -> None:
    with pytest.raises(ValueError, match="canary_weight"):
        plan_traffic_split(PlanInputs(**CASE_A), canary_weight=weight)


@pytest.mark.parametrize("share", [-0.1, 1.1])
def test_shares_outside_0_to_1_are_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        planner.plan_for_share(PlanInputs(**CASE_A), share=share)


def test_a_shadow_step_keeps_the_stable_whole_and_sizes_the_canary_for_the_copies() -> None:
    whole = plan_capacity(PlanInputs(min_replicas=1, **CASE_A)).replicas
    split = plan_traffic_split(PlanInputs(min_replicas=1, **CASE_A), canary_weight=0, mirror=100)
    assert split.stable.replicas == whole  # users still go to the stable, all of them
    assert split.canary.replicas == whole  # and the canary answers a copy of each
    half = plan_traffic_split(PlanInputs(min_replicas=1, **CASE_A), canary_weight=0, mirror=50)
    routed = plan_traffic_split(PlanInputs(min_replicas=1, **CASE_A), canary_weight=50)
    assert half.canary.replicas == routed.canary.replicas
    assert half.stable.replicas == whole > routed.stable.replicas
    with pytest.raises(ValueError, match="routes or mirrors, not both"):
        plan_traffic_split(PlanInputs(**CASE_A), canary_weight=5, mirror=5)
