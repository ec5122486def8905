"""The stable's HPA follows the plan of the measured rate (Reconciler._replan): written
again when the plan moves its floor or target, not when it does not, at most once a
re-plan period, and compared with the listed HPA after a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from roost import reconciler
from roost.adapters.telemetry import Telemetry
from roost.api.modeldeployment import ModelDeploymentSpec, ModelDeploymentStatus
from roost.api.slopolicy import SLOPolicySpec
from roost.memory import ObjectMemory
from roost.reconciler import Reconciler, Runtime, _Tick
from roost.rollout.actions import EmitEvent
from roost.workloads import Owner


class FakeKube:
    """Lists the HPAs it is given; the real list is tested against an apiserver."""

    def __init__(self, hpas: dict[str, dict[str, Any]]) -> None:
        self.hpas = hpas

    async def roost_hpas(self, namespace: str) -> dict[str, dict[str, Any]]:
        return self.hpas


class FakeActuator:
    """Plans a floor from the rate it is told; records the HPAs it would apply."""

    def __init__(self) -> None:
        self.floor = 2
        self.applied: list[tuple[str, str, dict[str, Any]]] = []

    def hpa_spec(self, role: str, rev: str, weight: int) -> dict[str, Any]:
        target = f"{1000 + 100 * self.floor}m"
        return {
            "minReplicas": self.floor,
            "metrics": [{"type": "Pods", "pods": {"target": {"averageValue": target}}}],
        }

    async def apply_hpa(self, role: str, rev: str, spec: dict[str, Any]) -> None:
        self.applied.append((role, rev, spec))


SPEC = ModelDeploymentSpec.model_validate(
    {
        "model": {"name": "m", "version": "v1"},
        "sloPolicyRef": {"name": "p"},
        "template": {"spec": {"containers": [{"name": "c", "image": "m:v1"}]}},
        "autoscaling": {"serviceTime": "100ms", "serviceTimeCv": 1},
    }
)
POLICY = SLOPolicySpec.model_validate(
    {"objectives": [{"name": "a", "target": 0.99, "ratio": {"errors": "e", "total": "t"}}]}
)
STATUS = ModelDeploymentStatus(stable_revision="r1", stable_version="v1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(reconciler.time, "monotonic", ticking)
    return ticking


def _run(
    memory: ObjectMemory,
    actuator: FakeActuator,
    listed: dict[str, dict[str, Any]],
    spec: ModelDeploymentSpec = SPEC,
) -> list[EmitEvent]:
    runtime = Runtime(kube=FakeKube(listed), telemetry=Telemetry(), default_prometheus_url=None)  # type: ignore[arg-type]
    events: list[EmitEvent] = []

    async def sink(event: EmitEvent) -> None:
        events.append(event)

    tick = _Tick(
        memory=memory,
        owner=Owner(namespace="ns", name="m", uid="u"),
        generation=1,
        spec=spec,
        policy=POLICY,
        client=None,  # type: ignore[arg-type]
        now=datetime.now(UTC),
        events=sink,
    )
    asyncio.run(Reconciler(runtime)._replan(tick, STATUS, actuator, 12.5))  # type: ignore[arg-type]
    return events


def _listed(floor: int, target: str) -> dict[str, dict[str, Any]]:
    return {
        "m-stable": {
            "spec": {
                "minReplicas": floor,
                "metrics": [{"type": "Pods", "pods": {"target": {"averageValue": target}}}],
            }
        }
    }


def test_after_a_restart_an_hpa_already_on_plan_is_not_written(clock: Clock) -> None:
    memory, actuator = ObjectMemory("u", "ns", "m"), FakeActuator()
    assert _run(memory, actuator, _listed(2, "1200m")) == []
    assert actuator.applied == []


def test_a_moved_plan_is_written_once_a_period_with_an_event(clock: Clock) -> None:
    memory, actuator = ObjectMemory("u", "ns", "m"), FakeActuator()
    actuator.floor = 3
    (event,) = _run(memory, actuator, _listed(2, "1200m"))
    assert event.reason == "Replanned"
    assert event.message.startswith("stable HPA floor 2 -> 3 replicas")
    assert "12.5 req/s measured" in event.message
    assert [spec["minReplicas"] for _, _, spec in actuator.applied] == [3]

    actuator.floor = 4  # within the period: not yet
    clock.now += 30
    assert _run(memory, actuator, _listed(2, "1200m")) == []
    assert len(actuator.applied) == 1
    clock.now += 31  # a period on: compared with what was written, not the stale list
    (event,) = _run(memory, actuator, _listed(2, "1200m"))
    assert event.message.startswith("stable HPA floor 3 -> 4 replicas")
    clock.now += 61
    assert _run(memory, actuator, _listed(2, "1200m")) == []  # unchanged: no request
    assert [spec["minReplicas"] for _, _, spec in actuator.applied] == [3, 4]


def test_a_declared_rate_is_never_re_planned(clock: Clock) -> None:
    assert SPEC.autoscaling is not None
    declared = SPEC.model_copy(
        update={"autoscaling": SPEC.autoscaling.model_copy(update={"arrival_rate": 5.0})}
    )
    memory, actuator = ObjectMemory("u", "ns", "m"), FakeActuator()
    actuator.floor = 3
    assert _run(memory, actuator, _listed(2, "1200m"), declared) == []
    assert actuator.applied == []
