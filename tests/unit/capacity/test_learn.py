"""The service time and its CV learned from a histogram's buckets (roost.capacity.learn):
the fit against seeded samples of known CV in Prometheus' default buckets, its 95 %
interval's coverage, and the cases where nothing or only the mean can be learned."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roost import workloads
from roost.api.modeldeployment import ModelDeploymentSpec
from roost.api.slopolicy import SLOPolicySpec
from roost.capacity import learn, sizing
from roost.selectors import equal
from roost.slo import promql

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _window(
    draws: np.ndarray, bounds: tuple[float, ...] = DEFAULT_BUCKETS
) -> learn.HistogramWindow:
    buckets = [(b, float((draws <= b).sum())) for b in bounds] + [(math.inf, float(len(draws)))]
    return learn.HistogramWindow(
        count=float(len(draws)), total_seconds=float(draws.sum()), buckets=buckets
    )


def _gamma(rng: np.random.Generator, mean: float, cv: float, n: int) -> np.ndarray:
    shape = 1 / cv**2
    return rng.gamma(shape, mean / shape, size=n)


def _lognormal(rng: np.random.Generator, mean: float, cv: float, n: int) -> np.ndarray:
    s2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), size=n)


@pytest.mark.parametrize("draw", [_gamma, _lognormal])
@pytest.mark.parametrize("mean", [0.02, 0.1, 0.5])
@pytest.mark.parametrize("cv", [0.3, 0.5, 1.0])
def test_the_cv_is_recovered_from_the_default_buckets(draw: object, mean: float, cv: float) -> None:
    rng = np.random.default_rng(11)
    draws = draw(rng, mean, cv, 5000)  # type: ignore[operator]
    found = learn.estimate(_window(draws))
    assert found is not None
    assert found.mean_seconds == pytest.approx(draws.mean(), rel=1e-12)  # the _sum: exact
    assert found.cv == pytest.approx(cv, rel=0.1)
    assert found.cv_low is not None
    assert found.cv_high is not None
    assert found.cv_low <= found.cv <= found.cv_high


def test_spreading_each_bucket_uniformly_would_triple_a_cv_of_0_3() -> None:
    """Why the fit: the moment estimate with each bucket's requests uniform over it."""
    draws = _gamma(np.random.default_rng(3), 0.1, 0.3, 5000)
    lower, second = 0.0, 0.0
    below = 0.0
    for upper in DEFAULT_BUCKETS:
        n = float((draws <= upper).sum()) - below
        second += n * (lower * lower + lower * upper + upper * upper) / 3
        lower, below = upper, below + n
    moment_cv = math.sqrt(second / len(draws) - draws.mean() ** 2) / draws.mean()
    found = learn.estimate(_window(draws))
    assert found is not None
    assert found.cv is not None
    assert moment_cv > 2.5 * 0.3
    assert abs(found.cv - 0.3) < 0.03


def test_the_interval_covers_the_true_cv_about_95_percent_of_the_time() -> None:
    """40 seeds of 2,000 gamma requests (CV 0.5): the 95 % profile-likelihood interval
    covers 0.5 in at least 34 (a binomial(40, 0.95) falls below 34 with p < 0.01)."""
    covered = 0
    for seed in range(40):
        found = learn.estimate(_window(_gamma(np.random.default_rng(seed), 0.1, 0.5, 2000)))
        assert found is not None
        assert found.cv_low is not None
        assert found.cv_high is not None
        covered += found.cv_low <= 0.5 <= found.cv_high
    assert covered >= 34


def test_too_few_requests_teach_nothing() -> None:
    draws = _gamma(np.random.default_rng(1), 0.1, 0.5, int(learn.MIN_REQUESTS) - 1)
    assert learn.estimate(_window(draws)) is None
    assert learn.estimate(learn.HistogramWindow(count=500, total_seconds=0, buckets=[])) is None


def test_without_a_finite_bucket_bound_only_the_mean_is_learned() -> None:
    window = learn.HistogramWindow(count=400, total_seconds=40, buckets=[(math.inf, 400)])
    found = learn.estimate(window)
    assert found is not None
    assert found.mean_seconds == pytest.approx(0.1)
    assert found.cv is None
    assert found.cv_high is None


def test_counters_read_a_moment_apart_may_dip_without_harm() -> None:
    draws = _gamma(np.random.default_rng(5), 0.1, 0.5, 3000)
    window = _window(draws)
    dipped = [(b, c - 1 if b == 0.25 else c) for b, c in window.buckets]  # below le=0.1's
    found = learn.estimate(
        learn.HistogramWindow(
            count=window.count, total_seconds=window.total_seconds, buckets=dipped
        )
    )
    assert found is not None
    assert found.cv == pytest.approx(0.5, rel=0.1)


def test_the_answer_by_le_becomes_a_window_whatever_the_bound_spelling() -> None:
    by_le = {"0.1": 60.0, "1.0": 90.0, "1": 0.0, "+Inf": 100.0, "sum": 12.5}
    window = learn.histogram_window({k: v for k, v in by_le.items() if k != "1"})
    assert window is not None
    assert (window.count, window.total_seconds) == (100.0, 12.5)
    assert sorted(window.buckets) == [(0.1, 60.0), (1.0, 90.0), (math.inf, 100.0)]
    assert learn.histogram_window({"0.1": 1.0, "sum": 1.0}) is None  # no +Inf: no count
    assert learn.histogram_window({"+Inf": 1.0}) is None  # no _sum


@pytest.mark.parametrize(
    ("value", "expected"), [(0.08349, 0.083), (1.234, 1.2), (0.0996, 0.1), (12.6, 13.0)]
)
def test_learned_values_are_rounded_to_two_significant_digits(
    value: float, expected: float
) -> None:
    assert learn.rounded(value) == pytest.approx(expected)


def _spec(**autoscaling: object) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"name": "m", "version": "v1"},
            "sloPolicyRef": {"name": "p"},
            "template": {"spec": {"containers": [{"name": "c", "image": "m:v1"}]}},
            "autoscaling": {"slotsPerReplica": 4, "arrivalRate": 200, **autoscaling},
        }
    )


LEARNED = learn.Learned(
    window="1h",
    estimate=learn.ServiceTimeEstimate(
        mean_seconds=0.04361, requests=12345, cv=0.31, cv_low=0.29, cv_high=0.334, family="gamma"
    ),
)


def test_declared_values_win_then_learned_then_the_defaults() -> None:
    learned = sizing.service_time(_spec().autoscaling, LEARNED)  # type: ignore[arg-type]
    assert (learned.seconds, learned.seconds_from) == (0.044, "learned")
    assert (learned.cv, learned.cv_from) == (0.33, "learned")  # the interval's upper end
    assert learned.requests == 12345
    assert learned.learned_cv_interval == [0.29, 0.334]
    declared = sizing.service_time(
        _spec(serviceTime="50ms", serviceTimeCv=0.5).autoscaling,  # type: ignore[arg-type]
        LEARNED,
    )
    assert (declared.seconds, declared.seconds_from, declared.cv, declared.cv_from) == (
        0.05,
        "declared",
        0.5,
        "declared",
    )
    nothing = learn.Learned(window="1h", note="37 requests in 1h; learning needs 200")
    default = sizing.service_time(_spec().autoscaling, nothing)  # type: ignore[arg-type]
    assert (default.seconds_from, default.cv_from) == ("default", "default")
    assert default.note == "37 requests in 1h; learning needs 200"


def test_the_plan_and_its_status_follow_what_was_learned() -> None:
    unlearned = sizing.size(_spec(), canary_weight=0, observed_rate=None)
    learned = sizing.size(_spec(), canary_weight=0, observed_rate=None, learned=LEARNED)
    assert learned.split is not None
    assert learned.split.stable.service_time == pytest.approx(0.044)
    assert learned.split.stable.service_cv == pytest.approx(0.33)
    # 44 ms at CV 0.33 needs fewer replicas than the 100 ms, CV 1 default.
    assert learned.stable_replicas < unlearned.stable_replicas
    status = learned.status()
    assert status is not None
    assert status.service_time is not None
    assert status.service_time.seconds_from == "learned"


def test_the_query_reads_buckets_and_sum_of_the_first_latency_objective() -> None:
    policy = SLOPolicySpec.model_validate(
        {
            "objectives": [
                {"name": "a", "target": 0.99, "ratio": {"errors": "e", "total": "t"}},
                {"name": "l", "target": 0.99, "latency": {"histogram": "h", "threshold": "1s"}},
            ]
        }
    )
    query = promql.service_time_query(policy.objectives, [equal("model", "m")], seconds=3600)
    assert query == (
        'sum by (le) (increase(h_bucket{model="m"}[1h]))'
        ' or label_replace(sum(increase(h_sum{model="m"}[1h])), "le", "sum", "", "")'
    )
    assert promql.service_time_query(policy.objectives[:1], []) is None


def test_only_learned_values_enter_the_serving_hash() -> None:
    """Learned values re-apply the stable's HPA when they change; an object with none
    keeps the hash it had, so an upgrade reconfigures nothing."""
    spec = _spec()
    assert workloads.serving(spec, {}) == workloads.serving(spec)
    first = workloads.serving(spec, {"serviceTime": 0.044, "serviceTimeCv": 0.33})
    assert first != workloads.serving(spec)
    assert first == workloads.serving(spec, {"serviceTimeCv": 0.33, "serviceTime": 0.044})
    assert first != workloads.serving(spec, {"serviceTime": 0.045, "serviceTimeCv": 0.33})


def test_a_mixture_neither_family_fits_teaches_the_mean_but_no_cv() -> None:
    """20 % of requests three times slower (CV 0.61): both fits say about 0.45, too low
    to plan on; the gap at the 0.1 s bound refuses them."""
    rng = np.random.default_rng(9)
    fast = rng.gamma(25, 1 / 25, size=5000)
    draws = np.where(rng.random(5000) < 0.2, 3 * fast, fast) * 0.1
    found = learn.estimate(_window(draws))
    assert found is not None
    assert found.mean_seconds == pytest.approx(draws.mean())
    assert found.cv is None
    assert found.misfit is not None
    assert found.misfit.startswith("the buckets fit neither a gamma nor a lognormal")
    service = sizing.service_time(
        _spec().autoscaling,  # type: ignore[arg-type]
        learn.Learned(window="1h", estimate=found),
    )
    assert (service.seconds_from, service.cv_from) == ("learned", "default")
    assert service.note == found.misfit


def test_an_answer_teaches_an_estimate_or_says_why_not() -> None:
    empty = learn.learned({}, "1h")
    assert (empty.estimate, empty.note) == (
        None,
        "no classic histogram buckets with requests in 1h",
    )
    few = learn.learned({"0.1": 30.0, "+Inf": 37.0, "sum": 3.0}, "1h")
    assert few.note == "37 requests in 1h; learning needs 200"
    draws = _gamma(np.random.default_rng(2), 0.1, 0.5, 3000)
    by_le = {str(b): c for b, c in _window(draws).buckets if math.isfinite(b)}
    enough = learn.learned({**by_le, "+Inf": 3000.0, "sum": float(draws.sum())}, "1h")
    assert enough.note is None
    assert enough.estimate is not None
    assert enough.estimate.cv == pytest.approx(0.5, rel=0.1)


def test_a_burst_factor_plans_a_reserve_for_that_multiple_of_the_rate() -> None:
    """autoscaling.burstFactor is the plan's headroom: the floor for F times the rate."""
    plain = sizing.size(_spec(serviceTime="100ms"), canary_weight=0, observed_rate=None)
    reserve = sizing.size(
        _spec(serviceTime="100ms", burstFactor=4), canary_weight=0, observed_rate=None
    )
    at_peak = sizing.size(
        _spec(serviceTime="100ms", arrivalRate=800), canary_weight=0, observed_rate=None
    )
    assert reserve.stable_replicas == at_peak.stable_replicas > plain.stable_replicas
    status = reserve.status()
    assert status is not None
    assert status.arrival_rate == pytest.approx(200)  # what is measured or declared


def test_only_the_learned_values_are_named_for_the_serving_hash() -> None:
    learned = sizing.service_time(_spec(serviceTimeCv=0.5).autoscaling, LEARNED)  # type: ignore[arg-type]
    assert sizing.learned_values(learned) == {"serviceTime": 0.044}  # the CV is declared
    assert sizing.learned_values(None) == {}


def test_a_re_plan_compares_an_hpas_floor_and_target() -> None:
    from roost.capacity.hpa import floor_and_target

    pods = {"minReplicas": 3, "metrics": [{"pods": {"target": {"averageValue": "1246m"}}}]}
    external = {"minReplicas": 2, "metrics": [{"external": {"target": {"averageValue": 1}}}]}
    assert floor_and_target(pods) == (3, "1246m")
    assert floor_and_target(external) == (2, "1")
    assert floor_and_target({}) == (None, None)
