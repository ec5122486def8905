"""Roost's CRDs on a real apiserver: they establish, accept every example and
refuse every invalid example with the schema's own message."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from harness.probes import Kubectl
from harness.tools import REPO

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

CRDS = sorted((REPO / "crds").glob("*.yaml"))
ROOST_KINDS = {"ModelDeployment", "SLOPolicy"}
EXPECT = re.compile(r"^#\s*expect:\s*(.+?)\s*$", re.MULTILINE)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CRDS, reason="crds/ has no CRD YAML yet (crds/*.yaml is generated)"),
]


def roost_documents(path: Path) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    return [d for d in docs if d.get("kind") in ROOST_KINDS]


def yaml_files(folder: Path) -> list[Path]:
    # Not recursive: scenario files for `roost simulate` live in examples/scenarios/.
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


VALID = [p for p in yaml_files(REPO / "examples") if roost_documents(p)]
INVALID = yaml_files(REPO / "examples" / "invalid")


@pytest.fixture(scope="module")
def roost_plurals(kubectl: Kubectl, api_client: ApiClient) -> dict[str, str]:
    """Apply crds/ as a user would; kind -> plural once every CRD is Established."""
    from kubernetes import client

    kubectl("apply", "-f", REPO / "crds")
    names = {
        doc["metadata"]["name"]: doc["spec"]["names"]
        for path in CRDS
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    }
    extensions = client.ApiextensionsV1Api(api_client)
    deadline = time.monotonic() + 60
    for name in names:
        while not _established(extensions.read_custom_resource_definition(name)):
            assert time.monotonic() < deadline, f"CRD {name} not Established within 60 s"
            time.sleep(0.2)
    return {n["kind"]: n["plural"] for n in names.values()}


def _established(crd: Any) -> bool:
    conditions = (crd.status and crd.status.conditions) or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


def create(api_client: ApiClient, plurals: dict[str, str], doc: dict[str, Any], ns: str) -> None:
    """Create one object as `kubectl apply` would validate it (strict fields)."""
    from kubernetes import client

    group, version = doc["apiVersion"].split("/")
    body = {**doc, "metadata": {**doc.get("metadata", {}), "namespace": ns}}
    client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        group, version, ns, plurals[doc["kind"]], body, field_validation="Strict"
    )


def rejection_message(error: Exception) -> str:
    body = getattr(error, "body", None) or str(error)
    try:
        return str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        return str(body)


def test_crds_apply_and_establish_both_kinds(roost_plurals: dict[str, str]) -> None:
    # crds/kopf-peering.yaml: kopf's peering CRDs, for `roost run --peering`.
    assert set(roost_plurals) == ROOST_KINDS | {"KopfPeering", "ClusterKopfPeering"}


def test_examples_exist_for_both_outcomes() -> None:
    assert VALID, "no ModelDeployment or SLOPolicy example directly in examples/"
    assert INVALID, "no examples/invalid/*.yaml"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_example_is_accepted(
    path: Path, roost_plurals: dict[str, str], api_client: ApiClient, namespace: str
) -> None:
    for doc in roost_documents(path):
        create(api_client, roost_plurals, doc, namespace)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_example_is_rejected_with_the_schema_message(
    path: Path, roost_plurals: dict[str, str], api_client: ApiClient, namespace: str
) -> None:
    from kubernetes.client.exceptions import ApiException

    expected = EXPECT.findall(path.read_text())
    assert expected, f"{path.name} has no `# expect: <part of the apiserver message>` line"
    docs = roost_documents(path)
    assert docs, f"{path.name} has no ModelDeployment or SLOPolicy"
    rejections: list[tuple[int, str]] = []
    for doc in docs:
        try:
            create(api_client, roost_plurals, doc, namespace)
        except ApiException as error:
            rejections.append((error.status, rejection_message(error)))
    assert rejections, f"the apiserver accepted every document of {path.name}"
    # 422 Invalid (schema, CEL) or 400 BadRequest (strict decoding: unknown field).
    assert {status for status, _ in rejections} <= {400, 422}, rejections
    messages = [m for _, m in rejections]
    for part in expected:
        assert any(part in m for m in messages), f"{part!r} not in {messages}"
