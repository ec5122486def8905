"""docs/crd-reference.md is generated from the API models and kept current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roost.api import crd, reference
from roost.api.slopolicy import QualitySLI
from roost.cli import main

ROOT = Path(__file__).parents[2]
CHECKED_IN = ROOT / "docs" / "crd-reference.md"


def _fields(node: dict[str, object], path: str = "") -> list[str]:
    """Every field path of a CRD schema, as the reference spells it."""
    found = []
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name, child in properties.items():
            sub = f"{path}.{name}" if path else name
            found.append(sub)
            found += _fields(child, sub)
    items = node.get("items")
    if isinstance(items, dict):
        found += _fields(items, f"{path}[]")
    return found


def test_the_checked_in_reference_is_current() -> None:
    """Regenerate with `roost crds --reference > docs/crd-reference.md`."""
    assert CHECKED_IN.read_text() == reference.render()


def test_cli_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crds", "--reference"]) == 0
    assert capsys.readouterr().out == reference.render()


@pytest.mark.parametrize("definition", crd.all_crds(), ids=lambda d: d["spec"]["names"]["kind"])
def test_every_field_of_both_kinds_has_a_row(definition: dict[str, object]) -> None:
    text = reference.render()
    schema = definition["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[index]
    kind = definition["spec"]["names"]["kind"]  # type: ignore[index]
    section = text.split(f"## {kind}\n", 1)[1].split("\n## ", 1)[0]
    for part in ("spec", "status"):
        table = section.split(f"### {kind}.{part}\n", 1)[1].split("\n### ", 1)[0]
        rows = set(re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE))
        missing = [f for f in _fields(schema["properties"][part]) if f not in rows]
        assert missing == [], f"{kind}.{part}"


def test_rows_carry_type_default_and_validation() -> None:
    text = reference.render()
    assert "| `rollout.analysisInterval` | string | `30s` | 2–32 characters; pattern " in text
    assert "must be a duration of at most 365d (CEL rule in the CRD)" in text
    assert "| `objectives[].target` | number | required | > 0; < 1 |" in text
    assert (
        "| `traffic.provider` | string | `replicas` | one of `gatewayAPI`, `istio`, `replicas` |"
        in (text)
    )
    # A default made by a factory, which JSON Schema does not carry.
    assert '`[{"weight": 5}, {"weight": 25}, {"weight": 50}]`' in text
    # CEL rules on list items and objects.
    assert "an objective needs exactly one SLI" in text
    assert "step weights must be strictly increasing (CEL" in text


def test_checks_only_roost_runs_are_listed_with_their_messages() -> None:
    checks = reference.python_checks(QualitySLI)
    assert (
        "QualitySLI",
        "quality needs at least one of min or max: write e.g. min: 0.9 (the lowest good value)",
    ) in checks
    assert (
        "QualitySLI",
        "quality.min (…) must not exceed quality.max (…): write min as the lowest good value "
        "and max as the highest",
    ) in checks
    assert "template.spec.containers must list at least one container" in reference.render()
