"""Traffic providers: one Protocol, one module per data plane.

``gatewayapi`` weights an HTTPRoute's backendRefs, ``istio`` a VirtualService's
routes, ``replicas`` splits by replica counts behind one Service when there is
no mesh. Each reports the weight it actually applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from roost.api.modeldeployment import ModelDeploymentSpec
from roost.workloads import Owner


@dataclass(frozen=True)
class Backends:
    """What a provider splits traffic between."""

    owner: Owner
    spec: ModelDeploymentSpec
    stable_revision: str
    canary_revision: str | None


class TrafficError(RuntimeError):
    """The data plane cannot be weighted as configured (e.g. the route is missing)."""


class TrafficProvider(Protocol):
    capacity_first: bool
    """True when the canary must be scaled before weight moves (route-based providers)."""

    async def set_weight(self, backends: Backends, canary_weight: int) -> int:
        """Send ``canary_weight`` percent to the canary; returns the weight now applied."""
        ...

    async def check(self, backends: Backends) -> None:
        """Raise TrafficError when the configured data plane is missing or unusable."""
        ...
