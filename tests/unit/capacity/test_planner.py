"""The capacity plan: replica counts of capacity cases A-E (docs/references.md, "Test vectors")."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from typing import Any

import pytest

from roost.capacity import erlang, planner
from roost.capacity.planner import PlanInputs, PlanLimit, carried_load, plan_capacity

MS = 0.001
# A budget no plan comes near, to let stability or a utilisation cap decide.
NO_BUDGET = 3600.0


def case_a(**overrides: Any) -> planner.CapacityPlan:
    arguments: dict[str, Any] = {
        "arrival_rate": 200.0,
        "service_time": 50 * MS,
        "slots_per_replica": 4,
        "wait_budget": 10 * MS,
    }
    arguments.update(overrides)
    return plan_capacity(PlanInputs(**arguments))


# Capacity case A: 200 req/s, 50 ms, 4 slots per replica, p99 wait ≤ 10 ms
# needs c = 17 slots, so 5 replicas (p99 Wq at 17 slots = 8.05 ms).
def test_case_a_p99_wait_10ms_needs_17_slots_and_5_replicas() -> None:
    plan = case_a()
    assert plan.offered_load == pytest.approx(10.0)
    assert plan.slots == 17
    assert plan.replicas == 5
    assert plan.provisioned_slots == 20
    assert plan.limited_by is PlanLimit.WAIT_BUDGET
    # Reported at the provisioned 20 slots: C(20, 10) of case A.
    assert plan.p_wait == pytest.approx(0.0037311260, abs=5e-11)
    assert plan.p99_wait_seconds == 0.0
    assert plan.utilisation == pytest.approx(0.5)
    assert plan.meets_wait_budget


# Capacity cases A to E, replica counts per budget:
# (λ, S, K, p99 wait budget ms) -> (slots, replicas).
BUDGET_VECTORS = [
    # Case A: λ = 200, S = 50 ms, k = 4
    (200.0, 0.050, 4, 50, 14, 4),
    (200.0, 0.050, 4, 25, 15, 4),
    (200.0, 0.050, 4, 10, 17, 5),
    (200.0, 0.050, 4, 5, 18, 5),
    (200.0, 0.050, 4, 0, 19, 5),
    # Case B: λ = 2000, S = 50 ms, k = 4
    (2000.0, 0.050, 4, 50, 105, 27),
    (2000.0, 0.050, 4, 25, 108, 27),
    (2000.0, 0.050, 4, 10, 114, 29),
    (2000.0, 0.050, 4, 5, 118, 30),
    (2000.0, 0.050, 4, 0, 125, 32),
    # Case C: λ = 1000, S = 20 ms, k = 8
    (1000.0, 0.020, 8, 50, 22, 3),
    (1000.0, 0.020, 8, 25, 23, 3),
    (1000.0, 0.020, 8, 10, 26, 4),
    (1000.0, 0.020, 8, 5, 28, 4),
    (1000.0, 0.020, 8, 0, 32, 4),
    # Case D: λ = 50, S = 200 ms, k = 1
    (50.0, 0.200, 1, 50, 17, 17),
    (50.0, 0.200, 1, 25, 18, 18),
    (50.0, 0.200, 1, 10, 19, 19),
    (50.0, 0.200, 1, 5, 19, 19),
    (50.0, 0.200, 1, 0, 19, 19),
    # Case E: λ = 20, S = 100 ms, k = 4
    (20.0, 0.100, 4, 50, 6, 2),
    (20.0, 0.100, 4, 25, 6, 2),
    (20.0, 0.100, 4, 10, 7, 2),
    (20.0, 0.100, 4, 5, 7, 2),
    (20.0, 0.100, 4, 0, 7, 2),
]


@pytest.mark.parametrize(
    ("arrival_rate", "service_time", "slots_per_replica", "budget_ms", "slots", "replicas"),
    BUDGET_VECTORS,
)
def test_wait_budget_vectors_of_cases_a_to_e(
    arrival_rate: float,
    service_time: float,
    slots_per_replica: int,
    budget_ms: int,
    slots: int,
    replicas: int,
) -> None:
    plan = plan_capacity(
        PlanInputs(
            arrival_rate=arrival_rate,
            service_time=service_time,
            slots_per_replica=slots_per_replica,
            wait_budget=budget_ms * MS,
        )
    )
    assert (plan.slots, plan.replicas) == (slots, replicas)
    assert plan.meets_wait_budget


# Capacity cases A–E: the fewest slots and pods for stability (c > a).
@pytest.mark.parametrize(
    ("arrival_rate", "service_time", "slots_per_replica", "slots", "replicas"),
    [
        (200.0, 0.050, 4, 11, 3),
        (2000.0, 0.050, 4, 101, 26),
        (1000.0, 0.020, 8, 21, 3),
        (50.0, 0.200, 1, 11, 11),
        (20.0, 0.100, 4, 3, 1),
    ],
)
def test_a_loose_budget_plans_the_stability_bound(
    arrival_rate: float, service_time: float, slots_per_replica: int, slots: int, replicas: int
) -> None:
    plan = plan_capacity(
        PlanInputs(
            arrival_rate=arrival_rate,
            service_time=service_time,
            slots_per_replica=slots_per_replica,
            wait_budget=NO_BUDGET,
        )
    )
    assert (plan.slots, plan.replicas) == (slots, replicas)
    assert plan.limited_by is PlanLimit.STABILITY


# Capacity cases A–E: the utilisation-target rule
# pods = ceil(a / (k·ρ*)) and, where given, the p99 wait it achieves (M/M/c).
@pytest.mark.parametrize(
    ("arrival_rate", "service_time", "slots_per_replica", "target", "replicas", "p99_ms"),
    [
        (200.0, 0.050, 4, 0.7, 4, 14.553),
        (200.0, 0.050, 4, 0.8, 4, 14.553),
        (2000.0, 0.050, 4, 0.7, 36, None),
        (2000.0, 0.050, 4, 0.8, 32, None),
        (1000.0, 0.020, 8, 0.7, 4, None),
        (50.0, 0.200, 1, 0.7, 15, 92.912),
        (50.0, 0.200, 1, 0.8, 13, None),
        (20.0, 0.100, 4, 0.7, 1, 142.799),
    ],
)
def test_utilisation_cap_reproduces_the_utilisation_target_rule(
    arrival_rate: float,
    service_time: float,
    slots_per_replica: int,
    target: float,
    replicas: int,
    p99_ms: float | None,
) -> None:
    plan = plan_capacity(
        PlanInputs(
            arrival_rate=arrival_rate,
            service_time=service_time,
            slots_per_replica=slots_per_replica,
            wait_budget=NO_BUDGET,
            max_utilisation=target,
        )
    )
    assert plan.replicas == replicas
    # In case E the cap (3 slots) is also the stability bound, which is reported.
    assert plan.limited_by in (PlanLimit.MAX_UTILISATION, PlanLimit.STABILITY)
    assert plan.utilisation <= target
    if p99_ms is not None:
        assert plan.p99_wait_seconds / MS == pytest.approx(p99_ms, abs=5e-4)


def test_a_binding_utilisation_cap_is_named_in_the_plan() -> None:
    plan = case_a(wait_budget=NO_BUDGET, max_utilisation=0.7)
    assert plan.slots == 15  # ceil(10 / 0.7), above the stability bound of 11
    assert plan.limited_by is PlanLimit.MAX_UTILISATION


# Capacity case A: at λ = 200 a 70 % target gives 4 pods and p99 Wq
# 14.6 ms, missing a 10 ms budget that Erlang C meets with 5.
def test_wait_budget_overrides_a_looser_utilisation_cap() -> None:
    plan = case_a(max_utilisation=0.7)
    assert (plan.slots, plan.replicas) == (17, 5)
    assert plan.limited_by is PlanLimit.WAIT_BUDGET


def test_utilisation_cap_does_not_round_up_on_floating_point_noise() -> None:
    # 14 / 0.7 evaluates to 20.000000000000004; 20 slots are exactly 70 % busy.
    plan = plan_capacity(
        PlanInputs(
            arrival_rate=14.0,
            service_time=1.0,
            slots_per_replica=1,
            wait_budget=NO_BUDGET,
            max_utilisation=0.7,
        )
    )
    assert plan.slots == 20


def test_min_replicas_raises_the_plan_and_says_so() -> None:
    plan = case_a(min_replicas=8)
    assert plan.slots == 17
    assert plan.replicas == 8
    assert plan.provisioned_slots == 32
    assert plan.limited_by is PlanLimit.MIN_REPLICAS
    assert plan.p_wait == pytest.approx(erlang.erlang_c(32, 10.0))


def test_max_replicas_cuts_the_plan_and_reports_the_missed_budget() -> None:
    plan = case_a(max_replicas=3)
    assert plan.slots == 17  # what the budget needs
    assert plan.replicas == 3
    assert plan.limited_by is PlanLimit.MAX_REPLICAS
    # At 12 slots: case A, C(12, 10) and p99 Wq 95.133 ms.
    assert plan.p_wait == pytest.approx(0.4493882243, abs=5e-11)
    assert plan.p99_wait_seconds / MS == pytest.approx(95.133, abs=5e-4)
    assert not plan.meets_wait_budget


def test_max_replicas_below_the_load_reports_an_unbounded_wait() -> None:
    plan = case_a(max_replicas=2)  # 8 slots for 10 Erlangs
    assert plan.p_wait == 1.0
    assert plan.p99_wait_seconds == math.inf
    assert plan.utilisation == pytest.approx(1.25)
    as_dict = plan.to_dict()
    assert as_dict["p99_wait_seconds"] is None
    assert as_dict["meets_wait_budget"] is False
    json.dumps(as_dict, allow_nan=False)


def test_zero_arrival_rate_plans_min_replicas() -> None:
    plan = case_a(arrival_rate=0.0, min_replicas=2)
    assert plan.slots == 0
    assert plan.replicas == 2
    assert plan.limited_by is PlanLimit.MIN_REPLICAS
    assert (plan.p_wait, plan.p99_wait_seconds, plan.utilisation) == (0.0, 0.0, 0.0)
    assert plan.mean_in_flight == 0.0


def test_zero_arrival_rate_with_no_floor_plans_no_replicas() -> None:
    plan = case_a(arrival_rate=0.0, min_replicas=0)
    assert (plan.slots, plan.replicas, plan.provisioned_slots) == (0, 0, 0)


def test_headroom_plans_for_a_higher_rate() -> None:
    # 10 % headroom on 200 req/s plans for 220 req/s (a = 11).
    plan = case_a(headroom=0.1)
    assert plan.planned_arrival_rate == pytest.approx(220.0)
    assert plan.offered_load == pytest.approx(11.0)
    assert plan.slots > case_a().slots
    assert plan.arrival_rate == 200.0


def test_other_percentiles_are_held_to_the_budget() -> None:
    # p95 is looser than p99: fewer slots for the same 10 ms.
    plan = case_a(wait_percentile=0.95)
    assert plan.slots < 17
    assert plan.wait_quantile_seconds <= 10 * MS
    assert plan.p99_wait_seconds >= plan.wait_quantile_seconds


def test_mean_in_flight_follows_littles_law() -> None:
    plan = case_a()
    assert plan.mean_in_flight == pytest.approx(200.0 * (0.050 + plan.mean_wait_seconds))


def test_plan_is_frozen() -> None:
    plan = case_a()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.replicas = 1  # type: ignore[misc]


def test_to_dict_has_snake_case_keys_and_serialises_to_json() -> None:
    as_dict = case_a().to_dict()
    for key in ("replicas", "slots", "offered_load", "p_wait", "p99_wait_seconds"):
        assert key in as_dict
    assert as_dict["replicas"] == 5
    assert as_dict["slots"] == 17
    assert as_dict["limited_by"] == "wait_budget"
    assert all(key == key.lower() for key in as_dict)
    json.dumps(as_dict, allow_nan=False)


def test_large_loads_plan_quickly() -> None:
    started = time.perf_counter()
    plan = plan_capacity(
        PlanInputs(arrival_rate=200_000.0, service_time=0.05, slots_per_replica=4, wait_budget=0.01)
    )
    assert time.perf_counter() - started < 2.0
    assert plan.offered_load == pytest.approx(10_000.0)
    assert 10_000 < plan.slots < 10_300
    assert plan.meets_wait_budget


def test_absurd_load_is_refused_as_a_likely_unit_mistake() -> None:
    with pytest.raises(ValueError, match="service_time"):
        case_a(arrival_rate=1e6, service_time=50.0)


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"arrival_rate": -1.0}, "arrival_rate"),
        ({"arrival_rate": math.inf}, "arrival_rate"),
        ({"service_time": 0.0}, "service_time"),
        ({"service_time": math.nan}, "service_time"),
        ({"slots_per_replica": 0}, "slots_per_replica"),
        ({"slots_per_replica": 2.5}, "slots_per_replica"),
        ({"slots_per_replica": True}, "slots_per_replica"),
        ({"wait_budget": -0.001}, "wait_budget"),
        ({"wait_percentile": 99.0}, "wait_percentile"),
        ({"wait_percentile": 1.0}, "wait_percentile"),
        ({"min_replicas": -1}, "min_replicas"),
        ({"max_replicas": 0}, "max_replicas"),
        ({"min_replicas": 4, "max_replicas": 3}, "max_replicas"),
        ({"headroom": -0.1}, "headroom"),
        ({"max_utilisation": 0.0}, "max_utilisation"),
        ({"max_utilisation": 1.5}, "max_utilisation"),
    ],
)
def test_invalid_inputs_are_refused_naming_the_parameter(
    overrides: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(ValueError, match=parameter):
        case_a(**overrides)


# ---- carried_load: the inverse of the plan ------------------------------------------


@pytest.mark.parametrize("servers", [4, 12, 17, 20, 40])
def test_carried_load_is_the_highest_rate_within_the_wait_budget(servers: int) -> None:
    carried = carried_load(servers=servers, service_time=0.050, wait_budget=0.010)
    at = erlang.wait_quantile(
        servers=servers, arrival_rate=carried.arrival_rate, service_time=0.050, percentile=0.99
    )
    above = erlang.wait_quantile(
        servers=servers,
        arrival_rate=carried.arrival_rate * (1 + 1e-5),
        service_time=0.050,
        percentile=0.99,
    )
    assert at <= 10 * MS < above
    assert carried.offered_load == pytest.approx(carried.arrival_rate * 0.050)
    mean = erlang.mean_wait(servers=servers, arrival_rate=carried.arrival_rate, service_time=0.050)
    assert carried.in_flight == pytest.approx(carried.arrival_rate * (0.050 + mean))


@pytest.mark.parametrize("rate", [3.0, 20.0, 200.0, 2000.0])
def test_the_plan_and_carried_load_agree(rate: float) -> None:
    # The planned slots carry at least the planned rate; one slot fewer does not.
    plan = case_a(arrival_rate=rate, max_replicas=None)
    assert carried_load(servers=plan.slots, service_time=0.050, wait_budget=0.010).arrival_rate >= (
        rate * (1 - 1e-6)
    )
    if plan.slots > 1:
        fewer = carried_load(servers=plan.slots - 1, service_time=0.050, wait_budget=0.010)
        assert fewer.arrival_rate < rate


def test_case_a_replicas_carry_255_requests_per_second() -> None:
    # 5 replicas x 4 slots: the p99 wait reaches 10 ms at λ ≈ 255.25 req/s (ρ* ≈ 0.638).
    carried = carried_load(servers=20, service_time=0.050, wait_budget=0.010)
    assert carried.arrival_rate == pytest.approx(255.2494, rel=1e-5)
    assert carried.utilisation == pytest.approx(0.63812, rel=1e-4)


def test_carried_utilisation_rises_with_the_slots() -> None:
    # Square-root staffing: bigger pools run hotter for the same wait (Halfin & Whitt 1981).
    rho = [
        carried_load(servers=c, service_time=0.050, wait_budget=0.010).utilisation
        for c in (4, 16, 64, 256)
    ]
    assert rho == sorted(rho)
    assert rho[-1] > 0.9 > rho[0]


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"servers": 0}, "servers"),
        ({"servers": 2.0}, "servers"),
        ({"service_time": 0.0}, "service_time"),
        ({"wait_budget": -1.0}, "wait_budget"),
        ({"wait_percentile": 1.0}, "wait_percentile"),
        ({"relative_precision": 0.0}, "relative_precision"),
    ],
)
def test_carried_load_refuses_impossible_inputs(overrides: dict[str, Any], parameter: str) -> None:
    arguments: dict[str, Any] = {"servers": 20, "service_time": 0.05, "wait_budget": 0.01}
    arguments.update(overrides)
    with pytest.raises(ValueError, match=parameter):
        carried_load(**arguments)
