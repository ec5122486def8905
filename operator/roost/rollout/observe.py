"""What a tick observes before it decides: how much traffic the canary's ready
pods can take, whether someone scaled the canary below the plan, and whether a
new rollout may start.

Pure: the canary Deployment as read (ready and desired replicas), the plan's
replicas per weight and the ModelDeployment's status in; numbers and a verdict
out. The reads are the reconciler's; ``machine.decide`` acts on the result
(``Observed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from roost.api.modeldeployment import ModelDeploymentStatus, Phase
from roost.rollout import drift as drift_watch

__all__ = [
    "CanaryReplicas",
    "RolloutGate",
    "canary_capacity",
    "canary_replicas_short",
    "is_starting",
    "rollout_gate",
]

BUDGET_REASON = "ErrorBudgetLow"
DRIFT_REASON = "StableDrifted"


@dataclass(frozen=True)
class CanaryReplicas:
    """The canary Deployment as read: None when it does not exist (yet)."""

    ready: int
    desired: int | None  # spec.replicas; None when unset


def canary_capacity(
    canary: CanaryReplicas | None, capacity_first: bool, replicas_at: Callable[[int], int]
) -> int:
    """The largest weight (0-100) the canary can take now.

    A provider that shifts traffic only once pods are there (``capacity_first``: the
    route-based ones) gets the largest weight whose planned canary replicas
    (``replicas_at(weight)``) are all ready; one that splits by replica counts gets
    100 once the canary Deployment exists, 0 before."""
    if not capacity_first:
        return 100 if canary is not None else 0
    ready = canary.ready if canary is not None else 0
    return max((w for w in range(0, 101) if replicas_at(w) <= ready), default=0)


def canary_replicas_short(
    canary: CanaryReplicas | None,
    current: ModelDeploymentStatus,
    capacity_first: bool,
    replicas_at: Callable[[int], int],
) -> int | None:
    """The canary's desired replicas when they are fewer than the plan for the weight
    in force (someone scaled it down mid-rollout), else None.

    Only for capacity-first providers and a rollout that is progressing or paused; the
    weight in force is the larger of the desired and the applied one."""
    if (
        canary is None
        or not capacity_first
        or current.phase not in (Phase.PROGRESSING, Phase.PAUSED)
        or canary.desired is None
    ):
        return None
    weight = current.canary_weight.share_in_force
    return canary.desired if canary.desired < replicas_at(weight) else None


def is_starting(revision: str, current: ModelDeploymentStatus) -> bool:
    """Would this tick start a rollout: a revision that is neither the stable nor the
    canary, or a rollout still Pending (waiting for its gate)."""
    return revision not in (current.stable_revision, current.canary_revision) or (
        current.phase is Phase.PENDING
    )


@dataclass(frozen=True)
class RolloutGate:
    allowed: bool
    message: str = ""
    reason: str = BUDGET_REASON


def rollout_gate(
    current: ModelDeploymentStatus, starting: bool, budget: tuple[bool, str] | None
) -> RolloutGate:
    """May a new rollout start? The error-budget guard's verdict (``budget``: allowed
    and its message, None when it was not asked) first, then a drifted stable whose
    watch pauses rollouts. A rollout already running is never held here."""
    if budget is not None and not budget[0]:
        return RolloutGate(False, budget[1], BUDGET_REASON)
    held = drift_watch.holds_rollouts(current.drift) if starting else None
    if held is not None:
        return RolloutGate(False, held, DRIFT_REASON)
    return RolloutGate(True, budget[1] if budget is not None else "", BUDGET_REASON)
