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


class _Checked:
    """A policy wrapper that checks routing's kept state against the pods at each sync."""

    def __init__(self, inner: policies.Policy) -> None:
        self.inner = inner
        self.period = inner.period
        self.name = inner.name
        self.checks = 0

    def decide(self, now: float, sim: Simulation) -> int | None:
        for index, pod in enumerate(sim.pods):
            assert sim.load[index] == pod.inflight()
        ready = [i for i in sim.active if sim.pods[i].ready_at <= now]
        assert sim._ready_pods(now) == ready
        self.checks += 1
        return self.inner.decide(now, sim)


def test_routing_state_follows_the_pods_through_scale_up_and_down() -> None:
    rng = np.random.default_rng(0)
    rate = np.concatenate([np.full(150, 150.0), np.full(600, 3.0)])
    checked = _Checked(policies.CpuHpa(50))
    sim = Simulation(Model(), traces.arrivals(rng, rate), 2, checked, np.random.default_rng(1))
    sim.run()
    sizes = [n for _, n in sim.trajectory]
    assert max(sizes) > 2  # it scaled up ...
    assert sizes[-1] < max(sizes)  # ... and down again, re-routing the victims' queues
    assert checked.checks > 40


def test_a_scale_down_moves_the_victims_queues_and_their_load() -> None:
    arrivals = np.zeros(30)
    sim = Simulation(Model(), arrivals, 3, policies.Static(3), np.random.default_rng(1))
    for request in range(30):
        sim._route(request, 0.0)
    assert [sim.load[i] for i in range(3)] == [10, 10, 10]  # least-request spreads them
    sim._scale(0.0, 1)
    (kept,) = sim.active
    assert [sim.load[i] for i in range(3)] == [pod.inflight() for pod in sim.pods]
    # The victims keep only what they are serving; their queues went to the survivor.
    victims = [pod for i, pod in enumerate(sim.pods) if i != kept]
    assert all(not pod.queue for pod in victims)
    assert sim.load[kept] == 30 - sum(pod.busy for pod in victims)
