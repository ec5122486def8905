"""What a ModelDeployment says when its HPA cannot read its metric (rollout/metric_path.py).

The HPA messages are those kube-controller-manager v1.34 writes
(pkg/controller/podautoscaler: "the HPA was unable to compute the replica count: "
and the metrics client's error, k8s.io/metrics and custom-metrics-apiserver).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from roost.api.status import Condition, ConditionStatus
from roost.rollout import metric_path
from roost.rollout.actions import EventType
from roost.rollout.metric_path import (
    CONDITION,
    HpaCondition,
    HpaReading,
    MetricKind,
    Missing,
    assess,
    classify,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
UNABLE = "the HPA was unable to compute the replica count: "
NO_API = (
    UNABLE + "unable to get metric model_inflight_requests: unable to fetch metrics from "
    "custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered"
)
NOT_SERVED = (
    UNABLE + "unable to get metric model_inflight_requests: unable to fetch metrics from "
    "custom metrics API: the server could not find the metric model_inflight_requests for pods"
)
NO_VALUES = (
    UNABLE + "unable to get metric model_inflight_requests: no metrics returned from custom "
    "metrics API"
)
EXTERNAL_NO_API = (
    UNABLE + "unable to get external metric models/model_recommended_replicas/nil: unable to "
    "fetch metrics from external metrics API: the server could not find the requested resource "
    "(get model_recommended_replicas.external.metrics.k8s.io)"
)
DOWN = (
    UNABLE + "unable to get metric model_inflight_requests: unable to fetch metrics from "
    "custom metrics API: the server is currently unable to handle the request "
    "(get pods.custom.metrics.k8s.io *)"
)


def failing(
    message: str = NO_API,
    *,
    seconds_ago: float = 120,
    name: str = "scorer-stable",
    kind: MetricKind = MetricKind.PODS,
    metric: str = "model_inflight_requests",
) -> HpaReading:
    reason = "FailedGetPodsMetric" if kind is MetricKind.PODS else "FailedGetExternalMetric"
    return HpaReading(
        name=name,
        metric=metric,
        kind=kind,
        conditions=[
            HpaCondition(type="AbleToScale", status="True", reason="SucceededGetScale"),
            HpaCondition(
                type="ScalingActive",
                status="False",
                reason=reason,
                message=message,
                last_transition_time=NOW - timedelta(seconds=seconds_ago),
            ),
        ],
    )


def reading_ok(name: str = "scorer-stable") -> HpaReading:
    return HpaReading(
        name=name,
        metric="model_inflight_requests",
        kind=MetricKind.PODS,
        conditions=[HpaCondition(type="ScalingActive", status="True", reason="ValidMetricFound")],
    )


def condition(status: ConditionStatus, reason: str) -> Condition:
    return Condition(
        type=CONDITION, status=status, reason=reason, last_transition_time=NOW - timedelta(hours=1)
    )


@pytest.mark.parametrize(
    ("message", "missing"),
    [
        (NO_API, Missing.NO_METRICS_API),
        (EXTERNAL_NO_API, Missing.NO_METRICS_API),
        (NOT_SERVED, Missing.METRIC_NOT_SERVED),
        (NO_VALUES, Missing.NO_VALUES),
        (
            UNABLE + "did not receive metrics for targeted pods (pods might be unready)",
            Missing.NO_VALUES,
        ),
        (DOWN, Missing.METRICS_API_DOWN),
        (UNABLE + "something new", Missing.UNREADABLE),
    ],
)
def test_the_hpas_error_tells_what_is_missing(message: str, missing: Missing) -> None:
    assert classify(message) is missing


def test_no_custom_metrics_api_is_a_warning_naming_the_metric_and_the_fix() -> None:
    health = assess([failing()], previous=None, now=NOW, generation=3)
    assert health.condition is not None
    assert health.condition.type == CONDITION
    assert health.condition.status is ConditionStatus.FALSE
    assert health.condition.reason == "NoMetricsAPI"
    assert health.condition.observed_generation == 3
    assert health.condition.message.startswith(
        "the HPA scorer-stable cannot read model_inflight_requests: no custom.metrics.k8s.io "
        "API is serving it; install prometheus-adapter with the rules of "
        "`roost rules --prometheus-adapter`"
    )
    assert health.condition.message.endswith(f"(HPA: FailedGetPodsMetric: {NO_API})")
    assert health.event is not None
    assert health.event.type is EventType.WARNING
    assert health.event.reason == "ScalingMetricUnavailable"
    assert health.event.message == health.condition.message


def test_an_external_metric_names_the_external_metrics_api() -> None:
    reading = failing(
        EXTERNAL_NO_API, kind=MetricKind.EXTERNAL, metric="model_recommended_replicas"
    )
    health = assess([reading], previous=None, now=NOW, generation=1)
    assert health.condition is not None
    assert "cannot read model_recommended_replicas: no external.metrics.k8s.io API" in (
        health.condition.message
    )


def test_a_metric_the_adapter_has_no_rule_for_says_to_add_the_rule() -> None:
    health = assess([failing(NOT_SERVED)], previous=None, now=NOW, generation=1)
    assert health.condition is not None
    assert health.condition.reason == "MetricNotServed"
    assert "does not serve model_inflight_requests; add its rule" in health.condition.message


def test_no_series_for_the_pods_points_at_the_scrape_and_its_labels() -> None:
    health = assess([failing(NO_VALUES)], previous=None, now=NOW, generation=1)
    assert health.condition is not None
    assert health.condition.reason == "NoMetricValues"
    assert "no series of it with namespace and pod labels" in health.condition.message


def test_a_failure_younger_than_the_grace_says_nothing_yet() -> None:
    health = assess(
        [failing(seconds_ago=59)], previous=None, now=NOW, generation=1, grace_seconds=60
    )
    assert health.condition is None
    assert health.event is None
    later = assess(
        [failing(seconds_ago=60)], previous=None, now=NOW, generation=1, grace_seconds=60
    )
    assert later.condition is not None


def test_a_failure_already_reported_for_the_same_reason_sends_no_second_event() -> None:
    previous = condition(ConditionStatus.FALSE, "NoMetricsAPI")
    health = assess([failing()], previous=previous, now=NOW, generation=1)
    assert health.condition is not None
    assert health.event is None


def test_a_new_reason_for_the_failure_is_a_new_warning() -> None:
    previous = condition(ConditionStatus.FALSE, "NoMetricsAPI")
    health = assess([failing(NOT_SERVED)], previous=previous, now=NOW, generation=1)
    assert health.event is not None
    assert health.event.type is EventType.WARNING


def test_recovery_is_true_with_a_normal_event_once() -> None:
    previous = condition(ConditionStatus.FALSE, "NoMetricsAPI")
    health = assess([reading_ok()], previous=previous, now=NOW, generation=1)
    assert health.condition is not None
    assert health.condition.status is ConditionStatus.TRUE
    assert health.condition.reason == "MetricRead"
    assert health.event is not None
    assert (health.event.type, health.event.reason) == (EventType.NORMAL, "ScalingMetricAvailable")
    again = assess([reading_ok()], previous=health.condition, now=NOW, generation=1)
    assert again.condition is not None
    assert again.event is None


def test_a_first_reading_that_works_sends_no_event() -> None:
    health = assess([reading_ok()], previous=None, now=NOW, generation=1)
    assert health.condition is not None
    assert health.condition.status is ConditionStatus.TRUE
    assert health.event is None


def test_the_canarys_hpa_failing_is_reported_even_while_the_stables_works() -> None:
    readings = [reading_ok("scorer-stable"), failing(NOT_SERVED, name="scorer-canary")]
    health = assess(readings, previous=None, now=NOW, generation=1)
    assert health.condition is not None
    assert health.condition.status is ConditionStatus.FALSE
    assert "the HPA scorer-canary cannot read" in health.condition.message


def test_one_hpa_failing_within_its_grace_keeps_the_others_success_unsaid() -> None:
    readings = [reading_ok("scorer-stable"), failing(name="scorer-canary", seconds_ago=5)]
    assert assess(readings, previous=None, now=NOW, generation=1).condition is None


@pytest.mark.parametrize(
    "conditions",
    [
        [],  # not synced by the HPA controller yet
        [HpaCondition(type="ScalingActive", status="False", reason="ScalingDisabled")],
        [HpaCondition(type="ScalingActive", status="False", reason="FailedGetResourceMetric")],
    ],
)
def test_an_hpa_state_that_is_not_about_its_metric_changes_nothing(
    conditions: list[HpaCondition],
) -> None:
    reading = HpaReading(
        name="scorer-stable",
        metric="model_inflight_requests",
        kind=MetricKind.PODS,
        conditions=conditions,
    )
    previous = condition(ConditionStatus.FALSE, "NoMetricsAPI")
    health = assess([reading], previous=previous, now=NOW, generation=1)
    assert health.condition is None
    assert health.event is None


def test_no_hpa_at_all_changes_nothing() -> None:
    assert assess([], previous=None, now=NOW, generation=1).condition is None


# --- an HPA's body as assess reads it --------------------------------------------------


def _hpa_body(metric: dict[str, object], *conditions: dict[str, str]) -> dict[str, object]:
    return {"spec": {"metrics": [metric]}, "status": {"conditions": list(conditions)}}


def test_an_hpa_body_is_read_as_its_metric_and_conditions() -> None:
    from datetime import UTC, datetime

    from roost.rollout.metric_path import MetricKind

    body = _hpa_body(
        {"type": "Pods", "pods": {"metric": {"name": "model_inflight_requests"}}},
        {
            "type": "ScalingActive",
            "status": "False",
            "reason": "FailedGetPodsMetric",
            "message": "the HPA was unable to compute the replica count: ...",
            "lastTransitionTime": "2026-12-07T01:02:03Z",
        },
    )
    reading = metric_path.reading("scorer-stable", body)
    assert reading is not None
    assert (reading.name, reading.metric, reading.kind) == (
        "scorer-stable",
        "model_inflight_requests",
        MetricKind.PODS,
    )
    [active] = reading.conditions
    assert active.reason == "FailedGetPodsMetric"
    assert active.last_transition_time == datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC)


def test_an_external_metric_hpa_is_read_and_a_resource_one_is_not_roosts() -> None:
    from roost.rollout.metric_path import MetricKind

    external = metric_path.reading(
        "x", _hpa_body({"type": "External", "external": {"metric": {"name": "m"}}})
    )
    assert external is not None
    assert (external.kind, external.metric, external.conditions) == (MetricKind.EXTERNAL, "m", [])
    assert (
        metric_path.reading("x", _hpa_body({"type": "Resource", "resource": {"name": "cpu"}}))
        is None
    )
    assert metric_path.reading("x", {"spec": {}, "status": {}}) is None


def test_no_series_of_the_demand_points_at_its_recording_rules() -> None:
    message = (
        UNABLE + "unable to get external metric models/roost:demand_rate/&LabelSelector{...}: "
        "no metrics returned from external metrics API"
    )
    reading = failing(message, kind=MetricKind.EXTERNAL, metric="roost:demand_rate")
    health = assess([reading], previous=None, now=NOW, generation=1)
    assert health.condition is not None
    assert health.condition.reason == "NoMetricValues"
    assert "load the recording rules of `roost rules --demand` into Prometheus" in (
        health.condition.message
    )


def test_a_demand_the_adapter_does_not_list_points_at_its_recording_rules() -> None:
    message = (
        UNABLE + "unable to get external metric models/roost:demand_rate/&LabelSelector{...}: "
        "unable to fetch metrics from external metrics API: the server could not find the "
        "metric roost:demand_rate for )"
    )
    reading = failing(message, kind=MetricKind.EXTERNAL, metric="roost:demand_rate")
    health = assess([reading], previous=None, now=NOW, generation=1)
    assert health.condition is not None
    assert health.condition.reason == "MetricNotServed"
    assert "load the recording rules of `roost rules --demand` into Prometheus, and install" in (
        health.condition.message
    )
