"""Capacity before traffic: plans for canary and stable while traffic is split.

During a rollout each version's pods serve only the requests routed to that
version, so each is its own shared queue fed at its share of λ, planned by
:func:`roost.capacity.planner.plan_for_share`.
"""

from __future__ import annotations

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
    *,
    canary_weight: float,
    arrival_rate: float,
    service_time: float,
    slots_per_replica: int,
    wait_budget: float,
    wait_percentile: float = 0.99,
    min_replicas: int = 1,
    max_replicas: int | None = None,
    headroom: float = 0.0,
    max_utilisation: float | None = None,
    canary_service_time: float | None = None,
    service_cv: float = 1.0,
) -> SplitPlan:
    """Size canary and stable for a weight: canary at w %, stable at (100 − w) % of λ.

    Used for capacity before traffic: the rollout scales the canary to
    ``canary.replicas`` for the weight it is *about* to set, and only then moves
    the weight. Each side is its own shared queue and gets at least
    ``min_replicas``. Unless ``max_replicas`` cuts them, the two together need at
    least as many replicas as one queue for all of λ: splitting a queue gives up
    economy of scale (§4.2 square-root staffing). ``canary_service_time`` covers
    a new version that is slower or faster than the stable one; it defaults to
    ``service_time``. ``service_cv`` is the service time's coefficient of
    variation for both (see :func:`roost.capacity.planner.plan_capacity`).
    """
    if not (math.isfinite(canary_weight) and 0 <= canary_weight <= 100):
        raise ValueError(f"canary_weight must be a percentage in [0, 100], got {canary_weight!r}")
    canary_share = canary_weight / 100.0

    def side(share: float, side_service_time: float) -> planner.CapacityPlan:
        return planner.plan_for_share(
            share=share,
            arrival_rate=arrival_rate,
            service_time=side_service_time,
            slots_per_replica=slots_per_replica,
            wait_budget=wait_budget,
            wait_percentile=wait_percentile,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            headroom=headroom,
            max_utilisation=max_utilisation,
            service_cv=service_cv,
        )

    canary = side(
        canary_share, service_time if canary_service_time is None else canary_service_time
    )
    stable = side(1.0 - canary_share, service_time)
    return SplitPlan(canary_weight=canary_weight, canary=canary, stable=stable)
