"""What the Deployment watch keeps of a Deployment: what a tick reads, nothing else."""

from __future__ import annotations

from typing import Any

from roost.adapters.deployments import summary


def body() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "m-abc",
            "namespace": "ns",
            "uid": "u-1",
            "generation": 3,
            "resourceVersion": "42",
            "labels": {"app.kubernetes.io/managed-by": "roost"},
            "annotations": {"deployment.kubernetes.io/revision": "1"},
            "ownerReferences": [{"kind": "ModelDeployment", "name": "m", "uid": "owner-1"}],
            "managedFields": [{"manager": "roost", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "m"}},
            "template": {"spec": {"containers": [{"name": "server", "image": "m:v2"}]}},
        },
        "status": {
            "observedGeneration": 2,
            "replicas": 4,
            "updatedReplicas": 3,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "conditions": [{"type": "Available", "status": "True"}],
        },
    }


def test_summary_keeps_identity_owners_and_replica_counts() -> None:
    kept = summary(body())
    assert kept == {
        "metadata": {
            "name": "m-abc",
            "namespace": "ns",
            "uid": "u-1",
            "generation": 3,
            "resourceVersion": "42",
            "ownerReferences": [{"kind": "ModelDeployment", "name": "m", "uid": "owner-1"}],
        },
        "spec": {"replicas": 4},
        "status": {
            "observedGeneration": 2,
            "replicas": 4,
            "updatedReplicas": 3,
            "readyReplicas": 2,
            "availableReplicas": 2,
        },
    }


def test_summary_of_a_body_without_status_or_replicas_has_empty_parts() -> None:
    kept = summary({"metadata": {"name": "m-abc", "namespace": "ns"}, "spec": {}})
    assert kept == {"metadata": {"name": "m-abc", "namespace": "ns"}, "spec": {}, "status": {}}
