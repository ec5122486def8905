"""CustomResourceDefinitions generated from the pydantic models.

pydantic emits JSON Schema 2020-12; the apiserver wants a *structural* OpenAPI
v3.0 schema. The translation inlines every ``$ref``, turns ``X | None`` into
an optional ``X``, rewrites numeric exclusive bounds into OpenAPI's boolean
form, drops keywords the apiserver rejects (``title``, ``const``, ``$defs``)
and keeps ``x-kubernetes-*`` extensions (CEL rules, list types) as declared on
the models. ``roost crds`` prints the result; ``crds/`` holds it checked in.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

from roost.api.base import (
    DNS_LABEL_PATTERN,
    GROUP,
    MODEL_DEPLOYMENT_NAME_MAX,
    MODEL_DEPLOYMENT_NAME_PATTERN,
    SLO_POLICY_NAME_MAX,
    VERSION,
)
from roost.api.modeldeployment import ModelDeploymentSpec, ModelDeploymentStatus
from roost.api.slopolicy import SLOPolicySpec, SLOPolicyStatus

JSON = dict[str, Any]

# List fields whose items are keyed (x-kubernetes-list-type: map), by field name.
_LIST_MAP_KEYS = {"conditions": "type", "objectives": "name"}
_DROP = {"title", "$defs", "discriminator"}


def _resolve(node: Any, defs: JSON) -> Any:
    if isinstance(node, list):
        return [_resolve(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].split("/")[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    return {key: _resolve(value, defs) for key, value in node.items()}


def _optional(node: JSON) -> JSON:
    """``anyOf: [X, {type: null}]`` (pydantic's ``X | None``) becomes plain X."""
    variants = node.get("anyOf")
    if not isinstance(variants, list):
        return node
    concrete = [v for v in variants if v.get("type") != "null"]
    if len(concrete) != 1 or len(concrete) == len(variants):
        raise ValueError(f"unions other than X | None cannot be structural: {node}")
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    merged = {**concrete[0], **rest}
    if merged.get("default", 0) is None:
        del merged["default"]
    return merged


def _structural(node: Any, field: str | None = None) -> Any:
    if isinstance(node, list):
        return [_structural(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = _optional(node)
    out: JSON = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "properties":
            out[key] = {name: _structural(sub, name) for name, sub in value.items()}
        elif key == "additionalProperties" and value is False:
            # Structural schemas forbid it beside properties; unknown fields are
            # pruned, and rejected under kubectl's default strict field validation.
            continue
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _structural(value)
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            out[bound] = value
            out[key] = True
        else:
            out[key] = _structural(value)
    if out.get("type") == "string" and out.get("format") == "date-time":
        out.pop("pattern", None)
    key_field = _LIST_MAP_KEYS.get(field or "")
    items = out.get("items", {}) if out.get("type") == "array" else {}
    # Keyed only where the items require the key, as the apiserver demands of a map
    # key: a list of another shape may share the field's name
    # (status.lastAnalysis.forecast.objectives is not spec.objectives).
    if key_field is not None and key_field in items.get("required", ()):
        out["x-kubernetes-list-type"] = "map"
        out["x-kubernetes-list-map-keys"] = [key_field]
    if out.get("x-kubernetes-preserve-unknown-fields"):
        out.pop("additionalProperties", None)
        out["type"] = "object"
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


def openapi_schema(model: type[BaseModel]) -> JSON:
    """The structural OpenAPI v3 schema of one model (spec or status)."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _structural(_resolve(raw, defs))  # type: ignore[no-any-return]


def _crd(
    *,
    kind: str,
    plural: str,
    short_names: list[str],
    spec: type[BaseModel],
    status: type[BaseModel],
    columns: list[JSON],
    description: str,
    name: JSON,
) -> JSON:
    # The apiserver lets a CRD restrict metadata.name (and nothing else in metadata).
    schema: JSON = {
        "type": "object",
        "description": description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object", "properties": {"name": {"type": "string", **name}}},
            "spec": openapi_schema(spec),
            "status": openapi_schema(status),
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{GROUP}",
            "labels": {"app.kubernetes.io/part-of": "roost"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
                "categories": ["roost"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


def _age() -> JSON:
    return {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def model_deployment_crd() -> JSON:
    return _crd(
        kind="ModelDeployment",
        plural="modeldeployments",
        short_names=["md"],
        spec=ModelDeploymentSpec,
        status=ModelDeploymentStatus,
        description="A model server rolled out as an SLO-gated canary and sized by a "
        "queueing capacity plan.",
        name={"pattern": MODEL_DEPLOYMENT_NAME_PATTERN, "maxLength": MODEL_DEPLOYMENT_NAME_MAX},
        columns=[
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "Stable", "type": "string", "jsonPath": ".status.stableVersion"},
            {"name": "Canary", "type": "string", "jsonPath": ".status.canaryVersion"},
            {"name": "Weight", "type": "integer", "jsonPath": ".status.canaryWeight.applied"},
            {"name": "Burn", "type": "number", "jsonPath": ".status.canaryBurnRate"},
            _age(),
        ],
    )


def slo_policy_crd() -> JSON:
    return _crd(
        kind="SLOPolicy",
        plural="slopolicies",
        short_names=["slopol"],
        spec=SLOPolicySpec,
        status=SLOPolicyStatus,
        description="Service level objectives of a model server and the canary gate that "
        "protects them.",
        name={"pattern": DNS_LABEL_PATTERN, "maxLength": SLO_POLICY_NAME_MAX},
        columns=[
            {"name": "Period", "type": "string", "jsonPath": ".spec.period"},
            {
                "name": "Ready",
                "type": "string",
                "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
            },
            _age(),
        ],
    )


def all_crds() -> list[JSON]:
    return [model_deployment_crd(), slo_policy_crd()]


def crd_files() -> dict[str, str]:
    """File name -> YAML text, as checked in under ``crds/``."""
    header = "# Generated by `roost crds` from operator/roost/api; do not edit by hand.\n"
    return {
        f"{crd['spec']['names']['plural']}.{GROUP}.yaml": header
        + yaml.safe_dump(crd, sort_keys=False, width=100, allow_unicode=True)
        for crd in all_crds()
    }


def render_all() -> str:
    """Every CRD as one multi-document YAML stream."""
    return "---\n".join(crd_files().values())
