"""prometheus-adapter's rules for Roost's HPA metrics, and `roost rules --prometheus-adapter`.

The rules' fields are those of prometheus-adapter's configuration reference
(docs/config.md, docs/externalmetrics.md in sigs.k8s.io/prometheus-adapter v0.12.0);
the integration test tests/integration/test_metrics_adapter.py has a real adapter
serve them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from roost.api.modeldeployment import DEMAND_METRIC
from roost.capacity.adapter_rules import (
    AdapterRulesError,
    external_rule,
    pods_rule,
    prometheus_adapter_config,
)
from roost.capacity.hpa import DEFAULT_INFLIGHT_METRIC, DEFAULT_RECOMMENDED_REPLICAS_METRIC
from roost.cli import main

ROOT = Path(__file__).parents[3]


def test_the_default_config_serves_every_metric_shape_roost_writes() -> None:
    config = prometheus_adapter_config()
    assert [r["name"]["as"] for r in config["rules"]] == [DEFAULT_INFLIGHT_METRIC]
    assert [r["name"]["as"] for r in config["externalRules"]] == [
        DEFAULT_RECOMMENDED_REPLICAS_METRIC,
        DEMAND_METRIC,
    ]


def test_the_inflight_rule_maps_series_to_pods_by_namespace_and_pod_labels() -> None:
    rule = pods_rule("model_inflight_requests", namespace_label="namespace", pod_label="pod")
    assert rule["seriesQuery"] == 'model_inflight_requests{namespace!="",pod!=""}'
    assert rule["resources"] == {
        "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    }
    assert rule["name"] == {"matches": "^model_inflight_requests$", "as": "model_inflight_requests"}
    # A pod's in flight is the sum of its series (a gauge per model or per worker).
    assert rule["metricsQuery"] == "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"


def test_the_recommended_replicas_rule_asks_one_value_so_copies_never_add_up() -> None:
    rule = external_rule("model_recommended_replicas", namespace_label="namespace")
    assert rule["seriesQuery"] == 'model_recommended_replicas{namespace!=""}'
    assert rule["resources"] == {"overrides": {"namespace": {"resource": "namespace"}}}
    assert rule["metricsQuery"] == "max(<<.Series>>{<<.LabelMatchers>>})"


def test_other_label_names_are_used_in_the_query_and_the_overrides() -> None:
    config = prometheus_adapter_config(
        namespace_label="kubernetes_namespace", pod_label="kubernetes_pod_name"
    )
    [rule] = config["rules"]
    assert rule["seriesQuery"] == (
        'model_inflight_requests{kubernetes_namespace!="",kubernetes_pod_name!=""}'
    )
    assert set(rule["resources"]["overrides"]) == {"kubernetes_namespace", "kubernetes_pod_name"}
    assert set(config["externalRules"][0]["resources"]["overrides"]) == {"kubernetes_namespace"}


def test_each_metric_gets_one_rule_in_name_order() -> None:
    config = prometheus_adapter_config(
        inflight_metrics=["z_inflight", "model_inflight_requests", "z_inflight"],
        external_metrics=[],
    )
    assert [r["name"]["as"] for r in config["rules"]] == ["model_inflight_requests", "z_inflight"]
    assert config["externalRules"] == []


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"inflight_metrics": ['x"} or vector(1)']}, "not a Prometheus metric name"),
        ({"external_metrics": ["9lives"]}, "not a Prometheus metric name"),
        ({"pod_label": "pod-name"}, "pod label 'pod-name' is not a Prometheus label name"),
        ({"namespace_label": "__name__"}, "namespace label"),
        ({"pod_label": "namespace"}, "must differ"),
        ({"inflight_metrics": [], "external_metrics": []}, "no metric to serve"),
    ],
)
def test_names_that_would_make_a_broken_or_injected_query_are_refused(
    kwargs: dict[str, object], fragment: str
) -> None:
    with pytest.raises(AdapterRulesError, match=fragment):
        prometheus_adapter_config(**kwargs)  # type: ignore[arg-type]


# --- roost rules --prometheus-adapter -------------------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_writes_the_default_config_without_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["rules", "--prometheus-adapter"], capsys)
    assert code == 0
    assert yaml.safe_load(out) == prometheus_adapter_config()


def test_cli_adds_the_inflight_metric_of_each_modeldeployment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = yaml.safe_load((ROOT / "examples/modeldeployment.yaml").read_text())
    example["metadata"]["name"] = "other"
    example["spec"]["autoscaling"]["inflightMetric"] = "vllm_num_requests_running"
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(example))
    argv = [
        "rules",
        "--prometheus-adapter",
        str(ROOT / "examples/modeldeployment.yaml"),
        str(ROOT / "examples/slopolicy.yaml"),  # an SLOPolicy names no HPA metric
        str(other),
        "--external-metric",
        "roost:recommended_replicas",
    ]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    config = yaml.safe_load(out)
    assert [r["name"]["as"] for r in config["rules"]] == [
        "model_inflight_requests",
        "vllm_num_requests_running",
    ]
    assert [r["name"]["as"] for r in config["externalRules"]] == [
        "model_recommended_replicas",
        "roost:demand_rate",
        "roost:recommended_replicas",
    ]


def test_cli_wraps_the_config_in_a_configmap_an_adapter_install_mounts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(["rules", "--prometheus-adapter", "--configmap", "adapter-rules"], capsys)
    assert code == 0
    document = yaml.safe_load(out)
    assert (document["kind"], document["metadata"]["name"]) == ("ConfigMap", "adapter-rules")
    assert yaml.safe_load(document["data"]["config.yaml"]) == prometheus_adapter_config()
    assert "config.yaml: |" in out  # a literal block, readable as the file it is


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["rules"], "give one SLOPolicy file, got 0"),
        (["rules", "--prometheus-adapter", "--group-by", "version"], "--group-by: not with"),
        (["rules", str(ROOT / "examples/slopolicy.yaml"), "--pod-label", "p"], "--pod-label"),
        (["rules", "--prometheus-adapter", "--pod-label", "a-b"], "not a Prometheus label"),
        (
            ["rules", "--prometheus-adapter", str(ROOT / "examples/invalid")],
            "examples/invalid",
        ),
    ],
)
def test_cli_refuses_what_it_cannot_use_in_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert err.startswith("roost: error: ")
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_cli_writes_values_for_the_community_chart_that_register_both_apis(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """prometheus-community/prometheus-adapter registers custom.metrics.k8s.io when
    rules.default or rules.custom is set and external.metrics.k8s.io when rules.external
    is (its templates/*-apiservice.yaml), and writes both lists into its config."""
    code, out, _ = _run(["rules", "--prometheus-adapter", "--helm-values"], capsys)
    assert code == 0
    config = prometheus_adapter_config()
    assert yaml.safe_load(out) == {
        "rules": {
            "default": False,
            "custom": config["rules"],
            "external": config["externalRules"],
        }
    }
    code, _, err = _run(
        ["rules", "--prometheus-adapter", "--helm-values", "--configmap", "x"], capsys
    )
    assert code == 2
    assert "give one" in err
