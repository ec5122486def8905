"""A promotion tick killed after its last action and replayed from the old status
must succeed: every action is idempotent, including relabelling a Deployment that
the first run already deleted.

``FakeApps``/``FakeAutoscaling`` stand in for the Kubernetes API (Deployments by
name, 404 for missing ones) and ``FakeTraffic`` for a traffic provider; the
Actuator and Kube are the real code.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from roost.adapters.actuator import Actuator, Applied
from roost.adapters.kube import Kube
from roost.adapters.traffic import Backends
from roost.api.modeldeployment import ModelDeploymentSpec
from roost.capacity.sizing import size
from roost.rollout.actions import EmitEvent, PromoteCanary, RetireStable, SetWeight
from roost.workloads import Owner

OWNER = Owner(namespace="ns", name="scorer", uid="u")
SPEC = ModelDeploymentSpec.model_validate(
    {
        "model": {"name": "fraud", "version": "v2"},
        "sloPolicyRef": {"name": "p"},
        "template": {"spec": {"containers": [{"name": "s", "image": "fraud:v2"}]}},
        "traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "route"}},
    }
)


def _not_found() -> ApiException:
    return ApiException(status=404, reason="Not Found")


class FakeApps:
    def __init__(self, *names: str) -> None:
        self.labels: dict[str, dict[str, str]] = {name: {} for name in names}
        self.replicas: dict[str, int] = {}

    def patch_namespaced_deployment(self, name: str, namespace: str, body: Any) -> None:
        if name not in self.labels:
            raise _not_found()
        self.labels[name].update(body["metadata"]["labels"])

    def patch_namespaced_deployment_scale(self, name: str, namespace: str, body: Any) -> None:
        if name not in self.labels:
            raise _not_found()
        self.replicas[name] = body["spec"]["replicas"]

    def delete_namespaced_deployment(self, name: str, namespace: str, **_: Any) -> None:
        if name not in self.labels:
            raise _not_found()
        del self.labels[name]


class FakeAutoscaling:
    def delete_namespaced_horizontal_pod_autoscaler(self, *_: Any, **__: Any) -> None:
        raise _not_found()


class FakeTraffic:
    capacity_first = True

    def __init__(self) -> None:
        self.weights: list[int] = []

    async def set_weight(
        self, backends: Backends, canary_weight: int, mirror: int = 0, match: Any = ()
    ) -> int:
        self.weights.append(canary_weight)
        return canary_weight

    async def check(self, backends: Backends) -> None:
        return None


def test_a_replayed_promotion_finds_the_old_stable_gone_and_still_succeeds() -> None:
    old, new = "old1", "new2"
    apps = FakeApps(OWNER.deployment_name(old), OWNER.deployment_name(new))
    kube = Kube(client.ApiClient())
    kube.apps = apps  # type: ignore[assignment]
    kube.autoscaling = FakeAutoscaling()  # type: ignore[assignment]
    applied: list[dict[str, Any]] = []

    async def apply(manifest: dict[str, Any]) -> dict[str, Any]:
        applied.append(manifest)
        return manifest

    kube.apply = apply  # type: ignore[method-assign]

    async def event(_: EmitEvent) -> None:
        return None

    actuator = Actuator(
        kube,
        FakeTraffic(),  # type: ignore[arg-type]
        owner=OWNER,
        spec=SPEC,
        sizing=lambda w: size(SPEC, canary_weight=w, observed_rate=None),
        events=event,
    )
    actions = [
        SetWeight(canary=100),
        PromoteCanary(revision=new, version="v2"),
        SetWeight(canary=0),
        RetireStable(revision=old),
    ]
    before = Applied(stable_revision=old, canary_revision=new)
    first = asyncio.run(actuator.apply(actions, before))
    assert list(apps.labels) == [OWNER.deployment_name(new)]
    # Killed before the status patch: the next tick decides the same from the old status.
    again = asyncio.run(actuator.apply(actions, before))
    assert again == first
    assert apps.labels == {OWNER.deployment_name(new): {"roost.dev/role": "stable"}}
    # Without autoscaling, the promoted Deployment has the replicas of the tick's spec.
    assert apps.replicas == {OWNER.deployment_name(new): SPEC.replicas}
