"""Load for many ModelDeployments of one namespace at once, with one reader thread.

``LoadGenerator`` (tests/harness/dataplane.py) reads the apiserver twice per
tick for its one model; fifty of them would put a hundred reads a second on a
small test machine. ``FleetLoad`` lists the namespace's HTTPRoutes and
Deployments once per tick and drives every registered model from that
snapshot, splitting its requests the same way (``route_backends``): route
weight per role, then ready replicas per version within a role. Each model's
HTTPRoute is the one named like the model's ModelDeployment.

Per model it keeps a compact history (time, canary share, requests by
version), enough to say when traffic reached a canary and when it left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.dataplane import (
    API_TIMEOUT_S,
    GATEWAY_GROUP,
    GATEWAY_VERSION,
    HTTPROUTES,
    MODEL_DEPLOYMENT_LABEL,
    Backend,
    Dataplane,
    _is_transient,
    deployment_backend,
    dispatch,
    route_backends,
    route_weights,
)

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


@dataclass(frozen=True)
class FleetTick:
    """One model's share of one tick."""

    at: float  # time.time()
    canary_share: float  # the canary role's fraction of the route weight
    requests: Mapping[str, int]  # version -> requests its simulator handled
    unrouted: int


class FleetLoad:
    """``rps`` requests per second (Poisson, per tick) to each registered model."""

    def __init__(
        self,
        api_client: ApiClient,
        namespace: str,
        *,
        rps: float = 50.0,
        tick_s: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.rps = rps
        self.tick_s = tick_s
        self._rng = np.random.default_rng(seed)
        self._planes: dict[str, Dataplane] = {}
        self._history: dict[str, list[FleetTick]] = {}
        self._last: dict[str, tuple[Backend, ...]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self.read_errors = 0
        self.ticks = 0
        self._thread = threading.Thread(target=self._run, name=f"fleet-{namespace}", daemon=True)

    def add(self, name: str, plane: Dataplane) -> None:
        """Send load to ModelDeployment ``name``'s route, served by ``plane``'s simulators."""
        with self._lock:
            self._planes[name] = plane
            self._history[name] = []

    def start(self) -> FleetLoad:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.tick_s + 2 * API_TIMEOUT_S + 5)
        self.check()

    def check(self) -> None:
        if self._failure is not None:
            raise RuntimeError(f"fleet load failed: {self._failure!r}") from self._failure

    def history(self, name: str) -> list[FleetTick]:
        with self._lock:
            return list(self._history[name])

    def _run(self) -> None:
        started = time.monotonic()
        try:
            while not self._stop.is_set():
                self._tick()
                self.ticks += 1
                self._stop.wait(max(0.0, started + self.ticks * self.tick_s - time.monotonic()))
        except BaseException as error:  # surfaced by check()/stop()
            self._failure = error

    def _read(self) -> tuple[dict[str, Any], list[Any]]:
        from kubernetes import client

        routes = client.CustomObjectsApi(self.api_client).list_namespaced_custom_object(
            GATEWAY_GROUP,
            GATEWAY_VERSION,
            self.namespace,
            HTTPROUTES,
            _request_timeout=API_TIMEOUT_S,
        )
        deployments = client.AppsV1Api(self.api_client).list_namespaced_deployment(
            self.namespace, label_selector=MODEL_DEPLOYMENT_LABEL, _request_timeout=API_TIMEOUT_S
        )
        by_name = {r["metadata"]["name"]: r for r in routes.get("items", [])}
        return by_name, list(deployments.items)

    def _tick(self) -> None:
        with self._lock:
            planes = dict(self._planes)
        try:
            routes, deployments = self._read()
        except Exception as exc:
            if not _is_transient(exc):
                raise
            self.read_errors += 1
            routes, deployments = {}, []
            fresh = False
        else:
            fresh = True
        now = time.time()
        for name, plane in planes.items():
            if fresh:
                mine = [
                    deployment_backend(d)
                    for d in deployments
                    if (d.metadata.labels or {}).get(MODEL_DEPLOYMENT_LABEL) == name
                ]
                route = routes.get(name)
                weights = route_weights(route, name) if route is not None else {}
                backends = route_backends(weights, mine)
                self._last[name] = backends
            else:  # the data plane keeps its last configuration
                backends = self._last.get(name, ())
            n = int(self._rng.poisson(self.rps * self.tick_s))
            simulators = {s.version: s for s in plane.simulators}
            done = dispatch(backends, n, simulators, self._rng, self.tick_s)
            requests, unrouted = done.requests, done.unrouted
            total = sum(b.weight for b in backends)
            share = sum(b.weight for b in backends if b.role == "canary") / total if total else 0.0
            with self._lock:
                self._history[name].append(FleetTick(now, share, requests, unrouted))
