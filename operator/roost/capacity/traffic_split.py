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
    mirror: float = 0.0
    """Percent of requests copied to the canary (a shadow step); the stable answers all."""
    canary: planner.CapacityPlan
    stable: planner.CapacityPlan

    @property
    def total_replicas(self) -> int:
        return self.canary.replicas + self.stable.replicas

    def to_dict(self) -> dict[str, object]:
        return {
            "canary_weight": self.canary_weight,
            "mirror": self.mirror,
            "total_replicas": self.total_replicas,
            "canary": self.canary.to_dict(),
            "stable": self.stable.to_dict(),
        }


def plan_traffic_split(
    inputs: planner.PlanInputs,
    *,
    canary_weight: float,
    canary_service_time: float | None = None,
    mirror: float = 0.0,
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

    ``mirror`` (with ``canary_weight`` 0) is a shadow step: the canary answers copies of
    ``mirror`` % of the requests and the stable still answers all of them.
    """
    for what, value in (("canary_weight", canary_weight), ("mirror", mirror)):
        if not (math.isfinite(value) and 0 <= value <= 100):
            raise ValueError(f"{what} must be a percentage in [0, 100], got {value!r}")
    if canary_weight and mirror:
        raise ValueError("a split routes or mirrors, not both")
    canary_share = (canary_weight or mirror) / 100.0
    stable_share = 1.0 - canary_weight / 100.0
    canary_inputs = (
        inputs
        if canary_service_time is None
        else dataclasses.replace(inputs, service_time=canary_service_time)
    )
    canary = planner.plan_for_share(canary_inputs, share=canary_share)
    stable = planner.plan_for_share(inputs, share=stable_share)
    return SplitPlan(canary_weight=canary_weight, canary=canary, stable=stable, mirror=mirror)
