"""The demand rules of `roost rules --demand` as text (promtool evaluates them in
tests/integration/test_demand_rules.py) and the command's errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from roost.api.modeldeployment import ModelDeploymentSpec
from roost.api.slopolicy import SLOPolicySpec
from roost.cli import main
from roost.slo import demand
from roost.slo.recording import RulesError

ROOT = Path(__file__).parents[3]
MODEL = yaml.safe_load((ROOT / "examples/modeldeployment.yaml").read_text())
POLICY = yaml.safe_load((ROOT / "examples/slopolicy.yaml").read_text())


def _spec(**autoscaling: Any) -> ModelDeploymentSpec:
    spec = dict(MODEL["spec"])
    spec["autoscaling"] = {**spec["autoscaling"], "metric": "Demand", **autoscaling}
    return ModelDeploymentSpec.model_validate(spec)


def test_the_group_records_the_demand_from_the_policys_counter_and_the_gauge() -> None:
    group = demand.demand_rule_group(
        "models", "fraud-scorer", _spec(), SLOPolicySpec.model_validate(POLICY["spec"])
    ).to_dict()
    assert group["name"] == "roost-demand-models-fraud-scorer"
    rules = {r["record"]: r for r in group["rules"]}
    assert list(rules)[-1] == demand.DEMAND_METRIC
    for rule in rules.values():
        assert rule["labels"] == {"namespace": "models", "model_deployment": "fraud-scorer"}
    # The availability objective's total, scoped by metrics.labels like the operator's queries.
    assert rules["roost:demand_requests:rate1m"]["expr"] == (
        'sum(rate(model_predictions_total{model="fraud-scorer"}[1m]))'
    )
    assert rules["roost:demand_backlog:sum"]["expr"] == (
        'sum(clamp_min(model_inflight_requests{model="fraud-scorer"} - 4, 0)) or vector(0)'
    )
    final = rules[demand.DEMAND_METRIC]["expr"]
    for term in ("2 * sqrt(", "[2m]), 0) * 90", "/ 120"):
        assert term in final


def test_the_slope_looks_ahead_by_the_pods_start_up_and_the_metric_lag() -> None:
    policy = SLOPolicySpec.model_validate(POLICY["spec"])
    for startup, lead in (("60s", "90"), ("2m", "150"), ("500ms", "30.5")):
        group = demand.demand_rule_group("models", "m", _spec(podStartup=startup), policy)
        final = group.to_dict()["rules"][-1]["expr"]
        assert f"[2m]), 0) * {lead} or" in final, final


def test_a_label_value_cannot_escape_its_string() -> None:
    spec = _spec()
    hostile = spec.model_copy(
        update={"metrics": spec.metrics.model_copy(update={"labels": {"model": '"}) or vector(1'}})}
    )
    group = demand.demand_rule_group(
        "models", "m", hostile, SLOPolicySpec.model_validate(POLICY["spec"])
    )
    expr = group.rules[0].to_dict()["expr"]
    assert expr == 'sum(rate(model_predictions_total{model="\\"}) or vector(1"}[1m]))'


def test_without_autoscaling_or_a_request_counter_there_is_no_demand() -> None:
    policy = SLOPolicySpec.model_validate(POLICY["spec"])
    no_autoscaling = _spec().model_copy(update={"autoscaling": None})
    with pytest.raises(RulesError, match="has no autoscaling"):
        demand.demand_rule_group("models", "m", no_autoscaling, policy)
    quality = SLOPolicySpec.model_validate(
        {
            "objectives": [
                {
                    "name": "online-accuracy",
                    "target": 0.95,
                    "quality": {"metric": "model_online_accuracy", "min": 0.9},
                }
            ]
        }
    )
    with pytest.raises(RulesError, match="no objective that counts requests"):
        demand.demand_rule_group("models", "m", _spec(), quality)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _files(tmp_path: Path, namespace: str | None = "models", metric: str = "Demand") -> str:
    model = yaml.safe_load(yaml.safe_dump(MODEL))
    if namespace:
        model["metadata"]["namespace"] = namespace
    model["spec"]["autoscaling"]["metric"] = metric
    path = tmp_path / f"md-{namespace}-{metric}.yaml"
    path.write_text(yaml.safe_dump(model))
    return str(path)


def test_cli_writes_a_rule_file_or_a_prometheusrule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = str(ROOT / "examples/slopolicy.yaml")
    code, out, err = _run(["rules", "--demand", _files(tmp_path), policy], capsys)
    assert code == 0, err
    [group] = yaml.safe_load(out)["groups"]
    assert group["name"] == "roost-demand-models-fraud-scorer"
    code, out, err = _run(
        ["rules", "--demand", "--prometheus-rule", _files(tmp_path), policy], capsys
    )
    assert code == 0, err
    rule = yaml.safe_load(out)
    assert (rule["kind"], rule["metadata"]["namespace"]) == ("PrometheusRule", "models")
    assert rule["spec"]["groups"][0]["name"] == "roost-demand-models-fraud-scorer"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no-namespace", "metadata.namespace: the rules label the demand with its namespace"),
        ("no-policy", "names SLOPolicy fraud-scorer, which is not in the files given"),
        ("inflight", "no ModelDeployment with autoscaling.metric: Demand"),
        ("adapter", "--prometheus-adapter: not with --demand"),
        ("namespace-flag", "--namespace: only with --demand"),
    ],
)
def test_cli_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    policy = str(ROOT / "examples/slopolicy.yaml")
    argv = {
        "no-namespace": ["--demand", _files(tmp_path, namespace=None), policy],
        "no-policy": ["--demand", _files(tmp_path)],
        "inflight": ["--demand", _files(tmp_path, metric="InflightPerPod"), policy],
        "adapter": ["--demand", "--prometheus-adapter", _files(tmp_path), policy],
        "namespace-flag": ["--namespace", "models", policy],
    }[case]
    code, out, err = _run(["rules", *argv], capsys)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err
