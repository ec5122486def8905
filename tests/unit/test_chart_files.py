"""The Helm chart's static files and the Dockerfile, checked without a cluster.

Rendering, schema enforcement and RBAC are tested against the real apiserver
in tests/integration/test_chart.py; here: the files parse, the values are
documented line by line and covered by the schema, the dashboard asks only
for metrics Roost exports or records, and the image runs as non-root.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import roost
from roost.adapters.telemetry import Telemetry
from roost.api.slopolicy import SLOPolicy
from roost.slo import recording

ROOT = Path(__file__).parents[2]
CHART = ROOT / "charts" / "roost"


def _values() -> dict[str, Any]:
    return yaml.safe_load((CHART / "values.yaml").read_text())  # type: ignore[no-any-return]


def _schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text())  # type: ignore[no-any-return]


def test_chart_metadata_deploys_this_version_of_roost() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "roost"
    assert chart["appVersion"] == roost.__version__


def test_every_values_line_is_documented() -> None:
    """Each key has a comment on the line above it (or at the end of its line)."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    for index, line in enumerate(lines):
        if not re.match(r"^\s*[A-Za-z_][A-Za-z0-9_]*:", line) or "#" in line:
            continue
        above = lines[index - 1].strip() if index else ""
        if not above.startswith("#"):
            undocumented.append(f"line {index + 1}: {line.strip()}")
    assert undocumented == []


def _schema_gaps(values: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Keys of values.yaml the schema does not declare, and objects that allow any key."""
    if not isinstance(values, dict) or "properties" not in schema:
        return []
    gaps = []
    if schema.get("additionalProperties") is not False:
        gaps.append(f"{path or '(root)'} accepts unknown keys")
    for key, value in values.items():
        sub = schema["properties"].get(key)
        if sub is None:
            gaps.append(f"{path}.{key} is not in the schema")
        else:
            gaps += _schema_gaps(value, sub, f"{path}.{key}")
    return gaps


def test_schema_declares_every_value_and_refuses_unknown_keys() -> None:
    assert _schema_gaps(_values(), _schema()) == []


def test_schema_types_match_the_defaults() -> None:
    """A default the schema would refuse would make every install fail."""
    python_types = {
        "string": str,
        "boolean": bool,
        "integer": int,
        "array": list,
        "object": dict,
        "number": (int, float),
    }

    def check(value: Any, schema: dict[str, Any], path: str) -> list[str]:
        problems = []
        declared = schema.get("type")
        if declared is not None:
            names = declared if isinstance(declared, list) else [declared]
            if not any(isinstance(value, python_types[n]) for n in names):  # type: ignore[arg-type]
                problems.append(f"{path}: {value!r} is not {declared}")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{path}: {value!r} not in {schema['enum']}")
        if (
            "pattern" in schema
            and isinstance(value, str)
            and not re.search(schema["pattern"], value)
        ):
            problems.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if isinstance(value, dict):
            for key, sub in value.items():
                problems += check(sub, schema.get("properties", {}).get(key, {}), f"{path}.{key}")
        if isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                problems += check(item, schema["items"], f"{path}[{i}]")
        return problems

    assert check(_values(), _schema(), "") == []


# --- the Grafana dashboard ------------------------------------------------------------


def _exported_metric_names() -> set[str]:
    """Sample names the operator's /metrics can show (families plus their suffixes)."""
    names = set()
    for family in Telemetry().registry.collect():
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "sum", "count", "created")}
        else:
            names.add(family.name)
    return names


def _recorded_names() -> set[str]:
    policy = SLOPolicy.model_validate(
        yaml.safe_load((ROOT / "examples/slopolicy.yaml").read_text())
    )
    document = recording.rule_file("fraud-scorer", policy.spec)
    return {
        rule.get("record") or rule["alert"]
        for group in document["groups"]
        for rule in group["rules"]
    }


def _dashboard() -> dict[str, Any]:
    return json.loads((CHART / "dashboards" / "roost.json").read_text())  # type: ignore[no-any-return]


def _expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        query = node.get("query")
        if isinstance(query, dict) and isinstance(query.get("query"), str):
            found.append(query["query"])
        return found + [e for value in node.values() for e in _expressions(value)]
    if isinstance(node, list):
        return [e for item in node for e in _expressions(item)]
    return []


def test_dashboard_is_grafana_json_with_the_four_views() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "roost-rollouts"
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Burn rate by window", "Error budget remaining", "Canary weight", "Verdicts"} <= titles
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_asks_only_for_metrics_roost_exports_or_records() -> None:
    exported = _exported_metric_names()
    recorded = _recorded_names()
    labels = {recording.LABEL_POLICY, recording.LABEL_OBJECTIVE}
    expressions = _expressions(_dashboard())
    assert expressions
    unknown = []
    for expr in expressions:
        for name in re.findall(r"\b(roost_[A-Za-z0-9_:]*)", expr):
            if name in labels or name in exported or name in recorded:
                continue
            # `{__name__=~"roost_slo:burn_rate:ratio_rate.+"}`: every recorded window.
            if name == recording.RECORD_BURN and any(r.startswith(name) for r in recorded):
                continue
            unknown.append(name)
        for alert in re.findall(r'alertname=~"([A-Za-z]+)', expr):
            assert any(r.startswith(alert) for r in recorded), alert
    assert unknown == []
    used = {n for e in expressions for n in re.findall(r"\b(roost_[a-z_]+)\b", e)}
    assert {"roost_canary_weight_percent", "roost_verdicts_total"} <= used


# --- the Dockerfile --------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            instruction, _, rest = stripped.partition(" ")
            out.append((instruction.upper(), rest.strip()))
    return out


def test_dockerfile_is_multi_stage_and_installs_the_package() -> None:
    instructions = _dockerfile()
    stages = [args for op, args in instructions if op == "FROM"]
    assert len(stages) >= 2
    assert any("AS build" in s for s in stages)
    assert any(op == "COPY" and args.startswith("--from=build") for op, args in instructions)
    assert any(op == "RUN" and "pip install ." in args for op, args in instructions)


def test_dockerfile_runs_roost_as_a_numeric_non_root_user() -> None:
    instructions = _dockerfile()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    users = [args for op, args in instructions[last_from:] if op == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user.isdigit()  # numeric: runAsNonRoot can verify it
    assert int(user) != 0
    entrypoint = [json.loads(args) for op, args in instructions if op == "ENTRYPOINT"]
    assert entrypoint == [["roost", "run"]]


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert {"!pyproject.toml", "!README.md", "!operator/"} <= set(lines)


@pytest.mark.parametrize(
    "name", ["deployment.yaml", "rbac.yaml", "service.yaml", "prometheus-adapter-rules.yaml"]
)
def test_templates_exist(name: str) -> None:
    assert (CHART / "templates" / name).is_file()
