"""Preflight: a latency threshold must be one of the histogram's exported bucket bounds."""

from __future__ import annotations

from roost import selectors
from roost.api.slopolicy import SLOPolicySpec
from roost.slo import preflight


def policy(threshold: str) -> SLOPolicySpec:
    return SLOPolicySpec.model_validate(
        {
            "objectives": [
                {"name": "availability", "target": 0.99, "ratio": {"errors": "e", "total": "t"}},
                {
                    "name": "latency",
                    "target": 0.99,
                    "latency": {"histogram": "req_seconds", "threshold": threshold},
                },
            ]
        }
    )


LE = ["0.1", "0.25", "0.5", "1.0", "+Inf"]


def test_one_bounds_query_per_latency_objective_scoped_to_the_model() -> None:
    (check,) = preflight.bucket_checks(policy("250ms"), [selectors.equal("model", 'a"b')])
    assert check.query == 'count by (le) (req_seconds_bucket{model="a\\"b"})'
    assert check.objective_index == 1


def test_a_threshold_on_a_bound_passes_however_the_exporter_spells_it() -> None:
    for threshold in ("250ms", "1s", "100ms"):
        (check,) = preflight.bucket_checks(policy(threshold), [])
        assert preflight.problem(check, LE) is None
        assert preflight.problem(check, ["1e-01", "2.5e-01", "1", "+Inf"]) is None


def test_a_threshold_between_bounds_names_the_field_and_the_bounds() -> None:
    (check,) = preflight.bucket_checks(policy("300ms"), [])
    message = preflight.problem(check, LE)
    assert message == (
        "objectives[1].latency.threshold: 300ms is not a bucket boundary of req_seconds "
        "(its le bounds: 0.1, 0.25, 0.5, 1, +Inf); a latency objective needs a threshold "
        "equal to one of them"
    )


def test_nothing_exported_yet_is_not_a_problem() -> None:
    (check,) = preflight.bucket_checks(policy("300ms"), [])
    assert preflight.problem(check, []) is None
    assert preflight.problems([check], {check.query: None}) == []
    assert preflight.problems([check], {check.query: LE}) != []


def test_a_native_histogram_is_named_not_taken_for_no_data() -> None:
    (check,) = preflight.bucket_checks(policy("250ms"), [])
    assert "histogram_count(" in check.native_query
    found = preflight.problems([check], {check.query: [], check.native_query: ["native"]})
    assert len(found) == 1
    assert found[0].startswith("objectives[1].latency.histogram: req_seconds is")
    assert "is a native histogram" in found[0]
    assert "always_scrape_classic_histograms" in found[0]


def test_no_buckets_and_no_native_histogram_is_still_no_data() -> None:
    (check,) = preflight.bucket_checks(policy("250ms"), [])
    assert preflight.problems([check], {check.query: [], check.native_query: []}) == []
    assert preflight.problems([check], {check.query: []}) == []
