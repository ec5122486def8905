"""Gateway API: weights on an HTTPRoute's backendRefs (<name>-stable, <name>-canary),
in a shadow step a ``RequestMirror`` filter with ``percent`` to <name>-canary
(GEP-3171, standard channel since Gateway API v1.3), and in a header-matched step a
rule of Roost's own, ``roost-match-<name>``, with the model rule's matches plus the
headers, to <name>-canary alone (Gateway API prefers the match with more headers).

Writes are a read-modify-replace with the read resourceVersion, retried on 409
(``Kube.update_custom``): only the rules that point at the model change, every
other rule and field of the route is the route owner's. Edits by others to
those weights are undone by ``check()`` on the next tick (see the package
docstring).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

from roost.adapters.kube import Kube, NotFoundError
from roost.adapters.traffic import (
    Backends,
    TrafficError,
    match_route_name,
    recorded_match,
    recorded_mirror,
    recorded_weight,
    with_recorded_weight,
)
from roost.api.modeldeployment import HeaderMatch

_log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


def _is_our_mirror(item: Any, canary: str) -> bool:
    if not isinstance(item, dict) or item.get("type") != "RequestMirror":
        return False
    ref = (item.get("requestMirror") or {}).get("backendRef") or {}
    return bool(ref.get("name") == canary and ref.get("kind", "Service") == "Service")


def mirror_filter(canary: str, port: int, percent: int) -> dict[str, Any]:
    """A RequestMirror filter copying ``percent`` of a rule's requests to ``canary``."""
    return {
        "type": "RequestMirror",
        "requestMirror": {
            "backendRef": {"group": "", "kind": "Service", "name": canary, "port": port},
            "percent": percent,
        },
    }


def match_rule(
    model_rule: dict[str, Any], *, name: str, port: int, match: Sequence[HeaderMatch]
) -> dict[str, Any]:
    """Roost's rule for a header-matched step: the model rule's matches, each with the
    headers added (more header matches make it take precedence over the model rule), to
    the canary alone; the model rule's other filters kept."""
    headers = [{"type": h.type.value, "name": h.name, "value": h.value} for h in match]
    matches = []
    for base in model_rule.get("matches") or [{}]:
        combined = copy.deepcopy(base)
        combined["headers"] = [*(combined.get("headers") or []), *headers]
        matches.append(combined)
    canary = f"{name}-canary"
    rule: dict[str, Any] = {
        "name": match_route_name(name),
        "matches": matches,
        "backendRefs": [
            {"group": "", "kind": "Service", "name": canary, "port": port, "weight": 1}
        ],
    }
    filters = [f for f in model_rule.get("filters") or [] if not _is_our_mirror(f, canary)]
    if filters:
        rule["filters"] = filters
    return rule


def weighted(
    route: dict[str, Any],
    *,
    name: str,
    port: int,
    canary_weight: int,
    mirror: int = 0,
    match: Sequence[HeaderMatch] = (),
) -> dict[str, Any] | None:
    """The route with every rule that points at the model weighted (mirrored to the
    canary when ``mirror`` > 0; with Roost's rule for the requests with the headers
    ``match``) and all three recorded in its annotations; None if unchanged.

    A rule points at the model when one of its backendRefs names the Service
    ``<name>``, ``<name>-stable`` or ``<name>-canary``. Other rules are left alone, and
    so are the rule's other filters. Raises TrafficError when no rule does.
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
    updated = with_recorded_weight(route, name, canary_weight, mirror, match)
    spec = updated.setdefault("spec", {})
    spec["rules"] = [r for r in spec.get("rules") or [] if r.get("name") != match_route_name(name)]
    matched = False
    for rule in spec["rules"]:
        refs = rule.get("backendRefs") or []
        if any(ref.get("name") in ours and ref.get("kind", "Service") == "Service" for ref in refs):
            matched = True
            rule["backendRefs"] = desired_refs
            filters = [f for f in rule.get("filters") or [] if not _is_our_mirror(f, canary)]
            if mirror:
                filters.append(mirror_filter(canary, port, mirror))
            if filters:
                rule["filters"] = filters
            else:
                rule.pop("filters", None)
    if not matched:
        meta = route.get("metadata", {})
        raise TrafficError(
            f"HTTPRoute {meta.get('namespace')}/{meta.get('name')} has no rule with a backendRef "
            f"to Service {stable} (or {name})"
        )
    if match:
        model_rule = next(r for r in spec["rules"] if r.get("backendRefs") == desired_refs)
        spec["rules"].append(match_rule(model_rule, name=name, port=port, match=match))
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
        """Raise TrafficError when the route is missing or has no rule for the model;
        restore the weights Roost last wrote when someone else changed them."""
        name, port = backends.owner.name, backends.spec.service.port
        route_name = self._route_name(backends)
        try:
            route = await self.kube.get_custom(
                GROUP, VERSION, PLURAL, backends.owner.namespace, route_name
            )
        except NotFoundError:
            raise TrafficError(
                f"HTTPRoute {backends.owner.namespace}/{route_name} not found "
                "(traffic.gatewayAPI.httpRoute)"
            ) from None
        recorded = recorded_weight(route, name)
        if recorded is None:
            weighted(route, name=name, port=port, canary_weight=0)  # raises if unusable
            return
        mirror, match = recorded_mirror(route, name), recorded_match(route, name)
        if (
            weighted(
                route, name=name, port=port, canary_weight=recorded, mirror=mirror, match=match
            )
            is None
        ):
            return
        now = applied_weight(route, name=name)
        if now == recorded:  # same weights, other refs (spec.service.port changed)
            _log.info(
                "HTTPRoute %s/%s: the backendRefs for %s differ from Roost's; rewritten "
                "(Service port %d)",
                backends.owner.namespace,
                route_name,
                name,
                port,
            )
        else:
            _log.warning(
                "HTTPRoute %s/%s: the weights or mirror for %s were changed by someone else "
                "(canary now %s%%); restoring Roost's %d%% (mirror %d%%)",
                backends.owner.namespace,
                route_name,
                name,
                now,
                recorded,
                mirror,
            )
        await self.set_weight(backends, recorded, mirror, match)

    async def set_weight(
        self,
        backends: Backends,
        canary_weight: int,
        mirror: int = 0,
        match: Sequence[HeaderMatch] = (),
    ) -> int:
        name, port = backends.owner.name, backends.spec.service.port
        try:
            route = await self.kube.update_custom(
                GROUP,
                VERSION,
                PLURAL,
                backends.owner.namespace,
                self._route_name(backends),
                lambda current: weighted(
                    current,
                    name=name,
                    port=port,
                    canary_weight=canary_weight,
                    mirror=mirror,
                    match=match,
                ),
            )
        except NotFoundError as error:
            raise TrafficError(str(error)) from None
        applied = applied_weight(route, name=name)
        return canary_weight if applied is None else applied
