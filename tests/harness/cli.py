"""`hack/cluster up|down|status`: the local cluster and Prometheus by hand."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.cluster import Cluster, ClusterInfo
from harness.kindcluster import KindCluster, KindUnavailableError
from harness.localcluster import LocalCluster
from harness.probes import KubectlError
from harness.processes import ComponentError
from harness.prometheus import PrometheusServer
from harness.tools import REPO, Tools, ToolsMissingError, locate


def state_root() -> Path:
    return Path(os.environ.get("ROOST_STATE", REPO / ".state"))


def cluster_for(state_dir: Path, tools: Tools, kind: bool) -> Cluster:
    return KindCluster(state_dir, tools) if kind else LocalCluster(state_dir, tools)


def recorded_cluster(state_dir: Path, tools: Tools) -> Cluster:
    """The kind of cluster this folder last started (local if none)."""
    info = ClusterInfo.load(state_dir)
    return cluster_for(state_dir, tools, kind=info is not None and info.provider == "kind")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hack/cluster",
        description="Start, stop or show the local Kubernetes cluster and Prometheus.",
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--kind", action="store_true", help="use kind (needs docker and kind)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--no-prometheus", action="store_true", help="leave Prometheus alone")
    only.add_argument("--only-prometheus", action="store_true", help="leave the cluster alone")
    args = parser.parse_args(argv)

    root = state_root()
    cluster_dir, prometheus_dir = root / "cluster", root / "prometheus"
    try:
        tools = locate()
        cluster = (
            cluster_for(cluster_dir, tools, args.kind)
            if args.action == "up"
            else recorded_cluster(cluster_dir, tools)
        )
        prometheus = PrometheusServer(prometheus_dir, tools.bin_dir / "prometheus")
        if args.action == "up":
            if not args.only_prometheus:
                _refuse_other_provider(cluster_dir, "kind" if args.kind else "local")
                print(f"starting the cluster (state, logs and pids in {cluster_dir}) ...")
                info = cluster.up()
                print(f"cluster up ({info.provider}) at {info.server}")
                print(f"  export KUBECONFIG={info.kubeconfig}")
            if not args.no_prometheus:
                tools.binary("prometheus")
                print(f"starting Prometheus (state, logs and pids in {prometheus_dir}) ...")
                print(f"Prometheus up at {prometheus.up()}")
        elif args.action == "down":
            if not args.only_prometheus:
                cluster.down()
                print(f"cluster stopped ({cluster_dir})")
            if not args.no_prometheus:
                prometheus.down()
                print(f"Prometheus stopped ({prometheus_dir})")
        else:
            for name, state in (cluster.status() | prometheus.status()).items():
                print(f"{name:26} {state}")
            if info := ClusterInfo.load(cluster_dir):
                print(f"KUBECONFIG={info.kubeconfig}")
    except (ComponentError, KubectlError, KindUnavailableError, ToolsMissingError) as error:
        print(f"hack/cluster {args.action} failed: {error}", file=sys.stderr)
        return 1
    return 0


def _refuse_other_provider(cluster_dir: Path, wanted: str) -> None:
    info = ClusterInfo.load(cluster_dir)
    if info is not None and info.provider != wanted:
        raise KindUnavailableError(
            f"a {info.provider} cluster is recorded in {cluster_dir}; `hack/cluster down` first"
        )
