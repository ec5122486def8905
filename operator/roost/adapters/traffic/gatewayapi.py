"""Gateway API: weights on an HTTPRoute's backendRefs (<name>-stable, <name>-canary)."""

from __future__ import annotations

import copy
from typing import Any

from roost.adapters.kube import Kube, NotFoundError
from roost.adapters.traffic import Backends, TrafficError

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


def weighted(
    route: dict[str, Any], *, name: str, port: int, canary_weight: int
) -> dict[str, Any] | None:
    """The route with every rule that points at the model weighted; None if unchanged.

    A rule points at the model when one of its backendRefs names the Service
    ``<name>``, ``<name>-stable`` or ``<name>-canary``. Other rules are left alone.
    Raises TrafficError when no rule does.
    """
    stable, canary = f"{name}-stable", f"{name}-canary"
    ours = {name, stable, canary}
    desired_refs = [
        {
            "group": "",
            "kind": "Service",
            "name": stable,
            "port": port,
            "weight": 100 - canary_weight,
        },
        {"group": "", "kind": "Service", "name": canary, "port": port, "weight": canary_weight},
    ]
    updated = copy.deepcopy(route)
    matched = False
    for rule in updated.get("spec", {}).get("rules", []):
        refs = rule.get("backendRefs") or []
        if any(ref.get("name") in ours and ref.get("kind", "Service") == "Service" for ref in refs):
            matched = True
            rule["backendRefs"] = desired_refs
    if not matched:
        meta = route.get("metadata", {})
        raise TrafficError(
            f"HTTPRoute {meta.get('namespace')}/{meta.get('name')} has no rule with a backendRef "
            f"to Service {stable} (or {name})"
        )
    return None if updated == route else updated


def applied_weight(route: dict[str, Any], *, name: str) -> int | None:
    """The canary weight the route carries now, from its first rule that points at the model."""
    for rule in route.get("spec", {}).get("rules", []):
        weights = {
            ref.get("name"): int(ref.get("weight", 1)) for ref in rule.get("backendRefs") or []
        }
        if f"{name}-canary" in weights:
            total = sum(weights.values())
            return 0 if total == 0 else round(100 * weights[f"{name}-canary"] / total)
    return None


class GatewayAPIProvider:
    capacity_first = True

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def _route_name(self, backends: Backends) -> str:
        settings = backends.spec.traffic.gateway_api
        if settings is None:
            raise TrafficError("traffic.gatewayAPI.httpRoute is not set")
        return settings.http_route

    async def check(self, backends: Backends) -> None:
        name = self._route_name(backends)
        try:
            route = await self.kube.get_custom(
                GROUP, VERSION, PLURAL, backends.owner.namespace, name
            )
        except NotFoundError:
            raise TrafficError(
                f"HTTPRoute {backends.owner.namespace}/{name} not found "
                "(traffic.gatewayAPI.httpRoute)"
            ) from None
        weighted(route, name=backends.owner.name, port=backends.spec.service.port, canary_weight=0)

    async def set_weight(self, backends: Backends, canary_weight: int) -> int:
        name, port = backends.owner.name, backends.spec.service.port
        try:
            route = await self.kube.update_custom(
                GROUP,
                VERSION,
                PLURAL,
                backends.owner.namespace,
                self._route_name(backends),
                lambda current: weighted(
                    current, name=name, port=port, canary_weight=canary_weight
                ),
            )
        except NotFoundError as error:
            raise TrafficError(str(error)) from None
        applied = applied_weight(route, name=name)
        return canary_weight if applied is None else applied
