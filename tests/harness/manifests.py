"""A ModelDeployment as the e2e tests and the benchmarks create it.

One container ``server`` of image ``<model>:<version>`` (the data plane's simulators
stand in for it), its SLOPolicy by name, and series labelled ``model=<model>`` with the
version in ``version``. Callers add what their test is about (traffic, rollout steps,
autoscaling) as spec fields.
"""

from __future__ import annotations

from typing import Any

GROUP, VERSION = "roost.dev", "v1alpha1"


def model_deployment(
    name: str, model: str, version: str, *, policy: str, image: str | None = None, **spec: Any
) -> dict[str, Any]:
    """``spec`` fields by their API names (``traffic``, ``rollout``, ``replicas``, ...)."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelDeployment",
        "metadata": {"name": name},
        "spec": {
            "model": {"name": model, "version": version},
            "sloPolicyRef": {"name": policy},
            "template": {
                "spec": {"containers": [{"name": "server", "image": image or f"{model}:{version}"}]}
            },
            "metrics": {"versionLabel": "version", "labels": {"model": model}},
            **spec,
        },
    }


def gateway_traffic(route: str) -> dict[str, Any]:
    """``spec.traffic`` for the Gateway API HTTPRoute ``route``."""
    return {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": route}}
