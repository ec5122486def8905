"""No mesh: split traffic by replica counts behind the Service <name> that selects both."""

from __future__ import annotations

from collections.abc import Sequence

from roost.adapters.kube import Kube
from roost.adapters.traffic import Backends, TrafficError
from roost.api.modeldeployment import HeaderMatch
from roost.workloads import replicas_for_weight


class ReplicaRatioProvider:
    """The weight is the canary's share of ready replicas, so it moves in coarse steps.

    Capacity before traffic does not apply: a ready canary replica *is* traffic.
    """

    capacity_first = False

    def __init__(self, kube: Kube, *, total_replicas: int) -> None:
        self.kube = kube
        self.total = total_replicas

    async def check(self, backends: Backends) -> None:
        return None

    async def set_weight(
        self,
        backends: Backends,
        canary_weight: int,
        mirror: int = 0,
        match: Sequence[HeaderMatch] = (),
    ) -> int:
        if mirror or match:  # admission refuses mirror and match steps with this provider
            raise TrafficError(
                "the replicas provider cannot mirror or match requests: write "
                "traffic.provider: gatewayAPI or istio"
            )
        owner = backends.owner
        stable, canary = replicas_for_weight(self.total, canary_weight)
        if backends.canary_revision is not None:
            await self.kube.scale(
                owner.namespace, owner.deployment_name(backends.canary_revision), canary
            )
        else:
            stable = self.total
        await self.kube.scale(
            owner.namespace, owner.deployment_name(backends.stable_revision), stable
        )
        return 0 if stable + canary == 0 else round(100 * canary / (stable + canary))
