"""B2d: the candidate rate-driven mapping reads the signals it says it reads."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.autoscale import demand

from roost.replay.sim import Model, Pod


@dataclass
class FakeSim:
    """A fake of the simulator's control-plane view: a fixed rate and scraped pods."""

    measured: float
    pods: list[Pod] = field(default_factory=list)
    spec_replicas: int = 1

    def rate(self, now: float, window: float = 120.0) -> float:
        return self.measured

    def live(self) -> list[Pod]:
        return self.pods


def _pods(inflight: list[int]) -> list[Pod]:
    pods = []
    for value in inflight:
        pod = Pod(created=-600.0, ready_at=-600.0)
        pod.inflight_sample = value
        pods.append(pod)
    return pods


def _decide(policy: demand.DemandHpa, sim: FakeSim, syncs: int = 4) -> int | None:
    desired = None
    for i in range(syncs):
        desired = policy.decide(15.0 * i, sim)  # type: ignore[arg-type]
        sim.spec_replicas = desired or sim.spec_replicas
    return desired


def test_a_steady_rate_asks_for_the_rate_over_the_target_per_pod() -> None:
    model = Model()
    sim = FakeSim(measured=300.0, pods=_pods([2] * 8), spec_replicas=8)
    policy = demand.DemandHpa(model)
    desired = _decide(policy, sim)
    expected = 300.0 + demand.Z * math.sqrt(300.0 / demand.RATE_WINDOW)
    assert desired == math.ceil(expected / policy.target)
    # The target is the plan's carried rate per pod less the tolerance: below the
    # slots' throughput K / S, and above the rate's share per planned pod.
    assert policy.target < model.slots / model.service_mean
    assert desired > 300.0 / (model.slots / model.service_mean)


def test_a_reserve_divides_the_target() -> None:
    sim = FakeSim(measured=300.0, pods=_pods([2] * 8), spec_replicas=8)
    plain, reserved = demand.DemandHpa(Model()), demand.DemandHpa(Model(), reserve=2.0)
    _decide(plain, sim)
    _decide(reserved, FakeSim(measured=300.0, pods=_pods([2] * 8), spec_replicas=8))
    assert math.isclose(reserved.target, plain.target / 2)


def test_a_queue_raises_the_demand_to_what_the_ready_pods_serve() -> None:
    model = Model()
    calm = FakeSim(measured=50.0, pods=_pods([3, 3]), spec_replicas=2)
    queued = FakeSim(measured=50.0, pods=_pods([40, 40]), spec_replicas=2)
    policy = demand.DemandHpa(model)
    low, high = _decide(demand.DemandHpa(model), calm), _decide(policy, queued)
    assert low is not None
    assert high is not None
    # Two saturated pods serve 2 K / S = 80 req/s whatever the lagging counter says.
    assert high > low
    assert high >= math.ceil(2 * model.slots / model.service_mean / policy.target)


def test_a_window_arm_sets_the_start_up_the_window_and_the_scale_down_rate() -> None:
    assert demand.window_arm("window:150:2") == (150.0, 2.0, False)
    assert demand.window_arm("window:60:1:all") == (60.0, 1.0, True)
    policy = demand.make_policy("window:150:4", Model(), 100.0)
    behavior = policy.behavior()  # type: ignore[union-attr]
    assert (behavior.scale_down_window_seconds, behavior.scale_down_percent) == (600, 10)
    at_once = demand.make_policy("window:60:2:all", Model(), 100.0)
    behavior = at_once.behavior()  # type: ignore[union-attr]
    assert (behavior.scale_down_window_seconds, behavior.scale_down_percent) == (120, 100)
    for bad in ("window:60", "window:60:2:some", "window:x:2"):
        try:
            demand.window_arm(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} was taken")
    row = demand.run_one((1, "ramp", "window:30:2", 0))
    assert row["startup_seconds"] == [22.5, 37.5]
    assert demand.run_one((1, "ramp", "roost-demand", 0))["startup_seconds"] == [45.0, 75.0]


def test_an_arm_planned_at_the_peak_is_labelled_by_it_not_by_one_seeds_rate() -> None:
    rows = [
        {"policy": "roost-peak", "name": "Roost plan, in-flight HPA, arrivalRate 642.1"},
        {"policy": "roost-peak", "name": "Roost plan, in-flight HPA, arrivalRate 655.9"},
    ]
    assert demand._label(rows) == "Roost plan, in-flight HPA, arrivalRate at the run's peak"
    plain = [{"policy": "roost-demand", "name": "Roost plan, demand HPA"}]
    assert demand._label(plain) == "Roost plan, demand HPA"
