"""Traffic providers: one Protocol, one module per data plane.

``gatewayapi`` weights an HTTPRoute's backendRefs, ``istio`` a VirtualService's
routes, ``replicas`` splits by replica counts behind one Service when there is
no mesh. Each reports the weight it actually applied.

Route-based providers own the weights of the rules that point at the model.
Each write records the canary weight in an annotation on the route
(``roost.dev/weight.<name>``, same write, so the two never disagree), and
``check()``, which runs every tick, puts the recorded weights back when someone
else changed them (a person's ``kubectl edit``, a GitOps sync of an older
manifest): Roost re-asserts its split on its next tick, and the rollout goes on.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from roost.api.modeldeployment import ModelDeploymentSpec
from roost.workloads import PREFIX, Owner


def weight_annotation(name: str) -> str:
    """The route annotation that records the canary weight Roost last wrote for ``name``."""
    return f"{PREFIX}/weight.{name}"


def recorded_weight(route: Mapping[str, Any], name: str) -> int | None:
    """The canary weight Roost last wrote on this route for ``name``; None if none or unreadable."""
    value = ((route.get("metadata") or {}).get("annotations") or {}).get(weight_annotation(name))
    try:
        weight = int(str(value))
    except ValueError:
        return None
    return weight if 0 <= weight <= 100 else None


def with_recorded_weight(route: dict[str, Any], name: str, weight: int) -> dict[str, Any]:
    """A copy of ``route`` whose annotation records ``weight``."""
    updated = copy.deepcopy(route)
    metadata = updated.setdefault("metadata", {})
    annotations = metadata.get("annotations") or {}
    metadata["annotations"] = {**annotations, weight_annotation(name): str(weight)}
    return updated


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
