"""Istio: weights on a VirtualService's http routes (destinations <name>-stable, <name>-canary)."""

from __future__ import annotations

import copy
from typing import Any

from roost.adapters.kube import Kube, NotFoundError
from roost.adapters.traffic import Backends, TrafficError

GROUP, VERSION, PLURAL = "networking.istio.io", "v1", "virtualservices"


def _short_host(host: str) -> str:
    return host.split(".", 1)[0]


def weighted(
    service: dict[str, Any], *, name: str, canary_weight: int, routes: list[str] | None
) -> dict[str, Any] | None:
    """The VirtualService with the model's http routes weighted; None if unchanged."""
    stable, canary = f"{name}-stable", f"{name}-canary"
    ours = {name, stable, canary}
    updated = copy.deepcopy(service)
    matched = False
    for http in updated.get("spec", {}).get("http", []):
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
        http["route"] = [
            {"destination": {**template, "host": stable}, "weight": 100 - canary_weight},
            {"destination": {**template, "host": canary}, "weight": canary_weight},
        ]
    if not matched:
        meta = service.get("metadata", {})
        raise TrafficError(
            f"VirtualService {meta.get('namespace')}/{meta.get('name')} has no http route to "
            f"{stable} (or {name})"
        )
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
        name, routes = self._settings(backends)
        try:
            current = await self.kube.get_custom(
                GROUP, VERSION, PLURAL, backends.owner.namespace, name
            )
        except NotFoundError:
            raise TrafficError(
                f"VirtualService {backends.owner.namespace}/{name} not found "
                "(traffic.istio.virtualService)"
            ) from None
        weighted(current, name=backends.owner.name, canary_weight=0, routes=routes)

    async def set_weight(self, backends: Backends, canary_weight: int) -> int:
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
                    current, name=name, canary_weight=canary_weight, routes=routes
                ),
            )
        except NotFoundError as error:
            raise TrafficError(str(error)) from None
        return canary_weight
