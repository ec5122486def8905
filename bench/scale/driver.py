"""B3: the operator as a real process against N ModelDeployments on the local control plane.

For each N: a namespace with one SLOPolicy and N ModelDeployments (replicas
provider, ``replicas: 0``: the operator's work is the same, and no kwok pods
crowd the two fake nodes), one synthetic exporter process for all N models x
2 versions (bench/scale/exporter.py) as one Prometheus scrape target, and
``roost run --tick 5s`` as a process (tests/harness/operator_process.py).

Phases, each measured from counter deltas of the operator's /metrics,
Prometheus's own /metrics and the apiserver's /metrics:

1. baseline: operator not yet running (apiserver requests of everything else);
2. start: operator started until every ModelDeployment has ``stableVersion: v1``;
3. idle: nothing changes for ``--idle`` seconds;
4. rollout: every ModelDeployment patched to v2 at once; per object, the time from its
   patch to the first watch event with ``canaryWeight.applied > 0`` for v2;
5. analysing: every canary at its first step (pause 1 h), analysed every
   ``analysisInterval``, for ``--analysing`` seconds.

Operator RSS is sampled every second from /proc/<pid>/status over all phases.

    python -m bench.scale.driver --sizes 100,300,1000 --out bench/results/scale.json
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench import common
from bench.scale import stats
from bench.scale.exporter import model_name

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

import harness.localcluster  # noqa: E402
from harness import manifests  # noqa: E402
from harness.operator_process import OperatorProcess  # noqa: E402
from harness.probes import Kubectl  # noqa: E402
from harness.processes import free_port  # noqa: E402
from harness.prometheus import PrometheusServer, ScrapeTarget  # noqa: E402
from harness.session import HarnessSession  # noqa: E402

GROUP, VERSION = "roost.dev", "v1alpha1"
POLICY = "scale"
SLIS = 2  # availability (ratio) and latency (histogram)
# Resources the operator reads or writes; apiserver_request_total is summed over these.
OPERATOR_RESOURCES = frozenset(
    {
        "modeldeployments",
        "slopolicies",
        "deployments",
        "services",
        "horizontalpodautoscalers",
        "events",
        "httproutes",
        "customresourcedefinitions",
        "namespaces",
    }
)
OPERATOR_METRICS = (
    "roost_tick_duration_seconds",
    "roost_analysis_duration_seconds",
    "roost_status_patches_total",
    "roost_prometheus_queries_total",
)


class ScaleOperator(OperatorProcess):
    """The e2e operator process without ``-v``: production logs at INFO, and kopf's
    debug lines (every patch body) would cost the operator more than its work."""

    def argv(self) -> list[str]:
        return [arg for arg in super().argv() if arg != "-v"]


class ScalePrometheus(PrometheusServer):
    """The harness's Prometheus with a longer scrape interval for the exporter's job
    (the harness scrapes every 1 s; 32,000 series every second would measure Prometheus)."""

    exporter_interval = "5s"

    def _write_config(self, targets: list[ScrapeTarget]) -> None:
        super()._write_config(targets)
        path = self.state_dir / "prometheus.yml"
        config = yaml.safe_load(path.read_text())
        for job in config["scrape_configs"]:
            if job["job_name"].startswith("scale-"):
                job["scrape_interval"] = self.exporter_interval
                job["scrape_timeout"] = self.exporter_interval
        path.write_text(yaml.safe_dump(config, sort_keys=False))


def policy() -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SLOPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "period": "30d",
            "objectives": [
                {
                    "name": "availability",
                    "target": 0.999,
                    "ratio": {
                        "errors": 'model_predictions_total{status="error"}',
                        "total": "model_predictions_total",
                    },
                },
                {
                    "name": "latency",
                    "target": 0.99,
                    "latency": {
                        "histogram": "model_request_duration_seconds",
                        "threshold": "250ms",
                    },
                },
            ],
            "canary": {"maxBurnRate": 2, "minRequests": 200},
            "rolloutGuard": {"minBudgetRemaining": 0.1},
        },
    }


def model_deployment(
    index: int, version: str, interval: str, *, autoscaling: bool = False
) -> dict[str, Any]:
    model = model_name(index)
    extra: dict[str, Any] = {}
    if autoscaling:  # planned from the observed rate: one more query per tick
        extra["autoscaling"] = {"minReplicas": 1, "maxReplicas": 2}
    return manifests.model_deployment(
        model,
        model,
        version,
        policy=POLICY,
        image=f"{model}:v1",
        replicas=0,
        traffic={"provider": "replicas"},
        rollout={
            "steps": [{"weight": 10, "pause": "1h"}, {"weight": 50, "pause": "1h"}],
            "analysisInterval": interval,
            "noDataDeadline": "1h",
            "progressDeadline": "3h",
        },
        **extra,
    )


HOOK = ROOT / "bench" / "scale" / "hook"
HISTORY = ROOT / "bench" / "results" / "scale-history"


@dataclass
class Snapshot:
    at: float
    cpu_seconds: float | None  # the operator's user + system CPU time so far
    machine: dict[str, float]  # CPU seconds so far of every process, by command name
    operator: stats.Samples
    client: stats.Samples
    prometheus: stats.Samples
    apiserver: stats.Samples


@dataclass
class RssSampler:
    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> RssSampler:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(1.0):
            try:
                rss = stats.vm_rss_bytes(Path(f"/proc/{self.pid}/status").read_text())
            except FileNotFoundError:
                return
            if rss is not None:
                self.samples.append((time.monotonic() - started, rss))

    def stop(self) -> None:
        self._stop.set()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return str(answer.read().decode())


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from kubernetes import client, config

        self.args = args
        self.labels: dict[int, str] = {}  # pid -> name in the CPU by process
        # Each ModelDeployment has ClusterIP Services (stable, canary, and the one that
        # selects both); the harness's /24 runs out of addresses at about 80 of them.
        harness.localcluster.SERVICE_CIDR = harness.localcluster.WIDE_SERVICE_CIDR
        self.session = HarnessSession.create()
        info = self.session.start_cluster()
        self.prometheus = ScalePrometheus(
            self.session.root / "prometheus", self.session.tools.binary("prometheus")
        )
        self.session.prometheus = self.prometheus
        self.prometheus.up()
        self.kubeconfig = info.kubeconfig
        server = yaml.safe_load(info.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        args.apiserver_host = server.removeprefix("https://")
        args.prometheus_host = self.prometheus.url.removeprefix("http://")
        self.api = config.new_client_from_config(config_file=str(info.kubeconfig))
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        kubectl = Kubectl(self.session.tools.binary("kubectl"), info.kubeconfig)
        crds = sorted((ROOT / "crds").glob("*.yaml"))
        kubectl.apply_files(crds, server_side=True)
        kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")

    def close(self) -> None:
        self.api.close()
        self.session.stop_prometheus()
        self.session.stop_cluster()
        self.session.clean_up(keep_logs=False)

    # -- reading counters --------------------------------------------------------

    def _apiserver(self) -> stats.Samples:
        response = self.api.call_api(
            "/metrics", "GET", auth_settings=["BearerToken"], _preload_content=False
        )
        text = response[0].data.decode()
        samples = stats.parse(text, ["apiserver_request_total"])
        return {
            key: value
            for key, value in samples.items()
            if dict(key[1]).get("resource") in OPERATOR_RESOURCES
        }

    def snapshot(self, operator: OperatorProcess | None) -> Snapshot:
        client: stats.Samples = {}
        if operator is not None:
            port = operator.extra_env["ROOST_BENCH_CLIENT_PORT"]
            text = _get(f"http://127.0.0.1:{port}/metrics")
            client = stats.parse(text, ["roost_bench_client_requests_total"])
        cpu: float | None = None
        labels = {os.getpid(): "bench driver", **self.labels}
        if operator is not None and operator.pid is not None:
            cpu = stats.cpu_seconds(Path(f"/proc/{operator.pid}/stat").read_text())
            labels[operator.pid] = "roost operator"
        return Snapshot(
            at=time.monotonic(),
            cpu_seconds=cpu,
            machine=stats.cpu_by_command(labels=labels),
            operator=stats.parse(_get(operator.metrics_url), OPERATOR_METRICS) if operator else {},
            client=client,
            prometheus=stats.parse(
                _get(f"{self.prometheus.url}/metrics"), ["prometheus_http_requests_total"]
            ),
            apiserver=self._apiserver(),
        )

    def _source(self) -> Path | None:
        """``--source-rev``'s operator/ extracted once, so every N runs the same code."""
        if not self.args.source_rev:
            return None
        target = self.session.root / f"source-{self.args.source_rev}"
        if not target.exists():
            target.mkdir(parents=True)
            archive = subprocess.run(
                ["git", "archive", self.args.source_rev, "operator/roost"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        return target / "operator"

    def _hook_env(self, n: int) -> dict[str, str]:
        env = {"PYTHONPATH": str(HOOK), "ROOST_BENCH_CLIENT_PORT": str(free_port())}
        if (source := self._source()) is not None:
            env["ROOST_BENCH_SOURCE"] = str(source)
        if self.args.profile:
            self.args.profile.mkdir(parents=True, exist_ok=True)
            env["ROOST_BENCH_PROFILE"] = str(self.args.profile.resolve() / f"operator-{n}.prof")
        if self.args.census:
            self.args.census.mkdir(parents=True, exist_ok=True)
            env["ROOST_BENCH_CENSUS"] = str(self.args.census.resolve() / f"operator-{n}.census")
        if self.args.tracemalloc:
            self.args.tracemalloc.mkdir(parents=True, exist_ok=True)
            path = self.args.tracemalloc.resolve() / f"operator-{n}.tracemalloc"
            env["ROOST_BENCH_TRACEMALLOC"] = str(path)
        return env

    # -- objects -----------------------------------------------------------------

    def _namespace(self, n: int) -> str:
        from kubernetes import client

        name = f"scale-{n}-{int(time.time()) % 100000}"
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        return name

    def _create_all(self, ns: str, n: int) -> None:
        self.custom.create_namespaced_custom_object(GROUP, VERSION, ns, "slopolicies", policy())

        def create(i: int) -> None:
            self.custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                ns,
                "modeldeployments",
                model_deployment(i, "v1", self.args.interval, autoscaling=self.args.autoscaling),
            )

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(create, range(n)))

    def _statuses(self, ns: str) -> list[dict[str, Any]]:
        listed = self.custom.list_namespaced_custom_object(GROUP, VERSION, ns, "modeldeployments")
        return [item.get("status") or {} for item in listed["items"]]

    def _wait_all(
        self, ns: str, n: int, what: Callable[[dict[str, Any]], bool], timeout_s: float
    ) -> float | None:
        from kubernetes.client.rest import ApiException

        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            try:
                done = sum(1 for s in self._statuses(ns) if what(s))
            except ApiException as error:  # an overloaded apiserver answers 504: ask again
                print(f"listing ModelDeployments: {error.status} {error.reason}", flush=True)
                done = 0
            if done >= n:
                return time.monotonic() - started
            time.sleep(5.0)
        return None

    # -- one size ----------------------------------------------------------------

    def run_size(self, n: int) -> dict[str, Any]:
        args = self.args
        print(f"--- N = {n}", flush=True)
        ns = self._namespace(n)
        port = free_port()
        exporter = subprocess.Popen(
            [sys.executable, "-m", "bench.scale.exporter", "--models", str(n), "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        self.labels[exporter.pid] = "bench exporter"
        job = f"scale-{n}"
        operator: OperatorProcess | None = None
        sampler: RssSampler | None = None
        row: dict[str, Any] = {"n": n, "namespace": ns}
        try:
            self.prometheus.add_scrape_target(ScrapeTarget(job, f"127.0.0.1:{port}"))
            self.prometheus.wait_for_target_up(job, timeout_s=60)
            t0 = time.monotonic()
            self._create_all(ns, n)
            row["create_seconds"] = time.monotonic() - t0

            before = self.snapshot(None)
            time.sleep(args.baseline)
            after = self.snapshot(None)
            baseline_rate = _api_total(before, after) / (after.at - before.at)
            row["apiserver_baseline_per_s"] = baseline_rate

            operator = ScaleOperator(
                kubeconfig=self.kubeconfig,
                namespace=ns,
                prometheus_url=self.prometheus.url,
                state_dir=self.session.root / "operator",
                name=f"roost-scale-{n}",
                extra_args=["--tick", f"{args.tick:g}s"],
                env=self._hook_env(n),
            )
            t0 = time.monotonic()
            operator.start(timeout_s=120)
            assert operator.pid is not None
            sampler = RssSampler(operator.pid).start()
            start_snap = self.snapshot(operator)
            took = self._wait_all(
                ns, n, lambda s: s.get("stableVersion") == "v1", args.settle_timeout
            )
            row["all_stable_seconds"] = took
            row["start"] = _phase(start_snap, self.snapshot(operator), baseline_rate, n, args)
            if took is None:
                row["error"] = f"not every ModelDeployment stable within {args.settle_timeout} s"
                return row

            snap = self.snapshot(operator)
            time.sleep(args.idle)
            row["idle"] = _phase(snap, self.snapshot(operator), baseline_rate, n, args)

            snap = self.snapshot(operator)
            latencies = self._roll_out(ns, [model_name(i) for i in range(n)])
            row["rollout"] = _phase(snap, self.snapshot(operator), baseline_rate, n, args)
            row["first_weight_seconds"] = latencies

            snap = self.snapshot(operator)
            time.sleep(args.analysing)
            row["analysing"] = _phase(snap, self.snapshot(operator), baseline_rate, n, args)

            # The usual case: one new version at a time while the others analyse.
            if args.singles > 0:
                singles = [model_name(i) for i in range(0, n, max(1, n // args.singles))]
                row["single_first_weight_seconds"] = self._roll_out(
                    ns, singles[: args.singles], version="v3", spacing=args.single_spacing
                )
            return row
        except Exception as error:  # e.g. the apiserver timing out: record, go on
            row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
            return row
        finally:
            if sampler is not None:
                sampler.stop()
                row["rss_bytes"] = [s[1] for s in sampler.samples]
            if operator is not None:
                operator.stop()
            self.prometheus.remove_scrape_target(job)
            exporter.terminate()
            exporter.wait(10)
            print(json.dumps(_brief(row)), flush=True)

    def _roll_out(
        self, ns: str, names: list[str], version: str = "v2", spacing: float | None = None
    ) -> dict[str, Any]:
        """Patch these ModelDeployments to ``version``, all at once (``spacing`` None) or one
        every ``spacing`` seconds; seconds from each patch to its first weight."""
        n = len(names)
        wanted = set(names)
        from kubernetes import watch

        patched: dict[str, float] = {}
        weighted: dict[str, float] = {}
        # The operator's own times: when its tick started the rollout, when it applied
        # the first weight (status.rolloutStartedAt, stepStartedAt).
        stamps: dict[str, tuple[str | None, str | None]] = {}
        watching = threading.Event()
        done = threading.Event()
        reconnects = 0

        def follow() -> None:
            nonlocal reconnects
            deadline = time.monotonic() + self.args.weight_timeout + 60
            while not done.is_set() and time.monotonic() < deadline:
                watcher = watch.Watch()
                try:
                    for event in watcher.stream(
                        self.custom.list_namespaced_custom_object,
                        GROUP,
                        VERSION,
                        ns,
                        "modeldeployments",
                        timeout_seconds=int(deadline - time.monotonic()) + 1,
                    ):
                        watching.set()  # the initial ADDED events: the watch is established
                        obj = event["object"]
                        status = obj.get("status") or {}
                        name = obj["metadata"]["name"]
                        if (
                            name in wanted
                            and name not in weighted
                            and status.get("canaryVersion") == version
                            and (status.get("canaryWeight") or {}).get("applied", 0) > 0
                        ):
                            weighted[name] = time.time()
                            stamps[name] = (
                                status.get("rolloutStartedAt"),
                                status.get("stepStartedAt"),
                            )
                            if len(weighted) >= n:
                                done.set()
                                watcher.stop()
                except Exception as error:  # the apiserver closed it: watch again
                    # (the initial events of the new watch catch up, stamped a little late)
                    print(f"watch ended: {type(error).__name__}", flush=True)
                    reconnects += 1
                    time.sleep(0.5)

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        watching.wait(60)

        def patch(name: str) -> None:
            body = {
                "spec": {
                    "model": {"version": version},
                    "template": {
                        "spec": {"containers": [{"name": "server", "image": f"{name}:{version}"}]}
                    },
                }
            }
            sent = time.time()
            self.custom.patch_namespaced_custom_object(
                GROUP, VERSION, ns, "modeldeployments", name, body
            )
            patched[name] = sent

        started = time.monotonic()
        if spacing is None:
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                list(pool.map(patch, names))
        else:
            for name in names:
                patch(name)
                time.sleep(spacing)
        patch_seconds = time.monotonic() - started
        thread.join(self.args.weight_timeout)
        done.set()
        seconds = sorted(weighted[k] - patched[k] for k in weighted if k in patched)
        return {
            "patched": len(patched),
            "watch_reconnects": reconnects,
            "weighted": len(seconds),
            "patch_seconds": patch_seconds,
            "all_weighted_seconds": time.monotonic() - started if len(seconds) >= n else None,
            "p50": stats.percentile(seconds, 0.5),
            "p99": stats.percentile(seconds, 0.99),
            "max": seconds[-1] if seconds else None,
            "values": [round(s, 3) for s in seconds],
            "stages": _stages(patched, weighted, stamps),
        }


def _stages(
    patched: dict[str, float],
    weighted: dict[str, float],
    stamps: dict[str, tuple[str | None, str | None]],
) -> dict[str, list[float | None]]:
    """Each rollout's seconds from the spec patch to the operator starting it (watch
    event, queue, tick), from that to the first weight applied (the canary Deployment
    created and ready), and from that to the driver seeing it (status patch, watch)."""
    out: dict[str, list[float | None]] = {"to_start": [], "to_weight": [], "to_seen": []}

    def at(text: str | None) -> float | None:
        return datetime.fromisoformat(text).timestamp() if text else None

    for name in sorted(weighted, key=lambda k: weighted[k] - patched.get(k, 0.0)):
        if name not in patched:
            continue
        started, stepped = (at(t) for t in stamps.get(name, (None, None)))
        out["to_start"].append(None if started is None else round(started - patched[name], 3))
        out["to_weight"].append(
            None if started is None or stepped is None else round(stepped - started, 3)
        )
        out["to_seen"].append(None if stepped is None else round(weighted[name] - stepped, 3))
    return out


def _api_total(before: Snapshot, after: Snapshot) -> float:
    return stats.total(stats.delta(before.apiserver, after.apiserver), "apiserver_request_total")


def _phase(
    before: Snapshot, after: Snapshot, baseline_rate: float, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    """What the operator did between two snapshots."""
    seconds = after.at - before.at
    op = stats.delta(before.operator, after.operator)
    ticks = stats.total(op, "roost_tick_duration_seconds_count")
    tick_buckets = stats.buckets(op, "roost_tick_duration_seconds")
    analysis_buckets = stats.buckets(op, "roost_analysis_duration_seconds")
    prom = stats.delta(before.prometheus, after.prometheus)
    queries = stats.total(
        prom,
        "prometheus_http_requests_total",
        lambda labels: labels.get("handler", "").startswith("/api/v1/query"),
    )
    api = stats.delta(before.apiserver, after.apiserver)
    api_total = stats.total(api, "apiserver_request_total")
    by_verb: dict[str, float] = {}
    for (_, labels), value in api.items():
        if value:
            key = f"{dict(labels).get('verb')} {dict(labels).get('resource')}"
            by_verb[key] = by_verb.get(key, 0.0) + value
    client = stats.delta(before.client, after.client)
    api_port = args.apiserver_host
    sent = "roost_bench_client_requests_total"
    to_api = stats.total(client, sent, lambda labels: labels["host"] == api_port)
    to_prom = stats.total(client, sent, lambda labels: labels["host"] == args.prometheus_host)
    client_by_verb: dict[str, float] = {}
    for (_, labels), value in client.items():
        info = dict(labels)
        if value and info["host"] == api_port:
            key = f"{info['client']} {info['method']}"
            client_by_verb[key] = client_by_verb.get(key, 0.0) + value
    operator_api = max(api_total - baseline_rate * seconds, 0.0)
    windows = seconds / args.interval_seconds
    counted = any(key[0] == "roost_prometheus_queries_total" for key in after.operator)
    window_queries = stats.total(op, "roost_prometheus_queries_total") if counted else None
    cpu = (
        after.cpu_seconds - before.cpu_seconds
        if after.cpu_seconds is not None and before.cpu_seconds is not None
        else None
    )
    machine = {
        name: (spent - before.machine.get(name, 0.0)) / seconds
        for name, spent in after.machine.items()
    }
    return {
        "seconds": seconds,
        "operator_cpu_cores": cpu / seconds if cpu is not None else None,
        # Every process on the machine (2 cores): what else the operator waits for.
        "machine_cpu_cores": dict(
            sorted(((k, v) for k, v in machine.items() if v >= 0.005), key=lambda kv: -kv[1])
        ),
        "cpu_ms_per_tick": 1000 * cpu / ticks if cpu is not None and ticks else None,
        "ticks": ticks,
        "ticks_per_s": ticks / seconds,
        "expected_ticks_per_s": n / args.tick,
        "mean_tick_period_s": n * seconds / ticks if ticks else None,
        "tick_p50_s": stats.histogram_quantile(0.5, tick_buckets),
        "tick_p99_s": stats.histogram_quantile(0.99, tick_buckets),
        "tick_mean_s": (stats.total(op, "roost_tick_duration_seconds_sum") / ticks)
        if ticks
        else None,
        "analysis_reads": stats.total(op, "roost_analysis_duration_seconds_count"),
        "analysis_p50_s": stats.histogram_quantile(0.5, analysis_buckets),
        "analysis_p99_s": stats.histogram_quantile(0.99, analysis_buckets),
        "patches_sent": stats.total(
            op, "roost_status_patches_total", lambda labels: labels.get("result") == "sent"
        ),
        "patches_skipped": stats.total(
            op, "roost_status_patches_total", lambda labels: labels.get("result") == "skipped"
        ),
        "patches_held": stats.total(
            op, "roost_status_patches_total", lambda labels: labels.get("result") == "held"
        ),
        "prometheus_queries": queries,
        "queries_per_s": queries / seconds,
        "queries_per_tick": queries / ticks if ticks else None,
        # The analysis windows' queries, as the operator counts them; all of them less
        # its spec check (a bucket-bounds query per policy a minute). Code from before
        # that counter (a --source-rev, the history) is measured by all queries.
        "window_queries": window_queries,
        "queries_per_sli_per_window": (queries if window_queries is None else window_queries)
        / (windows * SLIS),
        "operator_prometheus_requests": to_prom,
        "operator_api_requests": to_api,
        "apiserver_per_tick": to_api / ticks if ticks else None,
        "apiserver_per_s": to_api / seconds,
        "operator_api_by_client": client_by_verb,
        # Seen by the apiserver, on the resources the operator touches, less the rate
        # measured before the operator started: includes the controllers' reactions.
        "apiserver_requests_all": operator_api,
        "apiserver_by_verb": dict(sorted(by_verb.items(), key=lambda kv: -kv[1])[:12]),
    }


_DETAIL = ("values", "apiserver_by_verb", "operator_api_by_client", "machine_cpu_cores")


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out[key] = {
                k: round(v, 3) if isinstance(v, float) else v
                for k, v in value.items()
                if k not in _DETAIL
            }
        elif key == "rss_bytes":
            out["rss_max_mb"] = round(max(value) / 2**20, 1) if value else None
        else:
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--tick", type=float, default=5.0, help="roost run --tick, seconds")
    parser.add_argument("--interval", default="10s", help="rollout.analysisInterval")
    parser.add_argument("--baseline", type=float, default=5.0)
    parser.add_argument("--idle", type=float, default=20.0)
    # A whole number of analysis windows: otherwise the phase holds one window read more
    # or less by where the windows fall, and queries per SLI per window move with it for
    # the same behaviour.
    parser.add_argument(
        "--analysing", type=float, default=50.0, help="seconds; a multiple of --interval"
    )
    parser.add_argument(
        "--singles",
        type=int,
        default=10,
        help="new versions one at a time after analysing (0: none)",
    )
    parser.add_argument("--single-spacing", type=float, default=3.0)
    parser.add_argument("--settle-timeout", type=float, default=420.0)
    parser.add_argument("--weight-timeout", type=float, default=120.0)
    parser.add_argument(
        "--source-rev", help="run the operator code of this git revision (default: the tree)"
    )
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the operator here")
    parser.add_argument(
        "--census",
        type=Path,
        help="kill -USR2 the operator to append a census of its objects to a file here",
    )
    parser.add_argument(
        "--tracemalloc",
        type=Path,
        help="write the operator's peak tracemalloc snapshot here (slows it down)",
    )
    parser.add_argument(
        "--history",
        type=Path,
        action="append",
        default=None,
        help="an earlier result file to show beside this run (default: bench/results/"
        "scale-history/*.json, the runs before each fix)",
    )
    parser.add_argument(
        "--autoscaling",
        action="store_true",
        help="spec.autoscaling on every ModelDeployment (min 1 replica: N kwok pods)",
    )
    parser.add_argument("--label", default="", help="a note for this run (e.g. which fix)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    args = parser.parse_args(argv)
    args.interval_seconds = float(args.interval.removesuffix("s"))
    started = time.monotonic()
    # SIGTERM unwinds like Ctrl-C, so the cluster and Prometheus are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    rows: list[dict[str, Any]] = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            rows.append(bench.run_size(n))
            _write(args, rows, started)  # a later size that fails keeps these
    finally:
        bench.close()
    _write(args, rows, started)
    print(f"wrote {args.out}")


def _write(args: argparse.Namespace, rows: list[dict[str, Any]], started: float) -> None:
    meta = {
        **common.provenance(args.source_rev),
        "label": args.label,
        "autoscaling": args.autoscaling,
        "tick_seconds": args.tick,
        "analysis_interval_seconds": args.interval_seconds,
        "exporter_scrape_interval": ScalePrometheus.exporter_interval,
        "phase_seconds": {"idle": args.idle, "analysing": args.analysing},
        "single_spacing": args.single_spacing,
        "slis": SLIS,
        "wall_seconds": time.monotonic() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    earlier = []
    history = HISTORY.glob("*.json") if args.history is None else args.history
    for path in sorted(history):
        old = json.loads(path.read_text())
        earlier.append({"meta": old["meta"], "rows": old["rows"]})
    result = {"meta": meta, "rows": rows, "history": earlier}
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
