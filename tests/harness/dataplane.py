"""A stand-in data plane for e2e tests: pods on kwok nodes run no containers.

``ModelServerSimulator`` plays one version of a model server: it exports the
metrics a real one would (requests by status, a latency histogram, in-flight
requests, a histogram of its prediction scores) on 127.0.0.1, and its error
rate, latency and score distribution (Beta(a, b) on [0, 1]) can be changed while
a test runs, so a version can go bad mid-rollout.

``LoadGenerator`` plays the clients and the data plane's router: every tick it
sends a Poisson number of requests and splits them between the versions the
way the cluster currently says traffic goes, read from the apiserver each tick:

- ``mode="httproute"``: the weights of the HTTPRoute's backendRefs
  ``<name>-stable`` and ``<name>-canary`` (Gateway API v1); Flagger names its
  backends ``<name>-primary`` and ``<name>-canary``, which
  ``backends=FLAGGER_BACKENDS`` reads as the stable and canary roles. A rule's
  ``RequestMirror`` filter to one of them (``percent``, ``fraction``, or all
  requests when neither is given) copies that share of the requests to it: its
  simulator answers the copies (they show in its metrics), no client sees them,
  and the tick counts them apart (``Tick.mirrored``, ``LoadGenerator.mirrored``)
  from the requests it served (``Tick.requests``). With ``tagged=(headers, share)``
  that share of the requests carries ``headers``; they go by the first rule whose
  header matches they satisfy (Exact or RegularExpression), the others by the rules
  without header matches (``Tick.tagged``, ``LoadGenerator.tagged_requests``);
- ``mode="istio"``: the VirtualService ``route`` read as Istio's proxies apply it
  (``istio_routes``): the first http route a request matches (uri conditions are
  taken as met), its destinations' weights, its ``mirror`` and ``mirrorPercentage``;
  requests with the ``tagged`` headers take the first route whose header conditions
  they meet;
- ``mode="replicas"``: the ready replicas of the Deployments labelled
  ``roost.dev/model-deployment=<name>`` (a Service spreads requests evenly
  over ready pods, so each Deployment's share is its ready-replica share).

Which simulator serves a backend is decided by version, not by role, because
a promotion relabels the canary Deployment as stable without restarting it:
a role's version is the ``roost.dev/version`` label of the pod template of the
Deployment(s) with that ``roost.dev/role``. With ``versions={"stable": "v1",
"canary": "v2"}`` the generator uses that fixed role -> version map instead
and reads no Deployments in httproute mode (for tests without Deployments).

No real request is made and nothing sleeps per request: a simulator samples
the outcome and latency of ``n`` requests at once. Everything listens on
loopback only.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

# Includes the thresholds SLOPolicies are written with (e.g. 250ms).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# model_prediction_score: the model's output, a score in [0, 1].
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
# z of the 99th percentile of the standard normal: p99 = median * exp(Z_P99 * sigma).
Z_P99 = 2.3263478740408408

MODEL_DEPLOYMENT_LABEL = "roost.dev/model-deployment"
ROLE_LABEL = "roost.dev/role"
VERSION_LABEL = "roost.dev/version"
ROLES = ("stable", "canary")
# role -> the suffix of its backendRef's name in an HTTPRoute: Roost's, and Flagger's.
ROOST_BACKENDS: Mapping[str, str] = {"stable": "stable", "canary": "canary"}
FLAGGER_BACKENDS: Mapping[str, str] = {"stable": "primary", "canary": "canary"}

GATEWAY_GROUP, GATEWAY_VERSION, HTTPROUTES = "gateway.networking.k8s.io", "v1", "httproutes"
# Gateway API: a backendRef without a weight has weight 1.
DEFAULT_BACKEND_WEIGHT = 1
API_TIMEOUT_S = 5.0

Mode = Literal["httproute", "istio", "replicas"]
ISTIO_GROUP, ISTIO_VERSION, VIRTUALSERVICES = "networking.istio.io", "v1", "virtualservices"


@dataclass(frozen=True)
class ServerBehaviour:
    """How a simulated version answers: failure probability, log-normal latency and
    the distribution of its prediction scores, Beta(a, b) on [0, 1]."""

    error_rate: float = 0.0
    latency_median_s: float = 0.05
    latency_p99_s: float = 0.2
    prediction_beta: tuple[float, float] = (2.0, 5.0)

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be in [0, 1], got {self.error_rate}")
        if not 0.0 < self.latency_median_s <= self.latency_p99_s:
            raise ValueError(
                "need 0 < latency_median_s <= latency_p99_s, got "
                f"{self.latency_median_s} and {self.latency_p99_s}"
            )
        if min(self.prediction_beta) <= 0:
            raise ValueError(f"prediction_beta must be positive, got {self.prediction_beta}")

    @property
    def log_mean(self) -> float:
        """mu of the log-normal: its median is exp(mu)."""
        return math.log(self.latency_median_s)

    @property
    def log_sigma(self) -> float:
        """sigma of the log-normal, from p99 = exp(mu + z_0.99 * sigma)."""
        return math.log(self.latency_p99_s / self.latency_median_s) / Z_P99


class MetricsEndpoint:
    """One /metrics endpoint on 127.0.0.1 with the metric families a model server
    exports, labelled by model and version. Several simulators may share one
    (``ModelServerSimulator(..., endpoint=...)``): a test with dozens of models
    then gives Prometheus one scrape target instead of dozens."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.predictions = Counter(
            "model_predictions_total",
            "Predictions served, by outcome",
            ["model", "version", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "model_request_duration_seconds",
            "Time to answer a prediction request",
            ["model", "version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Histogram(
            "model_prediction_score",
            "The model's output score",
            ["model", "version"],
            buckets=SCORE_BUCKETS,
            registry=self.registry,
        )
        self.inflight = Gauge(
            "model_inflight_requests",
            "Requests being served (mean over the last batch, by Little's law)",
            ["model", "version"],
            registry=self.registry,
        )
        self._server, self._thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def address(self) -> str:
        """host:port, as a Prometheus scrape target."""
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class ModelServerSimulator:
    """One model version's metrics, serving from the moment it is made: on its own
    endpoint, or on a shared ``endpoint`` (which the caller stops)."""

    def __init__(
        self,
        model: str,
        version: str,
        behaviour: ServerBehaviour | None = None,
        *,
        endpoint: MetricsEndpoint | None = None,
    ) -> None:
        self.model = model
        self.version = version
        self._behaviour = behaviour or ServerBehaviour()
        self._lock = threading.Lock()
        self._ok = 0
        self._errors = 0
        # Our own registry unless shared: several simulators live in one test process.
        self._owns_endpoint = endpoint is None
        self.endpoint = endpoint or MetricsEndpoint()
        self.registry = self.endpoint.registry
        # Both status series exist from the first scrape, at 0, so the first
        # error is an increase that rate() sees rather than a new series.
        self._ok_counter = self.endpoint.predictions.labels(model, version, "ok")
        self._error_counter = self.endpoint.predictions.labels(model, version, "error")
        self._duration = self.endpoint.duration.labels(model, version)
        self._scores = self.endpoint.scores.labels(model, version)
        self._inflight = self.endpoint.inflight.labels(model, version)
        self._inflight.set(0)
        self._inflight_value = 0.0

    @property
    def port(self) -> int:
        return self.endpoint.port

    @property
    def address(self) -> str:
        """host:port, as a Prometheus scrape target."""
        return self.endpoint.address

    @property
    def url(self) -> str:
        return f"http://{self.address}/metrics"

    @property
    def behaviour(self) -> ServerBehaviour:
        with self._lock:
            return self._behaviour

    def set_behaviour(self, behaviour: ServerBehaviour) -> None:
        with self._lock:
            self._behaviour = behaviour

    def set_error_rate(self, error_rate: float) -> None:
        with self._lock:
            self._behaviour = dataclasses.replace(self._behaviour, error_rate=error_rate)

    def set_latency(self, median_s: float, p99_s: float) -> None:
        with self._lock:
            self._behaviour = dataclasses.replace(
                self._behaviour, latency_median_s=median_s, latency_p99_s=p99_s
            )

    def set_predictions(self, a: float, b: float) -> None:
        """Scores from now on ~ Beta(a, b)."""
        with self._lock:
            self._behaviour = dataclasses.replace(self._behaviour, prediction_beta=(a, b))

    @property
    def handled(self) -> tuple[int, int]:
        """(ok, error) requests recorded so far: what the counters hold."""
        with self._lock:
            return self._ok, self._errors

    def handle(self, n: int, rng: np.random.Generator, interval_s: float | None = None) -> int:
        """Record ``n`` requests: errors ~ Binomial(n, error_rate), latencies
        ~ LogNormal(mu, sigma), scores ~ Beta(a, b). With ``interval_s`` (the time the batch stands
        for), the in-flight gauge is set to sum(latency) / interval_s, the mean
        concurrency by Little's law. Returns the number of errors."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        with self._lock:
            behaviour = self._behaviour
            errors = int(rng.binomial(n, behaviour.error_rate)) if n else 0
            latencies = rng.lognormal(behaviour.log_mean, behaviour.log_sigma, n)
            for latency in latencies:
                self._duration.observe(float(latency))
            for score in rng.beta(*behaviour.prediction_beta, n):
                self._scores.observe(float(score))
            self._ok_counter.inc(n - errors)
            self._error_counter.inc(errors)
            self._ok += n - errors
            self._errors += errors
            if interval_s is not None and interval_s > 0:
                self._inflight_value = float(latencies.sum()) / interval_s
                self._inflight.set(self._inflight_value)
        return errors

    @property
    def inflight(self) -> float:
        """The in-flight gauge's value: the mean concurrency of the last batch."""
        with self._lock:
            return self._inflight_value

    def stop(self) -> None:
        """Stop the endpoint if it is this simulator's own (a shared one: its owner's job)."""
        if self._owns_endpoint:
            self.endpoint.stop()

    def __enter__(self) -> ModelServerSimulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ModelServerSimulator({self.model!r}, {self.version!r}, {self.address})"


@dataclass(frozen=True)
class Dataplane:
    """The two simulated versions of one model, as the e2e fixtures make them."""

    model: str
    stable: ModelServerSimulator
    canary: ModelServerSimulator
    jobs: Mapping[str, str]  # version -> Prometheus scrape job

    @property
    def simulators(self) -> tuple[ModelServerSimulator, ModelServerSimulator]:
        return self.stable, self.canary

    @property
    def versions(self) -> dict[str, str]:
        """role -> version, for ``LoadGenerator(versions=...)``."""
        return {"stable": self.stable.version, "canary": self.canary.version}

    def simulator(self, version: str) -> ModelServerSimulator:
        for simulator in self.simulators:
            if simulator.version == version:
                return simulator
        raise KeyError(f"no simulator for version {version!r} of {self.model}")


@dataclass(frozen=True)
class Backend:
    """Where a share of the traffic goes in one tick."""

    role: str
    version: str | None  # None: the role has no ready pods (its requests go nowhere)
    weight: float


@dataclass(frozen=True)
class Routes:
    """What the data plane's configuration says, read once a tick."""

    backends: tuple[Backend, ...]
    mirrors: tuple[Backend, ...]
    tagged: tuple[Backend, ...]  # for requests with the generator's headers


@dataclass(frozen=True)
class Tick:
    """One tick of the load generator, kept for assertions."""

    at: float  # time.time() when the requests were sent
    backends: tuple[Backend, ...]
    requests: Mapping[str, int]  # version -> requests it served (answers clients got)
    unrouted: int  # requests with no backend, or no simulator for the backend's version
    error: str | None = None  # the apiserver could not be read: last tick's backends reused
    # version -> mirrored copies it answered (discarded); percent copied per mirror target
    mirrored: Mapping[str, int] = dataclasses.field(default_factory=dict)
    mirrors: tuple[Backend, ...] = ()
    # version -> served requests that carried the generator's headers; where those go
    tagged: Mapping[str, int] = dataclasses.field(default_factory=dict)
    tagged_backends: tuple[Backend, ...] = ()

    @property
    def weights(self) -> dict[str, float]:
        """role -> route weight (httproute) or ready replicas (replicas)."""
        out: dict[str, float] = {}
        for backend in self.backends:
            out[backend.role] = out.get(backend.role, 0.0) + backend.weight
        return out

    @property
    def versions(self) -> dict[str, str | None]:
        """role -> version; with several Deployments in one role, the heaviest."""
        heaviest: dict[str, Backend] = {}
        for backend in self.backends:
            if backend.role not in heaviest or backend.weight > heaviest[backend.role].weight:
                heaviest[backend.role] = backend
        return {role: backend.version for role, backend in heaviest.items()}

    def share(self, role: str) -> float:
        """The role's fraction of the total weight (0 when nothing has weight)."""
        total = sum(self.weights.values())
        return self.weights.get(role, 0.0) / total if total > 0 else 0.0


class LoadGenerator:
    """Sends ``rps`` requests per second (Poisson, in ticks) to the simulators,
    split as the apiserver currently says; stops by itself after
    ``max_duration_s``. See the module docstring for how traffic is split."""

    def __init__(
        self,
        api_client: ApiClient,
        namespace: str,
        name: str,
        simulators: Iterable[ModelServerSimulator],
        *,
        mode: Mode = "httproute",
        route: str | None = None,
        versions: Mapping[str, str] | None = None,
        backends: Mapping[str, str] = ROOST_BACKENDS,
        rps: float = 50.0,
        tick_s: float = 1.0,
        max_duration_s: float = 600.0,
        seed: int = 0,
        tagged: tuple[Mapping[str, str], float] | None = None,
    ) -> None:
        if mode not in ("httproute", "istio", "replicas"):
            raise ValueError(f"mode must be 'httproute', 'istio' or 'replicas', got {mode!r}")
        if rps < 0 or tick_s <= 0 or max_duration_s <= 0:
            raise ValueError("need rps >= 0, tick_s > 0 and max_duration_s > 0")
        self.api_client = api_client
        self.namespace = namespace
        self.name = name
        self.mode: Mode = mode
        self.route = route or name
        self.fixed_versions = dict(versions) if versions is not None else None
        self.backends = dict(backends)
        self.simulators = {s.version: s for s in simulators}
        self.rps = rps
        self.tagged = tagged
        self.tick_s = tick_s
        self.max_duration_s = max_duration_s
        self._rng = np.random.default_rng(seed)
        self._history: list[Tick] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._last: Routes = Routes((), (), ())
        self._thread = threading.Thread(
            target=self._run, name=f"load-generator-{namespace}/{name}", daemon=True
        )

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> LoadGenerator:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop and wait for the thread; re-raise what killed it, if anything."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.tick_s + 2 * API_TIMEOUT_S + 5)
        self.check()

    def check(self) -> None:
        """Raise if the generator's thread died of an unexpected error."""
        if self._failure is not None:
            raise RuntimeError(f"load generator failed: {self._failure!r}") from self._failure

    # -- history -----------------------------------------------------------

    def history(self, since: float | None = None) -> list[Tick]:
        """Ticks so far (at or after ``since``, a time.time() value, if given)."""
        with self._changed:
            ticks = list(self._history)
        return ticks if since is None else [t for t in ticks if t.at >= since]

    def requests(self, version: str, since: float | None = None) -> int:
        """Requests ``version``'s simulator served to clients (at or after ``since``)."""
        return sum(t.requests.get(version, 0) for t in self.history(since))

    def tagged_requests(self, version: str, since: float | None = None) -> int:
        """Requests with the generator's headers ``version`` served (at or after ``since``)."""
        return sum(t.tagged.get(version, 0) for t in self.history(since))

    def mirrored(self, version: str, since: float | None = None) -> int:
        """Mirrored copies ``version``'s simulator answered, discarded (at or after ``since``)."""
        return sum(t.mirrored.get(version, 0) for t in self.history(since))

    def wait_for(self, condition: Callable[[Tick], bool], timeout_s: float = 30.0) -> Tick:
        """Block until a tick satisfies ``condition`` (e.g. saw the new weights)."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        with self._changed:
            while True:
                for tick in self._history[seen:]:
                    if condition(tick):
                        return tick
                seen = len(self._history)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    last = self._history[-1] if self._history else None
                    raise TimeoutError(
                        f"no tick met the condition within {timeout_s:.0f} s; last tick: {last}"
                    )
                self._changed.wait(min(remaining, self.tick_s))

    def wait_ticks(self, count: int, timeout_s: float = 60.0) -> Tick:
        """Block until ``count`` (>= 1) more ticks have run; returns the last one."""
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        target = len(self.history()) + count
        with self._changed:
            ok = self._changed.wait_for(
                lambda: len(self._history) >= target or not self._thread.is_alive(), timeout_s
            )
            if not ok or len(self._history) < target:
                raise TimeoutError(f"{count} ticks did not run within {timeout_s:.0f} s: {self}")
            return self._history[-1]

    # -- the loop ----------------------------------------------------------

    def _run(self) -> None:
        started = time.monotonic()
        ticks = 0
        try:
            while not self._stop.is_set() and time.monotonic() - started < self.max_duration_s:
                self._tick()
                ticks += 1
                # A fixed schedule, so time spent reading the apiserver does not drift it.
                self._stop.wait(max(0.0, started + ticks * self.tick_s - time.monotonic()))
        except BaseException as error:  # surfaced by check()/stop() in the test's thread
            self._failure = error
        finally:
            with self._changed:
                self._changed.notify_all()

    def _tick(self) -> None:
        error: str | None = None
        try:
            routes = self._read_backends()
            self._last = routes
        except Exception as exc:
            if not _is_transient(exc):
                raise
            # A data plane keeps routing by its last configuration when the
            # control plane cannot be reached.
            routes = self._last
            error = f"{type(exc).__name__}: {exc}"[:300]

        n = int(self._rng.poisson(self.rps * self.tick_s))
        tagged = None
        if self.tagged is not None:
            tagged = (routes.tagged, int(self._rng.binomial(n, self.tagged[1])))
        done = dispatch(
            routes.backends, n, self.simulators, self._rng, self.tick_s, routes.mirrors, tagged
        )
        tick = Tick(
            time.time(),
            routes.backends,
            done.requests,
            done.unrouted,
            error,
            done.mirrored,
            routes.mirrors,
            done.tagged,
            routes.tagged,
        )
        with self._changed:
            self._history.append(tick)
            self._changed.notify_all()

    def _read_backends(self) -> Routes:
        """Where requests go, where copies of them go (weight: percent copied), and where
        the requests with the generator's headers go."""
        if self.mode == "replicas":
            plain = replica_backends(self._read_deployments())
            return Routes(plain, (), plain)
        deployments = [] if self.fixed_versions is not None else self._read_deployments()
        if self.mode == "istio":
            headers = self.tagged[0] if self.tagged is not None else None
            weights, mirror, tagged_by = istio_routes(
                self._read_route(VIRTUALSERVICES), self.name, self.backends, headers
            )
            plain = route_backends(weights, deployments, self.fixed_versions)
            return Routes(
                plain,
                mirror_backends(mirror, deployments, self.fixed_versions),
                plain
                if tagged_by is None
                else route_backends(tagged_by, deployments, self.fixed_versions),
            )
        route = self._read_route()
        mirrors = route_mirrors(route, self.name, self.backends)
        plain = route_backends(
            route_weights(route, self.name, self.backends), deployments, self.fixed_versions
        )
        tagged = plain
        if self.tagged is not None:
            weights = tagged_weights(route, self.name, self.tagged[0], self.backends)
            if weights is not None:
                tagged = route_backends(weights, deployments, self.fixed_versions)
        return Routes(plain, mirror_backends(mirrors, deployments, self.fixed_versions), tagged)

    def _read_route(self, plural: str = HTTPROUTES) -> dict[str, Any]:
        """The HTTPRoute (or VirtualService); an empty one when there is none (requests
        have nowhere to go)."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            route: dict[str, Any] = client.CustomObjectsApi(
                self.api_client
            ).get_namespaced_custom_object(
                ISTIO_GROUP if plural == VIRTUALSERVICES else GATEWAY_GROUP,
                ISTIO_VERSION if plural == VIRTUALSERVICES else GATEWAY_VERSION,
                self.namespace,
                plural,
                self.route,
                _request_timeout=API_TIMEOUT_S,
            )
        except ApiException as exc:
            if exc.status == 404:
                return {}  # no route: requests have nowhere to go
            raise
        return route

    def _read_deployments(self) -> list[tuple[str, str | None, int]]:
        """(role, version, ready replicas) of each Deployment of the model."""
        from kubernetes import client

        listed = client.AppsV1Api(self.api_client).list_namespaced_deployment(
            self.namespace,
            label_selector=f"{MODEL_DEPLOYMENT_LABEL}={self.name}",
            _request_timeout=API_TIMEOUT_S,
        )
        return [deployment_backend(d) for d in listed.items]

    def __repr__(self) -> str:
        return (
            f"LoadGenerator({self.namespace}/{self.name}, mode={self.mode}, rps={self.rps}, "
            f"ticks={len(self._history)})"
        )


@dataclass(frozen=True)
class Dispatched:
    """One tick's requests, by version: served to clients (``tagged``: those of them
    that carried the generator's headers), copies answered, and requests with nowhere
    to go."""

    requests: dict[str, int]
    unrouted: int
    mirrored: dict[str, int]
    tagged: dict[str, int]


def _route(
    backends: Iterable[Backend],
    n: int,
    simulators: Mapping[str, ModelServerSimulator],
    rng: np.random.Generator,
) -> tuple[dict[str, int], int]:
    targets = [b for b in backends if b.weight > 0]
    total = sum(b.weight for b in targets)
    counts = (
        rng.multinomial(n, [b.weight / total for b in targets])
        if total > 0
        else np.zeros(0, dtype=int)
    )
    requests: dict[str, int] = {}
    unrouted = n - int(counts.sum())
    for backend, count in zip(targets, counts, strict=True):
        simulator = simulators.get(backend.version) if backend.version else None
        if simulator is None:
            unrouted += int(count)
            continue
        requests[simulator.version] = requests.get(simulator.version, 0) + int(count)
    return requests, unrouted


def dispatch(
    backends: Iterable[Backend],
    n: int,
    simulators: Mapping[str, ModelServerSimulator],
    rng: np.random.Generator,
    interval_s: float,
    mirrors: Iterable[Backend] = (),
    tagged: tuple[Iterable[Backend], int] | None = None,
) -> Dispatched:
    """Split ``n`` requests over the weighted backends (``tagged``: that many of them,
    which carry the generator's headers, over their own backends instead), copy
    ``mirror.weight`` percent of the others that were routed to each mirror, and let
    each version's simulator handle its requests and copies. Nothing is drawn for
    mirrors or tagged requests when there are none."""
    n_tagged = tagged[1] if tagged is not None else 0
    requests, unrouted = _route(backends, n - n_tagged, simulators, rng)
    routed = n - n_tagged - unrouted
    by_tag: dict[str, int] = {}
    if tagged is not None:
        by_tag, lost = _route(tagged[0], n_tagged, simulators, rng)
        unrouted += lost
        for version, count in by_tag.items():
            requests[version] = requests.get(version, 0) + count
    mirrored: dict[str, int] = {}
    for mirror in mirrors:
        if mirror.version in simulators and mirror.weight > 0:
            copies = int(rng.binomial(routed, min(mirror.weight, 100.0) / 100.0))
            mirrored[mirror.version] = mirrored.get(mirror.version, 0) + copies
    # One batch per version, so its in-flight gauge stands for all it answered.
    for version in requests.keys() | mirrored.keys():
        load = requests.get(version, 0) + mirrored.get(version, 0)
        simulators[version].handle(load, rng, interval_s=interval_s)
    return Dispatched(requests, unrouted, mirrored, by_tag)


def _header_matches(match: Mapping[str, Any], headers: Mapping[str, str]) -> bool:
    """Whether a request with ``headers`` satisfies one HTTPRouteMatch's header
    conditions (Exact or RegularExpression; names case-insensitive)."""
    given = {k.lower(): v for k, v in headers.items()}
    for condition in match.get("headers") or []:
        value = given.get(str(condition.get("name", "")).lower())
        if value is None:
            return False
        if condition.get("type", "Exact") == "RegularExpression":
            if re.search(str(condition.get("value", "")), value) is None:
                return False
        elif value != condition.get("value"):
            return False
    return True


def _has_headers(rule: Mapping[str, Any]) -> bool:
    return any(m.get("headers") for m in rule.get("matches") or [])


def tagged_weights(
    route: Mapping[str, Any],
    name: str,
    headers: Mapping[str, str],
    backends: Mapping[str, str] = ROOST_BACKENDS,
) -> dict[str, float] | None:
    """role -> weight for a request with ``headers``: the first rule with header matches
    that the headers satisfy (None: no such rule; the request goes where others go)."""
    names = {f"{name}-{suffix}": role for role, suffix in backends.items()}
    for rule in route.get("spec", {}).get("rules", []):
        if not _has_headers(rule):
            continue
        if not any(_header_matches(m, headers) for m in rule.get("matches") or []):
            continue
        weights: dict[str, float] = {}
        for ref in rule.get("backendRefs", []):
            role = names.get(ref.get("name", ""))
            if role is not None:
                weight = float(ref.get("weight", DEFAULT_BACKEND_WEIGHT))
                weights[role] = weights.get(role, 0.0) + weight
        if weights:
            return weights
    return None


def route_weights(
    route: Mapping[str, Any], name: str, backends: Mapping[str, str] = ROOST_BACKENDS
) -> dict[str, float]:
    """role -> summed weight of an HTTPRoute's ``<name>-<backends[role]>`` backendRefs,
    over the rules without header matches (what a request without headers meets)."""
    names = {f"{name}-{suffix}": role for role, suffix in backends.items()}
    weights: dict[str, float] = {}
    for rule in route.get("spec", {}).get("rules", []):
        if _has_headers(rule):  # only for requests with those headers: tagged_weights
            continue
        for ref in rule.get("backendRefs", []):
            role = names.get(ref.get("name", ""))
            if role is not None:
                weight = float(ref.get("weight", DEFAULT_BACKEND_WEIGHT))
                weights[role] = weights.get(role, 0.0) + weight
    return weights


def route_mirrors(
    route: Mapping[str, Any], name: str, backends: Mapping[str, str] = ROOST_BACKENDS
) -> dict[str, float]:
    """role -> percent of requests a ``RequestMirror`` filter copies to ``<name>-<role>``,
    from the rules that route to the model (Gateway API: ``percent``, or ``fraction``
    numerator/denominator, or every request when neither is set)."""
    names = {f"{name}-{suffix}": role for role, suffix in backends.items()}
    mirrors: dict[str, float] = {}
    for rule in route.get("spec", {}).get("rules", []):
        if not any(ref.get("name") in names for ref in rule.get("backendRefs", [])):
            continue
        for item in rule.get("filters") or []:
            if item.get("type") != "RequestMirror":
                continue
            mirror = item.get("requestMirror") or {}
            role = names.get((mirror.get("backendRef") or {}).get("name", ""))
            if role is None:
                continue
            fraction = mirror.get("fraction")
            if "percent" in mirror:
                percent = float(mirror["percent"])
            elif fraction:
                percent = 100.0 * fraction["numerator"] / fraction.get("denominator", 100)
            else:
                percent = 100.0
            mirrors[role] = max(mirrors.get(role, 0.0), percent)
    return mirrors


def mirror_backends(
    mirrors: Mapping[str, float],
    deployments: Iterable[tuple[str, str | None, int]],
    fixed_versions: Mapping[str, str] | None = None,
) -> tuple[Backend, ...]:
    """Mirror targets by version, weight = percent of requests copied to it (a role's
    percent spread over its ready replicas, as a Service spreads them)."""
    listed = list(deployments)
    found = route_backends({role: 1.0 for role in mirrors}, listed, fixed_versions)
    return tuple(Backend(b.role, b.version, mirrors[b.role] * b.weight) for b in found if b.version)


def _istio_headers_match(match: Mapping[str, Any], headers: Mapping[str, str]) -> bool:
    given = {k.lower(): v for k, v in headers.items()}
    for header, condition in (match.get("headers") or {}).items():
        value = given.get(str(header).lower())
        if value is None:
            return False
        if "exact" in condition and value != condition["exact"]:
            return False
        if "regex" in condition and re.fullmatch(str(condition["regex"]), value) is None:
            return False
        if "prefix" in condition and not value.startswith(str(condition["prefix"])):
            return False
    return True


def istio_routes(
    service: Mapping[str, Any],
    name: str,
    backends: Mapping[str, str] = ROOST_BACKENDS,
    headers: Mapping[str, str] | None = None,
) -> tuple[dict[str, float], dict[str, float], dict[str, float] | None]:
    """A VirtualService read as Istio's proxies apply it, for the model's hosts
    ``<name>-<backends[role]>``: the first http route that a request without
    ``headers`` matches (every request is taken to match its uri conditions) gives
    role -> weight and role -> mirrored percent (``mirror``, ``mirrorPercentage``;
    100 without it); the first one a request with ``headers`` matches, role -> weight
    for those (None: no ``headers``)."""
    hosts = {f"{name}-{suffix}": role for role, suffix in backends.items()}

    def weights(http: Mapping[str, Any]) -> dict[str, float]:
        out: dict[str, float] = {}
        destinations = http.get("route") or []
        for d in destinations:
            role = hosts.get(str(d.get("destination", {}).get("host", "")).split(".", 1)[0])
            if role is not None:
                # Istio: one destination without a weight takes all.
                weight = float(d.get("weight", 100 if len(destinations) == 1 else 0))
                out[role] = out.get(role, 0.0) + weight
        return out

    def first(request_headers: Mapping[str, str]) -> Mapping[str, Any] | None:
        for http in service.get("spec", {}).get("http") or []:
            matches = http.get("match") or [{}]
            if weights(http) and any(_istio_headers_match(m, request_headers) for m in matches):
                return http
        return None

    plain = first({})
    mirrors: dict[str, float] = {}
    if plain is not None and plain.get("mirror"):
        role = hosts.get(str(plain["mirror"].get("host", "")).split(".", 1)[0])
        if role is not None:
            mirrors[role] = float((plain.get("mirrorPercentage") or {}).get("value", 100.0))
    tagged = None
    if headers is not None:
        chosen = first(headers)
        tagged = weights(chosen) if chosen is not None else {}
    return (weights(plain) if plain is not None else {}), mirrors, tagged


def deployment_backend(deployment: Any) -> tuple[str, str | None, int]:
    """(role, version, ready replicas) of a Deployment (a kubernetes client V1Deployment)."""
    role = (deployment.metadata.labels or {}).get(ROLE_LABEL, "")
    template = deployment.spec.template.metadata
    version = ((template.labels if template else None) or {}).get(VERSION_LABEL)
    ready = int((deployment.status.ready_replicas if deployment.status else 0) or 0)
    return role, version, ready


def replica_backends(deployments: Iterable[tuple[str, str | None, int]]) -> tuple[Backend, ...]:
    """Split by ready replicas (a Service over the pods of both Deployments)."""
    return tuple(
        Backend(role, version, ready) for role, version, ready in deployments if role in ROLES
    )


def route_backends(
    weights: Mapping[str, float],
    deployments: Iterable[tuple[str, str | None, int]],
    fixed_versions: Mapping[str, str] | None = None,
) -> tuple[Backend, ...]:
    """Split by route weight; within a role, by the ready replicas of its Deployments
    (or to ``fixed_versions[role]`` when given)."""
    if fixed_versions is not None:
        return tuple(
            Backend(role, fixed_versions.get(role), weight) for role, weight in weights.items()
        )
    listed = list(deployments)
    backends: list[Backend] = []
    for role, weight in weights.items():
        # A Service spreads its share evenly over the ready pods it selects.
        pods = [(version, ready) for r, version, ready in listed if r == role and ready]
        ready_total = sum(ready for _, ready in pods)
        if ready_total == 0:
            backends.append(Backend(role, None, weight))
        backends += [Backend(role, v, weight * ready / ready_total) for v, ready in pods]
    return tuple(backends)


def _is_transient(error: Exception) -> bool:
    """Errors a flaky or restarting apiserver causes; anything else is a bug."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    if isinstance(error, ApiException):
        return error.status is None or error.status == 429 or error.status >= 500
    return isinstance(error, HTTPError | OSError | TimeoutError)


class PodInflightExporter:
    """``model_inflight_requests`` per pod, as Prometheus sees it in a real cluster.

    A real model server runs in its pod and Prometheus' Kubernetes service discovery
    labels its series with ``namespace`` and ``pod``; prometheus-adapter maps them to
    the pods an HPA asks about. kwok pods run nothing, so this exporter plays every
    pod's server: each tick it lists the Ready pods of the ModelDeployment ``name``
    and gives each pod of a version an equal share of that version's in-flight gauge
    (a Service spreads requests evenly over ready pods). A pod that is gone or not
    Ready loses its series at the next tick. Listens on 127.0.0.1."""

    def __init__(
        self,
        api_client: ApiClient,
        namespace: str,
        name: str,
        simulators: Iterable[ModelServerSimulator],
        *,
        tick_s: float = 1.0,
    ) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.name = name
        self.simulators = {s.version: s for s in simulators}
        self.tick_s = tick_s
        self.registry = CollectorRegistry()
        self.gauge = Gauge(
            "model_inflight_requests",
            "Requests in flight in this pod",
            ["namespace", "pod", "model", "version"],
            registry=self.registry,
        )
        self.pods: dict[str, float] = {}  # pod -> its last exported value
        self._labels: set[tuple[str, str, str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._server, self._http = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self._thread = threading.Thread(
            target=self._run, name=f"pod-inflight-{namespace}/{name}", daemon=True
        )
        self._thread.start()

    @property
    def address(self) -> str:
        """host:port, as a Prometheus scrape target."""
        return f"127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.tick_s + API_TIMEOUT_S + 5)
        self._server.shutdown()
        self._server.server_close()
        self._http.join(timeout=5)
        if self._failure is not None:
            raise RuntimeError(f"pod exporter failed: {self._failure!r}") from self._failure

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as error:
                if not _is_transient(error):
                    self._failure = error
                    return
            self._stop.wait(self.tick_s)

    def _tick(self) -> None:
        from kubernetes import client

        listed = client.CoreV1Api(self.api_client).list_namespaced_pod(
            self.namespace,
            label_selector=f"{MODEL_DEPLOYMENT_LABEL}={self.name}",
            _request_timeout=API_TIMEOUT_S,
        )
        ready: dict[str, list[str]] = {}
        for pod in listed.items:
            conditions = (pod.status.conditions if pod.status else None) or []
            is_ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
            version = (pod.metadata.labels or {}).get(VERSION_LABEL)
            if is_ready and not pod.metadata.deletion_timestamp and version in self.simulators:
                ready.setdefault(version, []).append(pod.metadata.name)
        labels: set[tuple[str, str, str, str]] = set()
        values: dict[str, float] = {}
        for version, pods in ready.items():
            simulator = self.simulators[version]
            share = simulator.inflight / len(pods)
            for pod in pods:
                key = (self.namespace, pod, simulator.model, version)
                self.gauge.labels(*key).set(share)
                labels.add(key)
                values[pod] = share
        with self._lock:
            for gone in self._labels - labels:
                self.gauge.remove(*gone)
            self._labels = labels
            self.pods = values


class MakeDataplane(Protocol):
    """The ``make_dataplane`` fixture of tests/e2e/conftest.py."""

    def __call__(
        self,
        model: str | None = None,
        stable_version: str = "v1",
        canary_version: str = "v2",
    ) -> Dataplane: ...


class StartLoad(Protocol):
    """The ``load_generator`` fixture of tests/e2e/conftest.py."""

    def __call__(
        self,
        name: str,
        *,
        mode: Mode = "httproute",
        dataplane: Dataplane | None = None,
        route: str | None = None,
        versions: Mapping[str, str] | None = None,
        rps: float = 50.0,
        tick_s: float = 1.0,
        max_duration_s: float = 600.0,
        seed: int = 0,
        tagged: tuple[Mapping[str, str], float] | None = None,
    ) -> LoadGenerator: ...
