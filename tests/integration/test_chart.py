"""The Helm chart against the real local control plane.

helm lint; `helm template` accepted by the apiserver's server-side dry run;
`helm install` and `helm upgrade` create and change every object; the values
schema turns a typo into a message; the operator's ServiceAccount can do what
Roost does and nothing more (`kubectl auth can-i`); and the operator itself,
authenticated with a TokenRequest token of that ServiceAccount, reconciles
ModelDeployments through a first version, a promoted canary and an aborted
one, which proves the RBAC is enough.

kwok nodes run no containers: the chart's operator Deployment gets a Pod that
kwok reports Running, but no process; the operator under test runs here.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from harness import manifests
from harness.probes import Kubectl, KubectlError, eventually, http_ok
from harness.processes import free_port, log_tail
from harness.tools import REPO

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from harness.session import HarnessSession

pytestmark = pytest.mark.integration

CHART = REPO / "charts" / "roost"
GROUP, VERSION = "roost.dev", "v1alpha1"
TIMEOUT_S = 180.0


# --- helm ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Helm:
    binary: Path
    kubeconfig: Path
    home: Path

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = os.environ | {
            "KUBECONFIG": str(self.kubeconfig),
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
        }
        return subprocess.run(
            [str(self.binary), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )

    def __call__(self, *args: str) -> str:
        done = self.run(*args)
        if done.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout


@pytest.fixture(scope="module")
def helm(
    roost_session: HarnessSession, kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory
) -> Helm:
    return Helm(roost_session.tools.binary("helm"), kubeconfig, tmp_path_factory.mktemp("helm"))


def _set_args(values: dict[str, Any], path: Path) -> list[str]:
    path.write_text(yaml.safe_dump(values))
    return ["--values", str(path)]


@dataclass
class Release:
    name: str
    namespace: str
    service_account: str
    manifest: list[dict[str, Any]]


@pytest.fixture
def install(helm: Helm, tmp_path: Path, kubectl: Kubectl) -> Iterator[Callable[..., Release]]:
    """``install(namespace, values)``: a helm release of the chart, uninstalled afterwards."""
    made: list[Release] = []

    def run(namespace: str, values: dict[str, Any] | None = None) -> Release:
        name = f"roost-{secrets.token_hex(3)}"
        args = _set_args(values or {}, tmp_path / f"{name}.yaml")
        helm("install", name, str(CHART), "--namespace", namespace, *args)
        manifest = [
            d for d in yaml.safe_load_all(helm("get", "manifest", name, "-n", namespace)) if d
        ]
        release = Release(name, namespace, name, manifest)
        made.append(release)
        return release

    yield run
    for release in made:
        helm.run("uninstall", release.name, "--namespace", release.namespace, "--wait")


def _other_namespace(api_client: ApiClient) -> Iterator[str]:
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    name = f"unwatched-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


@pytest.fixture
def other_namespace(api_client: ApiClient) -> Iterator[str]:
    """A namespace the operator does not watch."""
    yield from _other_namespace(api_client)


# Stand-ins for CRDs other projects own, so the optional objects can be dry-run and
# RBAC on them checked: prometheus-operator's ServiceMonitor, kopf's peering
# resources, Istio's VirtualService.
def _stand_in_crd(group: str, kind: str, plural: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def foreign_crds(kubectl: Kubectl) -> Iterator[None]:
    """The stand-ins that do not exist yet, removed again after this module."""
    crds = [
        _stand_in_crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors", "Namespaced"),
        _stand_in_crd("kopf.dev", "KopfPeering", "kopfpeerings", "Namespaced"),
        _stand_in_crd("kopf.dev", "ClusterKopfPeering", "clusterkopfpeerings", "Cluster"),
        _stand_in_crd("networking.istio.io", "VirtualService", "virtualservices", "Namespaced"),
    ]
    existing = set(kubectl("get", "crd", "-o", "name").split())
    missing = [
        c
        for c in crds
        if f"customresourcedefinition.apiextensions.k8s.io/{c['metadata']['name']}" not in existing
    ]
    names = [f"crd/{c['metadata']['name']}" for c in missing]
    if missing:
        kubectl("create", "-f", "-", stdin=yaml.safe_dump_all(missing))
        kubectl("wait", "--for=condition=Established", *names, "--timeout=60s")
    yield
    if names:
        kubectl("delete", *names, "--wait=false")


EVERYTHING_ON = {
    "prometheus": {"url": "http://prometheus.monitoring:9090", "secretNames": ["prom-token"]},
    "serviceMonitor": {"enabled": True},
    "grafanaDashboard": {"enabled": True},
    "operator": {"logLevel": "debug"},
    "prometheusAdapter": {"enabled": True, "inflightMetrics": ["vllm_num_requests_running"]},
}


# --- lint, template, dry run -----------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [{}, EVERYTHING_ON, {"watch": {"allNamespaces": True}, "peering": {"enabled": True}}],
    ids=["defaults", "everything", "cluster-wide-peering"],
)
def test_helm_lint_passes(helm: Helm, tmp_path: Path, values: dict[str, Any]) -> None:
    out = helm("lint", "--strict", str(CHART), *_set_args(values, tmp_path / "values.yaml"))
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize(
    "values",
    [
        {},
        EVERYTHING_ON,
        {"peering": {"enabled": True}},
        {"watch": {"allNamespaces": True}, "peering": {"enabled": True}},
    ],
    ids=["defaults", "everything", "peering", "cluster-wide-peering"],
)
@pytest.mark.usefixtures("foreign_crds")
def test_helm_template_is_accepted_by_the_apiserver(
    helm: Helm, kubectl: Kubectl, namespace: str, tmp_path: Path, values: dict[str, Any]
) -> None:
    rendered = helm(
        "template",
        f"dry-{secrets.token_hex(3)}",
        str(CHART),
        "--namespace",
        namespace,
        "--include-crds",
        *_set_args(values, tmp_path / "values.yaml"),
    )
    kinds = sorted({d["kind"] for d in yaml.safe_load_all(rendered) if d})
    out = kubectl("apply", "--dry-run=server", "-f", "-", stdin=rendered)
    assert out.count("(server dry run)") == sum(1 for d in yaml.safe_load_all(rendered) if d)
    assert {"Deployment", "ServiceAccount", "ClusterRole", "Service"} <= set(kinds)
    if values.get("peering", {}).get("enabled"):
        cluster_wide = values.get("watch", {}).get("allNamespaces", False)
        assert ("ClusterKopfPeering" if cluster_wide else "KopfPeering") in kinds


# --- prometheus-adapter's rules ---------------------------------------------------------


def _adapter_configmap(helm: Helm, tmp_path: Path, values: dict[str, Any]) -> dict[str, Any]:
    rendered = helm(
        "template",
        "rules",
        str(CHART),
        "--namespace",
        "models",
        "--show-only",
        "templates/prometheus-adapter-rules.yaml",
        *_set_args({"prometheusAdapter": values}, tmp_path / "values.yaml"),
    )
    [configmap] = [d for d in yaml.safe_load_all(rendered) if d]
    return configmap  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("values", "cli"),
    [
        ({}, []),
        (
            {
                "inflightMetrics": ["vllm_num_requests_running", "model_inflight_requests"],
                "externalMetrics": ["roost:recommended_replicas"],
                "namespaceLabel": "kubernetes_namespace",
                "podLabel": "kubernetes_pod_name",
            },
            [
                "--inflight-metric",
                "vllm_num_requests_running",
                "--external-metric",
                "roost:recommended_replicas",
                "--namespace-label",
                "kubernetes_namespace",
                "--pod-label",
                "kubernetes_pod_name",
            ],
        ),
    ],
    ids=["defaults", "more-metrics-other-labels"],
)
def test_the_charts_adapter_rules_are_what_roost_rules_writes(
    helm: Helm, tmp_path: Path, values: dict[str, Any], cli: list[str]
) -> None:
    configmap = _adapter_configmap(helm, tmp_path, {"enabled": True, **values})
    assert configmap["metadata"]["name"] == "rules-roost-adapter-rules"
    assert configmap["metadata"]["namespace"] == "models"
    written = subprocess.run(
        [sys.executable, "-m", "roost", "rules", "--prometheus-adapter", *cli],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert yaml.safe_load(configmap["data"]["config.yaml"]) == yaml.safe_load(written)


def test_the_adapter_rules_go_where_the_adapter_reads_them(helm: Helm, tmp_path: Path) -> None:
    values = {"enabled": True, "configMapName": "adapter-config", "namespace": "monitoring"}
    configmap = _adapter_configmap(helm, tmp_path, values)
    assert (configmap["metadata"]["name"], configmap["metadata"]["namespace"]) == (
        "adapter-config",
        "monitoring",
    )
    rendered = helm("template", "rules", str(CHART))
    assert "adapter-rules" not in rendered  # off by default


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"inflightMetrics": ['x"} or vector(1)']}, "does not match pattern"),
        ({"podLabel": "pod-name"}, "does not match pattern"),
        ({"podLabel": "namespace"}, "must differ"),
    ],
)
def test_adapter_rules_that_would_break_the_adapter_fail_the_install(
    helm: Helm, tmp_path: Path, values: dict[str, Any], fragment: str
) -> None:
    args = _set_args({"prometheusAdapter": {"enabled": True, **values}}, tmp_path / "v.yaml")
    done = helm.run("template", "rules", str(CHART), *args)
    assert done.returncode != 0
    assert fragment in done.stderr


# --- install, upgrade ------------------------------------------------------------------


def _by_kind(release: Release) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for document in release.manifest:
        out.setdefault(document["kind"], []).append(document)
    return out


def test_helm_install_creates_every_object_and_upgrade_changes_them(
    install: Callable[..., Release], helm: Helm, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    release = install(
        namespace,
        {"grafanaDashboard": {"enabled": True}, "prometheus": {"url": "http://prom:9090"}},
    )
    kinds = _by_kind(release)
    assert sorted(kinds) == [
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]
    # Every object the release rendered exists in the cluster.
    for document in release.manifest:
        meta = document["metadata"]
        where = ["-n", meta["namespace"]] if meta.get("namespace") else []
        kubectl("get", document["kind"].lower(), meta["name"], *where, "-o", "name")
    for crd in ("modeldeployments.roost.dev", "slopolicies.roost.dev"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=30s")

    deployment = json.loads(
        kubectl("get", "deployment", release.name, "-n", namespace, "-o", "json")
    )
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert pod["serviceAccountName"] == release.service_account
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "192Mi"}
    assert container["livenessProbe"]["httpGet"] == {
        "path": "/healthz",
        "port": "health",
        "scheme": "HTTP",
    }
    assert f"--namespace={namespace}" in container["args"]
    assert "--standalone" in container["args"]
    assert "--liveness=http://0.0.0.0:8080/healthz" in container["args"]
    assert container["image"] == "roost:0.1.0"

    service = json.loads(
        kubectl("get", "service", f"{release.name}-metrics", "-n", namespace, "-o", "json")
    )
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    dashboard = json.loads(
        kubectl("get", "configmap", f"{release.name}-dashboard", "-n", namespace, "-o", "json")
    )
    assert json.loads(dashboard["data"]["roost.json"])["uid"] == "roost-rollouts"

    helm(
        "upgrade",
        release.name,
        str(CHART),
        "-n",
        namespace,
        "--reuse-values",
        "--set",
        "operator.tick=3s",
        "--set",
        "operator.checkpoint=10s",
        "--set",
        "grafanaDashboard.enabled=false",
    )
    args = json.loads(kubectl("get", "deployment", release.name, "-n", namespace, "-o", "json"))[
        "spec"
    ]["template"]["spec"]["containers"][0]["args"]
    assert "--tick=3s" in args
    assert "--checkpoint=10s" in args
    with pytest.raises(KubectlError, match="NotFound"):
        kubectl("get", "configmap", f"{release.name}-dashboard", "-n", namespace)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"operator": {"logFormatt": "json"}}, "additional properties 'logFormatt' not allowed"),
        ({"operator": {"logFormat": "yaml"}}, "value must be one of 'json', 'plain', 'full'"),
        ({"watch": {"namespaces": ["Models"]}}, "'Models' does not match pattern"),
        ({"trafficProviders": ["linkerd"]}, "value must be one of"),
        ({"operator": {"tick": "5 seconds"}}, "does not match pattern"),
    ],
)
def test_a_typo_in_values_fails_install_with_a_message(
    helm: Helm, namespace: str, tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    name = f"typo-{secrets.token_hex(3)}"
    done = helm.run(
        "install", name, str(CHART), "-n", namespace, *_set_args(values, tmp_path / "v.yaml")
    )
    assert done.returncode != 0
    assert "values don't meet the specifications of the schema" in done.stderr
    assert message in done.stderr
    assert helm("list", "-n", namespace, "-q").strip() == ""


# --- RBAC: enough, and not more --------------------------------------------------------


def _can_i(kubectl: Kubectl, release: Release, verb: str, resource: str, *args: str) -> bool:
    """`kubectl auth can-i` as the release's ServiceAccount: exit 0 "yes", exit 1 "no"."""
    who = f"system:serviceaccount:{release.namespace}:{release.service_account}"
    argv = [str(kubectl.binary), f"--kubeconfig={kubectl.kubeconfig}", "auth", "can-i"]
    done = subprocess.run(
        [*argv, verb, resource, f"--as={who}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    answer = done.stdout.strip()
    if answer not in ("yes", "no"):
        pytest.fail(f"kubectl auth can-i {verb} {resource} {args}: {done.stdout}{done.stderr}")
    return answer == "yes"


@pytest.mark.usefixtures("foreign_crds")
def test_the_service_account_may_do_what_roost_does_in_its_namespace(
    install: Callable[..., Release], kubectl: Kubectl, namespace: str
) -> None:
    release = install(namespace, {"prometheus": {"secretNames": ["prom-token"]}})
    ns = ["-n", namespace]
    allowed = [
        ("list", "modeldeployments.roost.dev", *ns),
        ("watch", "slopolicies.roost.dev", *ns),
        ("patch", "modeldeployments.roost.dev", *ns),
        ("patch", "modeldeployments.roost.dev", "--subresource=status", *ns),
        ("patch", "slopolicies.roost.dev", "--subresource=status", *ns),
        ("update", "modeldeployments.roost.dev", "--subresource=finalizers", *ns),
        ("get", "deployments.apps", *ns),
        ("list", "deployments.apps", *ns),  # the Deployment watch
        ("watch", "deployments.apps", *ns),
        ("patch", "deployments.apps", *ns),  # server-side apply...
        ("create", "deployments.apps", *ns),  # ...which creates, too
        ("create", "services", *ns),
        ("create", "horizontalpodautoscalers.autoscaling", *ns),
        ("list", "horizontalpodautoscalers.autoscaling", *ns),
        ("delete", "deployments.apps", *ns),
        ("patch", "deployments.apps", "--subresource=scale", *ns),
        ("patch", "services", *ns),
        ("patch", "horizontalpodautoscalers.autoscaling", *ns),
        ("delete", "horizontalpodautoscalers.autoscaling", *ns),
        ("get", "httproutes.gateway.networking.k8s.io", *ns),
        ("update", "httproutes.gateway.networking.k8s.io", *ns),
        ("update", "virtualservices.networking.istio.io", *ns),
        ("create", "events", *ns),
        ("get", "secrets/prom-token", *ns),
        ("list", "namespaces"),
        ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
    ]
    refused = [name for name in allowed if not _can_i(kubectl, release, *name)]
    assert refused == []


def test_the_service_account_may_not_do_anything_else(
    install: Callable[..., Release], kubectl: Kubectl, namespace: str, other_namespace: str
) -> None:
    release = install(namespace, {"prometheus": {"secretNames": ["prom-token"]}})
    ns, other = ["-n", namespace], ["-n", other_namespace]
    denied = [
        ("list", "secrets", "--all-namespaces"),
        ("list", "secrets", *ns),
        ("get", "secrets/other-secret", *ns),
        ("get", "secrets/prom-token", *other),
        ("delete", "namespaces"),
        ("create", "namespaces"),
        ("get", "configmaps", *ns),
        ("get", "pods", *ns),
        ("create", "pods", *ns),
        ("create", "pods", "--subresource=exec", *ns),
        ("create", "serviceaccounts", "--subresource=token", *ns),
        ("patch", "deployments.apps", *other),
        ("patch", "modeldeployments.roost.dev", *other),
        ("list", "modeldeployments.roost.dev", "--all-namespaces"),
        ("delete", "modeldeployments.roost.dev", *ns),
        ("create", "modeldeployments.roost.dev", *ns),
        ("list", "deployments.apps", *other),  # its own namespaces only
        ("get", "services", *ns),
        ("delete", "services", *ns),
        ("update", "customresourcedefinitions.apiextensions.k8s.io"),
        ("create", "roles.rbac.authorization.k8s.io", *ns),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
        ("patch", "nodes"),
        ("*", "*", *ns),
    ]
    granted = [name for name in denied if _can_i(kubectl, release, *name)]
    assert granted == []


def _granted_resources(kubectl: Kubectl, release: Release, namespace: str) -> dict[str, set[str]]:
    """`kubectl auth can-i --list`: resource -> verbs, without what every user may do."""
    who = f"system:serviceaccount:{release.namespace}:{release.service_account}"
    table = kubectl("auth", "can-i", "--list", f"--as={who}", "-n", namespace)
    granted: dict[str, set[str]] = {}
    for line in table.splitlines()[1:]:
        parts = line.split()
        if not parts or parts[0].startswith("/") or parts[0].startswith("["):
            continue  # non-resource URLs (discovery, health) every authenticated user has
        resource = parts[0]
        if resource.startswith("selfsubject"):
            continue
        verbs = line[line.rindex("[") + 1 : line.rindex("]")].split()
        granted.setdefault(resource, set()).update(verbs)
    return granted


def test_the_granted_rules_are_exactly_roosts(
    install: Callable[..., Release], kubectl: Kubectl, namespace: str
) -> None:
    release = install(namespace, {"trafficProviders": ["gatewayAPI"]})
    assert _granted_resources(kubectl, release, namespace) == {
        "modeldeployments.roost.dev": {"list", "watch", "patch"},
        "slopolicies.roost.dev": {"list", "watch", "patch"},
        "modeldeployments.roost.dev/status": {"patch"},
        "slopolicies.roost.dev/status": {"patch"},
        "modeldeployments.roost.dev/finalizers": {"update"},
        "deployments.apps": {"get", "list", "watch", "create", "patch", "delete"},
        "services": {"create", "patch"},
        "horizontalpodautoscalers.autoscaling": {"list", "create", "patch", "delete"},
        "httproutes.gateway.networking.k8s.io": {"get", "update"},
        "events": {"create"},
        "namespaces": {"list", "watch"},
        "customresourcedefinitions.apiextensions.k8s.io": {"list", "watch"},
    }


def test_cluster_wide_mode_grants_the_same_rules_in_every_namespace(
    install: Callable[..., Release], kubectl: Kubectl, namespace: str, other_namespace: str
) -> None:
    release = install(namespace, {"watch": {"allNamespaces": True}})
    assert _can_i(kubectl, release, "patch", "deployments.apps", "-n", other_namespace)
    assert _can_i(kubectl, release, "list", "modeldeployments.roost.dev", "--all-namespaces")
    assert not _can_i(kubectl, release, "list", "secrets", "--all-namespaces")
    assert not _can_i(kubectl, release, "get", "configmaps", "-n", other_namespace)
    assert "Role" not in _by_kind(release)


# --- the operator, authenticated as the chart's ServiceAccount -------------------------


def _token_kubeconfig(kubeconfig: Path, kubectl: Kubectl, release: Release, path: Path) -> Path:
    """A kubeconfig for the ServiceAccount: a TokenRequest token, the cluster's server and CA."""
    token = kubectl(
        "create", "token", release.service_account, "-n", release.namespace, "--duration=1h"
    ).strip()
    admin = yaml.safe_load(kubeconfig.read_text())
    cluster = admin["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": cluster}],
        "users": [{"name": release.service_account, "user": {"token": token}}],
        "contexts": [
            {
                "name": "roost",
                "context": {
                    "cluster": "test",
                    "user": release.service_account,
                    "namespace": release.namespace,
                },
            }
        ],
        "current-context": "roost",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


@dataclass
class Operator:
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 80) -> str:
        return log_tail(self.log, lines)


@pytest.fixture
def operator_as(
    roost_session: HarnessSession, prometheus_url: str
) -> Iterator[Callable[[Path, str], Operator]]:
    """``operator_as(kubeconfig, namespace)``: `python -m roost run` with that identity."""
    started: list[Operator] = []

    def start(kubeconfig: Path, namespace: str) -> Operator:
        port = free_port()
        log = roost_session.root / "chart-operator" / f"{namespace}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        env = os.environ | {
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO / "operator"), os.environ.get("PYTHONPATH")) if p
            ),
        }
        argv = [
            sys.executable,
            "-m",
            "roost",
            "run",
            "--kubeconfig",
            str(kubeconfig),
            "-n",
            namespace,
            "--standalone",
            "--tick",
            "2s",
            "--prometheus-url",
            prometheus_url,
            "--log-format",
            "plain",
            "--liveness",
            f"http://127.0.0.1:{port}/healthz",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        operator = Operator(process, log)
        started.append(operator)
        eventually(
            lambda: process.poll() is None and http_ok(f"http://127.0.0.1:{port}/healthz"),
            lambda ok: ok or process.poll() is not None,
            60,
            "the operator's liveness endpoint",
            every_s=0.5,
        )
        if process.poll() is not None:
            pytest.fail(f"the operator exited with {process.returncode}:\n{operator.tail()}")
        return operator

    yield start
    for operator in started:
        operator.process.terminate()
        try:
            operator.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            operator.process.kill()
            operator.process.wait()


POLICY = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "SLOPolicy",
    "metadata": {"name": "scorer"},
    "spec": {
        "period": "1d",
        "objectives": [
            {
                "name": "availability",
                "target": 0.99,
                "ratio": {
                    "errors": 'model_predictions_total{status="error"}',
                    "total": "model_predictions_total",
                },
            }
        ],
    },
}


def _model_deployment(name: str, version: str, traffic: dict[str, Any], **extra: Any) -> Any:
    return manifests.model_deployment(
        name,
        name,
        version,
        policy="scorer",
        image=f"registry.example.com/{name}:{version}",
        traffic=traffic,
        rollout={"steps": [{"weight": 20}, {"weight": 50}], "analysisInterval": "5s"},
        **extra,
    )


def _route(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "inference-gateway"}],
            "rules": [{"backendRefs": [{"name": f"{name}-stable", "port": 8080}]}],
        },
    }


def test_the_operator_reconciles_as_the_charts_service_account(
    install: Callable[..., Release],
    operator_as: Callable[[Path, str], Operator],
    kubeconfig: Path,
    kubectl: Kubectl,
    api_client: ApiClient,
    namespace: str,
    tmp_path: Path,
) -> None:
    from kubernetes import client

    release = install(namespace, {"trafficProviders": ["gatewayAPI", "replicas"]})
    token_config = _token_kubeconfig(kubeconfig, kubectl, release, tmp_path / "sa.kubeconfig")
    # The token really is the ServiceAccount's, and it cannot read Secrets.
    whoami = json.loads(
        subprocess.run(
            [str(kubectl.binary), f"--kubeconfig={token_config}", "auth", "whoami", "-o", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert whoami["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{namespace}:{release.service_account}"
    )

    custom = client.CustomObjectsApi(api_client)
    apps = client.AppsV1Api(api_client)
    core = client.CoreV1Api(api_client)

    def create(plural: str, body: dict[str, Any], group: str = GROUP) -> None:
        custom.create_namespaced_custom_object(
            group, body["apiVersion"].split("/")[1], namespace, plural, body
        )

    create("slopolicies", POLICY)
    create("httproutes", _route("routed"), group="gateway.networking.k8s.io")
    autoscaling = {
        "minReplicas": 1,
        "maxReplicas": 4,
        "slotsPerReplica": 4,
        "serviceTime": "50ms",
        "waitBudget": "10ms",
        "arrivalRate": 20,
    }
    routed = "routed"
    split = "split"
    create(
        "modeldeployments",
        _model_deployment(
            routed,
            "v1",
            {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": routed}},
            autoscaling=autoscaling,
        ),
    )
    create("modeldeployments", _model_deployment(split, "v1", {"provider": "replicas"}, replicas=4))

    started = time.monotonic()
    operator = operator_as(token_config, namespace)
    timings: dict[str, float] = {}

    def status(name: str) -> dict[str, Any]:
        body = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "modeldeployments", name
        )
        return body.get("status") or {}

    def forbidden() -> str | None:
        lines = operator.log.read_text(errors="replace").splitlines()
        return next((line for line in lines if "forbidden" in line.lower()), None)

    def wait_status(name: str, what: str, predicate: Callable[[dict[str, Any]], bool]) -> None:
        def read() -> dict[str, Any]:
            # A 403 is retried by kopf after a minute: fail at once with the refused call.
            if refused := forbidden():
                pytest.fail(f"the ServiceAccount was refused: {refused}")
            return status(name)

        try:
            eventually(read, predicate, TIMEOUT_S, f"{name}: {what}", every_s=0.5)
        except pytest.fail.Exception:
            print(f"--- operator log ---\n{operator.tail()}")
            raise
        timings[f"{name}: {what}"] = round(time.monotonic() - started, 1)

    def deployments(name: str) -> list[str]:
        found = apps.list_namespaced_deployment(
            namespace, label_selector=f"roost.dev/model-deployment={name}"
        ).items
        return sorted(d.metadata.name for d in found)

    # A first version: stable Deployment, three Services, the HPA, status Succeeded.
    for name in (routed, split):
        wait_status(
            name,
            "v1 stable",
            lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v1",
        )
        assert len(deployments(name)) == 1
        services = {
            s.metadata.name
            for s in core.list_namespaced_service(
                namespace, label_selector=f"roost.dev/model-deployment={name}"
            ).items
        }
        assert services == {name, f"{name}-stable", f"{name}-canary"}
    hpas = client.AutoscalingV2Api(api_client).list_namespaced_horizontal_pod_autoscaler(namespace)
    assert f"{routed}-stable" in {h.metadata.name for h in hpas.items}

    # A second version: a canary, traffic moved to it through the HTTPRoute and the scale
    # subresource; then the routed one is promoted and the split one aborted.
    for name in (routed, split):
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "modeldeployments",
            name,
            {"spec": {"model": {"version": "v2"}}},
        )
    for name in (routed, split):
        wait_status(
            name,
            "v2 canary with traffic",
            lambda s: (
                s.get("canaryVersion") == "v2"
                and (s.get("canaryWeight") or {}).get("applied", 0) > 0
            ),
        )
        assert len(deployments(name)) == 2
    route = custom.get_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", routed
    )
    weights = {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}
    assert weights[f"{routed}-canary"] > 0

    for name, command in ((routed, "promote"), (split, "abort")):
        custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "modeldeployments",
            name,
            {"metadata": {"annotations": {"roost.dev/command": command}}},
        )
    wait_status(
        routed,
        "v2 promoted",
        lambda s: s.get("phase") == "Succeeded" and s.get("stableVersion") == "v2",
    )
    wait_status(split, "v2 rolled back", lambda s: s.get("phase") == "RolledBack")
    eventually(
        lambda: len(deployments(routed)),
        lambda n: n == 1,
        60,
        "old routed Deployment gone",
        every_s=0.5,
    )
    eventually(
        lambda: len(deployments(split)),
        lambda n: n == 1,
        60,
        "split canary Deployment gone",
        every_s=0.5,
    )
    annotations = custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "modeldeployments", routed
    )["metadata"].get("annotations", {})
    assert "roost.dev/command" not in annotations

    # Events were posted as the ServiceAccount; nothing was forbidden on the way.
    events = [
        e
        for e in core.list_namespaced_event(namespace).items
        if e.involved_object.kind == "ModelDeployment"
    ]
    assert {e.reason for e in events} >= {"Initialized"}
    assert forbidden() is None
    assert "Not enough permissions" not in operator.log.read_text(errors="replace")
    assert operator.process.poll() is None
    print(f"\nreconciled as {release.service_account}; seconds after start: {timings}")
