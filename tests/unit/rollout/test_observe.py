"""What a tick observes before deciding: the canary's capacity, a canary scaled
below the plan, and whether a new rollout may start (budget guard, drifted stable)."""

from __future__ import annotations

from typing import Any

import pytest

from roost.api.modeldeployment import DriftWatchStatus, ModelDeploymentStatus, Phase
from roost.rollout import observe
from roost.rollout.observe import CanaryReplicas


def plan(weight: int) -> int:
    """Replicas the canary needs at a weight: one per 20 % started, 0 at 0 %."""
    return -(-weight // 20)


def status(**fields: Any) -> ModelDeploymentStatus:
    base: dict[str, Any] = {
        "phase": Phase.PROGRESSING,
        "stableRevision": "s1",
        "canaryRevision": "c1",
        "canaryWeight": {"desired": 40, "applied": 20},
    }
    return ModelDeploymentStatus.model_validate(base | fields)


def drifted(action: str) -> DriftWatchStatus:
    return DriftWatchStatus.model_validate(
        {
            "name": "score",
            "version": "v1",
            "stage": "Drifted",
            "statistic": "psi",
            "threshold": 0.25,
            "warnThreshold": 0.1,
            "action": action,
            "lnAlarm": 9.2,
            "message": "psi 0.7",
            "state": {},
        }
    )


@pytest.mark.parametrize(("ready", "weight"), [(0, 0), (1, 20), (2, 40), (4, 80), (9, 100)])
def test_a_route_provider_gets_the_largest_weight_the_ready_pods_carry(
    ready: int, weight: int
) -> None:
    canary = CanaryReplicas(ready=ready, desired=5)
    assert observe.canary_capacity(canary, True, plan) == weight


def test_a_replica_split_takes_any_weight_once_the_canary_exists() -> None:
    assert observe.canary_capacity(CanaryReplicas(ready=0, desired=1), False, plan) == 100
    assert observe.canary_capacity(None, False, plan) == 0
    assert observe.canary_capacity(None, True, plan) == 0


def test_a_canary_scaled_below_the_plan_for_the_weight_in_force_is_reported() -> None:
    # weight in force: max(desired 40, applied 20) = 40 -> 2 replicas planned
    assert observe.canary_replicas_short(CanaryReplicas(2, 1), status(), True, plan) == 1
    assert observe.canary_replicas_short(CanaryReplicas(2, 2), status(), True, plan) is None
    assert observe.canary_replicas_short(CanaryReplicas(2, 0), status(), True, plan) == 0


@pytest.mark.parametrize(
    ("canary", "capacity_first", "phase"),
    [
        (None, True, Phase.PROGRESSING),
        (CanaryReplicas(1, None), True, Phase.PROGRESSING),
        (CanaryReplicas(1, 1), False, Phase.PROGRESSING),
        (CanaryReplicas(1, 1), True, Phase.PENDING),
        (CanaryReplicas(1, 1), True, Phase.SUCCEEDED),
    ],
    ids=["no-canary", "replicas-unset", "replica-split", "pending", "succeeded"],
)
def test_no_shortfall_outside_a_running_capacity_first_rollout(
    canary: CanaryReplicas | None, capacity_first: bool, phase: Phase
) -> None:
    current = status(phase=phase)
    assert observe.canary_replicas_short(canary, current, capacity_first, plan) is None


def test_a_new_revision_or_a_pending_rollout_is_starting() -> None:
    assert observe.is_starting("n1", status())
    assert not observe.is_starting("c1", status())
    assert not observe.is_starting("s1", status())
    assert observe.is_starting("c1", status(phase=Phase.PENDING))


def test_the_budget_guard_holds_first_then_a_drifted_stable_that_pauses() -> None:
    pausing = status(drift=[drifted("pause").model_dump(by_alias=True)])
    low = observe.rollout_gate(pausing, True, (False, "budget 3 % left"))
    assert low == observe.RolloutGate(False, "budget 3 % left", "ErrorBudgetLow")
    held = observe.rollout_gate(pausing, True, (True, "budget 60 % left"))
    assert not held.allowed
    assert held.reason == "StableDrifted"
    assert "stable v1 drifted from its reference (score: psi 0.7)" in held.message


def test_an_alerting_drift_or_a_running_rollout_is_not_held() -> None:
    alerting = status(drift=[drifted("alert").model_dump(by_alias=True)])
    assert observe.rollout_gate(alerting, True, None) == observe.RolloutGate(True)
    pausing = status(drift=[drifted("pause").model_dump(by_alias=True)])
    assert observe.rollout_gate(pausing, False, None).allowed
    assert observe.rollout_gate(status(), True, (True, "ok")) == observe.RolloutGate(
        True, "ok", "ErrorBudgetLow"
    )
