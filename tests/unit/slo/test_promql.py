"""PromQL builders and the three empty states (docs/decisions.md; Prometheus query docs)."""

from __future__ import annotations

import pytest

from roost import selectors
from roost.api.slopolicy import Objective, SLOPolicySpec
from roost.slo import promql
from roost.slo.readings import Counts

VERSIONS = selectors.one_of("version", ["v1", "v2"])


def test_ratio_queries_count_both_versions_in_one_query_each() -> None:
    queries = promql.ratio_queries(
        errors=selectors.parse('model_predictions_total{status="error"}'),
        total=selectors.parse("model_predictions_total"),
        seconds=600,
        matchers=[selectors.equal("model", "fraud"), VERSIONS],
        group_by=["version"],
    )
    assert queries.total == (
        'sum by (version) (increase(model_predictions_total{model="fraud", version=~"v1|v2"}[10m]))'
    )
    assert queries.bad == (
        'sum by (version) (increase(model_predictions_total{status="error", model="fraud", '
        'version=~"v1|v2"}[10m]))'
    )


def test_latency_bad_count_is_count_minus_the_threshold_bucket() -> None:
    queries = promql.latency_queries(
        histogram=selectors.parse("model_request_duration_seconds"),
        threshold_seconds=0.25,
        seconds=90.2,
        matchers=[VERSIONS],
        group_by=["version"],
    )
    assert "model_request_duration_seconds_count{" in queries.total
    assert queries.total.endswith("[1m31s]))")  # windows round up, never shorten
    assert queries.bad.startswith(queries.total + " - sum by (version) (increase(")
    assert 'le=~"0\\\\.25|2\\\\.500000e\\\\-01"' in queries.bad


@pytest.mark.parametrize(("threshold", "spelling"), [(1.0, "1.0"), (1.0, "1"), (0.5, "0.5")])
def test_bucket_matcher_accepts_every_common_spelling_of_the_bound(
    threshold: float, spelling: str
) -> None:
    import re

    matcher = promql.bucket_bound_matcher(threshold)
    assert re.fullmatch(matcher.value, spelling)


def test_quality_queries_count_samples_outside_the_bounds() -> None:
    queries = promql.quality_queries(
        metric=selectors.parse("model_online_accuracy"),
        low=0.9,
        high=None,
        seconds=300,
        matchers=[],
        group_by=["version"],
    )
    assert queries.total == "sum by (version) (count_over_time(model_online_accuracy[5m:30s]))"
    assert queries.bad == (
        "sum by (version) (count_over_time(((model_online_accuracy < 0.9))[5m:30s]))"
    )


# SLO vector 19 (docs/references.md): an absent error series with traffic present means 0 errors
def test_absent_error_series_with_traffic_means_zero_bad() -> None:
    assert promql.arm_counts(total={"v2": 50.0}, bad={}, key="v2") == Counts(total=50, bad=0)


# SLO vector 18: no traffic in the window gives a NaN ratio (inconclusive)
def test_zero_traffic_is_kept_as_zero_and_its_ratio_is_nan() -> None:
    counts = promql.arm_counts(total={"v2": 0.0}, bad={}, key="v2")
    assert counts == Counts(total=0, bad=0)
    assert counts is not None
    assert counts.ratio != counts.ratio  # NaN


def test_no_scrape_data_is_absent_not_zero() -> None:
    assert promql.arm_counts(total={"v1": 10.0}, bad={}, key="v2") is None
    assert promql.arm_counts(total={"v2": float("nan")}, bad={}, key="v2") is None


def test_extrapolated_counts_are_clamped_into_range() -> None:
    counts = promql.arm_counts(total={"v2": 10.0}, bad={"v2": 10.4}, key="v2")
    assert counts == Counts(total=10, bad=10)
    negative = promql.arm_counts(total={"v2": 10.0}, bad={"v2": -0.2}, key="v2")
    assert negative == Counts(total=10, bad=0)


def _objectives(*objectives: dict[str, object]) -> list[Objective]:
    return SLOPolicySpec.model_validate({"objectives": list(objectives)}).objectives


QUALITY = {"name": "q", "target": 0.99, "quality": {"metric": "model_score", "min": 0.1}}
LATENCY = {
    "name": "l",
    "target": 0.99,
    "latency": {"histogram": "model_request_duration_seconds", "threshold": "250ms"},
}
RATIO = {"name": "a", "target": 0.999, "ratio": {"errors": 'req{code="5"}', "total": "req"}}


def test_the_arrival_rate_reads_the_first_objective_that_counts_requests() -> None:
    model = [selectors.equal("model", "fraud")]
    assert (
        promql.arrival_rate_query(_objectives(QUALITY, RATIO, LATENCY), model)
        == 'sum(rate(req{model="fraud"}[2m]))'
    )
    assert (
        promql.arrival_rate_query(_objectives(LATENCY, RATIO), model, seconds=60)
        == 'sum(rate(model_request_duration_seconds_count{model="fraud"}[1m]))'
    )


def test_no_arrival_rate_without_an_objective_that_counts_requests() -> None:
    assert promql.arrival_rate_query(_objectives(QUALITY), []) is None
