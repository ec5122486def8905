"""The Gateway API CRDs are installed: HTTPRoute weights, the knob Roost's
traffic provider turns, are stored and validated by the apiserver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

pytestmark = pytest.mark.integration

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


def weighted_route(stable_weight: int, canary_weight: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "HTTPRoute",
        "metadata": {"name": "model"},
        "spec": {
            "parentRefs": [{"name": "inference-gateway"}],
            "rules": [
                {
                    "backendRefs": [
                        {"name": "model-stable", "port": 8080, "weight": stable_weight},
                        {"name": "model-canary", "port": 8080, "weight": canary_weight},
                    ]
                }
            ],
        },
    }


def test_httproute_with_weighted_backends_is_accepted(
    api_client: ApiClient, namespace: str
) -> None:
    from kubernetes import client

    routes = client.CustomObjectsApi(api_client)
    routes.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, weighted_route(90, 10), field_validation="Strict"
    )

    stored = routes.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "model")
    backends = stored["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [
        ("model-stable", 90),
        ("model-canary", 10),
    ]


def test_httproute_with_a_negative_weight_is_rejected(
    api_client: ApiClient, namespace: str
) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as rejected:
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, weighted_route(100, -1)
        )
    assert rejected.value.status == 422
    assert "weight" in str(rejected.value.body)
