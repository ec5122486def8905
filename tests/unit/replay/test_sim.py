"""The queue simulator and the policies run end to end on tiny inputs (no numbers asserted)."""

from __future__ import annotations

import numpy as np
import pytest
from bench.autoscale import replay, traces

from roost.replay import policies
from roost.replay.run import violation_minutes
from roost.replay.sim import Model, Simulation


def _run(policy: policies.Policy, routing: str = "least-request", rate: float = 20.0) -> Simulation:
    rng = np.random.default_rng(0)
    arrivals = traces.arrivals(rng, np.full(120, rate))
    sim = Simulation(Model(routing=routing), arrivals, 2, policy, np.random.default_rng(1))
    sim.run()
    return sim


@pytest.mark.parametrize("routing", ["least-request", "random"])
def test_every_request_completes_with_a_latency_at_least_its_service_time(routing: str) -> None:
    sim = _run(policies.Static(2), routing)
    assert not np.isnan(sim.latency).any()
    assert (sim.latency >= sim.service - 1e-9).all()


def test_a_static_policy_never_changes_the_replica_count() -> None:
    sim = _run(policies.Static(2))
    assert sim.trajectory == [(0.0, 2)]


def test_an_overloaded_cpu_hpa_scales_up() -> None:
    sim = _run(policies.CpuHpa(50), rate=120.0)
    assert max(n for _, n in sim.trajectory) > 2


@pytest.mark.parametrize("key", replay.policy_keys())
def test_every_policy_of_the_sweep_can_be_built_and_decides(key: str) -> None:
    model = Model()
    policy = replay.make_policy(key, model, 30.0)
    rng = np.random.default_rng(0)
    sim = Simulation(model, traces.arrivals(rng, np.full(40, 10.0)), 1, policy, rng)
    sim.run()


def test_traces_are_seeded() -> None:
    for generate in traces.TRACES.values():
        a = generate(np.random.default_rng(3))
        b = generate(np.random.default_rng(3))
        assert (a == b).all()
        assert (a >= 0).all()


def test_violation_minutes_count_minutes_whose_p99_exceeds_the_slo() -> None:
    arrivals = np.array([1.0, 2.0, 61.0, 62.0])
    latency = np.array([0.1, 0.1, 0.1, 5.0])
    assert violation_minutes(arrivals, latency, 0.3) == 1


def test_a_minute_with_unfinished_requests_is_a_violation() -> None:
    arrivals = np.array([1.0, 2.0, 3.0])
    latency = np.array([0.1, np.inf, np.inf])
    assert violation_minutes(arrivals, latency, 0.3) == 1
