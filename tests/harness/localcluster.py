"""A real Kubernetes control plane from local binaries, no Docker.

etcd, kube-apiserver (client certificates, RBAC), kube-controller-manager,
kube-scheduler and a kwok controller that plays the kubelet of a few fake
nodes, so Deployments get Running/Ready pods and HPAs are reconciled. The
Gateway API CRDs are installed because Roost's traffic provider writes
HTTPRoutes. Every process is ours and listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.cluster import ClusterInfo
from harness.kubeconfig import write_kubeconfig
from harness.pki import ClusterPKI, KeyPair, client_certificate, create_cluster_pki
from harness.probes import Kubectl, KubectlError, client_tls, http_ok, unverified_tls
from harness.processes import ComponentError, Supervisor, free_port
from harness.tools import Tools

SERVICE_CIDR = "10.0.0.0/24"
# For benchmarks with hundreds of Services (each ModelDeployment or Flagger Canary
# makes three): the /24 runs out at about 80 of them. Set SERVICE_CIDR to it
# before LocalCluster.up().
WIDE_SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
FAKE_NODES = 2
# kwok manages only nodes carrying this annotation, never a real kubelet's.
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
# The HPA controller's default is 15 s; tests and e2e rollouts wait on it.
HPA_SYNC_PERIOD = "5s"

APISERVER_LAUNCH = "kube-apiserver.json"

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def pick(cls) -> Ports:
        return cls(*(free_port() for _ in range(6)))


class LocalCluster:
    """One control plane per state folder."""

    def __init__(self, state_dir: Path, tools: Tools) -> None:
        self.state_dir = state_dir
        self.tools = tools
        self.processes = Supervisor(state_dir)

    @property
    def admin_kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    def up(self) -> ClusterInfo:
        info = ClusterInfo.load(self.state_dir)
        if info and all(self.processes.running(c) for c in COMPONENTS):
            return info
        self.down()  # a half-running earlier cluster is not worth repairing
        binaries = {name: self.tools.binary(name) for name in (*COMPONENTS, "kubectl")}
        for leftover in ("etcd-data", "pki", "kubeconfigs", "logs", "pids"):
            shutil.rmtree(self.state_dir / leftover, ignore_errors=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)

        ports = Ports.pick()
        pki = create_cluster_pki(self.state_dir / "pki")
        server = f"https://127.0.0.1:{ports.apiserver}"
        kubeconfigs = self._write_kubeconfigs(pki, server)
        kubectl = Kubectl(binaries["kubectl"], kubeconfigs["admin"])
        try:
            self._start_etcd(binaries["etcd"], ports)
            self._start_apiserver(binaries["kube-apiserver"], ports, pki)
            self._start_controllers(binaries, ports, pki, kubeconfigs)
            self._add_fake_nodes(kubectl)
            self._install_gateway_api(kubectl)
            self._wait_for_default_service_account(kubectl)
        except BaseException:
            self.processes.stop_all()
            raise
        info = ClusterInfo("local", kubeconfigs["admin"], server)
        info.save(self.state_dir)
        return info

    def down(self) -> None:
        self.processes.stop_all()
        (self.state_dir / "cluster.json").unlink(missing_ok=True)

    def user_kubeconfig(self, name: str, user: str, group: str | None = None) -> Path:
        """A kubeconfig for ``user`` (in ``group``), by a client certificate from this
        cluster's CA: for another component (an aggregated API server, say) that acts
        under its own identity and RBAC."""
        info = ClusterInfo.load(self.state_dir)
        if info is None:
            raise RuntimeError(f"no cluster is running in {self.state_dir}")
        pki = self.state_dir / "pki"
        ca = KeyPair(pki / "ca.crt", pki / "ca.key")
        out = self.state_dir / "kubeconfigs"
        cert = client_certificate(ca, out / name, user, group)
        return write_kubeconfig(
            out / f"{name}.kubeconfig", server=info.server, ca_cert=ca.cert, client=cert, user=user
        )

    def status(self) -> dict[str, str]:
        return {
            c: f"running (pid {pid})" if (pid := self.processes.pid(c)) else "stopped"
            for c in COMPONENTS
        }

    def _write_kubeconfigs(self, pki: ClusterPKI, server: str) -> dict[str, Path]:
        out = self.state_dir / "kubeconfigs"
        out.mkdir(parents=True, exist_ok=True)
        # user name, RBAC group: the bootstrap policy binds the two system:
        # users to exactly what the controller manager and scheduler need.
        identities = {
            "admin": ("roost-admin", "system:masters"),
            "controller-manager": ("system:kube-controller-manager", None),
            "scheduler": ("system:kube-scheduler", None),
            "kwok": ("kwok-controller", "system:masters"),
        }
        paths = {}
        for name, (user, group) in identities.items():
            cert = client_certificate(pki.ca, out / name, user, group)
            target = self.admin_kubeconfig if name == "admin" else out / f"{name}.kubeconfig"
            paths[name] = write_kubeconfig(
                target, server=server, ca_cert=pki.ca.cert, client=cert, user=user
            )
        return paths

    def _start_etcd(self, etcd: Path, ports: Ports) -> None:
        client = f"http://127.0.0.1:{ports.etcd_client}"
        peer = f"http://127.0.0.1:{ports.etcd_peer}"
        self.processes.start(
            "etcd",
            [
                etcd,
                "--name=roost",
                f"--data-dir={self.state_dir / 'etcd-data'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=roost={peer}",
                # Test data is thrown away: skipping fsync makes writes fast.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self.processes.wait_until("etcd", lambda: http_ok(f"{client}/health"), 30, "healthy")

    def restart_apiserver(self, *, hard: bool = False, down_s: float = 0.0) -> None:
        """Stop kube-apiserver (SIGTERM, or SIGKILL when ``hard``), wait ``down_s``, and
        start it again with the same flags on the same port; returns once it is ready.
        etcd and every other component keep running, as in an apiserver upgrade."""
        saved = json.loads((self.state_dir / APISERVER_LAUNCH).read_text())
        if hard and (pid := self.processes.pid("kube-apiserver")) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.processes.stop("kube-apiserver")
        time.sleep(down_s)
        self.processes.start("kube-apiserver", saved["argv"])
        self._wait_apiserver_ready(saved["ready_url"], Path(saved["ca"]))

    def _wait_apiserver_ready(self, url: str, ca_cert: Path) -> None:
        admin = self.state_dir / "kubeconfigs" / "admin"
        tls = client_tls(ca_cert, admin.with_suffix(".crt"), admin.with_suffix(".key"))
        self.processes.wait_until("kube-apiserver", lambda: http_ok(url, tls), 90, "ready")

    def _start_apiserver(self, apiserver: Path, ports: Ports, pki: ClusterPKI) -> None:
        argv: list[str | Path] = [
            apiserver,
            f"--etcd-servers=http://127.0.0.1:{ports.etcd_client}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports.apiserver}",
            f"--cert-dir={self.state_dir / 'pki'}",
            f"--tls-cert-file={pki.apiserver.cert}",
            f"--tls-private-key-file={pki.apiserver.key}",
            f"--client-ca-file={pki.ca.cert}",
            # The front-proxy (request header) settings complete the
            # extension-apiserver-authentication ConfigMap, which the
            # controller manager and scheduler read, and would let an
            # aggregated API such as metrics-server be added.
            f"--requestheader-client-ca-file={pki.front_proxy_ca.cert}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki.front_proxy_client.cert}",
            f"--proxy-client-key-file={pki.front_proxy_client.key}",
            "--authorization-mode=Node,RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--allow-privileged=true",
            # No Endpoints for the `kubernetes` Service: they may not point at
            # a loopback address, and nothing in a fake cluster dials it.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]
        url = f"https://127.0.0.1:{ports.apiserver}/readyz"
        # Kept so restart_apiserver() can start the same process again.
        (self.state_dir / APISERVER_LAUNCH).write_text(
            json.dumps({"argv": [str(a) for a in argv], "ready_url": url, "ca": str(pki.ca.cert)})
        )
        self.processes.start("kube-apiserver", argv)
        self._wait_apiserver_ready(url, pki.ca.cert)

    def _start_controllers(
        self, binaries: dict[str, Path], ports: Ports, pki: ClusterPKI, kubeconfigs: dict[str, Path]
    ) -> None:
        kcm = kubeconfigs["controller-manager"]
        self.processes.start(
            "kube-controller-manager",
            [
                binaries["kube-controller-manager"],
                f"--kubeconfig={kcm}",
                f"--authentication-kubeconfig={kcm}",
                f"--authorization-kubeconfig={kcm}",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports.controller_manager}",
                "--leader-elect=false",
                # Each controller acts as its own service account, as in kubeadm.
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca.cert}",
                f"--cluster-signing-cert-file={pki.ca.cert}",
                f"--cluster-signing-key-file={pki.ca.key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-cidr={POD_CIDR}",
                f"--horizontal-pod-autoscaler-sync-period={HPA_SYNC_PERIOD}",
            ],
        )
        sched = kubeconfigs["scheduler"]
        self.processes.start(
            "kube-scheduler",
            [
                binaries["kube-scheduler"],
                f"--kubeconfig={sched}",
                f"--authentication-kubeconfig={sched}",
                f"--authorization-kubeconfig={sched}",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports.scheduler}",
                "--leader-elect=false",
            ],
        )
        key, value = KWOK_NODE_ANNOTATION
        # Our own (empty) config, so a ~/.kwok/kwok.yaml of the user is not
        # read; with no stages configured kwok uses its built-in node and pod
        # stages (nodes Ready with leases, pods Running/Ready).
        kwok_config = self.state_dir / "kwok.yaml"
        kwok_config.write_text(
            "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n"
        )
        self.processes.start(
            "kwok",
            [
                binaries["kwok"],
                f"--config={kwok_config}",
                f"--kubeconfig={kubeconfigs['kwok']}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={key}={value}",
                f"--cidr={POD_CIDR}",
                "--node-ip=127.0.0.1",
                f"--server-address=127.0.0.1:{ports.kwok}",
                # Without node Leases the controller manager marks every node NotReady
                # after ~50 s and the pods on them stay NotReady for good.
                "--node-lease-duration-seconds=40",
            ],
        )
        tls = unverified_tls()
        for name, port in (
            ("kube-controller-manager", ports.controller_manager),
            ("kube-scheduler", ports.scheduler),
        ):
            url = f"https://127.0.0.1:{port}/healthz"
            self.processes.wait_until(name, lambda url=url: http_ok(url, tls), 60, "healthy")
        kwok_url = f"http://127.0.0.1:{ports.kwok}/healthz"
        self.processes.wait_until("kwok", lambda: http_ok(kwok_url), 60, "healthy")

    def _add_fake_nodes(self, kubectl: Kubectl) -> None:
        nodes = [fake_node(f"kwok-node-{i}") for i in range(FAKE_NODES)]
        kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(nodes))
        try:
            kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")
        except KubectlError as error:
            raise ComponentError("kwok", str(error), self.processes.log("kwok")) from error

    def _wait_for_default_service_account(self, kubectl: Kubectl) -> None:
        """Pods are refused until their namespace's default ServiceAccount
        exists; its controller runs in kube-controller-manager."""
        try:
            kubectl.retry("get", "serviceaccount", "default", "-n", "default")
        except KubectlError as error:
            log = self.processes.log("kube-controller-manager")
            raise ComponentError("kube-controller-manager", str(error), log) from error

    def _install_gateway_api(self, kubectl: Kubectl) -> None:
        # Server-side: the HTTPRoute CRD is too big for the client-side
        # last-applied annotation.
        try:
            kubectl.apply_files(self.tools.gateway_api_crds(), server_side=True)
            kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        except KubectlError as error:
            log = self.processes.log("kube-apiserver")
            raise ComponentError("kube-apiserver", str(error), log) from error
        # Istio's VirtualService, for the Istio provider (no Istio runs: the data plane is
        # the harness's, reading the VirtualService as Istio's proxies would).
        try:
            kubectl(
                "apply",
                "--server-side",
                "-f",
                "-",
                stdin=yaml.safe_dump_all(self.tools.istio_crds()),
            )
            kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        except KubectlError as error:
            log = self.processes.log("kube-apiserver")
            raise ComponentError("kube-apiserver", str(error), log) from error
        # Let discovery catch up, so tests see the new kinds at once.
        for _ in range(50):
            if "httproutes" in kubectl(
                "api-resources", "--api-group=gateway.networking.k8s.io"
            ) and "virtualservices" in kubectl("api-resources", "--api-group=networking.istio.io"):
                return
            time.sleep(0.2)


def fake_node(name: str) -> dict[str, object]:
    """A Node that kwok keeps Ready; no taint, so any Pod may land on it."""
    key, value = KWOK_NODE_ANNOTATION
    resources = {"cpu": "32", "memory": "128Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {key: value, "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
            },
        },
    }
