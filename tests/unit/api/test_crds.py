"""The checked-in CRDs are exactly what the models generate, and they are structural."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from roost.api import crd

ROOT = Path(__file__).parents[3]


def test_checked_in_crds_match_the_models() -> None:
    for name, body in crd.crd_files().items():
        path = ROOT / "crds" / name
        assert path.exists(), f"crds/{name} is missing: run `roost crds --write crds`"
        assert path.read_text() == body, f"crds/{name} is stale: run `roost crds --write crds`"


def test_the_chart_ships_the_same_crds_when_it_exists() -> None:
    chart = ROOT / "charts" / "roost" / "crds"
    if not chart.exists():
        pytest.skip("charts/roost/crds does not exist yet")
    for name, body in crd.crd_files().items():
        assert (chart / name).read_text() == body


def _walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        found.append((path, node))
        for key, value in node.get("properties", {}).items():
            found += _walk(value, f"{path}.{key}")
        if isinstance(node.get("items"), dict):
            found += _walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            found += _walk(node["additionalProperties"], f"{path}{{}}")
    return found


@pytest.mark.parametrize("definition", crd.all_crds(), ids=lambda d: d["metadata"]["name"])
def test_schemas_are_structural(definition: dict[str, Any]) -> None:
    schema = definition["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    forbidden = {"$ref", "anyOf", "oneOf", "allOf", "const", "title", "$defs", "nullable"}
    for path, node in _walk(schema):
        assert not forbidden & node.keys(), f"{path} uses {forbidden & node.keys()}"
        assert "type" in node, f"{path} has no type"
        if "properties" in node:
            assert "additionalProperties" not in node, path
        for bound in ("exclusiveMinimum", "exclusiveMaximum"):
            if bound in node:
                assert node[bound] is True, f"{path}.{bound} must be boolean in OpenAPI v3.0"
        # The apiserver refuses a list-map key that its items do not require.
        for key in node.get("x-kubernetes-list-map-keys", []):
            assert key in node["items"].get("required", []), f"{path} is keyed by {key}"


def test_list_maps_are_keyed_where_the_items_carry_the_key() -> None:
    schema = crd.all_crds()[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    keyed = {path for path, node in _walk(schema) if "x-kubernetes-list-map-keys" in node}
    assert ".status.conditions" in keyed
    assert ".status.lastAnalysis.forecast.objectives" not in keyed


def _spec_schema(definition: dict[str, Any]) -> dict[str, Any]:
    schema = definition["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema["properties"]["spec"]  # type: ignore[no-any-return]


def test_cross_field_rules_are_cel_rules_at_admission() -> None:
    text = yaml.safe_dump(crd.all_crds())
    for message in (
        "step weights must be strictly increasing",
        "an objective needs exactly one SLI",
        "shortWindow must be shorter than longWindow",
        "minReplicas must not exceed maxReplicas",
        "provider gatewayAPI needs traffic.gatewayAPI.httpRoute",
        "objective names must be unique",
    ):
        assert message in text


def test_target_is_an_open_interval_and_weights_are_bounded() -> None:
    slo = _spec_schema(crd.slo_policy_crd())
    target = slo["properties"]["objectives"]["items"]["properties"]["target"]
    assert (target["minimum"], target["maximum"]) == (0, 1)
    assert target["exclusiveMinimum"] is target["exclusiveMaximum"] is True
    md = _spec_schema(crd.model_deployment_crd())
    weight = md["properties"]["rollout"]["properties"]["steps"]["items"]["properties"]["weight"]
    assert (weight["minimum"], weight["maximum"]) == (1, 100)


def test_names_columns_and_status_subresource() -> None:
    md, slo = crd.model_deployment_crd(), crd.slo_policy_crd()
    assert md["spec"]["names"]["shortNames"] == ["md"]
    assert slo["spec"]["names"]["shortNames"] == ["slopol"]
    assert md["spec"]["names"]["categories"] == slo["spec"]["names"]["categories"] == ["roost"]
    version = md["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Phase", "Stable", "Canary", "Weight", "Burn", "Age"]
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert status["observedGeneration"]["type"] == "integer"
    assert status["conditions"]["x-kubernetes-list-map-keys"] == ["type"]
