"""Traffic providers: one Protocol, one module per data plane.

``gatewayapi`` weights an HTTPRoute's backendRefs, ``istio`` a VirtualService's
routes, ``replicas`` splits by replica counts behind one Service when there is
no mesh. Each reports the weight it actually applied.

Route-based providers own the weights of the rules that point at the model, in a
shadow step their mirror to the canary, and in a header-matched step one rule (or
http route) of their own, ``roost-match-<name>``, that sends the matching requests to
the canary. Each write records the canary weight, the mirrored percent and the
header match in annotations on the route (``roost.dev/weight.<name>``,
``roost.dev/mirror.<name>``, ``roost.dev/match.<name>``, same write, so they never
disagree), and ``check()``, which runs every tick, puts them back when someone else
changed the route (a person's ``kubectl edit``, a GitOps sync of an older manifest):
Roost re-asserts its split on its next tick, and the rollout goes on.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from roost.api.modeldeployment import HeaderMatch, ModelDeploymentSpec
from roost.workloads import PREFIX, Owner


def weight_annotation(name: str) -> str:
    """The route annotation that records the canary weight Roost last wrote for ``name``."""
    return f"{PREFIX}/weight.{name}"


def mirror_annotation(name: str) -> str:
    """The route annotation that records the mirrored percent Roost last wrote for ``name``."""
    return f"{PREFIX}/mirror.{name}"


def _percent(route: Mapping[str, Any], key: str) -> int | None:
    value = ((route.get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        percent = int(str(value))
    except ValueError:
        return None
    return percent if 0 <= percent <= 100 else None


def recorded_weight(route: Mapping[str, Any], name: str) -> int | None:
    """The canary weight Roost last wrote on this route for ``name``; None if none or unreadable."""
    return _percent(route, weight_annotation(name))


def match_annotation(name: str) -> str:
    """The route annotation that records the header match Roost last wrote for ``name``."""
    return f"{PREFIX}/match.{name}"


def match_route_name(name: str) -> str:
    """The name of the route rule (Gateway API) or http route (Istio) Roost adds for a
    header-matched step; Roost owns it and removes it after the step."""
    return f"roost-match-{name}"


def recorded_match(route: Mapping[str, Any], name: str) -> tuple[HeaderMatch, ...]:
    """The header match Roost last wrote on this route for ``name`` (empty: none)."""
    value = ((route.get("metadata") or {}).get("annotations") or {}).get(match_annotation(name))
    try:
        return tuple(HeaderMatch.model_validate(h) for h in json.loads(str(value)))
    except (ValueError, TypeError, ValidationError):
        return ()


def recorded_mirror(route: Mapping[str, Any], name: str) -> int:
    """The mirrored percent Roost last wrote on this route for ``name`` (0: none)."""
    return _percent(route, mirror_annotation(name)) or 0


def with_recorded_weight(
    route: dict[str, Any],
    name: str,
    weight: int,
    mirror: int = 0,
    match: Sequence[HeaderMatch] = (),
) -> dict[str, Any]:
    """A copy of ``route`` whose annotations record ``weight``, ``mirror`` and ``match``
    (a mirror of 0 and no match remove theirs, so routes that never used them keep one
    annotation)."""
    updated = copy.deepcopy(route)
    metadata = updated.setdefault("metadata", {})
    annotations = dict(metadata.get("annotations") or {})
    annotations[weight_annotation(name)] = str(weight)
    if mirror:
        annotations[mirror_annotation(name)] = str(mirror)
    else:
        annotations.pop(mirror_annotation(name), None)
    if match:
        annotations[match_annotation(name)] = json.dumps(
            [h.model_dump(mode="json", by_alias=True) for h in match], separators=(",", ":")
        )
    else:
        annotations.pop(match_annotation(name), None)
    metadata["annotations"] = annotations
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

    async def set_weight(
        self,
        backends: Backends,
        canary_weight: int,
        mirror: int = 0,
        match: Sequence[HeaderMatch] = (),
    ) -> int:
        """Send ``canary_weight`` percent to the canary, copy ``mirror`` percent of the
        requests to it (a shadow step; the answers are discarded), and send it the
        requests with the headers ``match`` (a header-matched step); returns the weight
        now applied. Providers that cannot raise TrafficError for a mirror or a match."""
        ...

    async def check(self, backends: Backends) -> None:
        """Raise TrafficError when the configured data plane is missing or unusable."""
        ...
