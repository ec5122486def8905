"""Recording rules and burn-rate alerts generated from an SLOPolicy (SRE Workbook ch. 5)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from roost.api.slopolicy import SLOPolicySpec
from roost.cli import main
from roost.slo import recording
from roost.slo.recording import AlertingRule, RecordingRule, RulesError

ROOT = Path(__file__).parents[3]

AVAILABILITY = {
    "name": "availability",
    "target": 0.999,
    "ratio": {
        "errors": 'model_predictions_total{status="error"}',
        "total": "model_predictions_total",
    },
}
LATENCY = {
    "name": "latency",
    "target": 0.99,
    "latency": {"histogram": "model_request_duration_seconds", "threshold": "250ms"},
}


def _spec(**overrides: Any) -> SLOPolicySpec:
    return SLOPolicySpec.model_validate(
        {"period": "30d", "objectives": [AVAILABILITY], **overrides}
    )


def _rules(spec: SLOPolicySpec, **kwargs: Any) -> list[RecordingRule | AlertingRule]:
    return [
        rule for group in recording.rule_groups("fraud", spec, **kwargs) for rule in group.rules
    ]


def _records(spec: SLOPolicySpec, **kwargs: Any) -> dict[str, RecordingRule]:
    """Record name -> rule, for a policy with one objective."""
    return {r.record: r for r in _rules(spec, **kwargs) if isinstance(r, RecordingRule)}


def _alerts(spec: SLOPolicySpec, **kwargs: Any) -> list[AlertingRule]:
    return [r for r in _rules(spec, **kwargs) if isinstance(r, AlertingRule)]


# SRE Workbook ladder for 30d: 1h/5m, 6h/30m, 1d/2h, 3d/6h (ch. 5).
def test_every_window_of_the_ladder_records_numerator_and_denominator_separately() -> None:
    records = _records(_spec())
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"):
        for stem in ("sli_bad:increase", "sli_total:increase", "sli_error:ratio_rate"):
            assert f"roost_slo:{stem}{window}" in records
        assert f"roost_slo:burn_rate:ratio_rate{window}" in records


def test_windows_up_to_six_hours_read_the_raw_counters() -> None:
    records = _records(_spec())
    assert records["roost_slo:sli_total:increase6h"].expr == (
        "sum (increase(model_predictions_total[6h]))"
    )
    assert "increase(model_predictions_total{" in records["roost_slo:sli_bad:increase30m"].expr


def test_long_windows_and_the_period_are_sums_of_the_5m_counts() -> None:
    records = _records(_spec())
    selector = '{roost_slo="fraud", roost_objective="availability"}'
    for window in ("1d", "3d", "30d"):
        assert records[f"roost_slo:sli_bad:increase{window}"].expr == (
            f"sum_over_time(roost_slo:sli_bad:increase5m{selector}[{window}:5m])"
        )
        assert records[f"roost_slo:sli_total:increase{window}"].expr == (
            f"sum_over_time(roost_slo:sli_total:increase5m{selector}[{window}:5m])"
        )


def test_derived_windows_live_in_their_own_slower_group() -> None:
    groups = recording.rule_groups("fraud", _spec())
    assert [g.name for g in groups] == [
        "roost-slo-fraud-sli",
        "roost-slo-fraud-sli-long",
        "roost-slo-fraud-alerts",
    ]
    assert groups[1].interval == "1m"
    assert groups[0].interval is None
    long_records = {r.record for r in groups[1].rules if isinstance(r, RecordingRule)}
    assert "roost_slo:sli_total:increase1d" in long_records
    assert "roost_slo:sli_total:increase1h" not in long_records


def test_a_missing_error_series_counts_as_zero_errors_where_there_is_traffic() -> None:
    bad = _records(_spec())["roost_slo:sli_bad:increase5m"].expr
    assert bad == (
        '(sum (increase(model_predictions_total{status="error"}[5m]))) '
        "or (sum (increase(model_predictions_total[5m])) * 0)"
    )


def test_ratio_is_bad_over_total_and_burn_rate_divides_by_the_budget() -> None:
    records = _records(_spec())
    selector = '{roost_slo="fraud", roost_objective="availability"}'
    assert records["roost_slo:sli_error:ratio_rate1h"].expr == (
        f"roost_slo:sli_bad:increase1h{selector} / roost_slo:sli_total:increase1h{selector}"
    )
    # B = 1 - 0.999 exactly 0.001, not 0.0010000000000000009 (SLO vector 23).
    assert records["roost_slo:burn_rate:ratio_rate1h"].expr == (
        f"roost_slo:sli_error:ratio_rate1h{selector} / 0.001"
    )
    assert records["roost_slo:error_budget_remaining:ratio"].expr == (
        f"1 - roost_slo:burn_rate:ratio_rate30d{selector}"
    )
    assert records["roost_slo:objective:ratio"].expr == "vector(0.999)"
    assert records["roost_slo:error_budget:ratio"].expr == "vector(0.001)"


def test_latency_bad_is_count_minus_the_threshold_bucket() -> None:
    records = _records(_spec(objectives=[LATENCY]))
    bad = records["roost_slo:sli_bad:increase5m"].expr
    assert "model_request_duration_seconds_count[5m]" in bad
    assert 'model_request_duration_seconds_bucket{le=~"0\\\\.25|' in bad


def test_quality_counts_samples_outside_the_bounds() -> None:
    quality = {"name": "acc", "target": 0.95, "quality": {"metric": "model_acc", "min": 0.9}}
    records = _records(_spec(objectives=[quality]))
    assert "count_over_time(((model_acc < 0.9))[5m:30s])" in (
        records["roost_slo:sli_bad:increase5m"].expr
    )


def test_page_and_ticket_alerts_follow_the_workbook_ladder() -> None:
    burn = {
        a.labels["severity"]: a for a in _alerts(_spec()) if a.alert == "RoostSLOErrorBudgetBurn"
    }
    selector = '{roost_slo="fraud", roost_objective="availability"}'
    assert burn["page"].expr == (
        f"(roost_slo:burn_rate:ratio_rate1h{selector} > 14.4 and "
        f"roost_slo:burn_rate:ratio_rate5m{selector} > 14.4) or "
        f"(roost_slo:burn_rate:ratio_rate6h{selector} > 6.0 and "
        f"roost_slo:burn_rate:ratio_rate30m{selector} > 6.0)"
    )
    assert "ratio_rate1d" in burn["ticket"].expr
    assert "ratio_rate3d" in burn["ticket"].expr
    assert "> 1.0" in burn["ticket"].expr


# Sloth's 28d catalogue: 13.44 / 5.6 / 2.8 / 0.9333 (internal/alert/windows/google-28d.yaml).
def test_default_burn_rates_scale_to_a_28_day_period() -> None:
    burn = {
        a.labels["severity"]: a.expr
        for a in _alerts(_spec(period="28d"))
        if a.alert == "RoostSLOErrorBudgetBurn"
    }
    assert "> 13.44 and" in burn["page"]
    assert "> 5.6 and" in burn["page"]
    assert "> 0.933333 and" in burn["ticket"]


def test_the_policys_own_burn_rate_rules_replace_the_ladder() -> None:
    spec = _spec(
        period="1h",
        burnRateRules=[{"longWindow": "1m", "shortWindow": "10s", "burnRate": 10}],
    )
    records = _records(spec)
    assert "roost_slo:sli_total:increase10s" in records
    assert "roost_slo:sli_total:increase5m" not in records
    # The period is derived from the shortest window's counts even when it is short.
    assert records["roost_slo:sli_total:increase1h"].expr.endswith("[1h:10s])")
    alerts = _alerts(spec)
    assert [a.labels["severity"] for a in alerts] == ["page", "ticket"]
    assert alerts[0].expr.count(" and ") == 1
    assert alerts[1].alert == "RoostSLONoData"
    assert alerts[1].for_ == "10s"
    groups = recording.rule_groups("fraud", spec)
    assert groups[1].interval == "10s"


def test_no_data_alert_fires_on_absent_series_the_sli_needs() -> None:
    alerts = {
        a.labels["roost_objective"]: a
        for a in _alerts(_spec(objectives=[AVAILABILITY, LATENCY]))
        if a.alert == "RoostSLONoData"
    }
    assert alerts["availability"].expr == "absent(model_predictions_total)"
    assert alerts["availability"].for_ == "5m"
    assert alerts["latency"].expr.startswith(
        "absent(model_request_duration_seconds_count) or "
        "absent(model_request_duration_seconds_bucket{"
    )


def test_selector_labels_scope_every_series_and_label_every_rule() -> None:
    rules = _rules(_spec(), selector_labels={"model": 'x"}) or vector(1) #'})
    escaped = 'model="x\\"}) or vector(1) #"'
    total = next(
        r for r in rules if isinstance(r, RecordingRule) and r.record.endswith("total:increase5m")
    )
    assert total.expr == f"sum (increase(model_predictions_total{{{escaped}}}[5m]))"
    for rule in rules:
        assert rule.labels["model"] == 'x"}) or vector(1) #'
        assert rule.labels["roost_slo"] == "fraud"
        assert rule.labels["roost_objective"] == "availability"


def test_group_by_keeps_a_series_per_version() -> None:
    records = _records(_spec(), group_by=["version"])
    assert records["roost_slo:sli_total:increase5m"].expr == (
        "sum by (version) (increase(model_predictions_total[5m]))"
    )


@pytest.mark.parametrize(
    ("labels", "group_by", "message"),
    [
        ({"roost_slo": "x"}, [], "Roost's own"),
        ({"bad-name": "x"}, [], "not a Prometheus label name"),
        ({"__name__": "x"}, [], "not a Prometheus label name"),
        ({"version": "v1"}, ["version"], "both a selector label and a group-by label"),
    ],
)
def test_label_names_that_would_clash_are_refused(
    labels: dict[str, str], group_by: list[str], message: str
) -> None:
    with pytest.raises(RulesError, match=message):
        recording.rule_groups("fraud", _spec(), selector_labels=labels, group_by=group_by)


def test_a_period_too_short_for_any_default_window_is_refused() -> None:
    with pytest.raises(RulesError, match="no burn-rate rules"):
        recording.rule_groups("fraud", _spec(period="30m"))


def test_names_are_namespaced_and_well_formed() -> None:
    spec = _spec(objectives=[AVAILABILITY, LATENCY])
    for rule in _rules(spec):
        if isinstance(rule, RecordingRule):
            assert re.fullmatch(r"roost_slo:[a-z_]+:[a-z_]+[0-9a-z]*", rule.record), rule.record
        else:
            assert rule.alert in {"RoostSLOErrorBudgetBurn", "RoostSLONoData"}
        assert all(re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", k) for k in rule.labels)


def test_two_objectives_never_produce_duplicate_rules() -> None:
    rules = _rules(_spec(objectives=[AVAILABILITY, LATENCY]))
    keys = [
        (r.record if isinstance(r, RecordingRule) else r.alert, tuple(sorted(r.labels.items())))
        for r in rules
    ]
    assert len(keys) == len(set(keys))


def test_rule_file_is_plain_yaml_data() -> None:
    document = recording.rule_file("fraud", _spec())
    assert yaml.safe_load(yaml.safe_dump(document)) == document
    first = document["groups"][0]["rules"][0]
    assert set(first) == {"record", "expr", "labels"}
    alert = document["groups"][2]["rules"][-1]
    assert alert["for"] == "5m"


# --- roost rules ---------------------------------------------------------------------


def test_cli_prints_a_rule_file_for_the_example_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["rules", str(ROOT / "examples/slopolicy.yaml"), "--selector-labels", "model=fraud"])
        == 0
    )
    document = yaml.safe_load(capsys.readouterr().out)
    names = [g["name"] for g in document["groups"]]
    assert names == [
        "roost-slo-fraud-scorer-sli",
        "roost-slo-fraud-scorer-sli-long",
        "roost-slo-fraud-scorer-alerts",
    ]
    assert all(r["labels"]["model"] == "fraud" for g in document["groups"] for r in g["rules"])


def test_cli_can_wrap_the_rules_in_a_prometheusrule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", str(ROOT / "examples/slopolicy.yaml"), "--prometheus-rule"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert document["kind"] == "PrometheusRule"
    assert document["metadata"]["name"] == "roost-slo-fraud-scorer"
    assert len(document["spec"]["groups"]) == 3


def _exit_code(argv: list[str]) -> int:
    """main()'s return value, or the code of the SystemExit argparse raises."""
    try:
        return main(argv)
    except SystemExit as done:
        return int(done.code or 0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["examples/modeldeployment.yaml"],
            "kind: got the string 'ModelDeployment'; write SLOPolicy",
        ),
        (["examples/invalid/slopol-target-one.yaml"], "spec.objectives[0].target"),
        (["examples/slopolicy.yaml", "--group-by", "roost_x"], "Roost's own"),
        (["examples/slopolicy.yaml", "--selector-labels", "model"], "expected LABEL=VALUE"),
        (["does-not-exist.yaml"], "No such file"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    assert _exit_code(["rules", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
