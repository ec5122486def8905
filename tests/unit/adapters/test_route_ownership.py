"""Conflicting writers on a route: Roost re-asserts its weights, retries 409s.

``FakeCustomObjects`` stands in for the apiserver's custom-objects API (an
in-memory store with resourceVersions, and 409s on demand); ``Kube`` and the
providers on top of it are the real code.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from roost.adapters.kube import Kube
from roost.adapters.traffic import Backends, recorded_weight, weight_annotation
from roost.adapters.traffic.gatewayapi import GatewayAPIProvider, applied_weight
from roost.adapters.traffic.istio import IstioProvider
from roost.api.modeldeployment import ModelDeploymentSpec
from roost.workloads import Owner


class FakeCustomObjects:
    """Objects by name; a replace with a stale resourceVersion is a 409, like the apiserver."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {o["metadata"]["name"]: copy.deepcopy(o) for o in objects}
        for obj in self.objects.values():
            obj["metadata"]["resourceVersion"] = "1"
        self.replaces = 0
        self.conflicts_left = 0  # replaces that fail with 409 whatever their version

    def get_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        return copy.deepcopy(self.objects[args[-1]])

    def replace_namespaced_custom_object(self, *args: Any) -> dict[str, Any]:
        name, body = args[-2], args[-1]
        stored = self.objects[name]
        if self.conflicts_left > 0 or (
            body["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"]
        ):
            self.conflicts_left = max(0, self.conflicts_left - 1)
            raise ApiException(status=409, reason="Conflict")
        self.replaces += 1
        body = copy.deepcopy(body)
        body["metadata"]["resourceVersion"] = str(int(stored["metadata"]["resourceVersion"]) + 1)
        self.objects[name] = body
        return copy.deepcopy(body)

    def edit(self, name: str, change: Any) -> None:
        """A person's write: changes the object and bumps its resourceVersion."""
        obj = self.objects[name]
        change(obj)
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)


def _spec(traffic: dict[str, Any]) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"name": "fraud", "version": "v2"},
            "sloPolicyRef": {"name": "p"},
            "template": {"spec": {"containers": [{"name": "s", "image": "fraud:v2"}]}},
            "traffic": traffic,
        }
    )


def _kube(fake: FakeCustomObjects) -> Kube:
    kube = Kube(client.ApiClient())
    kube.custom = fake  # type: ignore[assignment]
    return kube


ROUTE = {
    "metadata": {"name": "route", "namespace": "ns"},
    "spec": {
        "rules": [
            {"backendRefs": [{"name": "scorer-stable", "port": 8080}]},
            {"backendRefs": [{"name": "someone-else", "port": 80}]},
        ]
    },
}
OWNER = Owner(namespace="ns", name="scorer", uid="u")


def _gateway(fake: FakeCustomObjects) -> tuple[GatewayAPIProvider, Backends]:
    spec = _spec({"provider": "gatewayAPI", "gatewayAPI": {"httpRoute": "route"}})
    return GatewayAPIProvider(_kube(fake)), Backends(OWNER, spec, "s1", "c1")


def _set_canary(percent: int) -> Any:
    def change(route: dict[str, Any]) -> None:
        for ref in route["spec"]["rules"][0]["backendRefs"]:
            ref["weight"] = percent if ref["name"].endswith("-canary") else 100 - percent

    return change


def test_the_weight_roost_writes_is_recorded_on_the_route_in_the_same_write() -> None:
    fake = FakeCustomObjects(ROUTE)
    provider, backends = _gateway(fake)
    assert asyncio.run(provider.set_weight(backends, 25)) == 25
    route = fake.objects["route"]
    assert recorded_weight(route, "scorer") == 25
    assert route["metadata"]["annotations"] == {weight_annotation("scorer"): "25"}
    assert fake.replaces == 1


def test_a_person_editing_the_weights_is_reverted_on_the_next_check() -> None:
    fake = FakeCustomObjects(ROUTE)
    provider, backends = _gateway(fake)
    asyncio.run(provider.set_weight(backends, 25))
    fake.edit("route", _set_canary(100))  # all traffic to the canary, by hand
    asyncio.run(provider.check(backends))
    route = fake.objects["route"]
    assert applied_weight(route, name="scorer") == 25
    assert route["spec"]["rules"][1] == ROUTE["spec"]["rules"][1]  # not ours: untouched
    writes = fake.replaces
    asyncio.run(provider.check(backends))  # nothing changed since: no write
    assert fake.replaces == writes


def test_a_route_roost_never_weighted_is_only_validated() -> None:
    fake = FakeCustomObjects(ROUTE)
    provider, backends = _gateway(fake)
    asyncio.run(provider.check(backends))
    assert fake.replaces == 0


def test_a_replace_that_meets_a_concurrent_edit_retries_and_keeps_one_object() -> None:
    fake = FakeCustomObjects(ROUTE)
    provider, backends = _gateway(fake)
    fake.conflicts_left = 2  # two 409s in a row, then the write goes through
    assert asyncio.run(provider.set_weight(backends, 50)) == 50
    assert list(fake.objects) == ["route"]
    assert applied_weight(fake.objects["route"], name="scorer") == 50
    assert fake.replaces == 1


def test_endless_conflicts_fail_the_tick_instead_of_writing_blind() -> None:
    fake = FakeCustomObjects(ROUTE)
    provider, backends = _gateway(fake)
    fake.conflicts_left = 100
    with pytest.raises(RuntimeError, match="conflict after retries"):
        asyncio.run(provider.set_weight(backends, 50))
    assert recorded_weight(fake.objects["route"], "scorer") is None


def test_an_istio_virtual_service_edited_by_hand_is_reverted_too() -> None:
    service = {
        "metadata": {"name": "vs", "namespace": "ns"},
        "spec": {"http": [{"route": [{"destination": {"host": "scorer-stable"}}]}]},
    }
    fake = FakeCustomObjects(service)
    spec = _spec({"provider": "istio", "istio": {"virtualService": "vs"}})
    provider, backends = IstioProvider(_kube(fake)), Backends(OWNER, spec, "s1", "c1")
    asyncio.run(provider.set_weight(backends, 10))

    def hand_edit(vs: dict[str, Any]) -> None:
        vs["spec"]["http"][0]["route"][1]["weight"] = 90
        vs["spec"]["http"][0]["route"][0]["weight"] = 10

    fake.edit("vs", hand_edit)
    asyncio.run(provider.check(backends))
    weights = [r["weight"] for r in fake.objects["vs"]["spec"]["http"][0]["route"]]
    assert weights == [90, 10]
