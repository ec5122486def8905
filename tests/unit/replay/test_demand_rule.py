"""The demand rules restated on the simulator's scrapes (roost.replay.demand): the same
terms as the PromQL of roost.slo.demand, which promtool evaluates in
tests/integration/test_demand_rules.py on the same kind of inputs."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import pytest

from roost.replay.demand import DemandRule, deriv
from roost.replay.sim import Pod
from roost.slo.demand import DRAIN_SECONDS, LEAD_SECONDS, Z


@dataclass
class FakeSim:
    """A fake of what the rules read: the counter's scrapes and the pods' gauges."""

    counter_samples: list[tuple[float, int]] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)

    def rate(self, now: float, window: float = 120.0) -> float:
        samples = [(t, c) for t, c in self.counter_samples if t >= now - window]
        (t0, c0), (t1, c1) = samples[0], samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0

    def live(self) -> list[Pod]:
        return self.pods


def _pods(*inflight: int) -> list[Pod]:
    pods = [Pod(created=-600.0, ready_at=-600.0) for _ in inflight]
    for pod, value in zip(pods, inflight, strict=True):
        pod.inflight_sample = value
    return pods


def _noise(rate: float) -> float:
    return Z * math.sqrt(rate / 60)


def test_deriv_is_the_least_squares_slope() -> None:
    assert deriv(deque([(0.0, 1.0)])) is None
    assert deriv(deque([(0.0, 1.0), (15.0, 4.0), (30.0, 7.0)])) == pytest.approx(0.2)


def test_a_steady_rate_without_a_queue_is_the_rate_and_its_noise() -> None:
    rule = DemandRule(slots=4)
    sim = FakeSim(pods=_pods(1, 3))
    value = 0.0
    for i in range(40):
        sim.counter_samples.append((15.0 * i, 150 * i))  # 10 req/s
        value = rule.value(15.0 * i, sim)  # type: ignore[arg-type]
    assert value == pytest.approx(10 + _noise(10))


def test_a_growing_queue_raises_the_rate_and_is_drained_over_two_minutes() -> None:
    # As in the promtool test: pod a's gauge grows by one per 15 s scrape, 10 req/s.
    rule = DemandRule(slots=4)
    sim = FakeSim()
    value = 0.0
    for i in range(33):
        sim.counter_samples.append((15.0 * i, 150 * i))
        sim.pods = _pods(4 + i, 2)
        value = rule.value(15.0 * i, sim)  # type: ignore[arg-type]
    arrivals = 10 + 1 / 15
    assert value == pytest.approx(arrivals + _noise(arrivals) + 32 / DRAIN_SECONDS)


def test_a_rising_rate_adds_its_slope_times_the_lead() -> None:
    headroom = {}
    for lead in (LEAD_SECONDS, 2 * LEAD_SECONDS):  # podStartup 60s and 150s
        rule = DemandRule(slots=4, lead=lead)
        sim = FakeSim(pods=_pods(1))
        count, value = 0, 0.0
        for i in range(40):
            count += 150 if i <= 20 else 300  # 10 req/s, then 20 req/s
            sim.counter_samples.append((15.0 * i, count))
            value = rule.value(15.0 * i, sim)  # type: ignore[arg-type]
            if i == 24:  # rate[1m] is climbing: the slope adds most of a minute's rise
                rate = sim.rate(15.0 * i, 60)
                headroom[lead] = value - rate - _noise(rate)
                assert headroom[lead] > 0.05 * lead
        assert value == pytest.approx(20 + _noise(20))  # flat for over two minutes
    assert headroom[2 * LEAD_SECONDS] == pytest.approx(2 * headroom[LEAD_SECONDS])


def test_with_a_declared_service_time_a_queue_raises_the_rate_to_what_full_pods_serve() -> None:
    # As in the promtool test: 50 ms and 4 slots are 80 req/s a pod, two pods.
    rule = DemandRule(slots=4, service_time=0.05)
    sim = FakeSim()
    value = 0.0
    for i in range(33):
        sim.counter_samples.append((15.0 * i, 150 * i))
        sim.pods = _pods(4 + i, 2)
        value = rule.value(15.0 * i, sim)  # type: ignore[arg-type]
    arrivals = 160 + 1 / 15
    assert value == pytest.approx(arrivals + _noise(arrivals) + 32 / DRAIN_SECONDS)
