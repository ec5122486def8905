"""Istio: weights on a VirtualService's http routes (destinations <name>-stable, <name>-canary),
in a shadow step ``mirror`` to <name>-canary with ``mirrorPercentage``, and in a
header-matched step an http route of Roost's own, ``roost-match-<name>``, before the
model's (Istio takes the first route that matches)."""

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
from roost.api.modeldeployment import HeaderMatch, HeaderMatchType

_log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "networking.istio.io", "v1", "virtualservices"


def _short_host(host: str) -> str:
    return host.split(".", 1)[0]


def match_route(
    model_route: dict[str, Any],
    template: dict[str, Any],
    *,
    name: str,
    match: Sequence[HeaderMatch],
) -> dict[str, Any]:
    """Roost's http route for a header-matched step, placed before the model's: its
    matches (or any request) with the headers added, to the canary alone."""
    headers = {
        h.name.lower(): {"exact" if h.type is HeaderMatchType.EXACT else "regex": h.value}
        for h in match
    }
    matches = []
    for base in model_route.get("match") or [{}]:
        combined = copy.deepcopy(base)
        combined["headers"] = {**(combined.get("headers") or {}), **headers}
        matches.append(combined)
    return {
        "name": match_route_name(name),
        "match": matches,
        "route": [{"destination": {**template, "host": f"{name}-canary"}, "weight": 100}],
    }


def weighted(
    service: dict[str, Any],
    *,
    name: str,
    canary_weight: int,
    routes: list[str] | None,
    mirror: int = 0,
    match: Sequence[HeaderMatch] = (),
) -> dict[str, Any] | None:
    """The VirtualService with the model's http routes weighted (mirrored to the canary
    when ``mirror`` > 0; preceded by Roost's route for the requests with the headers
    ``match``) and all three recorded in its annotations; None if unchanged. A mirror
    to another host is the route owner's and left alone."""
    stable, canary = f"{name}-stable", f"{name}-canary"
    ours = {name, stable, canary}
    updated = with_recorded_weight(service, name, canary_weight, mirror, match)
    spec = updated.setdefault("spec", {})
    spec["http"] = [h for h in spec.get("http") or [] if h.get("name") != match_route_name(name)]
    matched = False
    first: tuple[int, dict[str, Any], dict[str, Any]] | None = None
    for index, http in enumerate(spec["http"]):
        if routes and http.get("name") not in routes:
            continue
        destinations = http.get("route") or []
        hosts = {_short_host(d.get("destination", {}).get("host", "")) for d in destinations}
        if not hosts & ours:
            continue
        matched = True
        template = next(
            (d["destination"] for d in destinations if "destination" in d), {"host": stable}
        )
        if first is None:
            first = (index, http, template)
        http["route"] = [
            {"destination": {**template, "host": stable}, "weight": 100 - canary_weight},
            {"destination": {**template, "host": canary}, "weight": canary_weight},
        ]
        theirs = _short_host((http.get("mirror") or {}).get("host", canary))
        if mirror and theirs != canary:
            meta = service.get("metadata", {})
            raise TrafficError(
                f"VirtualService {meta.get('namespace')}/{meta.get('name')}: http route "
                f"{http.get('name') or '(unnamed)'} already mirrors to {theirs}, and a route "
                "takes one mirror: remove it or list the model's routes in traffic.istio.routes"
            )
        if mirror:
            http["mirror"] = {**template, "host": canary}
            http["mirrorPercentage"] = {"value": float(mirror)}
        elif _short_host((http.get("mirror") or {}).get("host", "")) == canary:
            http.pop("mirror")
            http.pop("mirrorPercentage", None)
    if not matched or first is None:
        meta = service.get("metadata", {})
        raise TrafficError(
            f"VirtualService {meta.get('namespace')}/{meta.get('name')} has no http route to "
            f"{stable} (or {name})"
        )
    if match:
        index, model_route, template = first
        spec["http"].insert(index, match_route(model_route, template, name=name, match=match))
    return None if updated == service else updated


class IstioProvider:
    capacity_first = True

    def __init__(self, kube: Kube) -> None:
        self.kube = kube

    def _settings(self, backends: Backends) -> tuple[str, list[str] | None]:
        istio = backends.spec.traffic.istio
        if istio is None:
            raise TrafficError("traffic.istio.virtualService is not set")
        return istio.virtual_service, istio.routes

    async def check(self, backends: Backends) -> None:
        """Raise TrafficError when the VirtualService is missing or has no route to the
        model; restore the weights Roost last wrote when someone else changed them."""
        name, routes = self._settings(backends)
        model = backends.owner.name
        try:
            current = await self.kube.get_custom(
                GROUP, VERSION, PLURAL, backends.owner.namespace, name
            )
        except NotFoundError:
            raise TrafficError(
                f"VirtualService {backends.owner.namespace}/{name} not found "
                "(traffic.istio.virtualService)"
            ) from None
        recorded = recorded_weight(current, model)
        if recorded is None:
            weighted(current, name=model, canary_weight=0, routes=routes)  # raises if unusable
            return
        mirror, match = recorded_mirror(current, model), recorded_match(current, model)
        if (
            weighted(
                current,
                name=model,
                canary_weight=recorded,
                routes=routes,
                mirror=mirror,
                match=match,
            )
            is not None
        ):
            _log.warning(
                "VirtualService %s/%s: the weights or mirror for %s were changed by someone "
                "else; restoring Roost's %d%% (mirror %d%%)",
                backends.owner.namespace,
                name,
                model,
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
        vs_name, routes = self._settings(backends)
        name = backends.owner.name
        try:
            await self.kube.update_custom(
                GROUP,
                VERSION,
                PLURAL,
                backends.owner.namespace,
                vs_name,
                lambda current: weighted(
                    current,
                    name=name,
                    canary_weight=canary_weight,
                    routes=routes,
                    mirror=mirror,
                    match=match,
                ),
            )
        except NotFoundError as error:
            raise TrafficError(str(error)) from None
        return canary_weight
