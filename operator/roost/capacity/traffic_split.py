"""Capacity before traffic: plans for canary and stable while traffic is split.

During a rollout each version's pods serve only the requests routed to that
version, so each is its own shared queue fed at its share of λ, planned by
:func:`roost.capacity.planner.plan_for_share`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from roost.capacity import planner

__all__ = ["SplitPlan", "plan_traffic_split"]


@dataclass(frozen=True, kw_only=True)
class SplitPlan:
    """Plans for the canary and the stable version while traffic is split between them."""

    canary_weight: float
    """Percent of requests routed to the canary; the stable version gets the rest."""
    canary: planner.CapacityPlan
    stable: planner.CapacityPlan

    @property
    def total_replicas(self) -> int:
        return self.canary.replicas + self.stable.replicas

    def to_dict(self) -> dict[str, object]:
        return {
            "canary_weight": self.canary_weight,
            "total_replicas": self.total_replicas,
            "canary": self.canary.to_dict(),
            "stable": self.stable.to_dict(),
        }


def plan_traffic_split(
    inputs: planner.PlanInputs,
    *,
    canary_weight: float,
    canary_service_time: float | None = None,
) -> SplitPlan:
    """Size canary and stable for a weight: canary at w %, stable at (100 − w) % of λ.

    Used for capacity before traffic: the rollout scales the canary to
    ``canary.replicas`` for the weight it is *about* to set, and only then moves
    the weight. Each side is its own shared queue, planned from ``inputs`` at its
    share of ``inputs.arrival_rate``, and gets at least ``min_replicas``. Unless
    ``max_replicas`` cuts them, the two together need at least as many replicas as
    one queue for all of λ: splitting a queue gives up
    economy of scale (square-root staffing, Halfin & Whitt 1981). ``canary_service_time`` covers
    a new version that is slower or faster than the stable one; it defaults to
    ``inputs.service_time``. ``service_cv`` is the service time's coefficient of
    variation for both (see :func:`roost.capacity.planner.plan_capacity`).
    """
    if not (math.isfinite(canary_weight) and 0 <= canary_weight <= 100):
        raise ValueError(f"canary_weight must be a percentage in [0, 100], got {canary_weight!r}")
    canary_share = canary_weight / 100.0
    canary_inputs = (
        inputs
        if canary_service_time is None
        else dataclasses.replace(inputs, service_time=canary_service_time)
    )
    canary = planner.plan_for_share(canary_inputs, share=canary_share)
    stable = planner.plan_for_share(inputs, share=1.0 - canary_share)
    return SplitPlan(canary_weight=canary_weight, canary=canary, stable=stable)
