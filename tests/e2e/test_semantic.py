"""Specs that are valid on their own but wrong against the cluster or Prometheus (issue 6).

Each surfaces as ``Ready=False`` with reason ``InvalidSpec`` and a message naming the
field, and the operator creates nothing for it.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from kubernetes import client
from test_rollouts import (  # the same fixtures and helpers as the other rollouts
    GROUP,
    NAME,
    VERSION,
    Cluster,
    http_route,
    k8s,  # noqa: F401 - fixture
    model_deployment,
    operator,  # noqa: F401 - fixture
    policy,
)

from harness.dataplane import Dataplane
from harness.operator_process import OperatorProcess

LATENCY = {
    "name": "latency",
    "target": 0.99,
    "latency": {"histogram": "model_request_duration_seconds", "threshold": "300ms"},
}


def _ready(status: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in status.get("conditions", []) if c["type"] == "Ready"), {})


def test_a_latency_threshold_that_is_not_a_bucket_bound_is_invalid_and_creates_nothing(
    operator: OperatorProcess,  # noqa: F811
    k8s: Cluster,  # noqa: F811
    dataplane: Dataplane,
) -> None:
    # The simulators export the histogram (bounds 5 ms ... 10 s; 300 ms is not one).
    rng = np.random.default_rng(0)
    for simulator in dataplane.simulators:
        simulator.handle(50, rng)
    body = policy()
    body["spec"]["objectives"].append(LATENCY)
    k8s.create("gateway.networking.k8s.io", "v1", "httproutes", http_route())
    k8s.create(GROUP, VERSION, "slopolicies", body)
    k8s.create(GROUP, VERSION, "modeldeployments", model_deployment(dataplane.model, "v1"))
    status = k8s.wait(
        "the preflight to read the exported buckets",
        lambda s: "latency.threshold" in _ready(s).get("message", ""),
    )
    ready = _ready(status)
    assert ready["status"] == "False"
    assert ready["reason"] == "InvalidSpec"
    assert (
        "spec.objectives[1].latency.threshold: 300ms is not a bucket boundary" in ready["message"]
    )
    assert "0.25, 0.5" in ready["message"]
    assert k8s.deployments() == []
    assert status.get("stableVersion") is None

    # Fixed to a bound that exists: the same object goes on and deploys.
    fixed = {**LATENCY, "latency": {**LATENCY["latency"], "threshold": "250ms"}}
    k8s.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        k8s.ns,
        "slopolicies",
        NAME,
        {"spec": {"objectives": [body["spec"]["objectives"][0], fixed]}},
    )
    k8s.wait("the first version to become stable", lambda s: s.get("stableVersion") == "v1")


def test_an_slo_policy_in_another_namespace_is_not_used(
    operator: OperatorProcess,  # noqa: F811
    k8s: Cluster,  # noqa: F811
    dataplane: Dataplane,
    api_client: Any,
) -> None:
    core = client.CoreV1Api(api_client)
    other = f"policies-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=other)))
    try:
        k8s.custom.create_namespaced_custom_object(GROUP, VERSION, other, "slopolicies", policy())
        k8s.create("gateway.networking.k8s.io", "v1", "httproutes", http_route())
        k8s.create(GROUP, VERSION, "modeldeployments", model_deployment(dataplane.model, "v1"))
        status = k8s.wait("the spec to be judged", lambda s: bool(_ready(s)))
        ready = _ready(status)
        assert ready["reason"] == "InvalidSpec"
        assert f"SLOPolicy {NAME!r} not found in namespace {k8s.ns}" in ready["message"]
        assert "cross-namespace references are not supported" in ready["message"]
        assert k8s.deployments() == []
    finally:
        core.delete_namespace(other)
