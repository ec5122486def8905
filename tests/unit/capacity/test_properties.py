"""Properties of Erlang C and the planner that must hold for every input."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from roost.capacity import erlang
from roost.capacity.planner import PlanInputs, PlanLimit, plan_capacity
from roost.capacity.traffic_split import plan_traffic_split

# Relative slack for comparisons that are equalities in exact arithmetic.
EPS = 1e-9

loads = st.floats(min_value=0.0, max_value=400.0, allow_nan=False)
positive_loads = st.floats(min_value=1e-3, max_value=400.0, allow_nan=False)
rates = st.floats(min_value=0.0, max_value=5000.0, allow_nan=False)
service_times = st.floats(min_value=1e-3, max_value=2.0, allow_nan=False)
slots_per_replica = st.integers(min_value=1, max_value=16)
budgets = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
percentiles = st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999])
caps = st.none() | st.floats(min_value=0.3, max_value=1.0, allow_nan=False)


@given(servers=st.integers(min_value=0, max_value=600), offered_load=loads)
def test_erlang_c_is_a_probability(servers: int, offered_load: float) -> None:
    assert 0.0 <= erlang.erlang_c(servers, offered_load) <= 1.0
    assert 0.0 <= erlang.erlang_b(servers, offered_load) <= 1.0


@given(offered_load=positive_loads, extra=st.integers(min_value=0, max_value=200))
def test_erlang_c_decreases_as_servers_are_added(offered_load: float, extra: int) -> None:
    servers = math.floor(offered_load) + 1 + extra
    fewer = erlang.erlang_c(servers, offered_load)
    more = erlang.erlang_c(servers + 1, offered_load)
    assert more <= fewer * (1 + EPS)


@given(
    servers=st.integers(min_value=1, max_value=400),
    low=st.floats(min_value=0.0, max_value=1.0),
    high=st.floats(min_value=0.0, max_value=1.0),
)
def test_erlang_c_increases_with_load(servers: int, low: float, high: float) -> None:
    low, high = sorted((low * servers, high * servers))
    assert erlang.erlang_c(servers, low) <= erlang.erlang_c(servers, high) * (1 + EPS)


@settings(deadline=None)
@given(
    arrival_rate=st.floats(min_value=1e-3, max_value=5000.0, allow_nan=False),
    service_time=service_times,
    slots=slots_per_replica,
    budget=budgets,
    percentile=percentiles,
    cap=caps,
)
def test_planned_slots_are_the_fewest_that_meet_the_budget(
    arrival_rate: float,
    service_time: float,
    slots: int,
    budget: float,
    percentile: float,
    cap: float | None,
) -> None:
    plan = plan_capacity(
        PlanInputs(
            arrival_rate=arrival_rate,
            service_time=service_time,
            slots_per_replica=slots,
            wait_budget=budget,
            wait_percentile=percentile,
            max_utilisation=cap,
        )
    )

    def quantile(servers: int) -> float:
        return erlang.wait_quantile(
            servers=servers,
            arrival_rate=arrival_rate,
            service_time=service_time,
            percentile=percentile,
        )

    assert plan.slots > plan.offered_load
    assert quantile(plan.slots) <= budget
    if cap is not None:
        assert plan.offered_load <= cap * plan.slots * (1 + EPS)
    one_fewer = plan.slots - 1
    fewer_is_stable = one_fewer > plan.offered_load
    fewer_is_under_cap = cap is None or plan.offered_load <= cap * one_fewer
    if fewer_is_stable and fewer_is_under_cap:
        assert quantile(one_fewer) > budget
        assert plan.limited_by in (PlanLimit.WAIT_BUDGET, PlanLimit.MIN_REPLICAS)
    # Unclamped, the provisioned replicas meet the budget too.
    assert plan.replicas == math.ceil(plan.slots / slots)
    assert plan.meets_wait_budget


@settings(deadline=None)
@given(
    first=rates,
    second=rates,
    service_time=service_times,
    slots=slots_per_replica,
    budget=budgets,
    min_replicas=st.integers(min_value=0, max_value=5),
)
def test_replicas_never_fall_as_arrival_rate_rises(
    first: float,
    second: float,
    service_time: float,
    slots: int,
    budget: float,
    min_replicas: int,
) -> None:
    low, high = sorted((first, second))
    common: dict[str, Any] = {
        "service_time": service_time,
        "slots_per_replica": slots,
        "wait_budget": budget,
        "min_replicas": min_replicas,
    }
    assert (
        plan_capacity(PlanInputs(arrival_rate=low, **common)).replicas
        <= plan_capacity(PlanInputs(arrival_rate=high, **common)).replicas
    )


@settings(deadline=None)
@given(
    arrival_rate=rates,
    service_time=service_times,
    slots=slots_per_replica,
    budget=budgets,
    min_replicas=st.integers(min_value=0, max_value=10),
    span=st.integers(min_value=0, max_value=30),
)
def test_replicas_stay_within_min_and_max(
    arrival_rate: float,
    service_time: float,
    slots: int,
    budget: float,
    min_replicas: int,
    span: int,
) -> None:
    max_replicas = max(1, min_replicas) + span
    plan = plan_capacity(
        PlanInputs(
            arrival_rate=arrival_rate,
            service_time=service_time,
            slots_per_replica=slots,
            wait_budget=budget,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
        )
    )
    assert min_replicas <= plan.replicas <= max_replicas
    assert plan.provisioned_slots == plan.replicas * slots
    if plan.limited_by is not PlanLimit.MAX_REPLICAS:
        assert plan.meets_wait_budget


@settings(deadline=None)
@given(
    arrival_rate=rates,
    service_time=service_times,
    slots=slots_per_replica,
    budget=budgets,
    weight=st.floats(min_value=0.0, max_value=100.0),
)
def test_a_split_never_needs_fewer_replicas_than_one_queue(
    arrival_rate: float, service_time: float, slots: int, budget: float, weight: float
) -> None:
    common: dict[str, Any] = {
        "arrival_rate": arrival_rate,
        "service_time": service_time,
        "slots_per_replica": slots,
        "wait_budget": budget,
    }
    split = plan_traffic_split(PlanInputs(**common), canary_weight=weight)
    assert split.total_replicas >= plan_capacity(PlanInputs(**common)).replicas
    assert split.canary.meets_wait_budget
    assert split.stable.meets_wait_budget
