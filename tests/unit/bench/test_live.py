"""B5's pure parts: the arms' objects, reading outcomes from status, the prediction, the table.

Nothing here builds or runs Flagger, starts a cluster or opens a socket.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from bench.live import build, manifests, predict, report, runs

from harness.dataplane import FLAGGER_BACKENDS, ROOST_BACKENDS, route_weights
from roost.api.modeldeployment import ModelDeployment
from roost.api.slopolicy import SLOPolicy

S = manifests.Settings()
PROM = "http://127.0.0.1:9090"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# -- Flagger's objects ----------------------------------------------------------------


def test_canary_uses_the_gateway_api_provider_and_the_prototype_settings() -> None:
    canary = manifests.flagger_canary("ns", S)
    spec = canary["spec"]
    assert spec["provider"] == "gatewayapi:v1"
    assert spec["targetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scorer"}
    assert spec["service"]["gatewayRefs"] == [{"name": "gateway", "namespace": "ns"}]
    analysis = spec["analysis"]
    assert (analysis["interval"], analysis["threshold"]) == ("30s", 5)
    assert (analysis["stepWeight"], analysis["maxWeight"]) == (10, 50)
    ranges = {m["name"]: m["thresholdRange"] for m in analysis["metrics"]}
    assert ranges == {"success-rate": {"min": 99.0}, "latency-p99": {"max": 250.0}}
    assert {m["interval"] for m in analysis["metrics"]} == {"30s"}


def test_every_canary_check_names_a_metric_template_of_the_prometheus_provider() -> None:
    templates = manifests.metric_templates("m1", "v2", PROM)
    names = {t["metadata"]["name"] for t in templates}
    refs = {
        m["templateRef"]["name"]
        for m in manifests.flagger_canary("ns", S)["spec"]["analysis"]["metrics"]
    }
    assert refs == names
    for template in templates:
        assert template["kind"] == "MetricTemplate"
        assert template["spec"]["provider"] == {"type": "prometheus", "address": PROM}
        # Flagger fills the window in; the selector pins this run's model and the canary.
        assert "[{{ interval }}]" in template["spec"]["query"]
        assert 'model="m1",version="v2"' in template["spec"]["query"]


def test_success_rate_is_the_canary_versions_ok_share_in_percent() -> None:
    query = manifests.success_rate_query("m1", "v2")
    assert query == (
        'sum(rate(model_predictions_total{model="m1",version="v2",status="ok"}[{{ interval }}]))'
        ' / sum(rate(model_predictions_total{model="m1",version="v2"}[{{ interval }}])) * 100'
    )


def test_latency_is_the_histograms_p99_in_milliseconds() -> None:
    query = manifests.latency_query("m1", "v2")
    assert query.startswith(
        "histogram_quantile(0.99, sum(rate(model_request_duration_seconds_bucket"
    )
    assert query.endswith("by (le)) * 1000")


def test_a_new_version_changes_the_pod_template_flagger_hashes() -> None:
    deployment = manifests.flagger_deployment("m1", "v1")
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == {"app": "scorer"}  # Flagger's default selector label
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == {"app": "scorer", "version": "v1"}
    patch = manifests.flagger_new_version("m1", "v2")["spec"]["template"]
    assert patch["metadata"]["labels"] == {"version": "v2"}
    # The whole container, so a merge patch that replaces the list keeps its port.
    assert patch["spec"]["containers"] == [{**template["spec"]["containers"][0], "image": "m1:v2"}]


# -- Roost's objects ------------------------------------------------------------------


def test_roost_objects_are_valid_and_carry_the_same_slo() -> None:
    policy = SLOPolicy.model_validate(manifests.roost_policy(S))
    targets = {o.name: o.target for o in policy.spec.objectives}
    assert targets == {"availability": 0.999, "latency": 0.99}
    md = ModelDeployment.model_validate(manifests.roost_model_deployment("m1", "v1", S))
    assert [s.weight for s in md.spec.rollout.steps] == [10, 20, 30, 40, 50]
    assert {s.pause for s in md.spec.rollout.steps} == {"30s"}
    assert md.spec.rollout.analysis_interval == "30s"
    assert md.spec.traffic.gateway_api is not None
    assert md.spec.traffic.gateway_api.http_route == "scorer"
    assert md.spec.metrics.labels == {"model": "m1"}


def test_roost_route_starts_on_the_stable_backend() -> None:
    route = manifests.roost_route()
    assert route_weights(route, "scorer") == {"stable": 100.0}


# -- the load generator reads either arm's route --------------------------------------


def _route(*refs: tuple[str, int]) -> dict[str, Any]:
    return {"spec": {"rules": [{"backendRefs": [{"name": n, "weight": w} for n, w in refs]}]}}


def test_flagger_primary_and_canary_backends_are_the_stable_and_canary_roles() -> None:
    route = _route(("scorer-primary", 70), ("scorer-canary", 30))
    assert route_weights(route, "scorer", FLAGGER_BACKENDS) == {"stable": 70.0, "canary": 30.0}
    # Roost's names are not Flagger's: read the wrong way, the route sends nothing.
    assert route_weights(route, "scorer", ROOST_BACKENDS) == {"canary": 30.0}


# -- runs and their outcomes ----------------------------------------------------------


def test_every_planned_run_has_its_own_valid_namespace_and_a_seed_shared_by_the_arms() -> None:
    planned = runs.plan(runs.ARMS, tuple(runs.CASES), {1.0: 3, 10.0: 3, 100.0: 3})
    assert len(planned) == 2 * 4 * 3 * 3
    namespaces = [r.namespace for r in planned]
    assert len(set(namespaces)) == len(planned)
    assert all(DNS_LABEL.match(ns) and len(ns) <= 63 for ns in namespaces)
    by_run: dict[tuple[str, float, int], set[int]] = {}
    for r in planned:
        by_run.setdefault((r.case, r.rps, r.run), set()).add(r.seed)
    assert all(len(seeds) == 1 for seeds in by_run.values())
    assert len({next(iter(s)) for s in by_run.values()}) == len(by_run)


@pytest.mark.parametrize(
    ("phase", "outcome"),
    [
        ("Initialized", None),
        ("Progressing", None),
        ("Promoting", runs.PROMOTED),
        ("Finalising", runs.PROMOTED),
        ("Succeeded", runs.PROMOTED),
        ("Failed", runs.ROLLED_BACK),
    ],
)
def test_flagger_decides_at_promoting_or_failed(phase: str, outcome: str | None) -> None:
    assert runs.flagger_decision({"phase": phase}) == outcome


def test_flagger_promotion_is_complete_at_succeeded_only() -> None:
    assert not runs.flagger_complete({"phase": "Promoting"})
    assert runs.flagger_complete({"phase": "Succeeded"})
    assert runs.flagger_decision(None) is None


def test_roost_promotes_when_the_new_version_is_stable() -> None:
    before = {"phase": "Succeeded", "stableVersion": "v1"}
    assert runs.roost_decision(before) is None  # v1's own promotion, before the rollout
    progressing = {"phase": "Progressing", "stableVersion": "v1", "canaryVersion": "v2"}
    assert runs.roost_decision(progressing) is None
    assert runs.roost_decision({"phase": "Succeeded", "stableVersion": "v2"}) == runs.PROMOTED
    rolled = {"phase": "RolledBack", "stableVersion": "v1", "canaryVersion": "v2"}
    assert runs.roost_decision(rolled) == runs.ROLLED_BACK
    held = {"phase": "Paused", "stableVersion": "v1", "canaryVersion": "v2"}
    assert runs.roost_decision(held) == runs.HELD


def test_roost_reason_is_the_progressing_conditions() -> None:
    status = {"conditions": [{"type": "Ready"}, {"type": "Progressing", "reason": "Promoted"}]}
    assert runs.roost_reason(status) == "Promoted"
    assert runs.roost_reason({}) == ""


# -- the prediction -------------------------------------------------------------------


def test_predicted_roost_runs_the_live_rollout_up_to_the_cap() -> None:
    case = runs.RunSpec("roost", "healthy", 10.0, 0).scenario
    document = predict.roost_document(case, 3, S, 2700.0)
    assert document["duration"] == "2700s"
    assert document["modelDeployment"]["rollout"] == manifests.roost_rollout(S)
    assert document["traffic"] == {"rps": 10.0}


def test_predicted_flagger_uses_the_live_settings_and_splits_decision_from_completion() -> None:
    settings = predict.flagger_settings(S)
    assert (settings.interval_seconds, settings.threshold) == (30.0, 5)
    assert settings.max_p99_seconds == pytest.approx(0.25)
    row = predict.run(predict.Task("flagger", "healthy", 100.0, 0, 2700.0))
    assert row["outcome"] == runs.PROMOTED
    # Decided at the last check; complete two intervals later.
    assert row["complete_seconds"] - row["decision_seconds"] == pytest.approx(60.0)


def test_a_prediction_past_the_cap_is_undecided_at_the_cap() -> None:
    row = predict.run(predict.Task("flagger", "healthy", 100.0, 0, 60.0))
    assert (row["outcome"], row["decision_seconds"]) == (runs.UNDECIDED, 60.0)


# -- the report -----------------------------------------------------------------------


def _row(arm: str, outcome: str, minutes: float, run: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "arm": arm,
        "case": "errors 2 %",
        "rps": 100.0,
        "run": run,
        "outcome": outcome,
        "decision_seconds": 60 * minutes,
        "canary_requests": 100 * (run + 1),
        "bad_requests": run + 1,
        **extra,
    }


ROWS = [
    _row("roost", runs.ROLLED_BACK, 1.0, 0),
    _row("roost", runs.ROLLED_BACK, 2.0, 1),
    _row("roost", runs.UNDECIDED, 45.0, 2),
    _row("flagger", runs.PROMOTED, 3.0, 0, complete_seconds=240.0),
]


def test_summary_counts_outcomes_and_takes_medians_per_case_rate_and_arm() -> None:
    summary = report.summarise(ROWS)
    roost = summary["errors 2 %|100|roost"]
    assert (roost["runs"], roost[runs.ROLLED_BACK], roost[runs.UNDECIDED]) == (3, 2, 1)
    assert roost["minutes"]["median"] == 2.0
    assert roost["canary_requests_median"] == 200
    assert summary["errors 2 %|100|flagger"][runs.PROMOTED] == 1


def test_table_puts_each_live_run_beside_the_prediction() -> None:
    predicted = report.summarise([_row("roost", runs.ROLLED_BACK, 1.5)])
    text = report.table(ROWS, predicted)
    roost = next(line for line in text.splitlines() if "| roost |" in line)
    assert "rolled back 2/3, undecided at the cap 1/3" in roost
    assert "1.0 · 2.0 · 45.0" in roost  # one value per run, in run order
    assert "| 100 · 200 · 300 |" in roost
    assert "rolled back 100 %" in roost
    flagger = next(line for line in text.splitlines() if "| flagger |" in line)
    assert flagger.endswith("| – | – | – | – |")  # nothing predicted for it here


def test_flagger_completion_is_measured_from_promoting_to_succeeded() -> None:
    assert "1.0 (1.0–1.0) min" in report.flagger_completion(ROWS)
    assert report.flagger_completion(ROWS[:3]) == ""


# -- the build's pin ------------------------------------------------------------------


def test_the_flagger_pin_is_read_from_its_key_value_file(tmp_path: Path) -> None:
    pins = tmp_path / "versions.env"
    pins.write_text("# FLAGGER_VERSION=v0.0.0 in a comment\nFLAGGER_VERSION=v1.36.1\n")
    assert build.pinned_version(pins) == "v1.36.1"
    assert re.match(r"^v\d+\.\d+\.\d+$", build.pinned_version())


def test_detection_is_the_recorded_moment_or_the_first_progressing_status() -> None:
    timeline = [[3.0, "Initialized", 0], [28.0, "Progressing", 0], [58.0, "Progressing", 10]]
    assert report.detection_seconds({"timeline": timeline}) == 28.0
    assert report.detection_seconds({"timeline": timeline, "detected_seconds": 27.5}) == 27.5
    assert report.detection_seconds({"timeline": []}) is None


def test_agreement_names_rows_whose_live_runs_the_prediction_does_not_account_for() -> None:
    predicted = report.summarise(
        [_row("roost", runs.ROLLED_BACK, 1.0 + k / 10, k) for k in range(20)]
        + [_row("flagger", runs.ROLLED_BACK, 3.0, k) for k in range(20)]
    )
    live = [
        # Decided 1.5 min after a detection at 0.5 min: 1.0 from detection, as predicted.
        _row("roost", runs.ROLLED_BACK, 1.5, 0, detected_seconds=30.0),
        _row("flagger", runs.PROMOTED, 3.0, 0, detected_seconds=0.0),  # never predicted
    ]
    text = report.agreement(live, predicted)
    assert text.startswith("**Live against predicted.** In 1 of 2 rows")
    assert "- errors 2 % at 100 req/s, flagger: promoted 1/1 live, 0.0 % predicted" in text
    assert "roost:" not in text


def test_an_arm_has_noticed_the_new_version_once_its_status_shows_the_rollout() -> None:
    from bench.live import driver

    assert not driver._detected("flagger", {"phase": "Initialized"})
    assert driver._detected("flagger", {"phase": "Progressing", "canaryWeight": 0})
    assert not driver._detected("roost", {"phase": "Succeeded", "stableVersion": "v1"})
    assert driver._detected("roost", {"phase": "Progressing", "canaryVersion": "v2"})


def test_weight_raises_are_timed_from_one_steps_weight_to_the_next() -> None:
    timeline = [
        [2.0, "Progressing", 10],
        [45.0, "Progressing", 20],
        [106.0, "Progressing", 30],
        [287.0, "Succeeded", 0],
    ]
    assert report.step_seconds({"timeline": timeline}) == [43.0, 61.0]
    assert report.step_seconds({"timeline": [[5.0, "Failed", 0]]}) == []
