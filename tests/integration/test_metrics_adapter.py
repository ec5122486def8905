"""The metric path of Roost's HPAs on the real components: an exporter on loopback,
Prometheus, prometheus-adapter configured by `roost rules --prometheus-adapter` and
registered with the apiserver (the ``metrics_adapter`` fixture), and the HPA
controller of kube-controller-manager.

Both metric shapes :mod:`roost.capacity.hpa` writes are read through it: the per-pod
in-flight gauge (custom.metrics.k8s.io, ``Pods``) and the recommended replica count
(external.metrics.k8s.io, ``External``), which an HPA then scales a Deployment to.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from harness.metrics_adapter import MetricsAdapter
from harness.probes import eventually
from roost.capacity.hpa import (
    DEFAULT_INFLIGHT_METRIC,
    DEFAULT_RECOMMENDED_REPLICAS_METRIC,
    HpaMetric,
    ScalingBehavior,
    build_hpa_spec,
)
from roost.capacity.planner import PlanInputs, plan_capacity

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from kubernetes.client import ApiClient

pytestmark = pytest.mark.integration

TIMEOUT_S = 90.0
T = TypeVar("T")


def deployment(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "server", "image": "model:v1"}]},
            },
        },
    }


@pytest.fixture
def exporter(register_scrape_target: Callable[[str, str], None]) -> Iterator[CollectorRegistry]:
    """A registry on a loopback endpoint that Prometheus scrapes."""
    registry = CollectorRegistry()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    register_scrape_target(f"adapter-{secrets.token_hex(3)}", f"127.0.0.1:{server.server_port}")
    yield registry
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _ready_pods(api_client: ApiClient, namespace: str, app: str) -> list[str]:
    from kubernetes import client

    pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector=f"app={app}")
    return sorted(
        p.metadata.name
        for p in pods.items
        if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    )


def test_the_adapter_serves_each_pods_inflight_gauge(
    metrics_adapter: MetricsAdapter,
    exporter: CollectorRegistry,
    api_client: ApiClient,
    namespace: str,
) -> None:
    from kubernetes import client

    client.AppsV1Api(api_client).create_namespaced_deployment(
        namespace, deployment("model", replicas=2)
    )
    pods = eventually(
        lambda: _ready_pods(api_client, namespace, "model"), lambda p: len(p) == 2, 90, "2 pods"
    )
    gauge = Gauge(DEFAULT_INFLIGHT_METRIC, "in flight", ["namespace", "pod"], registry=exporter)
    gauge.labels(namespace, pods[0]).set(1.5)
    gauge.labels(namespace, pods[1]).set(4)
    # Another namespace's series of the same pod name is not this pod's.
    gauge.labels(f"{namespace}-other", pods[0]).set(100)
    path = (
        f"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/*/"
        f"{DEFAULT_INFLIGHT_METRIC}"
    )

    def values() -> dict[str, str]:
        try:
            items: list[dict[str, Any]] = metrics_adapter.raw(path)["items"]  # type: ignore[assignment]
        except Exception:  # not listed by the adapter yet: it relists every few seconds
            return {}
        return {i["describedObject"]["name"]: i["value"] for i in items}

    found = eventually(values, lambda v: len(v) == 2, TIMEOUT_S, "both pods' values")
    assert found == {pods[0]: "1500m", pods[1]: "4"}


def test_an_hpa_scales_a_deployment_to_the_published_recommended_replicas(
    metrics_adapter: MetricsAdapter,
    exporter: CollectorRegistry,
    api_client: ApiClient,
    namespace: str,
) -> None:
    from kubernetes import client

    client.AppsV1Api(api_client).create_namespaced_deployment(
        namespace, deployment("model", replicas=1)
    )
    recommended = Gauge(
        DEFAULT_RECOMMENDED_REPLICAS_METRIC,
        "planned replicas",
        ["namespace", "model"],
        registry=exporter,
    )
    recommended.labels(namespace, "fraud").set(3)
    # Another model's plan in the same namespace: the HPA's selector leaves it out.
    recommended.labels(namespace, "other").set(7)
    plan = plan_capacity(
        PlanInputs(arrival_rate=1, service_time=0.05, slots_per_replica=4, wait_budget=0.01)
    )
    spec = build_hpa_spec(
        plan,
        scale_target_ref={"apiVersion": "apps/v1", "kind": "Deployment", "name": "model"},
        metric=HpaMetric.RECOMMENDED_REPLICAS,
        metric_selector={"model": "fraud"},
        max_replicas=6,
        behavior=ScalingBehavior(
            scale_down_window_seconds=0, scale_down_percent=100, scale_down_period_seconds=1
        ),
    )
    client.AutoscalingV2Api(api_client).create_namespaced_horizontal_pod_autoscaler(
        namespace,
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "model"},
            "spec": spec,
        },
    )
    apps = client.AppsV1Api(api_client)

    def replicas() -> int:
        return int(apps.read_namespaced_deployment("model", namespace).spec.replicas)

    eventually(replicas, lambda n: n == 3, TIMEOUT_S, "3 replicas, the published plan")
    recommended.labels(namespace, "fraud").set(2)
    eventually(replicas, lambda n: n == 2, TIMEOUT_S, "2 replicas after the plan fell")
    hpa = client.AutoscalingV2Api(api_client).read_namespaced_horizontal_pod_autoscaler_status(
        "model", namespace
    )
    active = next(c for c in hpa.status.conditions if c.type == "ScalingActive")
    assert (active.status, active.reason) == ("True", "ValidMetricFound")
    [current] = hpa.status.current_metrics
    assert current.external.metric.name == DEFAULT_RECOMMENDED_REPLICAS_METRIC
