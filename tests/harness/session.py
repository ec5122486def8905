"""Which cluster and Prometheus a pytest session uses, and their state folders.

By default every session starts its own control plane and Prometheus in
.state/pytest/<pid>/ and stops them at its end; folders left by a session that
died are swept (their processes stopped) by the next one. Environment:

- ROOST_TEST_CLUSTER=kind: create a kind cluster `roost-test` instead.
- ROOST_TEST_KUBECONFIG=PATH: use a running cluster as is; never stop it.

Prometheus comes in two flavours: "2" (Debian's 2.42, ``prometheus``) and "3"
(built from the module proxy by hack/tools, ``prometheus3``); the integration
tests run against both (tests/integration/conftest.py), e2e against "2".
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from harness.cluster import Cluster, ClusterInfo
from harness.kindcluster import KindCluster
from harness.localcluster import LocalCluster
from harness.processes import Supervisor
from harness.prometheus import PrometheusServer
from harness.tools import REPO, Tools, locate

# Prometheus flavour -> (binary, promtool) in the tools' bin directory.
PROMETHEUS_FLAVOURS = {"2": ("prometheus", "promtool"), "3": ("prometheus3", "promtool3")}


@dataclass
class HarnessSession:
    root: Path
    tools: Tools
    cluster: Cluster | None = None
    prometheus: PrometheusServer | None = None
    others: dict[str, PrometheusServer] = field(default_factory=dict)  # flavour "3"

    @classmethod
    def create(cls) -> HarnessSession:
        base = Path(os.environ.get("ROOST_STATE", REPO / ".state")) / "pytest"
        sweep_dead_sessions(base)
        return cls(root=base / str(os.getpid()), tools=locate())

    def start_cluster(self) -> ClusterInfo:
        if existing := os.environ.get("ROOST_TEST_KUBECONFIG"):
            return ClusterInfo("existing", Path(existing), server="(from the kubeconfig)")
        state = self.root / "cluster"
        if os.environ.get("ROOST_TEST_CLUSTER") == "kind":
            self.cluster = KindCluster(state, self.tools, name="roost-test")
        else:
            self.cluster = LocalCluster(state, self.tools)
        return self.cluster.up()

    def start_prometheus(self, flavour: str = "2") -> PrometheusServer:
        binary = self.tools.binary(PROMETHEUS_FLAVOURS[flavour][0])
        if flavour == "2":
            self.prometheus = PrometheusServer(self.root / "prometheus", binary)
            self.prometheus.up()
            return self.prometheus
        server = PrometheusServer(self.root / f"prometheus{flavour}", binary)
        self.others[flavour] = server
        server.up()
        return server

    def stop_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.down()

    def stop_prometheus(self, flavour: str = "2") -> None:
        server = self.prometheus if flavour == "2" else self.others.pop(flavour, None)
        if server is not None:
            server.down()

    def clean_up(self, *, keep_logs: bool) -> None:
        """Remove the session's folder, or only its bulky data when logs are kept."""
        if keep_logs:
            for data in ("cluster/etcd-data", "prometheus/data", "prometheus3/data"):
                shutil.rmtree(self.root / data, ignore_errors=True)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def sweep_dead_sessions(base: Path) -> None:
    """Stop what sessions that died left running, and remove their folders."""
    if not base.is_dir():
        return
    for folder in base.iterdir():
        if folder.name.isdigit() and not Path(f"/proc/{folder.name}").exists():
            info = ClusterInfo.load(folder / "cluster")
            if info is not None and info.provider == "kind":
                KindCluster(folder / "cluster", locate(), name="roost-test").down()
            for part in ("metrics-adapter", "cluster", "prometheus", "prometheus3"):
                Supervisor(folder / part).stop_all()
            shutil.rmtree(folder, ignore_errors=True)
