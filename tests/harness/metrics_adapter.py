"""prometheus-adapter as a process on 127.0.0.1, registered with the local apiserver.

An HPA's ``Pods`` and ``External`` metrics come from the aggregated APIs
``custom.metrics.k8s.io`` and ``external.metrics.k8s.io``. Here prometheus-adapter
(built by hack/tools) serves both from the test session's Prometheus, configured with
the rules ``roost rules --prometheus-adapter`` writes, and is registered as two
APIServices, as a cluster's adapter would be. Three facts shape the wiring:

- An APIService names a Service, never a URL, and the local cluster has no
  kube-proxy, so a ClusterIP would lead nowhere; the Endpoints API refuses loopback
  addresses too. With aggregator routing off (the apiserver's default) the aggregator
  resolves a Service of type ExternalName to ``https://<externalName>:<port>``
  (k8s.io/apiserver, ``pkg/util/proxy``: ``ResolveCluster``), so a Service
  ``{type: ExternalName, externalName: localhost}`` reaches a process on 127.0.0.1.
- The aggregator checks the adapter's serving certificate against the APIService's
  ``caBundle`` for the name ``<service>.<namespace>.svc``; the certificate here is
  signed by a CA of its own and carries that name.
- The adapter authenticates the apiserver's proxied requests by the front-proxy CA
  (the ``extension-apiserver-authentication`` ConfigMap) and asks the apiserver to
  authorize each one: it runs as its own user with the RBAC the upstream manifests
  grant (read pods, nodes, namespaces and services; ``system:auth-delegator``; the
  ``extension-apiserver-authentication-reader`` Role).
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from pathlib import Path

import yaml

from harness.pki import authority, serving_certificate
from harness.probes import Kubectl, KubectlError, http_ok, unverified_tls
from harness.processes import ComponentError, Supervisor, free_port

NAME = "prometheus-adapter"
USER = "roost-test-metrics-adapter"
NAMESPACE = "roost-metrics-adapter"
SERVICE = "prometheus-adapter"
API_GROUPS = ("custom.metrics.k8s.io", "external.metrics.k8s.io")
VERSION = "v1beta1"
# The adapter lists the series its rules match at start and then every relist interval
# (10 m by default); a metric first scraped after the last list is unknown until the next.
RELIST_INTERVAL = "5s"
AVAILABLE_TIMEOUT_S = 60.0


class MetricsAdapter:
    """One adapter for one cluster; ``up`` registers it, ``down`` unregisters it and
    removes every object it created."""

    def __init__(
        self,
        state_dir: Path,
        binary: Path,
        *,
        kubectl: Kubectl,
        kubeconfig: Path,
        prometheus_url: str,
        config: str,
    ) -> None:
        self.state_dir = state_dir
        self.binary = binary
        self.kubectl = kubectl
        self.kubeconfig = kubeconfig  # the adapter's own identity (USER)
        self.prometheus_url = prometheus_url
        self.config = config
        self.processes = Supervisor(state_dir)
        self.port = 0

    @property
    def log(self) -> Path:
        return self.processes.log(NAME)

    def up(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        ca = authority(self.state_dir / "serving-ca", "roost-test-metrics-adapter-ca")
        host = f"{SERVICE}.{NAMESPACE}.svc"
        serving = serving_certificate(
            ca, self.state_dir / "serving", SERVICE, ["localhost", host, f"{host}.cluster.local"]
        )
        config = self.state_dir / "config.yaml"
        config.write_text(self.config)
        try:
            self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(self._rbac()))
            self.processes.start(
                NAME,
                [
                    self.binary,
                    "--bind-address=127.0.0.1",
                    f"--secure-port={self.port}",
                    f"--cert-dir={self.state_dir / 'certs'}",
                    f"--tls-cert-file={serving.cert}",
                    f"--tls-private-key-file={serving.key}",
                    f"--lister-kubeconfig={self.kubeconfig}",
                    f"--authentication-kubeconfig={self.kubeconfig}",
                    f"--authorization-kubeconfig={self.kubeconfig}",
                    f"--prometheus-url={self.prometheus_url}",
                    f"--config={config}",
                    f"--metrics-relist-interval={RELIST_INTERVAL}",
                    "--v=2",
                ],
            )
            healthz = f"https://127.0.0.1:{self.port}/healthz"
            self.processes.wait_until(NAME, lambda: http_ok(healthz, unverified_tls()), 60, "up")
            bundle = base64.b64encode(ca.cert.read_bytes()).decode()
            self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(self._registration(bundle)))
            self._wait_available()
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        """Unregister first (an APIService whose server is gone makes discovery fail for
        every client), then stop the process and delete the rest; the namespace of the
        Service stays for the next adapter."""
        for group in API_GROUPS:
            with contextlib.suppress(KubectlError):
                self.kubectl("delete", "apiservice", f"{VERSION}.{group}", "--ignore-not-found")
        self.processes.stop(NAME)
        for kind, name in (
            ("clusterrolebinding", f"{USER}:auth-delegator"),
            ("clusterrolebinding", USER),
            ("clusterrole", USER),
        ):
            with contextlib.suppress(KubectlError):
                self.kubectl("delete", kind, name, "--ignore-not-found")
        with contextlib.suppress(KubectlError):
            self.kubectl(
                "delete", "rolebinding", f"{USER}:auth-reader", "-n", "kube-system",
                "--ignore-not-found",
            )  # fmt: skip
        # The Service, not its namespace: a namespace still terminating when the next
        # adapter registers would take that adapter's new Service with it.
        with contextlib.suppress(KubectlError):
            self.kubectl("delete", "service", SERVICE, "-n", NAMESPACE, "--ignore-not-found")

    def raw(self, path: str) -> dict[str, object]:
        """GET ``path`` through the apiserver (as the admin), parsed."""
        return json.loads(self.kubectl("get", "--raw", path))  # type: ignore[no-any-return]

    # -- objects -----------------------------------------------------------------

    def _rbac(self) -> list[dict[str, object]]:
        rbac = "rbac.authorization.k8s.io/v1"
        user = {"kind": "User", "name": USER, "apiGroup": "rbac.authorization.k8s.io"}
        return [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            {
                "apiVersion": rbac,
                "kind": "ClusterRole",
                "metadata": {"name": USER},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["nodes", "namespaces", "pods", "services"],
                        "verbs": ["get", "list", "watch"],
                    }
                ],
            },
            _binding("ClusterRoleBinding", USER, "ClusterRole", USER, user),
            _binding(
                "ClusterRoleBinding",
                f"{USER}:auth-delegator",
                "ClusterRole",
                "system:auth-delegator",
                user,
            ),
            _binding(
                "RoleBinding",
                f"{USER}:auth-reader",
                "Role",
                "extension-apiserver-authentication-reader",
                user,
                namespace="kube-system",
            ),
        ]

    def _registration(self, ca_bundle: str) -> list[dict[str, object]]:
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": SERVICE, "namespace": NAMESPACE},
            "spec": {
                "type": "ExternalName",
                "externalName": "localhost",
                "ports": [{"name": "https", "port": self.port, "protocol": "TCP"}],
            },
        }
        services = [
            {
                "apiVersion": "apiregistration.k8s.io/v1",
                "kind": "APIService",
                "metadata": {"name": f"{VERSION}.{group}"},
                "spec": {
                    "group": group,
                    "version": VERSION,
                    "service": {"name": SERVICE, "namespace": NAMESPACE, "port": self.port},
                    "caBundle": ca_bundle,
                    "groupPriorityMinimum": 100,
                    "versionPriority": 100,
                },
            }
            for group in API_GROUPS
        ]
        return [service, *services]

    def _wait_available(self) -> None:
        names = [f"apiservice/{VERSION}.{g}" for g in API_GROUPS]
        deadline = time.monotonic() + AVAILABLE_TIMEOUT_S
        last = ""
        while time.monotonic() < deadline:
            if not self.processes.running(NAME):
                raise ComponentError(NAME, "exited", self.log)
            try:
                self.kubectl("wait", "--for=condition=Available", *names, "--timeout=5s")
                for group in API_GROUPS:
                    self.raw(f"/apis/{group}/{VERSION}")
                return
            except KubectlError as error:
                last = str(error)
                time.sleep(0.5)
        raise ComponentError(NAME, f"APIServices not Available: {last}", self.log)


def _binding(
    kind: str,
    name: str,
    role_kind: str,
    role: str,
    subject: dict[str, str],
    *,
    namespace: str | None = None,
) -> dict[str, object]:
    metadata: dict[str, str] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [subject],
    }
