"""Which Services each action writes: a canary's start or removal rewrites only
``NAME-canary``; ``NAME`` and ``NAME-stable`` follow the stable revision. And what a
spec change that makes no new version (Reconfigure) writes.

``FakeKube`` stands in for the Kubernetes API (it records what is applied, read and
deleted) and ``FakeTraffic`` for a traffic provider; the Actuator is the real code.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from roost.adapters.actuator import Actuator, Applied
from roost.adapters.traffic import Backends
from roost.api.modeldeployment import ModelDeploymentSpec
from roost.capacity.sizing import size
from roost.rollout.actions import (
    Action,
    DeployCanary,
    DeployStable,
    EmitEvent,
    PromoteCanary,
    Reconfigure,
    RemoveCanary,
)
from roost.workloads import LABEL_REVISION, Owner

OWNER = Owner(namespace="ns", name="scorer", uid="u")
SPEC = ModelDeploymentSpec.model_validate(
    {
        "model": {"name": "fraud", "version": "v2"},
        "sloPolicyRef": {"name": "p"},
        "template": {"spec": {"containers": [{"name": "s", "image": "fraud:v2"}]}},
        "traffic": {"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "route"}},
    }
)


class FakeKube:
    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []
        self.reads: list[str] = []
        self.deleted: list[tuple[str, str]] = []
        self.scaled: dict[str, int] = {}

    async def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(manifest)
        return manifest

    async def deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.reads.append(name)
        return None

    async def delete(self, kind: str, namespace: str, name: str) -> None:
        self.deleted.append((kind, name))

    async def scale(self, namespace: str, name: str, replicas: int) -> None:
        self.scaled[name] = replicas

    async def service_target_port(self, namespace: str, name: str) -> int | str | None:
        self.reads.append(name)
        return 8080  # the port the stable's pods listen on

    async def label_deployment(self, *_: Any, **__: Any) -> None:
        return None

    def ports(self) -> dict[str, tuple[int, int | str]]:
        """Each applied Service's name and its (port, targetPort)."""
        return {
            m["metadata"]["name"]: (
                m["spec"]["ports"][0]["port"],
                m["spec"]["ports"][0]["targetPort"],
            )
            for m in self.applied
            if m["kind"] == "Service"
        }

    def services(self) -> dict[str, str | None]:
        """Each applied Service's name and the revision it selects (None: all)."""
        return {
            m["metadata"]["name"]: m["spec"]["selector"].get(LABEL_REVISION)
            for m in self.applied
            if m["kind"] == "Service"
        }


class FakeTraffic:
    def __init__(self, capacity_first: bool) -> None:
        self.capacity_first = capacity_first

    async def set_weight(
        self, backends: Backends, canary_weight: int, mirror: int = 0, match: Any = ()
    ) -> int:
        return canary_weight

    async def check(self, backends: Backends) -> None:
        return None


def run(
    action: Action, before: Applied, capacity_first: bool = True, spec: ModelDeploymentSpec = SPEC
) -> FakeKube:
    kube = FakeKube()

    async def event(_: EmitEvent) -> None:
        return None

    actuator = Actuator(
        kube,  # type: ignore[arg-type]
        FakeTraffic(capacity_first),  # type: ignore[arg-type]
        owner=OWNER,
        spec=spec,
        sizing=lambda w: size(spec, canary_weight=w, observed_rate=None),
        events=event,
    )
    asyncio.run(actuator.apply([action], before))
    return kube


def test_the_first_stable_deploy_writes_all_three_services() -> None:
    kube = run(DeployStable(revision="r1", version="v1"), Applied(None, None))
    assert kube.services() == {"scorer": None, "scorer-stable": "r1", "scorer-canary": "r1"}


@pytest.mark.parametrize("capacity_first", [True, False])
def test_a_canary_start_points_only_the_canary_service_at_it(capacity_first: bool) -> None:
    kube = run(
        DeployCanary(revision="r2", version="v2", weight=10),
        Applied(stable_revision="r1", canary_revision=None),
        capacity_first,
    )
    assert kube.services() == {"scorer-canary": "r2"}
    assert [m["kind"] for m in kube.applied] == ["Deployment", "Service"] + (
        ["HorizontalPodAutoscaler"] if capacity_first and SPEC.autoscaling else []
    )
    # Only the replica-ratio provider keeps the existing canary's replicas: it reads them.
    assert kube.reads == ([] if capacity_first else [OWNER.deployment_name("r2")])


def test_a_canary_removal_points_the_canary_service_back_at_the_stable() -> None:
    kube = run(RemoveCanary(revision="r2"), Applied(stable_revision="r1", canary_revision="r2"))
    assert kube.services() == {"scorer-canary": "r1"}


def test_a_promotion_moves_all_three_services_to_the_new_stable() -> None:
    kube = run(
        PromoteCanary(revision="r2", version="v2"),
        Applied(stable_revision="r1", canary_revision="r2"),
    )
    assert kube.services() == {"scorer": None, "scorer-stable": "r2", "scorer-canary": "r2"}
    # Without autoscaling, the promoted Deployment gets the replicas of this tick's spec.
    assert kube.scaled == {OWNER.deployment_name("r2"): SPEC.replicas}


def test_a_spec_change_without_autoscaling_scales_the_stable_and_drops_an_old_hpa() -> None:
    spec = SPEC.model_copy(update={"replicas": 5})
    kube = run(Reconfigure(revision="r1"), Applied("r1", None), spec=spec)
    assert kube.services() == {"scorer": None, "scorer-stable": "r1", "scorer-canary": "r1"}
    assert kube.scaled == {OWNER.deployment_name("r1"): 5}
    assert kube.deleted == [("HorizontalPodAutoscaler", OWNER.hpa_name("stable"))]
    # The pod template is the stable's own: the Deployment is not written.
    assert [m["kind"] for m in kube.applied] == ["Service"] * 3
    assert kube.reads == []  # the spec is the stable's: its target port is right


def test_settings_changed_during_a_rollout_keep_the_stables_target_port() -> None:
    """The spec names the canary's pods: its target port is theirs, not the stable's."""
    spec = SPEC.model_copy(
        update={"service": SPEC.service.model_copy(update={"port": 9090, "target_port": 9000})}
    )
    kube = run(
        Reconfigure(revision="r1", canary="r2", stable_spec=False),
        Applied("r1", "r2"),
        spec=spec,
    )
    assert kube.reads == ["scorer-stable"]
    assert kube.services() == {"scorer": None, "scorer-stable": "r1", "scorer-canary": "r2"}
    assert kube.ports() == {
        "scorer": (9090, 8080),
        "scorer-stable": (9090, 8080),
        "scorer-canary": (9090, 9000),
    }
    assert kube.scaled == {OWNER.deployment_name("r1"): spec.replicas}


@pytest.mark.parametrize("canary", ["r2", None])
def test_the_replica_ratio_provider_keeps_its_split_while_a_canary_runs(canary: str | None) -> None:
    kube = run(
        Reconfigure(revision="r1", canary=canary, stable_spec=False),
        Applied("r1", "r2"),
        capacity_first=False,
    )
    assert kube.scaled == ({} if canary else {OWNER.deployment_name("r1"): SPEC.replicas})
    assert kube.services()["scorer-canary"] == (canary or "r1")


def test_a_spec_change_with_autoscaling_rewrites_the_hpa_and_leaves_replicas_to_it() -> None:
    spec = ModelDeploymentSpec.model_validate(
        {
            **SPEC.model_dump(by_alias=True, exclude_none=True),
            "autoscaling": {
                "slotsPerReplica": 4,
                "serviceTime": "50ms",
                "waitBudget": "10ms",
                "arrivalRate": 200,
                "maxReplicas": 30,
            },
        }
    )
    kube = run(Reconfigure(revision="r1"), Applied("r1", None), spec=spec)
    (hpa,) = [m for m in kube.applied if m["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["metadata"]["name"] == OWNER.hpa_name("stable")
    assert hpa["spec"]["maxReplicas"] == 30
    assert hpa["spec"]["scaleTargetRef"]["name"] == OWNER.deployment_name("r1")
    assert kube.scaled == {}
    assert kube.deleted == []
