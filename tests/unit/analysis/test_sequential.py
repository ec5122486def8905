"""Decisions from e-values: thresholds, outcomes and test results (vectors V1, V4)."""

import math

import pytest

from roost.analysis import sequential, twosample
from roost.analysis.outcome import Outcome


# alpha = 0.01 over m = 4 fail tests gives ln 400; beta = 0.01 gives ln 100
def test_default_budget_gives_reference_thresholds() -> None:
    alpha_i = sequential.split_alpha(0.01, 4)
    assert alpha_i == pytest.approx(0.0025)
    assert sequential.ln_threshold(alpha_i) == pytest.approx(5.991465, abs=1e-6)
    assert sequential.ln_threshold(0.01) == pytest.approx(4.605170, abs=1e-6)


def test_each_extra_fail_test_shrinks_every_share() -> None:
    assert sequential.split_alpha(0.01, 6) < sequential.split_alpha(0.01, 4)


@pytest.mark.parametrize(("alpha", "tests"), [(0.0, 4), (1.0, 4), (0.01, 0)])
def test_impossible_budgets_are_refused(alpha: float, tests: int) -> None:
    with pytest.raises(ValueError, match=r"."):
        sequential.split_alpha(alpha, tests)


def test_fail_wins_when_both_thresholds_are_crossed() -> None:
    outcome = sequential.decide(6.0, 5.0, fail_threshold=6.0, pass_threshold=5.0)
    assert outcome is Outcome.FAIL


def test_crossing_a_threshold_exactly_decides() -> None:
    assert sequential.decide(0.0, 5.0, fail_threshold=6.0, pass_threshold=5.0) is Outcome.PASS


def test_evidence_below_both_thresholds_is_inconclusive() -> None:
    outcome = sequential.decide(5.9, 4.6, fail_threshold=6.0, pass_threshold=4.7)
    assert outcome is Outcome.INCONCLUSIVE


def test_sequential_p_value_keeps_the_smallest_value_seen() -> None:
    first = sequential.sequential_p_value(math.log(50))
    assert first == pytest.approx(0.02)
    later = sequential.sequential_p_value(math.log(2), previous=first)
    assert later == pytest.approx(0.02)
    assert sequential.sequential_p_value(-3.0) == 1.0


# Vector V1 verdict column (alpha_i = 0.0025, beta = 0.01, p = 0.002)
@pytest.mark.parametrize(
    ("n", "x", "outcome"),
    [
        (0, 0, Outcome.INCONCLUSIVE),
        (1_000, 0, Outcome.INCONCLUSIVE),
        (2_730, 0, Outcome.PASS),
        (3_000, 0, Outcome.PASS),
        (5, 4, Outcome.INCONCLUSIVE),
        (5, 5, Outcome.FAIL),
        (200, 4, Outcome.INCONCLUSIVE),
        (200, 6, Outcome.FAIL),
        (3_000, 20, Outcome.FAIL),
        (5_000, 3, Outcome.INCONCLUSIVE),
        (10_000, 38, Outcome.INCONCLUSIVE),
        (20_000, 40, Outcome.INCONCLUSIVE),
    ],
)
def test_one_sample_verdicts_match_reference(n: int, x: int, outcome: Outcome) -> None:
    result = sequential.one_sample_test(
        "availability", n, x, fail_bad_ratio=0.002, pass_bad_ratio=0.002, alpha_i=0.0025, beta=0.01
    )
    assert result.outcome is outcome


def test_one_sample_result_carries_its_inputs_and_evidence() -> None:
    result = sequential.one_sample_test(
        "availability",
        200,
        6,
        fail_bad_ratio=0.002,
        pass_bad_ratio=0.002,
        alpha_i=0.0025,
        beta=0.01,
    )
    assert (result.name, result.n, result.x) == ("availability", 200, 6)
    assert result.ln_e_fail == pytest.approx(7.0160, abs=1e-4)
    assert result.fail_threshold == pytest.approx(math.log(400))
    assert result.pass_threshold == pytest.approx(math.log(100))
    assert result.fail_p_value == pytest.approx(math.exp(-7.016032), rel=1e-5)
    assert result.pass_p_value == 1.0
    assert result.stable_n is None


# Vector V4: T7 passes through the floor, T8 stays inconclusive
@pytest.mark.parametrize(
    ("ticks", "outcome"),
    [
        ([(300, 0, 2700, 2)] * 20, Outcome.PASS),
        ([(1500, 1, 1500, 1)] * 40, Outcome.INCONCLUSIVE),
        ([(300, 15, 2700, 2)], Outcome.FAIL),
    ],
)
def test_two_sample_verdicts_match_reference(
    ticks: list[tuple[float, float, float, float]], outcome: Outcome
) -> None:
    state = twosample.start()
    for tick in ticks:
        state = twosample.update(state, twosample.Tick(*tick))
    result = sequential.two_sample_test(
        "availability-vs-stable", state, floor_bad_ratio=0.001, alpha_i=0.0025, beta=0.01
    )
    assert result.outcome is outcome


def test_two_sample_result_carries_both_arms_and_both_pass_parts() -> None:
    state = twosample.start()
    for _ in range(20):
        state = twosample.update(state, twosample.Tick(300, 0, 2700, 2))
    result = sequential.two_sample_test(
        "availability-vs-stable", state, floor_bad_ratio=0.001, alpha_i=0.0025, beta=0.01
    )
    assert (result.n, result.x, result.stable_n, result.stable_x) == (6_000, 0, 54_000, 40)
    assert result.canary_share == pytest.approx(0.1)
    assert result.ln_e_pass_relative == pytest.approx(3.8513, abs=1e-4)
    assert result.ln_e_pass_absolute == pytest.approx(5.1016, abs=1e-4)
    assert result.ln_e_pass == pytest.approx(4.6603, abs=1e-4)


def test_outcome_values_are_the_status_strings() -> None:
    assert [str(o) for o in Outcome] == ["pass", "fail", "inconclusive"]
