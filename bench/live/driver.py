"""B5: the real Flagger and Roost side by side, live, on the local control plane.

One command (``bench/run --only live``, or ``python -m bench.live.driver``):

1. Flagger is built from the Go module proxy if the cache has no binary of the
   pinned version (bench/live/build.py, bench/live/versions.env).
2. The harness's control plane (tests/harness: etcd, kube-apiserver, controller
   manager, scheduler, kwok nodes, the Gateway API CRDs) and Prometheus start in
   .state/pytest/<pid>/; Roost's CRDs (crds/) and Flagger's (the module's
   artifacts/flagger/crd.yaml) are applied.
3. Flagger runs out of cluster (``-kubeconfig``, ``-mesh-provider=gatewayapi:v1``,
   ``-metrics-server`` = the harness's Prometheus), and ``roost run -A`` as a
   process; both watch every namespace.
4. Every run (arm x case x rate x index, bench/live/runs.py) gets a namespace, a
   pair of simulated versions v1/v2 of its own model (tests/harness/dataplane.py,
   all on one /metrics endpoint scraped every second) and the arm's objects
   (bench/live/manifests.py). Once every Canary is Initialized and every
   ModelDeployment has v1 stable, a LoadGenerator per run sends Poisson traffic
   split by the run's HTTPRoute weights (Flagger's ``-primary`` / ``-canary``
   backends or Roost's ``-stable`` / ``-canary``), and after a warm-up each run's
   new version v2 is applied, a second apart.
5. Statuses are listed every second. A run's decision (runs.flagger_decision,
   runs.roost_decision) freezes its counts: canary requests and bad canary requests
   from the v2 simulator's own counters (errors; for the latency case requests
   slower than 250 ms, from its histogram). A run undecided ``--cap-minutes`` after
   its new version is recorded as undecided at the cap. A Flagger promotion is
   followed to ``Succeeded`` (promotion complete) before its namespace is deleted.

All runs share one cluster, Prometheus and pair of controllers, concurrently.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

import harness.localcluster  # noqa: E402
from bench.canary.cases import (  # noqa: E402
    HEALTHY_P99_SECONDS,
    LATENCY_THRESHOLD_SECONDS,
    MEDIAN_SECONDS,
    STABLE_ERROR_RATE,
)
from bench.live import build, manifests, predict, report, runs  # noqa: E402
from bench.scale import stats  # noqa: E402
from harness.dataplane import (  # noqa: E402
    FLAGGER_BACKENDS,
    ROOST_BACKENDS,
    LoadGenerator,
    MetricsEndpoint,
    ModelServerSimulator,
    ServerBehaviour,
)
from harness.operator_process import OperatorProcess  # noqa: E402
from harness.probes import Kubectl  # noqa: E402
from harness.processes import Supervisor  # noqa: E402
from harness.prometheus import ScrapeTarget  # noqa: E402
from harness.session import HarnessSession  # noqa: E402

SCRAPE_JOB = "live"
POLL_S = 1.0
SETUP_TIMEOUT_S = 300.0


class LiveOperator(OperatorProcess):
    """``roost run --all-namespaces`` at INFO (kopf's debug lines cost more than the work)."""

    def argv(self) -> list[str]:
        argv = super().argv()
        at = argv.index("--namespace")
        del argv[at : at + 2]
        return [a for a in argv if a != "-v"] + ["--all-namespaces"]


class FlaggerProcess(OperatorProcess):
    """Flagger out of cluster, every namespace, the Gateway API v1 router; its /healthz
    is served on the liveness port the harness's operator process waits on."""

    def __init__(self, binary: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.binary = binary

    def argv(self) -> list[str]:
        return [
            str(self.binary),
            f"-kubeconfig={self.kubeconfig}",
            f"-mesh-provider={manifests.FLAGGER_PROVIDER}",
            f"-metrics-server={self.prometheus_url}",
            f"-port={self.liveness_port}",
            "-log-level=info",
        ]


@dataclass
class Live:
    """One run while it is running."""

    spec: runs.RunSpec
    stable: ModelServerSimulator
    canary: ModelServerSimulator
    load: LoadGenerator | None = None
    started: float | None = None  # time.time() when the new version was applied
    outcome: str | None = None
    done: bool = False
    row: dict[str, Any] = field(default_factory=dict)
    timeline: list[tuple[float, str, int]] = field(default_factory=list)

    @property
    def latency_case(self) -> bool:
        return self.spec.scenario.canary_p99_seconds != HEALTHY_P99_SECONDS

    def counts(self, endpoint: MetricsEndpoint) -> dict[str, int]:
        """The new version's requests, errors and slow requests, from the simulator."""
        ok, errors = self.canary.handled
        labels = {"model": self.canary.model, "version": self.canary.version}
        count = endpoint.registry.get_sample_value("model_request_duration_seconds_count", labels)
        le = str(LATENCY_THRESHOLD_SECONDS)
        fast = endpoint.registry.get_sample_value(
            "model_request_duration_seconds_bucket", {**labels, "le": le}
        )
        slow = int((count or 0) - (fast or 0))
        return {"requests": ok + errors, "errors": errors, "slow": slow}


def _api_client(kubeconfig: Path) -> Any:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    # One connection per load generator thread, or urllib3 discards them every tick.
    configuration.connection_pool_maxsize = 256
    return client.ApiClient(configuration)


class Bench:
    """The cluster, Prometheus, both controllers and the data plane of every run.

    Everything started is registered on ``self.stack`` as it starts, so ``close()``
    stops exactly what a failed start left running."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.settings = manifests.Settings()
        self.stack = ExitStack()
        self.flagger_build = build.ensure_flagger()
        harness.localcluster.SERVICE_CIDR = harness.localcluster.WIDE_SERVICE_CIDR
        self.session = HarnessSession.create()

    def start(self) -> None:
        from kubernetes import client

        session = self.session
        self.stack.callback(session.clean_up, keep_logs=self.args.keep_logs)
        self.stack.callback(session.stop_cluster)
        info = session.start_cluster()
        self.stack.callback(session.stop_prometheus)
        self.prometheus = session.start_prometheus()
        self.api = _api_client(info.kubeconfig)
        self.stack.callback(self.api.close)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        kubectl = Kubectl(session.tools.binary("kubectl"), info.kubeconfig)
        crds = [*sorted((ROOT / "crds").glob("*.yaml")), self.flagger_build.crds]
        kubectl.apply_files(crds, server_side=True)
        names = [
            doc["metadata"]["name"]
            for path in crds
            for doc in yaml.safe_load_all(path.read_text())
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
        ]
        # A CRD has no status for a moment after its creation, and wait refuses it then.
        kubectl.retry("wait", "--for=condition=Established", *(f"crd/{n}" for n in names))
        self.endpoint = MetricsEndpoint()
        self.stack.callback(self.endpoint.stop)
        self.prometheus.add_scrape_target(ScrapeTarget(SCRAPE_JOB, self.endpoint.address))
        self.prometheus.wait_for_target_up(SCRAPE_JOB)
        state = session.root / "controllers"
        self.roost = LiveOperator(
            kubeconfig=info.kubeconfig,
            namespace="default",
            prometheus_url=self.prometheus.url,
            state_dir=state,
            name="roost",
        )
        self.flagger = FlaggerProcess(
            self.flagger_build.binary,
            kubeconfig=info.kubeconfig,
            namespace="",
            prometheus_url=self.prometheus.url,
            state_dir=state,
            name="flagger",
        )
        for process in (self.roost, self.flagger):
            self.stack.callback(process.stop)
            process.start()
        self.cpu_start = self._cpu()

    def close(self) -> None:
        self.stack.close()

    # -- CPU -------------------------------------------------------------------------

    def _cpu(self) -> dict[str, float]:
        """CPU seconds so far of our own processes (others share this machine)."""
        pids = {"bench driver": os.getpid()}
        for name, process in (("flagger", self.flagger), ("roost operator", self.roost)):
            if process.pid is not None:
                pids[name] = process.pid
        for part in ("cluster", "prometheus"):
            supervisor = Supervisor(self.session.root / part)
            for name in supervisor.names():
                if (pid := supervisor.pid(name)) is not None:
                    pids[name] = pid
        out: dict[str, float] = {}
        for name, pid in pids.items():
            try:
                out[name] = stats.cpu_seconds(Path(f"/proc/{pid}/stat").read_text())
            except OSError:
                continue
        return out

    # -- setting up a run -------------------------------------------------------------

    def _simulators(self, spec: runs.RunSpec) -> Live:
        case = spec.scenario
        model = spec.namespace
        stable = ServerBehaviour(
            error_rate=STABLE_ERROR_RATE,
            latency_median_s=MEDIAN_SECONDS,
            latency_p99_s=HEALTHY_P99_SECONDS,
        )
        canary = ServerBehaviour(
            error_rate=case.canary_error_rate,
            latency_median_s=MEDIAN_SECONDS,
            latency_p99_s=case.canary_p99_seconds,
        )
        return Live(
            spec,
            ModelServerSimulator(model, runs.OLD, stable, endpoint=self.endpoint),
            ModelServerSimulator(model, runs.NEW, canary, endpoint=self.endpoint),
        )

    def _create(self, plural: str, ns: str, body: dict[str, Any]) -> None:
        if plural == "deployments":
            self.apps.create_namespaced_deployment(ns, body)
            return
        api_group, version = body["apiVersion"].split("/")
        self.custom.create_namespaced_custom_object(api_group, version, ns, plural, body)

    def set_up(self, live: Live) -> None:
        from kubernetes import client

        spec, ns, model = live.spec, live.spec.namespace, live.spec.namespace
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        if spec.arm == "flagger":
            for template in manifests.metric_templates(model, runs.NEW, self.prometheus.url):
                self._create("metrictemplates", ns, template)
            self._create("deployments", ns, manifests.flagger_deployment(model, runs.OLD))
            self._create("canaries", ns, manifests.flagger_canary(ns, self.settings))
        else:
            self._create("httproutes", ns, manifests.roost_route())
            self._create("slopolicies", ns, manifests.roost_policy(self.settings))
            body = manifests.roost_model_deployment(model, runs.OLD, self.settings)
            self._create("modeldeployments", ns, body)

    def statuses(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(arm, namespace) -> status of its Canary or ModelDeployment, one list per kind."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        kinds = (
            ("flagger", manifests.FLAGGER_GROUP, manifests.FLAGGER_VERSION, "canaries"),
            ("roost", manifests.GROUP, manifests.VERSION, "modeldeployments"),
        )
        for arm, group, version, plural in kinds:
            listed = self.custom.list_cluster_custom_object(group, version, plural)
            for item in listed["items"]:
                out[(arm, item["metadata"]["namespace"])] = item.get("status") or {}
        return out

    def wait_ready(self, lives: list[Live]) -> None:
        """Until every Canary is Initialized and every ModelDeployment has v1 stable."""
        deadline = time.monotonic() + SETUP_TIMEOUT_S
        while True:
            found = self.statuses()
            waiting = [
                live.spec.namespace
                for live in lives
                if not _ready(live.spec.arm, found.get((live.spec.arm, live.spec.namespace)))
            ]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {SETUP_TIMEOUT_S:.0f} s: {waiting}")
            time.sleep(2)

    def roll_out(self, live: Live) -> None:
        """Apply the new version; the run's clock starts here."""
        spec, ns, model = live.spec, live.spec.namespace, live.spec.namespace
        live.row["counts_at_start"] = live.counts(self.endpoint)
        live.started = time.time()
        if spec.arm == "flagger":
            patch = manifests.flagger_new_version(model, runs.NEW)
            self.apps.patch_namespaced_deployment(manifests.NAME, ns, patch)
        else:
            self.custom.patch_namespaced_custom_object(
                manifests.GROUP,
                manifests.VERSION,
                ns,
                "modeldeployments",
                manifests.NAME,
                manifests.roost_new_version(model, runs.NEW),
            )

    # -- following the runs ------------------------------------------------------------

    def observe(self, live: Live, status: dict[str, Any] | None, now: float) -> None:
        assert live.started is not None
        elapsed = now - live.started
        flagger = live.spec.arm == "flagger"
        phase = str((status or {}).get("phase", ""))
        weight = runs.flagger_weight(status) if flagger else runs.roost_weight(status)
        # The weight in force up to now (a decision's own status may show 0).
        previous = live.timeline[-1][2] if live.timeline else weight
        if not live.timeline or live.timeline[-1][1:] != (phase, weight):
            live.timeline.append((round(elapsed, 1), phase, weight))
        if "detected_seconds" not in live.row and _detected(live.spec.arm, status):
            live.row["detected_seconds"] = elapsed
        # Flagger zeroes failedChecks when it rolls back: keep the most it showed.
        checks = int((status or {}).get("failedChecks") or 0)
        live.row["failed_checks"] = max(checks, live.row.get("failed_checks", 0))
        if live.outcome is None:
            outcome = runs.flagger_decision(status) if flagger else runs.roost_decision(status)
            if outcome is None and elapsed >= self.args.cap_minutes * 60:
                outcome = runs.UNDECIDED
            if outcome is not None:
                self._decide(live, outcome, status or {}, elapsed, previous)
        if live.outcome is not None and not live.done:
            finished = not (flagger and live.outcome == runs.PROMOTED)
            if flagger and runs.flagger_complete(status):
                live.row["complete_seconds"] = elapsed
                finished = True
            if finished or elapsed >= self.args.cap_minutes * 60:
                self._finish(live)

    def _decide(
        self, live: Live, outcome: str, status: dict[str, Any], elapsed: float, weight: int
    ) -> None:
        live.outcome = outcome
        start = live.row.pop("counts_at_start")
        end = live.counts(self.endpoint)
        counts = {key: end[key] - start[key] for key in end}
        bad = counts["slow"] if live.latency_case else counts["errors"]
        flagger = live.spec.arm == "flagger"
        live.row.update(
            outcome=outcome,
            reason=(
                str(status.get("phase", ""))
                if flagger
                else runs.roost_reason(status) or str(status.get("phase", ""))
            ),
            decision_seconds=elapsed,
            canary_requests=counts["requests"],
            canary_errors=counts["errors"],
            canary_slow=counts["slow"],
            bad_requests=bad,
            weight_before_decision=weight,
        )
        print(
            f"{elapsed / 60:5.1f} min  {live.spec.namespace}: {outcome} "
            f"({counts['requests']} canary requests, {bad} bad)",
            flush=True,
        )

    def _finish(self, live: Live) -> None:
        from kubernetes.client.exceptions import ApiException

        live.done = True
        if live.load is not None:
            live.load.stop()
        try:
            self.core.delete_namespace(live.spec.namespace)
        except ApiException as error:
            print(f"could not delete {live.spec.namespace}: {error.reason}", flush=True)

    def row(self, live: Live) -> dict[str, Any]:
        spec = live.spec
        return {
            "arm": spec.arm,
            "case": runs.CASES[spec.case],
            "case_key": spec.case,
            "rps": spec.rps,
            "run": spec.run,
            "seed": spec.seed,
            "namespace": spec.namespace,
            "outcome": live.outcome or runs.UNDECIDED,
            **{k: v for k, v in live.row.items() if k != "counts_at_start"},
            "timeline": live.timeline,
        }

    def run(self, specs: list[runs.RunSpec]) -> list[dict[str, Any]]:
        lives = [self._simulators(spec) for spec in specs]
        for live in lives:
            self.set_up(live)
        self.wait_ready(lives)
        print(f"{len(lives)} runs set up; starting the load", flush=True)
        for live in lives:
            live.load = LoadGenerator(
                self.api,
                live.spec.namespace,
                manifests.NAME,
                (live.stable, live.canary),
                mode="httproute",
                versions={"stable": runs.OLD, "canary": runs.NEW},
                backends=FLAGGER_BACKENDS if live.spec.arm == "flagger" else ROOST_BACKENDS,
                rps=live.spec.rps,
                tick_s=self.args.tick,
                max_duration_s=self.args.cap_minutes * 60 + 1800,
                seed=live.spec.seed,
            ).start()
        time.sleep(self.args.warm_up)
        waiting = list(lives)
        last_start = last_report = time.monotonic()
        while not all(live.done for live in lives):
            # New versions go out --stagger apart while the runs started are followed, so
            # every run is watched from its first second.
            if waiting and time.monotonic() - last_start >= self.args.stagger:
                self.roll_out(waiting.pop(0))
                last_start = time.monotonic()
            time.sleep(min(POLL_S, self.args.stagger) if waiting else POLL_S)
            found = self.statuses()
            now = time.time()
            for live in lives:
                if live.started is not None and not live.done:
                    self.observe(live, found.get((live.spec.arm, live.spec.namespace)), now)
            for live in lives:
                if live.load is not None and not live.done:
                    live.load.check()
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                pending = sum(not live.done for live in lives)
                print(f"{pending} of {len(lives)} runs still going; {_load()}", flush=True)
        return [self.row(live) for live in lives]


def _detected(arm: str, status: dict[str, Any] | None) -> bool:
    """The arm's status shows that it noticed the new version."""
    status = status or {}
    if arm == "flagger":
        return status.get("phase") not in (None, "", "Initializing", "Initialized")
    return runs.NEW in (status.get("canaryVersion"), status.get("stableVersion"))


def _ready(arm: str, status: dict[str, Any] | None) -> bool:
    if arm == "flagger":
        return (status or {}).get("phase") == "Initialized"
    return (status or {}).get("stableVersion") == runs.OLD


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def _git(*argv: str) -> str:
    done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


@contextmanager
def _bench(args: argparse.Namespace) -> Iterator[Bench]:
    bench = Bench(args)
    try:
        bench.start()
        yield bench
    finally:
        bench.close()


def _rates(text: str, runs_default: int) -> dict[float, int]:
    """``1:2,10,100`` -> {1.0: 2, 10.0: runs_default, 100.0: runs_default}."""
    out: dict[float, int] = {}
    for part in text.split(","):
        rate, _, count = part.partition(":")
        out[float(rate)] = int(count) if count else runs_default
    return out


def _prediction(meta: dict[str, Any], seeds: int) -> dict[str, Any]:
    """The re-implementations' summary for the live run's arms, cases, rates and cap."""
    keys = {name: key for key, name in runs.CASES.items()}
    tasks = predict.tasks(
        tuple(meta["arms"]),
        tuple(keys[name] for name in meta["cases"]),
        tuple(float(rate) for rate in meta["rates"]),
        seeds,
        meta["cap_minutes"] * 60,
    )
    started = time.monotonic()
    rows = predict.predict(tasks)
    return {
        "seeds": seeds,
        "wall_seconds": time.monotonic() - started,
        "summary": report.summarise(rows),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates", default="1,10,100", help="req/s, each with an optional :runs (e.g. 1:2,10,100)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per arm, case and rate")
    parser.add_argument(
        "--cases", default=",".join(runs.CASES), help="of: " + ", ".join(runs.CASES)
    )
    parser.add_argument("--arms", default=",".join(runs.ARMS))
    parser.add_argument("--cap-minutes", type=float, default=45.0)
    parser.add_argument("--tick", type=float, default=1.0, help="load generator tick, seconds")
    parser.add_argument("--warm-up", type=float, default=30.0, help="seconds of v1 traffic first")
    parser.add_argument("--stagger", type=float, default=1.0, help="seconds between new versions")
    parser.add_argument("--keep-logs", action="store_true", help="keep the session's logs")
    parser.add_argument(
        "--predict-seeds", type=int, default=300, help="seeds per arm, case and rate"
    )
    parser.add_argument(
        "--predict-only",
        action="store_true",
        help="recompute only the re-implementations' prediction in an existing --out",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "live.json")
    args = parser.parse_args(argv)
    case_keys = tuple(args.cases.split(","))
    unknown = set(case_keys) - set(runs.CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; known: {', '.join(runs.CASES)}")
    rates = _rates(args.rates, args.runs)
    arms = tuple(args.arms.split(","))
    if args.predict_only:
        data = json.loads(args.out.read_text())
        data["predicted"] = _prediction(data["meta"], args.predict_seeds)
        args.out.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote the prediction into {args.out}")
        return
    specs = runs.plan(arms, case_keys, rates)
    started = time.monotonic()
    # The code that runs, not what is committed while it does.
    head = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "operator"))
    # SIGTERM unwinds like Ctrl-C, so the cluster, Prometheus and both controllers stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with _bench(args) as bench:
        rows = bench.run(specs)
        cpu_end = bench._cpu()
        cpu = {k: cpu_end[k] - bench.cpu_start.get(k, 0.0) for k in cpu_end}
        flagger_version = bench.flagger_build.version
        built = bench.flagger_build.built_seconds
        settings = bench.settings.describe()
    wall = time.monotonic() - started
    meta = {
        "git_head": head,
        "tree_dirty_outside_bench": dirty,
        "flagger_version": flagger_version,
        "flagger_build_seconds": built,
        "settings": settings,
        "rates": {f"{k:g}": v for k, v in rates.items()},
        "cases": [runs.CASES[c] for c in case_keys],
        "arms": list(arms),
        "cap_minutes": args.cap_minutes,
        "load_tick_seconds": args.tick,
        "warm_up_seconds": args.warm_up,
        "scrape_interval": "1s",
        "roost_tick": "5s",
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "machine_cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "rows": rows}
    args.out.write_text(json.dumps(data, indent=1) + "\n")  # kept if the prediction fails
    data["predicted"] = _prediction(meta, args.predict_seeds)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out} ({len(rows)} runs, {wall / 60:.1f} min)")


if __name__ == "__main__":
    main()
