"""Roost's main job, live: a good version promoted and a bad one rolled back.

Brings up the local control plane (or kind with ``--kind``) and Prometheus,
two simulated model-server versions at a time (the e2e test harness: pods on
fake nodes run no containers, so simulators export the metrics and a load
generator routes requests by the HTTPRoute's weights), starts the operator,
and rolls out v2 (healthy) and then v3 (fails 8 % of requests), printing
``roost status`` as it goes. Everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from harness.dataplane import LoadGenerator, ModelServerSimulator  # noqa: E402
from harness.operator_process import OperatorProcess  # noqa: E402
from harness.probes import Kubectl  # noqa: E402
from harness.prometheus import ScrapeTarget  # noqa: E402
from harness.session import HarnessSession  # noqa: E402

NS, NAME, MODEL = "demo", "fraud-scorer", "fraud-scorer"
GROUP, VERSION = "roost.dev", "v1alpha1"

MANIFESTS = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {NAME}, namespace: {NS}}}
spec:
  parentRefs: [{{name: gateway}}]
  rules: [{{backendRefs: [{{name: {NAME}-stable, port: 8080, weight: 100}}]}}]
---
apiVersion: roost.dev/v1alpha1
kind: SLOPolicy
metadata: {{name: {NAME}, namespace: {NS}}}
spec:
  period: 30d
  objectives:
    - name: availability
      target: 0.99
      ratio:
        errors: model_predictions_total{{status="error"}}
        total: model_predictions_total
    - name: latency
      target: 0.99
      latency: {{histogram: model_request_duration_seconds, threshold: 250ms}}
  canary: {{maxBurnRate: 2, minRequests: 100}}
---
apiVersion: roost.dev/v1alpha1
kind: ModelDeployment
metadata: {{name: {NAME}, namespace: {NS}}}
spec:
  model: {{name: {MODEL}, version: v1}}
  sloPolicyRef: {{name: {NAME}}}
  replicas: 3
  template:
    spec:
      containers: [{{name: server, image: "registry.example.com/{MODEL}:v1"}}]
  traffic: {{provider: gatewayAPI, gatewayAPI: {{httpRoute: {NAME}}}}}
  rollout:
    steps: [{{weight: 10, pause: 10s}}, {{weight: 25, pause: 10s}}, {{weight: 50, pause: 10s}}]
    analysisInterval: 5s
    noDataDeadline: 2m
    progressDeadline: 10m
  metrics: {{versionLabel: version, labels: {{model: {MODEL}}}}}
"""


def status(kubectl: Kubectl) -> dict[str, Any]:
    import json

    return json.loads(kubectl("get", "md", NAME, "-n", NS, "-o", "json")).get("status") or {}


def show(kubeconfig: Path) -> None:
    import asyncio

    from roost.adapters.kube import Kube, api_client
    from roost.rollout.view import render_tree

    kube = Kube(api_client(str(kubeconfig)))
    body = asyncio.run(kube.get_custom(GROUP, VERSION, "modeldeployments", NS, NAME))
    print("\033[2J\033[H" + render_tree(body), flush=True)


def follow(kubectl: Kubectl, kubeconfig: Path, done: Any, timeout_s: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = status(kubectl)
        show(kubeconfig)
        if done(current):
            return current
        time.sleep(2)
    raise SystemExit("demo: the rollout did not finish in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", action="store_true", help="run on kind (needs Docker)")
    args = parser.parse_args()
    if args.kind:
        os.environ["ROOST_TEST_CLUSTER"] = "kind"
    session = HarnessSession.create()
    simulators: list[ModelServerSimulator] = []
    load: LoadGenerator | None = None
    operator: OperatorProcess | None = None
    try:
        print("==> starting the control plane and Prometheus", flush=True)
        info = session.start_cluster()
        prometheus = session.start_prometheus()
        kubectl = Kubectl(session.tools.binary("kubectl"), info.kubeconfig)
        kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
        kubectl(
            "wait",
            "--for=condition=Established",
            "crd/modeldeployments.roost.dev",
            "crd/slopolicies.roost.dev",
            "--timeout=60s",
        )
        kubectl("create", "namespace", NS)
        kubectl.retry("get", "serviceaccount", "default", "-n", NS)

        print("==> simulated model servers v1, v2 (healthy) and v3 (8 % errors)", flush=True)
        for version in ("v1", "v2", "v3"):
            simulator = ModelServerSimulator(MODEL, version)
            simulator.set_error_rate(0.08 if version == "v3" else 0.001)
            simulators.append(simulator)
            prometheus.add_scrape_target(ScrapeTarget(f"demo-{version}", simulator.address))
        for version in ("v1", "v2", "v3"):
            prometheus.wait_for_target_up(f"demo-{version}")

        print("==> the operator", flush=True)
        operator = OperatorProcess(
            kubeconfig=info.kubeconfig,
            namespace=NS,
            prometheus_url=prometheus.url,
            state_dir=session.root / "operator",
            extra_args=("--tick", "2s"),
        )
        operator.start()
        kubectl("apply", "-f", "-", stdin=MANIFESTS)
        follow(kubectl, info.kubeconfig, lambda s: s.get("stableVersion") == "v1")

        from kubernetes import config

        api = config.new_client_from_config(config_file=str(info.kubeconfig))
        load = LoadGenerator(api, NS, NAME, simulators, rps=200, max_duration_s=1200).start()

        print("==> rolling out v2 (healthy)", flush=True)
        kubectl(
            "patch",
            "md",
            NAME,
            "-n",
            NS,
            "--type=merge",
            "-p",
            '{"spec":{"model":{"version":"v2"}}}',
        )
        good = follow(kubectl, info.kubeconfig, lambda s: s.get("stableVersion") == "v2")
        print(f"\n==> v2: {good['phase']} ({good['message'][:120]})\n", flush=True)
        time.sleep(3)

        print("==> rolling out v3 (fails 8 % of requests)", flush=True)
        kubectl(
            "patch",
            "md",
            NAME,
            "-n",
            NS,
            "--type=merge",
            "-p",
            '{"spec":{"model":{"version":"v3"}}}',
        )
        bad = follow(kubectl, info.kubeconfig, lambda s: s.get("phase") == "RolledBack")
        print(f"\n==> v3: {bad['phase']} ({bad['message'][:200]})", flush=True)
        print("\n==> events", flush=True)
        print(
            kubectl(
                "get",
                "events",
                "-n",
                NS,
                "--field-selector",
                "involvedObject.kind=ModelDeployment",
                "--sort-by=.lastTimestamp",
            )
        )
        return 0
    finally:
        if load is not None:
            load.stop()
        if operator is not None:
            operator.stop()
        for simulator in simulators:
            simulator.stop()
        session.stop_prometheus()
        session.stop_cluster()
        session.clean_up(keep_logs=False)


if __name__ == "__main__":
    sys.exit(main())
