"""The same tests on a kind cluster, for machines with a Docker engine.

Uses kind-config.yaml at the repo top (one control plane, two workers). Pods
run for real there, so test images must be pullable by the kind nodes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness.cluster import ClusterInfo
from harness.probes import Kubectl
from harness.tools import REPO, Tools

KIND_CONFIG = REPO / "kind-config.yaml"
DEFAULT_NAME = "roost"


class KindUnavailableError(RuntimeError):
    pass


class KindCluster:
    def __init__(self, state_dir: Path, tools: Tools, name: str = DEFAULT_NAME) -> None:
        self.state_dir = state_dir
        self.tools = tools
        self.name = name

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    def up(self) -> ClusterInfo:
        kind = self._check_prerequisites()
        info = ClusterInfo.load(self.state_dir)
        if info and self._exists(kind):
            return info
        self.state_dir.mkdir(parents=True, exist_ok=True)
        create = [kind, "create", "cluster", f"--name={self.name}", f"--config={KIND_CONFIG}",
                  f"--kubeconfig={self.kubeconfig}", "--wait=180s"]  # fmt: skip
        if image := os.environ.get("ROOST_KIND_IMAGE"):
            create.append(f"--image={image}")
        subprocess.run(create, check=True)
        kubectl = Kubectl(self._kubectl(), self.kubeconfig)
        kubectl.apply_files(self.tools.gateway_api_crds(), server_side=True)
        kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=180s")
        server = kubectl(
            "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"
        )
        info = ClusterInfo("kind", self.kubeconfig, server)
        info.save(self.state_dir)
        return info

    def down(self) -> None:
        # Only a cluster this state folder records as ours is deleted.
        if ClusterInfo.load(self.state_dir) is None:
            return
        kind = self._check_prerequisites()
        subprocess.run([kind, "delete", "cluster", f"--name={self.name}"], check=True)
        (self.state_dir / "cluster.json").unlink(missing_ok=True)

    def status(self) -> dict[str, str]:
        ours = ClusterInfo.load(self.state_dir) is not None
        kind = shutil.which("kind")
        running = bool(kind) and ours and self._exists(kind or "kind")
        return {f"kind cluster {self.name}": "running" if running else "stopped"}

    def _exists(self, kind: str) -> bool:
        out = subprocess.run([kind, "get", "clusters"], capture_output=True, text=True, check=False)
        return self.name in out.stdout.split()

    def _kubectl(self) -> Path | str:
        built = self.tools.bin_dir / "kubectl"
        return built if built.exists() else (shutil.which("kubectl") or "kubectl")

    def _check_prerequisites(self) -> str:
        kind, docker = shutil.which("kind"), shutil.which("docker")
        if not kind or not docker:
            missing = " and ".join(n for n, p in (("docker", docker), ("kind", kind)) if not p)
            raise KindUnavailableError(
                f"--kind needs docker and kind on PATH; missing: {missing}. "
                "Without them use `hack/cluster up` (local binaries, no Docker)."
            )
        engine = subprocess.run([docker, "info"], capture_output=True, text=True, check=False)
        if engine.returncode != 0:
            raise KindUnavailableError(
                "--kind needs a running Docker engine, and `docker info` failed:\n"
                + engine.stderr.strip()[-2000:]
            )
        return kind
