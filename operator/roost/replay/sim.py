"""A request-level queue simulator of a model server Deployment under an autoscaler.

Stated model (docs/benchmarks.md, B2): Poisson arrivals from a trace; each
replica has K slots and a local FIFO queue; a router in front sends each request
to the ready replica with the fewest requests in flight (least-request) or to a
uniformly random ready replica; service times are log-normal with mean S and a
coefficient of variation CV. New replicas are Ready after a start-up delay (cost
accrues from creation); replicas removed by a scale-down stop taking requests and
are deleted when drained. Metrics reach the autoscaler through a pipeline: a
Prometheus scrape every 15 s (in-flight gauge, request counter for
``rate[2m]``) and metrics-server CPU averaged over 15 s windows; the HPA syncs
every 15 s at a random phase; the KPA-like policy samples every second and
decides every 2 s.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

SCRAPE_SECONDS = 15.0


@dataclass(frozen=True)
class Model:
    service_mean: float = 0.1
    service_cv: float = 0.3
    slots: int = 4
    startup_seconds: tuple[float, float] = (45.0, 75.0)
    slo_seconds: float = 0.3  # a request is good when its latency is at most this
    routing: str = "least-request"  # or "random"
    cpu_idle: float = 0.1  # of the request, with no slot busy
    max_replicas: int = 60


@dataclass
class Pod:
    created: float
    ready_at: float
    busy: int = 0
    queue: deque[tuple[int, float]] = field(default_factory=deque)
    terminating: bool = False
    removed: float | None = None
    busy_area: float = 0.0
    last_change: float = 0.0
    cpu_sample: int | None = None  # millicores per 1000m request, last metrics-server window
    area_at_scrape: float = 0.0
    inflight_sample: int | None = None  # gauge at the last Prometheus scrape

    def ready(self, now: float) -> bool:
        return now >= self.ready_at and not self.terminating

    def inflight(self) -> int:
        return self.busy + len(self.queue)


class Policy(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def period(self) -> float: ...

    def decide(self, now: float, sim: Simulation) -> int | None: ...


@dataclass
class Result:
    latencies: np.ndarray
    arrivals: np.ndarray
    replica_seconds: float
    replicas: list[tuple[float, int]]


class Simulation:
    def __init__(
        self,
        model: Model,
        arrivals: np.ndarray,
        initial_replicas: int,
        policy: Policy,
        rng: np.random.Generator,
    ) -> None:
        self.model = model
        self.rng = rng
        self.arrivals = arrivals
        sigma = math.sqrt(math.log(1 + model.service_cv**2))
        mu = math.log(model.service_mean) - sigma**2 / 2
        self.service = rng.lognormal(mu, sigma, size=len(arrivals))
        self.latency = np.full(len(arrivals), np.nan)
        self.policy = policy
        self.pods: list[Pod] = [
            Pod(created=-600.0, ready_at=-600.0) for _ in range(initial_replicas)
        ]
        self.spec_replicas = initial_replicas
        # Indices of the pods not terminating, ascending: routing, readiness and scrapes
        # look only at these (terminated pods stay in ``pods`` for the cost account, and
        # a day's trace leaves hundreds of them).
        self.active: list[int] = list(range(initial_replicas))
        # What routing reads, kept beside the pods so that choosing one is a C-level scan
        # (routing was ~85 % of a run's time at 10x): each pod's requests in flight (busy +
        # queued) by pod index, and the Ready pods among ``active`` in its order, valid
        # until the next start-up completes or the active pods change.
        self.load: list[int] = [0] * initial_replicas
        self._ready: list[int] = []
        self._ready_until = -math.inf
        self.completions: list[tuple[float, int, int]] = []  # (time, request, pod index)
        self.counter_samples: list[tuple[float, int]] = [(0.0, 0)]
        self.arrived = 0
        self.trajectory: list[tuple[float, int]] = [(0.0, initial_replicas)]

    # ---- data plane -------------------------------------------------------------------
    def _touch(self, pod: Pod, now: float) -> None:
        pod.busy_area += pod.busy * (now - pod.last_change)
        pod.last_change = now

    def _start(self, pod_index: int, request: int, now: float) -> None:
        pod = self.pods[pod_index]
        self._touch(pod, now)
        pod.busy += 1
        heapq.heappush(self.completions, (now + self.service[request], request, pod_index))

    def _ready_pods(self, now: float) -> list[int]:
        """The active pods Ready at ``now``, in ``active`` order (cached until the next
        start-up completes or ``active`` changes)."""
        if now >= self._ready_until:
            pods = self.pods
            self._ready = [i for i in self.active if pods[i].ready_at <= now]
            self._ready_until = min(
                (pods[i].ready_at for i in self.active if pods[i].ready_at > now),
                default=math.inf,
            )
        return self._ready

    def _route(self, request: int, now: float) -> None:
        ready = self._ready_pods(now)
        if not ready:
            ready = self.active
        if self.model.routing == "random":
            index = ready[int(self.rng.integers(len(ready)))]
        else:
            # The first pod with the fewest in flight (busy + queued), in index order.
            index = min(ready, key=self.load.__getitem__)
        self.load[index] += 1
        pod = self.pods[index]
        if pod.busy < self.model.slots and pod.ready(now):
            self._start(index, request, now)
        else:
            pod.queue.append((request, now))

    def _complete(self, now: float, request: int, pod_index: int) -> None:
        pod = self.pods[pod_index]
        self._touch(pod, now)
        pod.busy -= 1
        self.load[pod_index] -= 1
        self.latency[request] = now - self.arrivals[request]
        if pod.queue:
            nxt, _ = pod.queue.popleft()
            self._start(pod_index, nxt, now)
        if pod.terminating and pod.inflight() == 0 and pod.removed is None:
            pod.removed = now

    def _on_ready(self, now: float) -> None:
        """A pod that just became Ready starts the requests queued on it while starting."""
        for index in self.active:
            pod = self.pods[index]
            if pod.ready_at <= now:
                while pod.queue and pod.busy < self.model.slots:
                    request, _ = pod.queue.popleft()
                    self._start(index, request, now)

    # ---- control plane ----------------------------------------------------------------
    def live(self) -> list[Pod]:
        return [self.pods[i] for i in self.active]

    def _scrape(self, now: float) -> None:
        for pod in self.live():
            self._touch(pod, now)
            if pod.ready(now):
                window = min(SCRAPE_SECONDS, now - pod.ready_at)
                if window > 0:
                    busy = (pod.busy_area - pod.area_at_scrape) / window
                    cpu = self.model.cpu_idle + (1 - self.model.cpu_idle) * busy / self.model.slots
                    pod.cpu_sample = int(1000 * min(1.0, cpu))
                pod.inflight_sample = pod.inflight()
            pod.area_at_scrape = pod.busy_area
        self.counter_samples.append((now, self.arrived))

    def rate(self, now: float, window: float = 120.0) -> float:
        """``rate(requests_total[window])`` from the scraped counter."""
        samples = [(t, c) for t, c in self.counter_samples if t >= now - window]
        if len(samples) < 2:
            return 0.0
        (t0, c0), (t1, c1) = samples[0], samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0

    def _scale(self, now: float, desired: int) -> None:
        desired = max(1, min(desired, self.model.max_replicas))
        live = self.live()
        if desired > len(live):
            self._ready_until = -math.inf
            low, high = self.model.startup_seconds
            for _ in range(desired - len(live)):
                ready_at = now + float(self.rng.uniform(low, high))
                self.active.append(len(self.pods))
                self.pods.append(Pod(created=now, ready_at=ready_at))
                self.load.append(0)
        elif desired < len(live):
            # The ReplicaSet deletes unready pods first, then the newest.
            pods = self.pods
            victims = sorted(self.active, key=lambda i: (pods[i].ready(now), -pods[i].created))
            for index in victims[: len(live) - desired]:
                pod = pods[index]
                pod.terminating = True
                self.active = [i for i in self.active if not pods[i].terminating]
                self._ready_until = -math.inf
                queued = list(pod.queue)
                pod.queue.clear()
                self.load[index] -= len(queued)
                for request, _ in queued:
                    self._route(request, now)
                if pod.inflight() == 0:
                    pod.removed = now
        if desired != self.spec_replicas:
            self.trajectory.append((now, desired))
        self.spec_replicas = desired

    def run(self) -> Result:
        end = float(math.ceil(self.arrivals[-1])) + 60.0 if len(self.arrivals) else 60.0
        next_scrape = float(self.rng.uniform(0, SCRAPE_SECONDS))
        next_policy = float(self.rng.uniform(0, self.policy.period))
        next_second = 1.0
        i = 0
        n = len(self.arrivals)
        while True:
            t_arrival = self.arrivals[i] if i < n else math.inf
            t_done = self.completions[0][0] if self.completions else math.inf
            # min() of three, spelled out: this loop runs once per event (~100,000 a run).
            now = t_arrival if t_arrival < t_done else t_done
            if next_scrape < now:
                now = next_scrape
            if next_policy < now:
                now = next_policy
            if next_second < now:
                now = next_second
            if now > end:
                break
            if now == t_done:
                _, request, pod_index = heapq.heappop(self.completions)
                self._complete(now, request, pod_index)
            elif now == t_arrival:
                self.arrived += 1
                self._route(i, now)
                i += 1
            elif now == next_second:
                self._on_ready(now)
                next_second += 1.0
            elif now == next_scrape:
                self._scrape(now)
                next_scrape += SCRAPE_SECONDS
            else:
                desired = self.policy.decide(now, self)
                if desired is not None:
                    self._scale(now, desired)
                next_policy += self.policy.period
        cost = sum(
            (p.removed if p.removed is not None else end) - max(p.created, 0.0) for p in self.pods
        )
        return Result(self.latency, self.arrivals, cost, self.trajectory)
