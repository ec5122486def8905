"""One query per SLI per window for every ModelDeployment sharing a Prometheus."""

from __future__ import annotations

from datetime import UTC, datetime

from roost.api.modeldeployment import MetricLabels
from roost.api.slopolicy import SLOPolicySpec
from roost.slo import batch
from roost.slo.readings import Counts, HistogramReading, Measurements, SLIReading

START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
END = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
POLICY = SLOPolicySpec.model_validate(
    {
        "objectives": [
            {
                "name": "availability",
                "target": 0.999,
                "ratio": {"errors": 'preds_total{status="error"}', "total": "preds_total"},
            },
            {"name": "latency", "target": 0.99, "latency": {"histogram": "dur", "threshold": "1s"}},
        ]
    }
)


def _target(model: str, canary: str, stable: str) -> batch.Target:
    return batch.Target(
        key=f"ns/{model}",
        policy=POLICY,
        metrics=MetricLabels(labels={"model": model}),
        canary_version=canary,
        stable_version=stable,
    )


def test_many_deployments_share_one_query_per_sli_and_count() -> None:
    targets = [_target(f"m{i}", "v2", "v1") for i in range(50)]
    plan = batch.plan(targets, start=START, end=END)
    assert len(plan.queries) == 2  # one per SLI: availability, latency
    first = plan.queries[0]
    assert 'model=~"m0|m1|m10|' in first
    assert "sum by (model, version)" in first
    assert '[30s])), "roost_count", "total", "", "") or label_replace(' in first
    assert first.endswith('[30s])), "roost_count", "bad", "", "")')
    assert plan.group_by(first) == ("model", "version", "roost_count")


def test_answers_are_split_back_per_deployment_and_version() -> None:
    targets = [_target("a", "v2", "v1"), _target("b", "v9", "v1")]
    plan = batch.plan(targets, start=START, end=END)
    availability, latency = plan.queries
    answers: dict[str, batch.Answer] = {
        availability: {
            ("a", "v2", "total"): 100.0,
            ("a", "v1", "total"): 900.0,
            ("b", "v1", "total"): 50.0,
            ("a", "v2", "bad"): 3.0,
        },
        latency: {
            ("a", "v2", "total"): 100.0,
            ("a", "v1", "total"): 900.0,
            ("a", "v2", "bad"): 1.0,
            ("a", "v1", "bad"): 2.0,
        },
    }
    measured = plan.measurements(answers)
    a = measured["ns/a"].reading("availability")
    assert a is not None
    assert a.canary == Counts(100, 3)
    assert a.stable == Counts(900, 0)  # no error series for v1: zero errors
    b = measured["ns/b"].reading("availability")
    assert b is not None
    assert b.canary is None  # v9 has no series at all: no data
    assert b.stable == Counts(50, 0)
    assert measured["ns/a"].at == END


def test_an_error_answer_makes_the_window_unreadable_for_its_targets() -> None:
    plan = batch.plan([_target("a", "v2", "v1")], start=START, end=END)
    answers: dict[str, batch.Answer] = {q: {} for q in plan.queries}
    answers[plan.queries[0]] = "timeout"
    measured = plan.measurements(answers)["ns/a"]
    assert measured.error == "availability: timeout"


def test_deployments_with_other_label_keys_get_their_own_query() -> None:
    other = batch.Target(
        key="ns/x",
        policy=POLICY,
        metrics=MetricLabels(version_label="revision"),
        canary_version="r2",
        stable_version="r1",
    )
    plan = batch.plan([_target("a", "v2", "v1"), other], start=START, end=END)
    assert len(plan.queries) == 4
    assert any("sum by (revision)" in q for q in plan.queries)


DRIFT_POLICY = SLOPolicySpec.model_validate(
    {
        "objectives": POLICY.model_dump(by_alias=True)["objectives"],
        "distributions": [{"name": "score", "histogram": "model_prediction_score"}],
    }
)


def _drift_target(model: str, canary: str, stable: str) -> batch.Target:
    return batch.Target(
        key=f"ns/{model}",
        policy=DRIFT_POLICY,
        metrics=MetricLabels(labels={"model": model}),
        canary_version=canary,
        stable_version=stable,
    )


def test_one_bucket_query_per_histogram_per_window_for_all_deployments() -> None:
    targets = [_drift_target(f"m{i}", "v2", "v1") for i in range(50)]
    plan = batch.plan(targets, start=START, end=END)
    assert len(plan.queries) == 3  # 2 SLI counts + 1 histogram
    query = plan.queries[-1]
    assert query.startswith("sum by (model, version, le) (increase(model_prediction_score_bucket{")
    assert query.endswith("[30s]))")
    assert plan.group_by(query) == ("model", "version", "le")


def test_bucket_answers_are_split_back_per_deployment_and_version() -> None:
    targets = [_drift_target("a", "v2", "v1"), _drift_target("b", "v9", "v1")]
    plan = batch.plan(targets, start=START, end=END)
    answers: dict[str, batch.Answer] = {q: {} for q in plan.queries}
    answers[plan.queries[-1]] = {
        ("a", "v2", "0.5"): 10.0,
        ("a", "v2", "+Inf"): 30.0,
        ("a", "v1", "0.5"): 200.0,
        ("a", "v1", "+Inf"): 270.0,
        ("b", "v9", "0.5"): float("nan"),
    }
    measured = plan.measurements(answers)
    hist = measured["ns/a"].histogram("score")
    assert hist is not None
    assert hist.canary == {0.5: 10.0, float("inf"): 30.0}
    assert hist.stable == {0.5: 200.0, float("inf"): 270.0}
    other = measured["ns/b"].histogram("score")
    assert other is not None
    assert other.canary is None  # NaN only: no data


def test_a_failed_bucket_query_is_a_measurement_error_naming_the_check() -> None:
    plan = batch.plan([_drift_target("a", "v2", "v1")], start=START, end=END)
    answers: dict[str, batch.Answer] = {q: {} for q in plan.queries}
    answers[plan.queries[-1]] = "timeout"
    assert plan.measurements(answers)["ns/a"].error == "score: timeout"


def _measured(at: datetime, canary: Counts | None, stable: Counts | None) -> Measurements:
    return Measurements(
        at=at,
        readings=(SLIReading("availability", canary, stable),),
        histograms=(HistogramReading("score", {1.0: 2.0}, None),),
    )


def test_merged_windows_add_their_counts_and_end_at_the_last_window() -> None:
    first = _measured(START, Counts(10, 1), None)
    second = _measured(END, Counts(5, 0), Counts(50, 2))
    merged = batch.merge([first, second])
    assert merged.at == END
    reading = merged.reading("availability")
    assert reading is not None
    assert reading.canary == Counts(15, 1)
    assert reading.stable == Counts(50, 2)  # data in one window is data
    histogram = merged.histogram("score")
    assert histogram is not None
    assert histogram.canary == {1.0: 4.0}
    assert histogram.stable is None


def test_a_failed_window_makes_the_merged_span_a_failure() -> None:
    failed = Measurements(at=END, error="availability: timeout")
    merged = batch.merge([_measured(START, Counts(10, 1), None), failed])
    assert merged.error == "availability: timeout"
    assert merged.readings == ()
