"""What Roost relies on the control plane to do: run Deployments to Ready
(kwok plays the kubelet) and reconcile HorizontalPodAutoscalers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness.probes import eventually

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, V1Deployment

pytestmark = pytest.mark.integration

# Pulled for real on kind; kwok never pulls it.
IMAGE = "registry.k8s.io/pause:3.10"


def deployment(name: str, replicas: int) -> V1Deployment:
    from kubernetes import client

    labels = {"app": name}
    container = client.V1Container(
        name="server",
        image=IMAGE,
        resources=client.V1ResourceRequirements(requests={"cpu": "100m", "memory": "32Mi"}),
    )
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[container]),
            ),
        ),
    )


def test_deployment_created_by_the_python_client_gets_ready_replicas(
    api_client: ApiClient, namespace: str
) -> None:
    from kubernetes import client

    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("model", replicas=3))

    status = eventually(
        lambda: apps.read_namespaced_deployment_status("model", namespace).status,
        lambda s: s.ready_replicas == 3 and s.available_replicas == 3,
        90,
        "3 ready replicas",
    )
    assert status.replicas == 3
    pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector="app=model")
    assert {p.status.phase for p in pods.items} == {"Running"}
    assert all(p.spec.node_name for p in pods.items)


def test_kube_adapter_reads_a_deployment_as_json_and_a_missing_one_as_none(
    api_client: ApiClient, namespace: str
) -> None:
    import asyncio

    from kubernetes import client

    from roost.adapters.kube import Kube

    client.AppsV1Api(api_client).create_namespaced_deployment(
        namespace, deployment("reader", replicas=2)
    )
    kube = Kube(api_client)
    found = eventually(
        lambda: asyncio.run(kube.deployment(namespace, "reader")),
        lambda d: d is not None and (d.get("status") or {}).get("readyReplicas") == 2,
        90,
        "2 ready replicas read by the adapter",
    )
    assert found is not None
    assert found["metadata"]["name"] == "reader"
    assert found["spec"]["replicas"] == 2  # the API's camelCase JSON, not client models
    assert asyncio.run(kube.ready_replicas(namespace, "reader")) == (2, 2)
    assert asyncio.run(kube.deployment(namespace, "no-such-deployment")) is None


def test_hpa_v2_is_reconciled_by_the_controller_manager(
    api_client: ApiClient, namespace: str
) -> None:
    from kubernetes import client

    client.AppsV1Api(api_client).create_namespaced_deployment(
        namespace, deployment("model", replicas=1)
    )
    autoscaling = client.AutoscalingV2Api(api_client)
    hpa = client.V2HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name="model"),
        spec=client.V2HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V2CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name="model"
            ),
            min_replicas=1,
            max_replicas=4,
            metrics=[
                client.V2MetricSpec(
                    type="Resource",
                    resource=client.V2ResourceMetricSource(
                        name="cpu",
                        target=client.V2MetricTarget(type="Utilization", average_utilization=60),
                    ),
                )
            ],
        ),
    )
    autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, hpa)

    def reconciled(status: Any) -> bool:
        return bool(status.conditions) and status.current_replicas is not None

    status = eventually(
        lambda: (
            autoscaling.read_namespaced_horizontal_pod_autoscaler_status("model", namespace).status
        ),
        reconciled,
        90,
        "HPA status written by kube-controller-manager",
    )
    assert status.current_replicas >= 1
    assert "AbleToScale" in {c.type for c in status.conditions}


def test_deployment_watch_holds_roosts_deployments_only_and_follows_changes(
    api_client: ApiClient, namespace: str
) -> None:
    from kubernetes import client

    from roost.adapters.deployments import DeploymentWatch

    apps = client.AppsV1Api(api_client)
    # Any owner will do for the watch (a ModelDeployment in the operator); the garbage
    # collector removes a Deployment whose owner does not exist.
    owner = client.CoreV1Api(api_client).create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    ours = deployment("ours", replicas=1)
    ours.metadata.labels["app.kubernetes.io/managed-by"] = "roost"
    ours.metadata.owner_references = [
        client.V1OwnerReference(
            api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid
        )
    ]
    apps.create_namespaced_deployment(namespace, ours)
    apps.create_namespaced_deployment(namespace, deployment("theirs", replicas=1))
    woken: list[str] = []
    watched = DeploymentWatch(api_client, [namespace], on_ready_change=woken.append).start()
    try:
        seen = eventually(
            lambda: watched.get(namespace, "ours"),
            lambda d: d is not None and (d.get("status") or {}).get("readyReplicas") == 1,
            90,
            "the watch to hold ours, ready",
        )
        assert seen is not None
        assert seen["spec"]["replicas"] == 1
        assert "template" not in seen["spec"]  # only what a tick reads is kept
        assert "managedFields" not in seen["metadata"]
        assert seen["metadata"]["ownerReferences"][0]["uid"] == owner.metadata.uid
        assert watched.synced(namespace)
        assert not watched.synced("some-other-namespace")
        assert watched.get(namespace, "theirs") is None  # not labelled: never sent to us

        woken.clear()
        apps.patch_namespaced_deployment_scale("ours", namespace, {"spec": {"replicas": 2}})
        eventually(
            lambda: watched.get(namespace, "ours"),
            lambda d: d is not None and (d.get("status") or {}).get("readyReplicas") == 2,
            60,
            "the watch to see the new replicas ready",
        )
        assert woken == [owner.metadata.uid]  # once: ready 1 -> 2, not per event
        apps.delete_namespaced_deployment("ours", namespace)
        eventually(lambda: watched.get(namespace, "ours"), lambda d: d is None, 30, "the deletion")
        assert watched.events >= 2
    finally:
        watched.stop()
    # stop() ends the watch thread, blocked on its stream, without waiting for an event:
    # a stop that waited for one held the operator's exit on SIGTERM until it was killed.
    eventually(lambda: watched.running, lambda running: not running, 10, "the watch to stop")
